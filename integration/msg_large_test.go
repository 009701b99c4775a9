package integration

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Messages as long as a FUSE request (1 MiB), which the kernel allows
// once msgmax is raised, and one open queue file shared by processes.

// setSysctl sets /proc/sys/kernel/name to v for the test.
func setSysctl(t testing.TB, name string, v int) {
	t.Helper()
	setSysctlText(t, name, strconv.Itoa(v))
}

// setSysctlText sets /proc/sys/kernel/name to text (several fields, as
// sem's) for the test.
func setSysctlText(t testing.TB, name, text string) {
	t.Helper()
	path := "/proc/sys/kernel/" + name
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Not checked: sem_next_id reads -1 once used, which it refuses.
	t.Cleanup(func() { os.WriteFile(path, old, 0) })
	if err := os.WriteFile(path, []byte(text), 0); err != nil {
		t.Fatalf("%s = %s: %v", path, text, err)
	}
}

// pageBuffer is n bytes starting on a page, at offset skip into it.
func pageBuffer(t testing.TB, n, skip int) []byte {
	t.Helper()
	b, err := unix.Mmap(-1, 0, n+skip+4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(b) })
	return b[skip : skip+n]
}

// TestMsgLargeMessages: a read(2) returns one message even when that
// message fills a whole FUSE request (the kernel would go on to a second
// request, a second msgrcv); a message longer than one request is E2BIG
// and stays; a write(2) longer than one request sends its first piece as
// one message and is short by the rest, never several messages.
func TestMsgLargeMessages(t *testing.T) {
	setSysctl(t, "msgmax", 4<<20)
	setSysctl(t, "msgmnb", 16<<20)
	m := mount(t)
	key := newKey()
	id := msgNewQueue(t, key, 0600)
	p := m.Path("msg", keyName(key))
	mib := patternBytes(1<<20, 7)

	f, err := os.OpenFile(p, os.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	buf := pageBuffer(t, 4<<20, 0)

	msgSend(t, id, 1, mib)
	msgSend(t, id, 1, []byte("second"))
	if n, err := unix.Read(fd, buf); err != nil || n != len(mib) || !bytes.Equal(buf[:n], mib) {
		t.Errorf("read of a 1 MiB message with a 4 MiB buffer: %d bytes, %v; want the message alone", n, err)
	}
	if n, err := unix.Read(fd, buf); err != nil || string(buf[:max(n, 0)]) != "second" {
		t.Errorf("the next read: %q, %v; want \"second\"", buf[:max(n, 0)], err)
	}

	big := patternBytes(1500000, 8)
	msgSend(t, id, 1, big)
	if _, err := unix.Read(fd, buf); err != syscall.E2BIG {
		t.Errorf("read of a message longer than a request: %v, want E2BIG", err)
	}
	if got := msgDrainLarge(t, id); len(got) != 1 || !bytes.Equal(got[0].Data, big) {
		t.Errorf("after the E2BIG the queue holds %v, want the long message", got)
	}

	for _, skip := range []int{0, 16} {
		data := pageBuffer(t, 2<<20, skip)
		copy(data, patternBytes(2<<20, 9))
		want := 1<<20 - skip // a request's 256 pages, entered at skip
		n, err := unix.Write(fd, data)
		if err != nil || n != want {
			t.Errorf("write of 2 MiB at offset %d in its page: %d, %v; want a short write of %d", skip, n, err, want)
		}
		if got := msgDrainLarge(t, id); len(got) != 1 || !bytes.Equal(got[0].Data, data[:want]) {
			t.Errorf("write of 2 MiB at offset %d in its page sent %v, want one message of its first %d bytes", skip, got, want)
		}
	}
}

// TestMsgSharedFileKillable: processes that share one open queue file
// (a shell's `exec 3<Q`, then workers reading fd 3) each wait in a
// msgrcv of their own, and each can be killed; none waits unkillable
// behind another.
func TestMsgSharedFileKillable(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := msgNewQueue(t, key, 0600)
	f, err := os.Open(m.Path("msg", keyName(key)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var readers []*exec.Cmd
	for i := 0; i < 2; i++ {
		cmd := exec.Command("dd", "bs=100", "count=1", "status=none", "of=/dev/null")
		cmd.Stdin = f
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		readers = append(readers, cmd)
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	// Each waits in a request of its own: two msgrcv in the daemon.
	msgWaitDaemonWaiters(t, m, id, 2, 0)
	second := readers[1].Process.Pid
	readers[1].Process.Kill()
	shmPollUntil(t, "the killed reader ends", func() bool { return processGone(second) })
	msgWaitDaemonWaiters(t, m, id, 1, 0)
	msgSend(t, id, 1, []byte("for the first"))
	if err := readers[0].Wait(); err != nil {
		t.Errorf("the first reader: %v", err)
	}
	if q := msgStat(t, id); q.Qnum != 0 {
		t.Errorf("%d messages still queued, want the first reader to have taken it", q.Qnum)
	}
}

// msgDrainLarge receives every message left, of up to 4 MiB each.
func msgDrainLarge(t testing.TB, id int) []msgMessage {
	t.Helper()
	var ms []msgMessage
	for {
		m, err := msgRcv(id, 0, 4<<20, unix.IPC_NOWAIT)
		if err == unix.ENOMSG {
			return ms
		}
		if err != nil {
			t.Fatalf("draining queue %d: %v", id, err)
		}
		ms = append(ms, m)
	}
}

// TestMsgScatteredWrite: a writev whose buffers lie on 300 pages, one
// byte each, is cut by the kernel at 256 pages (256 bytes): the write(2)
// is short, one message of the first 256 bytes, not two messages. With
// O_APPEND, set by fcntl after the open, each piece is a message of its
// own, as the README says.
func TestMsgScatteredWrite(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := msgNewQueue(t, key, 0600)
	f, err := os.OpenFile(m.Path("msg", keyName(key)), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pages := pageBuffer(t, 300*4096, 0)
	iov := make([][]byte, 300)
	for i := range iov {
		pages[i*4096] = byte('a' + i%26)
		iov[i] = pages[i*4096 : i*4096+1]
	}
	n, err := unix.Writev(int(f.Fd()), iov)
	if err != nil || n != 256 {
		t.Errorf("writev of 300 scattered bytes: %d, %v; want a short write of 256", n, err)
	}
	if got := msgDrainLarge(t, id); len(got) != 1 || len(got[0].Data) != 256 {
		t.Errorf("the writev sent %d messages, want one of 256 bytes: %v", len(got), got)
	}

	if _, err := unix.FcntlInt(f.Fd(), unix.F_SETFL, unix.O_APPEND); err != nil {
		t.Fatal(err)
	}
	if n, err := unix.Writev(int(f.Fd()), iov); err != nil || n != 300 {
		t.Errorf("writev with O_APPEND: %d, %v; want 300", n, err)
	}
	if got := msgDrainLarge(t, id); len(got) != 2 || len(got[0].Data) != 256 || len(got[1].Data) != 44 {
		t.Errorf("the writev with O_APPEND sent %v, want messages of 256 and 44 bytes", got)
	}
}

// TestMsgBlksize: a queue file's st_blksize is the least power of two
// that holds msgmax (at least 4096, at most 1 MiB), so that a program
// writing through stdio, coreutils' printf here, sends a line of up to
// msgmax bytes as one message, where with 4096 it went as two.
func TestMsgBlksize(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := msgNewQueue(t, key, 0600)
	p := m.Path("msg", keyName(key))
	for _, c := range []struct{ msgmax, want int }{{8192, 8192}, {1000, 4096}, {4097, 8192}, {20000, 32768}, {4 << 20, 1 << 20}} {
		setSysctl(t, "msgmax", c.msgmax)
		if got := statOf(t, p).Blksize; got != int64(c.want) {
			t.Errorf("st_blksize of a queue with msgmax %d: %d, want %d", c.msgmax, got, c.want)
		}
		if got := statOf(t, m.Path("msg", keyName(key)+":3")).Blksize; got != int64(c.want) {
			t.Errorf("st_blksize of its alias :3 with msgmax %d: %d, want %d", c.msgmax, got, c.want)
		}
	}
	setSysctl(t, "msgmax", 8192)
	mustSh(t, "/usr/bin/printf '%5000s\\n' x > "+p)
	if got := msgDrain(t, id); len(got) != 1 || len(got[0].Data) != 5001 {
		t.Errorf("printf of a 5001-byte line sent %d messages, want one of 5001 bytes: %v", len(got), got)
	}
}
