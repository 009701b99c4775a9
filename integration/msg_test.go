package integration

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Helpers for the msg/ tests, made with the raw syscalls so that they are
// a reference independent of the daemon's own package. Every queue they
// make is removed when the test ends, whatever happens; every process
// they start is killed and reaped.

// msgQueueDs is the kernel's struct msqid64_ds on amd64, what IPC_STAT
// fills and IPC_SET reads. TestMsgListing checks it against glibc's
// struct msqid_ds (msgtool stat).
type msgQueueDs struct {
	Perm   unix.SysvIpcPerm
	Stime  int64
	Rtime  int64
	Ctime  int64
	Cbytes uint64
	Qnum   uint64
	Qbytes uint64
	Lspid  int32
	Lrpid  int32
	_      [2]uint64
}

// msgMessage is one message: its type and its text.
type msgMessage struct {
	Type int64
	Data []byte
}

// String shows the type, the length and the first bytes.
func (m msgMessage) String() string {
	if len(m.Data) > 24 {
		return fmt.Sprintf("{type %d, %d bytes %q...}", m.Type, len(m.Data), m.Data[:24])
	}
	return fmt.Sprintf("{type %d, %d bytes %q}", m.Type, len(m.Data), m.Data)
}

func msgctlRaw(id, cmd int, d *msgQueueDs) error {
	_, _, e := unix.Syscall(unix.SYS_MSGCTL, uintptr(id), uintptr(cmd), uintptr(unsafe.Pointer(d)))
	if e != 0 {
		return e
	}
	return nil
}

// msgGet is msgget(2).
func msgGet(key uint32, flags int) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_MSGGET, uintptr(int32(key)), uintptr(flags), 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// msgIDOf is msgget(key, 0): the queue that holds key now.
func msgIDOf(key uint32) (int, error) { return msgGet(key, 0) }

// msgStatErr is IPC_STAT.
func msgStatErr(id int) (msgQueueDs, error) {
	var d msgQueueDs
	err := msgctlRaw(id, unix.IPC_STAT, &d)
	return d, err
}

// msgStat is IPC_STAT, which must succeed.
func msgStat(t testing.TB, id int) msgQueueDs {
	t.Helper()
	d, err := msgStatErr(id)
	if err != nil {
		t.Fatalf("IPC_STAT of queue %d: %v", id, err)
	}
	return d
}

// msgGone reports whether IPC_STAT says queue id no longer exists.
func msgGone(id int) bool {
	_, err := msgStatErr(id)
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EIDRM)
}

// msgRemoveIDLater removes queue id when the test ends.
func msgRemoveIDLater(t testing.TB, id int) {
	t.Cleanup(func() { msgctlRaw(id, unix.IPC_RMID, nil) })
}

// msgRemoveKeyLater removes whatever queue holds key when the test ends
// (for queues that the mount makes).
func msgRemoveKeyLater(t testing.TB, key uint32) {
	t.Cleanup(func() {
		if id, err := msgIDOf(key); err == nil {
			msgctlRaw(id, unix.IPC_RMID, nil)
		}
	})
}

// msgNewQueue makes a queue directly with msgget(key, IPC_CREAT|IPC_EXCL|mode).
func msgNewQueue(t testing.TB, key uint32, mode int) int {
	t.Helper()
	id, err := msgGet(key, unix.IPC_CREAT|unix.IPC_EXCL|mode)
	if err != nil {
		t.Fatalf("msgget(%#x): %v", key, err)
	}
	msgRemoveIDLater(t, id)
	return id
}

// msgPrivateQueue makes an IPC_PRIVATE queue directly.
func msgPrivateQueue(t testing.TB, mode int) int {
	t.Helper()
	id, err := msgGet(unix.IPC_PRIVATE, unix.IPC_CREAT|mode)
	if err != nil {
		t.Fatalf("msgget(IPC_PRIVATE): %v", err)
	}
	msgRemoveIDLater(t, id)
	return id
}

// msgRmid is IPC_RMID made directly.
func msgRmid(t testing.TB, id int) {
	t.Helper()
	if err := msgctlRaw(id, unix.IPC_RMID, nil); err != nil {
		t.Fatalf("IPC_RMID of queue %d: %v", id, err)
	}
}

// msgSnd is msgsnd(2).
func msgSnd(id int, mtype int64, data []byte, flags int) error {
	b := make([]byte, 8+len(data))
	binary.NativeEndian.PutUint64(b, uint64(mtype))
	copy(b[8:], data)
	_, _, e := unix.Syscall6(unix.SYS_MSGSND, uintptr(id), uintptr(unsafe.Pointer(&b[0])), uintptr(len(data)), uintptr(flags), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// msgSend is msgsnd with IPC_NOWAIT, which must succeed.
func msgSend(t testing.TB, id int, mtype int64, data []byte) {
	t.Helper()
	if err := msgSnd(id, mtype, data, unix.IPC_NOWAIT); err != nil {
		t.Fatalf("msgsnd(%d, type %d, %d bytes): %v", id, mtype, len(data), err)
	}
}

// msgRcv is msgrcv(2) with a buffer of size bytes.
func msgRcv(id int, msgtyp int64, size int, flags int) (msgMessage, error) {
	b := make([]byte, 8+size)
	r, _, e := unix.Syscall6(unix.SYS_MSGRCV, uintptr(id), uintptr(unsafe.Pointer(&b[0])), uintptr(size), uintptr(msgtyp), uintptr(flags), 0)
	if e != 0 {
		return msgMessage{}, e
	}
	return msgMessage{Type: int64(binary.NativeEndian.Uint64(b)), Data: b[8 : 8+r]}, nil
}

// msgReceive is msgrcv with IPC_NOWAIT, which must succeed.
func msgReceive(t testing.TB, id int, msgtyp int64) msgMessage {
	t.Helper()
	m, err := msgRcv(id, msgtyp, 1<<16, unix.IPC_NOWAIT)
	if err != nil {
		t.Fatalf("msgrcv(%d, msgtyp %d): %v", id, msgtyp, err)
	}
	return m
}

// msgDrain receives every message left, oldest first, without waiting.
func msgDrain(t testing.TB, id int) []msgMessage {
	t.Helper()
	var ms []msgMessage
	for {
		m, err := msgRcv(id, 0, 1<<16, unix.IPC_NOWAIT)
		if errors.Is(err, unix.ENOMSG) {
			return ms
		}
		if err != nil {
			t.Fatalf("draining queue %d: %v", id, err)
		}
		ms = append(ms, m)
	}
}

// msgSetPerm is IPC_SET made directly of owner, group and mode, keeping
// msg_qbytes.
func msgSetPerm(t testing.TB, id int, uid, gid, mode uint32) {
	t.Helper()
	d := msgStat(t, id)
	d.Perm.Uid, d.Perm.Gid, d.Perm.Mode = uid, gid, mode
	if err := msgctlRaw(id, unix.IPC_SET, &d); err != nil {
		t.Fatalf("IPC_SET of queue %d: %v", id, err)
	}
}

// msgSetQbytes is IPC_SET of msg_qbytes made directly.
func msgSetQbytes(t testing.TB, id int, qbytes uint64) {
	t.Helper()
	d := msgStat(t, id)
	d.Qbytes = qbytes
	if err := msgctlRaw(id, unix.IPC_SET, &d); err != nil {
		t.Fatalf("IPC_SET of msg_qbytes of queue %d: %v", id, err)
	}
}

// msgFill makes queue id full: msg_qbytes becomes 10*size and ten
// messages of size bytes (types 1, 2, ...) are sent directly, so that any
// message of one byte or more waits. It returns what it sent.
func msgFill(t testing.TB, id int, size int) []msgMessage {
	t.Helper()
	msgSetQbytes(t, id, uint64(10*size))
	var sent []msgMessage
	for i := range 10 {
		m := msgMessage{Type: int64(i%3 + 1), Data: bytes.Repeat([]byte{byte('a' + i)}, size)}
		msgSend(t, id, m.Type, m.Data)
		sent = append(sent, m)
	}
	if err := msgSnd(id, 1, []byte("x"), unix.IPC_NOWAIT); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("queue %d is not full: msgsnd IPC_NOWAIT gives %v", id, err)
	}
	return sent
}

// msgSameMessages compares two lists of messages.
func msgSameMessages(a, b []msgMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || !bytes.Equal(a[i].Data, b[i].Data) {
			return false
		}
	}
	return true
}

// msgSyscallOf reads /proc/PID/task/TID/syscall (or /proc/PID/syscall):
// the number and first argument of the syscall the task is blocked in;
// ok is false when it runs or the file cannot be read.
func msgSyscallOf(path string) (nr int, arg0 uint64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0, false
	}
	nr, err = strconv.Atoi(f[0])
	if err != nil {
		return 0, 0, false
	}
	arg0, err = strconv.ParseUint(strings.TrimPrefix(f[1], "0x"), 16, 64)
	return nr, arg0, err == nil
}

// msgDaemonWaiters counts the daemon's threads blocked in msgrcv and in
// msgsnd on queue qid.
func msgDaemonWaiters(t testing.TB, m *Mount, qid int) (rcv, snd int) {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/task", m.cmd.Process.Pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading the daemon's threads: %v", err)
	}
	for _, task := range tasks {
		nr, arg0, ok := msgSyscallOf(filepath.Join(dir, task.Name(), "syscall"))
		if !ok || arg0 != uint64(qid) {
			continue
		}
		switch nr {
		case unix.SYS_MSGRCV:
			rcv++
		case unix.SYS_MSGSND:
			snd++
		}
	}
	return rcv, snd
}

// msgWaitDaemonWaiters waits until the daemon has exactly rcv threads
// blocked in msgrcv and snd in msgsnd on queue qid.
func msgWaitDaemonWaiters(t testing.TB, m *Mount, qid, rcv, snd int) {
	t.Helper()
	shmPollUntil(t, fmt.Sprintf("the daemon waits in %d msgrcv and %d msgsnd on queue %d", rcv, snd, qid), func() bool {
		r, s := msgDaemonWaiters(t, m, qid)
		return r == rcv && s == snd
	})
}

// msgWaitInSyscall waits until process pid is blocked in syscall nr.
func msgWaitInSyscall(t testing.TB, p *msgProc, nr int) {
	t.Helper()
	shmPollUntil(t, fmt.Sprintf("%s waits in syscall %d", p.name, nr), func() bool {
		if p.exited() {
			t.Fatalf("%s exited before blocking: %s %s", p.name, p.stdout.String(), p.stderr.String())
		}
		got, _, ok := msgSyscallOf(fmt.Sprintf("/proc/%d/syscall", p.cmd.Process.Pid))
		return ok && got == nr
	})
}

// msgProc is a process a test started: killed and reaped when the test
// ends, if it has not ended by then.
type msgProc struct {
	name   string
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

// msgStart starts a program (a compiled C helper when name has no slash
// and is one of integration/c, else a command from PATH) with stdin as
// its input, in its own process group.
func msgStart(t testing.TB, stdin []byte, prog string, args ...string) *msgProc {
	t.Helper()
	bin := prog
	if _, err := os.Stat(filepath.Join("c", prog+".c")); err == nil {
		bin = cProgram(t, prog)
	}
	p := &msgProc{name: prog + " " + strings.Join(args, " "), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdin = bytes.NewReader(stdin)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			// A process in an uninterruptible wait dies only once what
			// it waits for ends, which a later cleanup may bring about.
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				t.Errorf("%s does not die", p.name)
			}
		}
	})
	return p
}

func (p *msgProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to end (failing the test if it does not
// within a generous deadline) and returns its stdout and exit error.
func (p *msgProc) wait(t testing.TB) (string, error) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not end\nstdout: %q\nstderr: %s", p.name, p.stdout.String(), p.stderr.String())
	}
	return p.stdout.String(), p.err
}

// waitOK waits for the process, which must exit 0, and returns its stdout.
func (p *msgProc) waitOK(t testing.TB) string {
	t.Helper()
	out, err := p.wait(t)
	if err != nil {
		t.Fatalf("%s: %v\n%s", p.name, err, p.stderr.String())
	}
	return out
}

// msgToolResult splits what msgtool printed into its first line's fields
// (the errno first) and the bytes after it.
func msgToolResult(t testing.TB, what, out string) (syscall.Errno, []string, []byte) {
	t.Helper()
	line, rest, ok := strings.Cut(out, "\n")
	f := strings.Fields(line)
	if !ok || len(f) == 0 {
		t.Fatalf("%s printed %q", what, out)
	}
	e, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatalf("%s printed %q", what, out)
	}
	return syscall.Errno(e), f[1:], []byte(rest)
}

// msgToolErrno waits for a msgtool process and returns the errno it printed.
func msgToolErrno(t testing.TB, p *msgProc) syscall.Errno {
	t.Helper()
	e, _, _ := msgToolResult(t, p.name, p.waitOK(t))
	return e
}

// msgMountRead opens path (with extra open flags) and makes one read(2)
// of size bytes. A read that has not returned after a generous deadline
// fails the test (it stays blocked until the cleanup stops the daemon).
func msgMountRead(t testing.TB, path string, size int, flags int) ([]byte, syscall.Errno) {
	t.Helper()
	type result struct {
		b []byte
		e syscall.Errno
	}
	ch := make(chan result, 1)
	go func() {
		fd, err := syscall.Open(path, syscall.O_RDONLY|flags, 0)
		if err != nil {
			ch <- result{nil, errnoOf(err)}
			return
		}
		defer syscall.Close(fd)
		buf := make([]byte, size)
		n, err := syscall.Read(fd, buf)
		if err != nil {
			ch <- result{nil, errnoOf(err)}
			return
		}
		ch <- result{buf[:n], 0}
	}()
	select {
	case r := <-ch:
		return r.b, r.e
	case <-time.After(60 * time.Second):
		t.Fatalf("read of %s (flags %#x) did not return", path, flags)
		return nil, 0
	}
}

// msgMountWrite opens path (with extra open flags) and makes one
// write(2) of data; a short write is an error of the test, and so is a
// write that has not returned after a generous deadline.
func msgMountWrite(t testing.TB, path string, data []byte, flags int) syscall.Errno {
	t.Helper()
	type result struct {
		n int
		e syscall.Errno
	}
	ch := make(chan result, 1)
	go func() {
		fd, err := syscall.Open(path, syscall.O_WRONLY|flags, 0)
		if err != nil {
			ch <- result{0, errnoOf(err)}
			return
		}
		defer syscall.Close(fd)
		n, err := syscall.Write(fd, data)
		ch <- result{n, errnoOf(err)}
	}()
	select {
	case r := <-ch:
		if r.e == 0 && r.n != len(data) {
			t.Fatalf("write of %d bytes to %s wrote %d", len(data), path, r.n)
		}
		return r.e
	case <-time.After(60 * time.Second):
		t.Fatalf("write to %s (flags %#x) did not return", path, flags)
		return 0
	}
}

// msgCheckStat compares stat(2) through the mount with IPC_STAT: a
// regular file of size msg_cbytes, the queue's mode and owner, atime the
// last msgrcv, mtime the last msgsnd (each the ctime while there was
// none), ctime the queue's.
func msgCheckStat(t testing.TB, path string, id int) syscall.Stat_t {
	t.Helper()
	st := statOf(t, path)
	d := msgStat(t, id)
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		t.Errorf("%s: mode %o, want a regular file", path, st.Mode)
	}
	if uint64(st.Size) != d.Cbytes {
		t.Errorf("%s: size %d, msg_cbytes %d", path, st.Size, d.Cbytes)
	}
	if st.Mode&0777 != d.Perm.Mode&0777 {
		t.Errorf("%s: mode %o, IPC_STAT says %o", path, st.Mode&0777, d.Perm.Mode&0777)
	}
	if st.Uid != d.Perm.Uid || st.Gid != d.Perm.Gid {
		t.Errorf("%s: owner %d:%d, IPC_STAT says %d:%d", path, st.Uid, st.Gid, d.Perm.Uid, d.Perm.Gid)
	}
	wantAtime, wantMtime := d.Rtime, d.Stime
	if wantAtime == 0 {
		wantAtime = d.Ctime
	}
	if wantMtime == 0 {
		wantMtime = d.Ctime
	}
	if st.Ctim.Sec != d.Ctime || st.Atim.Sec != wantAtime || st.Mtim.Sec != wantMtime {
		t.Errorf("%s: atime %d mtime %d ctime %d; IPC_STAT: rtime %d stime %d ctime %d",
			path, st.Atim.Sec, st.Mtim.Sec, st.Ctim.Sec, d.Rtime, d.Stime, d.Ctime)
	}
	return st
}

// msgPeekRow is one row of msg/NAME:peek.
type msgPeekRow struct {
	Index int
	Type  int64
	Bytes int
	First string // as shown: Go-quoted, "..." after when longer
}

var msgPeekLine = regexp.MustCompile(`^(\d+) +(-?\d+) +(\d+) +(".*")$`)

// msgReadPeek reads msg/NAME:peek and parses it: a header, then one row
// per message.
func msgReadPeek(t testing.TB, path string) []msgPeekRow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 2 || lines[len(lines)-1] != "" {
		t.Fatalf("%s: %q does not end in a newline", path, b)
	}
	if h := strings.Fields(lines[0]); len(h) < 4 || h[0] != "index" || h[1] != "type" || h[2] != "bytes" {
		t.Fatalf("%s: header %q", path, lines[0])
	}
	var rows []msgPeekRow
	for _, line := range lines[1 : len(lines)-1] {
		s := strings.TrimSuffix(line, "...")
		mm := msgPeekLine.FindStringSubmatch(s)
		if mm == nil {
			t.Fatalf("%s: row %q", path, line)
		}
		var r msgPeekRow
		r.Index, _ = strconv.Atoi(mm[1])
		r.Type, _ = strconv.ParseInt(mm[2], 10, 64)
		r.Bytes, _ = strconv.Atoi(mm[3])
		r.First = line[strings.Index(line, mm[4]):]
		rows = append(rows, r)
	}
	return rows
}

// msgPeekShows is what :peek should show as a message's first bytes.
func msgPeekShows(data []byte) string {
	if len(data) > 32 {
		return fmt.Sprintf("%q...", data[:32])
	}
	return fmt.Sprintf("%q", data)
}

// --- listing, lookup, attributes ---

// TestMsgListing: `ls msg` shows each queue under its canonical name and
// nothing else (no NAME:T or NAME:peek, even after looking them up);
// stat matches IPC_STAT, size being msg_cbytes; every spelling of a key
// and id-N find the same inode; the aliases NAME:T and NAME:peek resolve.
func TestMsgListing(t *testing.T) {
	m := mount(t)

	// A keyed queue with messages, never received from: rtime 0.
	kA := newKey()
	idA := msgNewQueue(t, kA, 0640)
	msgSend(t, idA, 1, []byte("hello"))
	msgSend(t, idA, 3, []byte("world, again"))
	// Another, owned by someone else, received from.
	kB := newKey()
	idB := msgNewQueue(t, kB, 0604)
	for i := range 3 {
		msgSend(t, idB, int64(i+1), bytes.Repeat([]byte("b"), 100*(i+1)))
	}
	msgReceive(t, idB, 0)
	msgSetPerm(t, idB, 1000, 1001, 0664)
	// A private queue, empty.
	idP := msgPrivateQueue(t, 0600)
	// Made and removed: gone.
	kGone := newKey()
	idGone := msgNewQueue(t, kGone, 0600)
	msgRmid(t, idGone)

	// The Go struct and glibc's struct msqid_ds agree.
	for _, id := range []int{idA, idB, idP} {
		e, f, _ := msgToolResult(t, "msgtool stat", runC(t, "msgtool", "stat", strconv.Itoa(id)))
		d := msgStat(t, id)
		want := fmt.Sprintf("%d %d %d %d %d %d %d %d %d %d %d %d %o", d.Qnum, d.Cbytes, d.Qbytes, d.Lspid, d.Lrpid,
			d.Stime, d.Rtime, d.Ctime, d.Perm.Uid, d.Perm.Gid, d.Perm.Cuid, d.Perm.Cgid, d.Perm.Mode)
		if e != 0 || strings.Join(f, " ") != want {
			t.Fatalf("queue %d: msgtool stat says %v %q, the test's IPC_STAT %q", id, e, f, want)
		}
	}
	if d := msgStat(t, idA); d.Cbytes != 17 || d.Qnum != 2 || d.Rtime != 0 {
		t.Fatalf("queue A: %+v", d)
	}

	want := map[int]string{
		idA: keyName(kA),
		idB: keyName(kB),
		idP: fmt.Sprintf("id-%d", idP),
	}
	aliases := []string{":1", ":3", ":-3", ":peek", ":2147483647", ":-9223372036854775808"}
	inos := map[int]uint64{}
	for id, name := range want {
		inos[id] = msgCheckStat(t, m.Path("msg", name), id).Ino
		for _, a := range aliases {
			st := statOf(t, m.Path("msg", name+a))
			d := msgStat(t, id)
			if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Uid != d.Perm.Uid || st.Gid != d.Perm.Gid {
				t.Errorf("stat %s%s: mode %o owner %d:%d; IPC_STAT mode %o owner %d:%d", name, a, st.Mode, st.Uid, st.Gid,
					d.Perm.Mode, d.Perm.Uid, d.Perm.Gid)
			}
			wantMode := d.Perm.Mode & 0777
			if a == ":peek" {
				wantMode &^= 0222 // a read-only view
			} else if uint64(st.Size) != d.Cbytes {
				t.Errorf("stat %s%s: size %d, msg_cbytes %d", name, a, st.Size, d.Cbytes)
			}
			if st.Mode&0777 != wantMode {
				t.Errorf("stat %s%s: mode %o, want %o", name, a, st.Mode&0777, wantMode)
			}
			if st.Ino == inos[id] {
				t.Errorf("stat %s%s: the queue's own inode number %d", name, a, st.Ino)
			}
		}
	}

	// The listing: each queue once, by its canonical name; no alias; no
	// name the kernel does not have (other tests may make queues
	// meanwhile, always with canonical names).
	for _, script := range []string{"ls -1 ", "ls -1 -f ", "ls -l "} {
		out := mustSh(t, script+m.Path("msg"))
		seen := map[string]int{}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) == 0 || f[0] == "total" {
				continue
			}
			name := f[len(f)-1]
			seen[name]++
			if strings.Contains(name, ":") {
				t.Errorf("%s lists the alias %s", script, name)
			}
			if name != "." && name != ".." && name != "create" && name != "remove" && name != "status" &&
				!regexp.MustCompile(`^(0x[0-9a-f]{8}|id-[1-9][0-9]*|id-0)$`).MatchString(name) {
				t.Errorf("%s lists %q, not a canonical name", script, name)
			}
		}
		for id, name := range want {
			if seen[name] != 1 {
				t.Errorf("%s lists %s (queue %d) %d times", script, name, id, seen[name])
			}
		}
		for _, name := range []string{"create", "remove", "status"} {
			if seen[name] != 1 {
				t.Errorf("%s lists %s %d times", script, name, seen[name])
			}
		}
		for _, name := range []string{keyName(kGone), fmt.Sprintf("id-%d", idGone), fmt.Sprintf("id-%d", idA)} {
			if seen[name] != 0 {
				t.Errorf("%s lists %s", script, name)
			}
		}
	}

	// stat(1) of the names the listing gave.
	out := mustSh(t, "cd "+m.Path("msg")+" && stat -c '%n %s %a %u %g %i %F' "+keyName(kA)+" "+keyName(kB)+" "+want[idP])
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 7 {
			t.Fatalf("stat line %q", line)
		}
		for id, name := range want {
			if f[0] != name {
				continue
			}
			d := msgStat(t, id)
			wantLine := fmt.Sprintf("%s %d %o %d %d %d regular", name, d.Cbytes, d.Perm.Mode&0777, d.Perm.Uid, d.Perm.Gid, inos[id])
			if got := strings.Join(f[:7], " "); got != wantLine && got != strings.Replace(wantLine, "regular", "regular empty", 1) {
				t.Errorf("stat(1): %q, want %q", line, wantLine)
			}
		}
	}

	// Inode numbers: distinct, the same in the listing and for every
	// spelling.
	if inos[idA] == inos[idB] || inos[idA] == inos[idP] || inos[idB] == inos[idP] {
		t.Errorf("inode numbers not distinct: %v", inos)
	}
	dirInos := direntInos(t, m.Path("msg"))
	for id, name := range want {
		if dirInos[name] != inos[id] {
			t.Errorf("%s: readdir ino %d, stat ino %d", name, dirInos[name], inos[id])
		}
	}
	hex := fmt.Sprintf("%x", kA)
	for _, s := range []string{"0x" + hex, "0X" + strings.ToUpper(hex), "0x" + strings.ToUpper(hex), "0x0000" + hex, fmt.Sprintf("id-%d", idA)} {
		if st := msgCheckStat(t, m.Path("msg", s), idA); st.Ino != inos[idA] {
			t.Errorf("%s: ino %d, %s has %d", s, st.Ino, keyName(kA), inos[idA])
		}
		if st := statOf(t, m.Path("msg", s+":peek")); st.Mode&0222 != 0 {
			t.Errorf("%s:peek: mode %o", s, st.Mode)
		}
	}
	// The same type, looked up twice, is the same file; different types
	// are different files.
	if a, b := statOf(t, m.Path("msg", keyName(kA)+":3")), statOf(t, m.Path("msg", keyName(kA)+":3")); a.Ino != b.Ino {
		t.Errorf("%s:3 changes inode: %d, %d", keyName(kA), a.Ino, b.Ino)
	}
	if a, b := statOf(t, m.Path("msg", keyName(kA)+":3")), statOf(t, m.Path("msg", keyName(kA)+":-3")); a.Ino == b.Ino {
		t.Errorf("%s:3 and :-3 share inode %d", keyName(kA), a.Ino)
	}

	// Suffixes that are no type, and names of queues that are gone.
	for _, name := range []string{
		keyName(kA) + ":0", keyName(kA) + ":-0", keyName(kA) + ":+1", keyName(kA) + ":01", keyName(kA) + ":x",
		keyName(kA) + ":", keyName(kA) + ":peek2", keyName(kA) + ":PEEK", keyName(kA) + ":1.5", keyName(kA) + ": 1",
		keyName(kA) + ":99999999999999999999", keyName(kA) + ":1:2", ":1", ":peek",
		keyName(kGone), keyName(kGone) + ":1", keyName(kGone) + ":peek", fmt.Sprintf("id-%d", idGone),
		fmt.Sprintf("id-%d:peek", idGone), "0x00000000", "id-x", "nosuch",
	} {
		if e := statErrno(m.Path("msg", name)); e != syscall.ENOENT {
			t.Errorf("stat %q: %v, want ENOENT", name, e)
		}
	}

	// The attributes follow the queue: a message sent directly shows in
	// the size at the next lookup.
	msgSend(t, idP, 5, make([]byte, 300))
	msgCheckStat(t, m.Path("msg", want[idP]), idP)
	if st := statOf(t, m.Path("msg", want[idP]+":5")); st.Size != 300 {
		t.Errorf("%s:5 size %d after a send of 300 bytes", want[idP], st.Size)
	}
}

// --- changes to the queue ---

// TestMsgRm: rm is IPC_RMID, whatever the spelling; the queue's messages
// go with it.
func TestMsgRm(t *testing.T) {
	m := mount(t)

	key := newKey()
	id := msgNewQueue(t, key, 0600)
	msgSend(t, id, 1, []byte("lost with the queue"))
	mustSh(t, "rm "+m.Path("msg", keyName(key)))
	if !msgGone(id) {
		t.Errorf("queue %d still exists after rm", id)
	}
	if _, err := msgIDOf(key); !errors.Is(err, unix.ENOENT) {
		t.Errorf("msgget(%s) after rm: %v, want ENOENT", keyName(key), err)
	}
	for _, name := range []string{keyName(key), keyName(key) + ":1", keyName(key) + ":peek"} {
		if e := statErrno(m.Path("msg", name)); e != syscall.ENOENT {
			t.Errorf("stat %s after rm: %v, want ENOENT", name, e)
		}
	}

	key2 := newKey()
	id2 := msgNewQueue(t, key2, 0600)
	if err := syscall.Unlink(m.Path("msg", strings.ToUpper(fmt.Sprintf("0x%x", key2)))); err != nil {
		t.Errorf("unlink of the upper-case spelling: %v", err)
	}
	if !msgGone(id2) {
		t.Errorf("queue %d still exists after unlink", id2)
	}
	idp := msgPrivateQueue(t, 0600)
	if err := syscall.Unlink(m.Path("msg", fmt.Sprintf("id-%d", idp))); err != nil {
		t.Errorf("unlink id-%d: %v", idp, err)
	}
	if !msgGone(idp) {
		t.Errorf("private queue %d still exists after unlink", idp)
	}
	if listed := strings.Fields(mustSh(t, "ls -1 "+m.Path("msg"))); slices.Contains(listed, keyName(key)) ||
		slices.Contains(listed, keyName(key2)) || slices.Contains(listed, fmt.Sprintf("id-%d", idp)) {
		t.Errorf("ls after rm: %q", listed)
	}

	// A handle open across the removal reads and writes nothing more,
	// with the errno msgrcv and msgsnd give for the old id; a new queue
	// under the same key is another file.
	key4 := newKey()
	id4 := msgNewQueue(t, key4, 0600)
	msgSend(t, id4, 1, []byte("gone with it"))
	fd, err := syscall.Open(m.Path("msg", keyName(key4)), syscall.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	msgRmid(t, id4)
	id4b := msgNewQueue(t, key4, 0600)
	msgSend(t, id4b, 1, []byte("the new queue's"))
	_, rcvErr := msgRcv(id4, 0, 100, unix.IPC_NOWAIT)
	sndErr := msgSnd(id4, 1, []byte("x"), unix.IPC_NOWAIT)
	if rcvErr == nil || sndErr == nil {
		t.Fatalf("msgrcv and msgsnd of a removed id: %v %v", rcvErr, sndErr)
	}
	if n, err := syscall.Read(fd, make([]byte, 100)); errnoOf(err) != errnoOf(rcvErr) {
		t.Errorf("read of a handle on a removed queue: %d %v; msgrcv of the old id: %v", n, err, rcvErr)
	}
	if n, err := syscall.Write(fd, []byte("x")); errnoOf(err) != errnoOf(sndErr) {
		t.Errorf("write to a handle on a removed queue: %d %v; msgsnd to the old id: %v", n, err, sndErr)
	}
	if got := msgDrain(t, id4b); !msgSameMessages(got, []msgMessage{{1, []byte("the new queue's")}}) {
		t.Errorf("the new queue under the same key holds %v", got)
	}

	// rm of an unknown name: ENOENT, nothing removed.
	key3 := newKey()
	id3 := msgNewQueue(t, key3, 0600)
	if err := syscall.Unlink(m.Path("msg", keyName(newKey()))); errnoOf(err) != syscall.ENOENT {
		t.Errorf("unlink of an unknown queue: %v, want ENOENT", err)
	}
	if msgGone(id3) {
		t.Error("unlink of an unknown queue removed another")
	}
	// rmdir of a queue is ENOTDIR, and leaves it.
	if err := syscall.Rmdir(m.Path("msg", keyName(key3))); errnoOf(err) != syscall.ENOTDIR {
		t.Errorf("rmdir of a queue: %v, want ENOTDIR", err)
	}
	if msgGone(id3) {
		t.Error("rmdir removed the queue")
	}
	// The control files stay.
	for _, name := range []string{"create", "remove", "status"} {
		if err := syscall.Unlink(m.Path("msg", name)); err == nil {
			t.Errorf("unlink %s succeeded", name)
		}
		if e := statErrno(m.Path("msg", name)); e != 0 {
			t.Errorf("stat %s after unlink: %v", name, e)
		}
	}
}

// TestMsgChmodChown: chmod and chown through the mount are IPC_SET, with
// the outcome of IPC_SET made directly on a twin queue; msg_qbytes, which
// IPC_SET also sets, stays what it was.
func TestMsgChmodChown(t *testing.T) {
	m := mount(t)
	key, twinKey := newKey(), newKey()
	id := msgNewQueue(t, key, 0600)
	twin := msgNewQueue(t, twinKey, 0600)
	for _, q := range []int{id, twin} {
		msgSetQbytes(t, q, 777)
		msgSend(t, q, 4, []byte("stays"))
	}
	p := m.Path("msg", keyName(key))

	compare := func(what string) {
		t.Helper()
		got, want := msgStat(t, id), msgStat(t, twin)
		g, w := got.Perm, want.Perm
		if g.Uid != w.Uid || g.Gid != w.Gid || g.Cuid != w.Cuid || g.Cgid != w.Cgid || g.Mode != w.Mode {
			t.Errorf("%s: through the mount uid %d gid %d cuid %d cgid %d mode %o; directly uid %d gid %d cuid %d cgid %d mode %o",
				what, g.Uid, g.Gid, g.Cuid, g.Cgid, g.Mode, w.Uid, w.Gid, w.Cuid, w.Cgid, w.Mode)
		}
		if got.Qbytes != 777 || got.Qnum != 1 || got.Cbytes != 5 {
			t.Errorf("%s: qbytes %d qnum %d cbytes %d; want 777 1 5", what, got.Qbytes, got.Qnum, got.Cbytes)
		}
		msgCheckStat(t, p, id)
	}

	mustSh(t, "chmod 0640 "+p)
	msgSetPerm(t, twin, 0, 0, 0640)
	compare("chmod 0640")

	mustSh(t, "chown 1000:1000 "+p)
	msgSetPerm(t, twin, 1000, 1000, 0640)
	compare("chown 1000:1000")

	if err := os.Chown(p, 1234, -1); err != nil {
		t.Fatal(err)
	}
	msgSetPerm(t, twin, 1234, 1000, 0640)
	compare("chown 1234")

	mustSh(t, "chgrp 55 "+p)
	msgSetPerm(t, twin, 1234, 55, 0640)
	compare("chgrp 55")

	if err := syscall.Chmod(p, 04755); err != nil {
		t.Fatal(err)
	}
	msgSetPerm(t, twin, 1234, 55, 04755)
	compare("chmod 4755")

	// Through an alias: the same queue.
	mustSh(t, "chmod 0620 "+p+":7")
	msgSetPerm(t, twin, 1234, 55, 0620)
	compare("chmod 0620 of NAME:7")

	if err := os.Chown(p, 0, 0); err != nil {
		t.Fatal(err)
	}
	msgSetPerm(t, twin, 0, 0, 0620)
	compare("chown 0:0")

	// A truncation (echo > NAME) is accepted and changes nothing.
	if err := syscall.Truncate(p, 0); err != nil {
		t.Errorf("truncate: %v", err)
	}
	compare("truncate")
	if got := msgDrain(t, id); !msgSameMessages(got, []msgMessage{{4, []byte("stays")}}) {
		t.Errorf("the queue holds %v after chmod, chown and truncate", got)
	}
}

// TestMsgCreate: writing `KEY [MODE]` to msg/create makes the queue that
// msgget(KEY, IPC_CREAT|IPC_EXCL|MODE) makes directly.
func TestMsgCreate(t *testing.T) {
	m := mount(t)
	create := m.Path("msg", "create")

	for _, c := range []struct {
		keyText  func(key uint32) string
		mode     string
		wantMode uint32
	}{
		{func(k uint32) string { return fmt.Sprintf("0x%x", k) }, "", 0644},
		{func(k uint32) string { return fmt.Sprintf("0X%X", k) }, "0600", 0600},
		{func(k uint32) string { return fmt.Sprint(k) }, "600", 0600},
		{func(k uint32) string { return fmt.Sprint(int32(k)) }, "0", 0},
		{func(k uint32) string { return keyName(k) }, "0777", 0777},
		{func(k uint32) string { return keyName(k) }, "0444", 0444},
	} {
		key, twinKey := newKey(), newKey()
		msgRemoveKeyLater(t, key)
		text := c.keyText(key)
		if c.mode != "" {
			text += " " + c.mode
		}
		if e := writeControl(t, create, text+"\n"); e != 0 {
			t.Errorf("create %q: %v", text, e)
			continue
		}
		id, err := msgIDOf(key)
		if err != nil {
			t.Errorf("create %q: msgget finds nothing: %v", text, err)
			continue
		}
		twin := msgNewQueue(t, twinKey, int(c.wantMode))
		got, want := msgStat(t, id), msgStat(t, twin)
		if got.Perm.Mode != c.wantMode {
			t.Errorf("create %q: mode %o, want %o", text, got.Perm.Mode, c.wantMode)
		}
		if got.Perm.Mode != want.Perm.Mode || got.Perm.Uid != want.Perm.Uid || got.Perm.Gid != want.Perm.Gid ||
			got.Perm.Cuid != want.Perm.Cuid || got.Perm.Cgid != want.Perm.Cgid || got.Qbytes != want.Qbytes ||
			got.Qnum != 0 || got.Cbytes != 0 || got.Stime != 0 || got.Rtime != 0 {
			t.Errorf("create %q: %+v; msgget directly: %+v", text, got, want)
		}
		msgCheckStat(t, m.Path("msg", keyName(key)), id)
		msgRmid(t, id)
	}

	// The same handle, read after the write, answers the new name.
	key := newKey()
	msgRemoveKeyLater(t, key)
	out := mustSh(t, fmt.Sprintf("exec 3<>%s; echo '%#x' >&3; read name <&3; echo \"$name\"", create, key))
	if out != keyName(key)+"\n" {
		t.Errorf("the answer to create: %q, want %q", out, keyName(key)+"\n")
	}
	if _, err := msgIDOf(key); err != nil {
		t.Errorf("after create with an answer: %v", err)
	}

	// A private queue answers id-N.
	out = mustSh(t, fmt.Sprintf("exec 3<>%s; echo 'private 0600' >&3; read name <&3; echo \"$name\"", create))
	var idp int
	if _, err := fmt.Sscanf(out, "id-%d\n", &idp); err != nil {
		t.Fatalf("the answer to a private create: %q", out)
	}
	msgRemoveIDLater(t, idp)
	if d := msgStat(t, idp); d.Perm.Key != 0 || d.Perm.Mode != 0600 || d.Perm.Cuid != 0 {
		t.Errorf("private create: %+v", d.Perm)
	}
	msgCheckStat(t, m.Path("msg", strings.TrimSpace(out)), idp)

	// Reading create without writing shows usage.
	if b, err := os.ReadFile(create); err != nil || !bytes.Contains(b, []byte("KEY")) || !bytes.HasSuffix(b, []byte("\n")) {
		t.Errorf("usage of msg/create: %q %v", b, err)
	}
}

// TestMsgCreateErrors: a taken key is EEXIST, as msgget with IPC_EXCL
// says; bad input is EINVAL; neither makes or changes anything.
func TestMsgCreateErrors(t *testing.T) {
	m := mount(t)
	create := m.Path("msg", "create")

	key := newKey()
	id := msgNewQueue(t, key, 0600)
	msgSend(t, id, 2, []byte("kept"))
	_, err := msgGet(key, unix.IPC_CREAT|unix.IPC_EXCL|0644)
	direct := errnoOf(err)
	if direct != syscall.EEXIST {
		t.Fatalf("msgget of a taken key directly: %v", err)
	}
	before := msgStat(t, id)
	for _, text := range []string{keyName(key), fmt.Sprintf("%d 0600", key), keyName(key) + " 0644", strings.ToUpper(keyName(key))} {
		if e := writeControl(t, create, text+"\n"); e != direct {
			t.Errorf("create %q of a taken key: %v, directly %v", text, e, direct)
		}
	}
	if _, _, err := sh(t, fmt.Sprintf("echo '%s' > %s", keyName(key), create)); err == nil {
		t.Error("echo of a taken key into create succeeded")
	}
	if after := msgStat(t, id); after != before {
		t.Errorf("EEXIST changed the queue: %+v -> %+v", before, after)
	}

	k := newKey()
	kn := keyName(k)
	for _, text := range []string{
		"\n", "  \t\n",
		"0xZZ", "0x", "0x-1", "0x+1", "+5", "0x1ffffffff", "99999999999", "key", "PRIVATE", "private0600",
		kn + " 0999", kn + " 8", kn + " 010000", kn + " -644", kn + " +644", kn + " rw", kn + " 0x644",
		kn + " 0644 extra", kn + " 0644 0644", kn + " 4096 0644",
	} {
		if e := writeControl(t, create, text); e != syscall.EINVAL {
			t.Errorf("create %q: %v, want EINVAL", text, e)
		}
	}
	if _, err := msgIDOf(k); err == nil {
		t.Errorf("a bad create made %s", kn)
		msgRemoveKeyLater(t, k)
	}
	if _, _, err := sh(t, "echo '"+kn+" 9' > "+create); err == nil {
		t.Error("echo of a bad create succeeded")
	}
	if after := msgStat(t, id); after != before {
		t.Errorf("bad creates changed the queue: %+v -> %+v", before, after)
	}
	if _, err := msgIDOf(k); err == nil {
		t.Errorf("%s exists after bad creates", kn)
	}
}

// TestMsgCreateAsWriter: a queue made through create belongs to the
// writer (uid, gid, cuid, cgid), as if it had called msgget itself.
func TestMsgCreateAsWriter(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	key, twinKey := newKey(), newKey()
	msgRemoveKeyLater(t, key)
	msgRemoveKeyLater(t, twinKey)

	if _, errs, err := asUser(t, fmt.Sprintf(`echo "%#x 0640" > %s`, key, m.Path("msg", "create"))); err != nil {
		t.Fatalf("create as uid 1000: %v %s", err, errs)
	}
	if e := runCErrno(t, true, "msgtool", "create", fmt.Sprint(twinKey), "0640"); e != 0 {
		t.Fatalf("msgget as uid 1000: %v", e)
	}
	id, err := msgIDOf(key)
	if err != nil {
		t.Fatalf("the queue made as uid 1000: %v", err)
	}
	twin, err := msgIDOf(twinKey)
	if err != nil {
		t.Fatal(err)
	}
	got, want := msgStat(t, id), msgStat(t, twin)
	p := got.Perm
	if p.Uid != 1000 || p.Gid != 1000 || p.Cuid != 1000 || p.Cgid != 1000 || p.Mode != 0640 {
		t.Errorf("made as uid 1000: uid %d gid %d cuid %d cgid %d mode %o; want 1000 1000 1000 1000 640",
			p.Uid, p.Gid, p.Cuid, p.Cgid, p.Mode)
	}
	w := want.Perm
	if p.Uid != w.Uid || p.Gid != w.Gid || p.Cuid != w.Cuid || p.Cgid != w.Cgid || p.Mode != w.Mode || got.Qbytes != want.Qbytes {
		t.Errorf("made as uid 1000 through the mount: %+v; directly: %+v", got, want)
	}
	msgCheckStat(t, m.Path("msg", keyName(key)), id)

	// The key taken by root's queue: EEXIST for the user too, as directly.
	rootKey := newKey()
	msgNewQueue(t, rootKey, 0600)
	direct := runCErrno(t, true, "msgtool", "create", fmt.Sprint(rootKey), "0600")
	out, _, err := asUser(t, fmt.Sprintf(`exec 3>%s; printf '%#x' >&3 2>/dev/null; echo $?`, m.Path("msg", "create"), rootKey))
	if direct != syscall.EEXIST || err != nil || strings.TrimSpace(out) == "0" {
		t.Errorf("create of root's key as uid 1000: shell says %q %v; directly %v", out, err, direct)
	}
	if e := runCErrno(t, true, "fsop", "write", m.Path("msg", "create"), fmt.Sprint(rootKey)); e != direct {
		t.Errorf("create of root's key as uid 1000: %v, directly %v", e, direct)
	}
}

// TestMsgRemoveControl: writing names to msg/remove removes each of them,
// whatever the spelling; one unknown name, or a word that names no
// queue, removes nothing.
func TestMsgRemoveControl(t *testing.T) {
	m := mount(t)
	remove := m.Path("msg", "remove")
	kA, kB, kD := newKey(), newKey(), newKey()
	idA := msgNewQueue(t, kA, 0600)
	idB := msgNewQueue(t, kB, 0600)
	idC := msgPrivateQueue(t, 0600)
	idD := msgNewQueue(t, kD, 0600)

	unused := newKey()
	// An unknown name: ENOENT; a word that names no queue (an alias
	// names a view of one): EINVAL. Neither removes anything.
	for bad, want := range map[string]syscall.Errno{keyName(unused): syscall.ENOENT, "id-2147483646": syscall.ENOENT,
		"bogus": syscall.EINVAL, keyName(kA) + ":1": syscall.EINVAL, keyName(kA) + ":peek": syscall.EINVAL} {
		text := fmt.Sprintf("%s %s id-%d %s\n", keyName(kA), bad, idC, keyName(kD))
		if e := writeControl(t, remove, text); e != want {
			t.Errorf("remove %q: %v, want %v", text, e, want)
		}
		for _, id := range []int{idA, idB, idC, idD} {
			if msgGone(id) {
				t.Fatalf("remove %q removed queue %d", text, id)
			}
		}
	}

	text := fmt.Sprintf("%s\t0X%X\n id-%d  id-%d %s\n", keyName(kA), kB, idC, idD, keyName(kA))
	if e := writeControl(t, remove, text); e != 0 {
		t.Fatalf("remove %q: %v", text, e)
	}
	for _, id := range []int{idA, idB, idC, idD} {
		if !msgGone(id) {
			t.Errorf("queue %d still exists after remove", id)
		}
	}
	kF := newKey()
	idF := msgNewQueue(t, kF, 0600)
	mustSh(t, fmt.Sprintf("echo 0x000%x > %s", kF, remove))
	if !msgGone(idF) {
		t.Error("echo NAME > remove left the queue")
	}
}

// --- messages ---

// TestMsgWriteThenReceive: each write(2) through the mount is one message
// of type 1 (NAME:T: type T) holding exactly the bytes written, as a
// direct msgrcv shows; a write the kernel's msgsnd refuses is refused
// with the same errno.
func TestMsgWriteThenReceive(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := msgNewQueue(t, key, 0600)
	p := m.Path("msg", keyName(key))

	// The shell: echo, printf, >>, cat of a file, dd.
	bin := randomBytes(6000, 3)
	if !bytes.Contains(bin, []byte{0}) || !bytes.Contains(bin, []byte{'\n'}) {
		t.Fatal("the random payload has no NUL or newline")
	}
	binFile := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(binFile, bin, 0600); err != nil {
		t.Fatal(err)
	}
	mustSh(t, "echo hello > "+p)
	// (bash's printf writes line by line, one write(2), so one message,
	// per line: a payload of several lines goes through cat or dd.)
	mustSh(t, "printf 'two words' > "+p)
	mustSh(t, "echo appended >> "+p)
	mustSh(t, "cat "+binFile+" > "+p)
	mustSh(t, "printf 'typed 7' > "+p+":7")
	mustSh(t, "printf 'typed 2' > "+p+":2")
	mustSh(t, "dd if="+binFile+" of="+p+" bs=5000 count=1 status=none")
	want := []msgMessage{
		{1, []byte("hello\n")},
		{1, []byte("two words")},
		{1, []byte("appended\n")},
		{1, bin},
		{7, []byte("typed 7")},
		{2, []byte("typed 2")},
		{1, bin[:5000]},
	}
	if d := msgStat(t, id); d.Qnum != uint64(len(want)) {
		t.Errorf("after %d writes: qnum %d", len(want), d.Qnum)
	}
	msgCheckStat(t, p, id)
	if got := msgDrain(t, id); !msgSameMessages(got, want) {
		t.Errorf("direct msgrcv got\n%v\nwant\n%v", got, want)
	}

	// One write(2) of several KiB of random bytes, through the plain
	// name and through NAME:T, from this process and from a C program.
	for i, c := range []struct {
		suffix string
		mtype  int64
	}{{"", 1}, {":1", 1}, {":3", 3}, {":9223372036854775807", 1<<63 - 1}} {
		data := randomBytes(1000+1700*i, byte(10+i))
		if e := msgMountWrite(t, p+c.suffix, data, 0); e != 0 {
			t.Errorf("write of %d bytes to NAME%s: %v", len(data), c.suffix, e)
			continue
		}
		e, f, _ := msgToolResult(t, "msgtool write", string(msgStart(t, data, "msgtool", "write", p+c.suffix).waitOK(t)))
		if e != 0 || f[0] != strconv.Itoa(len(data)) {
			t.Errorf("msgtool write of %d bytes to NAME%s: %v %v", len(data), c.suffix, e, f)
		}
		if d := msgStat(t, id); d.Qnum != 2 || d.Cbytes != uint64(2*len(data)) {
			t.Errorf("after two writes of %d bytes to NAME%s: qnum %d cbytes %d", len(data), c.suffix, d.Qnum, d.Cbytes)
		}
		if got := msgDrain(t, id); !msgSameMessages(got, []msgMessage{{c.mtype, data}, {c.mtype, data}}) {
			t.Errorf("NAME%s: direct msgrcv got %d messages, types %v", c.suffix, len(got), got)
		}
	}

	// The largest message the kernel takes goes through; one byte more
	// is refused with msgsnd's errno, and nothing is sent.
	msgmax, err := os.ReadFile("/proc/sys/kernel/msgmax")
	if err != nil {
		t.Fatal(err)
	}
	max, _ := strconv.Atoi(strings.TrimSpace(string(msgmax)))
	d := msgStat(t, id)
	if uint64(max) > d.Qbytes {
		msgSetQbytes(t, id, uint64(max))
	}
	big := randomBytes(max+1, 44)
	directErr := errnoOf(msgSnd(id, 1, big, unix.IPC_NOWAIT))
	if directErr != syscall.EINVAL {
		t.Fatalf("direct msgsnd of msgmax+1 bytes: %v", directErr)
	}
	if e := msgMountWrite(t, p, big, 0); e != directErr {
		t.Errorf("write of msgmax+1 = %d bytes: %v, directly %v", len(big), e, directErr)
	}
	if e := msgMountWrite(t, p, big[:max], 0); e != 0 {
		t.Errorf("write of msgmax = %d bytes: %v", max, e)
	}
	if got := msgDrain(t, id); !msgSameMessages(got, []msgMessage{{1, big[:max]}}) {
		t.Errorf("after writes of msgmax+1 and msgmax bytes the queue held %d messages", len(got))
	}
	// A type that msgsnd refuses is no name at all.
	if e := msgMountWrite(t, p+":0", []byte("x"), 0); e != syscall.ENOENT {
		t.Errorf("write to NAME:0: %v, want ENOENT", e)
	}
	// A negative type receives but cannot send: msgsnd says EINVAL.
	directNeg := errnoOf(msgSnd(id, -2, []byte("x"), unix.IPC_NOWAIT))
	if e := msgMountWrite(t, p+":-2", []byte("x"), 0); e != directNeg || e == 0 {
		t.Errorf("write to NAME:-2: %v, directly msgsnd type -2 %v", e, directNeg)
	}
	if d := msgStat(t, id); d.Qnum != 0 {
		t.Errorf("refused writes left %d messages", d.Qnum)
	}
}

// TestMsgSendThenRead: what msgsnd sent directly, of any type, reads back
// through the mount one whole message per read(2), oldest first, with its
// exact bytes, whatever the tool.
func TestMsgSendThenRead(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := msgNewQueue(t, key, 0600)
	p := m.Path("msg", keyName(key))

	bin := randomBytes(7000, 9)
	sent := []msgMessage{
		{1, []byte("first\n")},
		{2, []byte("second, no newline")},
		{7, bin},
		{1, []byte("a\x00b\nc")},
		{7, []byte("7 again\n")},
		{2, bin[:4097]},
	}
	for _, s := range sent {
		msgSend(t, id, s.Type, s.Data)
	}
	msgCheckStat(t, p, id)

	// Read by this process with one read(2) each, by dd, by head -c, and
	// by a C program: all in the order sent.
	readers := []func() []byte{
		func() []byte {
			b, e := msgMountRead(t, p, 1<<16, syscall.O_NONBLOCK)
			if e != 0 {
				t.Errorf("read: %v", e)
			}
			return b
		},
		func() []byte { return []byte(mustSh(t, "timeout 60 dd if="+p+" bs=64k count=1 status=none")) },
		func() []byte {
			e, f, b := msgToolResult(t, "msgtool read", msgStart(t, nil, "msgtool", "read", p, "65536").waitOK(t))
			if e != 0 || f[0] != strconv.Itoa(len(b)) {
				t.Errorf("msgtool read: %v %v", e, f)
			}
			return b
		},
	}
	for i, s := range sent {
		before := msgStat(t, id)
		got := readers[i%len(readers)]()
		if !bytes.Equal(got, s.Data) {
			t.Errorf("message %d (type %d, %d bytes): read %d bytes %q", i, s.Type, len(s.Data), len(got), got[:min(len(got), 40)])
		}
		after := msgStat(t, id)
		if after.Qnum != before.Qnum-1 || after.Cbytes != before.Cbytes-uint64(len(s.Data)) {
			t.Errorf("message %d: qnum %d -> %d, cbytes %d -> %d", i, before.Qnum, after.Qnum, before.Cbytes, after.Cbytes)
		}
	}
	if d := msgStat(t, id); d.Qnum != 0 || d.Rtime == 0 {
		t.Errorf("after reading everything: %+v", d)
	}
	msgCheckStat(t, p, id)

	// Binary round trip through the shell: a file in, a file out, one
	// message each way.
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	if err := os.WriteFile(in, bin[:5555], 0600); err != nil {
		t.Fatal(err)
	}
	mustSh(t, fmt.Sprintf("cat %s > %s && timeout 60 dd if=%s of=%s bs=64k count=1 status=none", in, p, p, out))
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, bin[:5555]) {
		t.Errorf("a binary file through the queue: %d bytes back, %v", len(got), err)
	}

	// An empty message reads as zero bytes (end of file to the reader),
	// and is taken.
	msgSend(t, id, 3, nil)
	msgSend(t, id, 1, []byte("after the empty one"))
	if b, e := msgMountRead(t, p, 100, 0); e != 0 || len(b) != 0 {
		t.Errorf("read of an empty message: %q %v", b, e)
	}
	if b, e := msgMountRead(t, p, 100, 0); e != 0 || string(b) != "after the empty one" {
		t.Errorf("read after an empty message: %q %v", b, e)
	}
	// cat reads one message and then waits for the next: here the
	// next is already there, and an empty one ends cat's loop.
	msgSend(t, id, 1, []byte("one "))
	msgSend(t, id, 1, []byte("two"))
	msgSend(t, id, 1, nil)
	if got := mustSh(t, "timeout 60 cat "+p); got != "one two" {
		t.Errorf("cat: %q", got)
	}
	if d := msgStat(t, id); d.Qnum != 0 {
		t.Errorf("cat left %d messages", d.Qnum)
	}
}

// TestMsgTypedReceive: reading NAME:T takes what msgrcv with msgtyp T
// takes: the oldest message of type T, or for negative T the oldest of
// the lowest type up to |T|. The same messages on a twin queue, received
// directly, come out in the same order.
func TestMsgTypedReceive(t *testing.T) {
	m := mount(t)
	key, twinKey := newKey(), newKey()
	id := msgNewQueue(t, key, 0600)
	twin := msgNewQueue(t, twinKey, 0600)
	p := m.Path("msg", keyName(key))

	types := []int64{5, 3, 7, 1, 3, 2, 9, 5, 1, 4, 7, 2, 3, 8, 6, 1}
	for i, typ := range types {
		data := []byte(fmt.Sprintf("message %d of type %d", i, typ))
		msgSend(t, id, typ, data)
		msgSend(t, twin, typ, data)
	}

	// Each msgtyp in turn, until neither queue has a message of it; the
	// mount's O_NONBLOCK read says EAGAIN where msgrcv IPC_NOWAIT says
	// ENOMSG.
	for _, msgtyp := range []int64{3, -4, 7, -1, 9, -6, 5, 100, -1000} {
		suffix := fmt.Sprintf(":%d", msgtyp)
		for n := 0; ; n++ {
			got, e := msgMountRead(t, p+suffix, 1<<16, syscall.O_NONBLOCK)
			want, err := msgRcv(twin, msgtyp, 1<<16, unix.IPC_NOWAIT)
			if errors.Is(err, unix.ENOMSG) {
				if e != syscall.EAGAIN {
					t.Errorf("read %d of NAME%s: %q %v; directly there is no such message", n, suffix, got, e)
				}
				break
			}
			if err != nil {
				t.Fatalf("msgrcv(msgtyp %d): %v", msgtyp, err)
			}
			if e != 0 || !bytes.Equal(got, want.Data) {
				t.Errorf("read %d of NAME%s: %q %v; directly %q", n, suffix, got, e, want.Data)
				break
			}
		}
		if a, b := msgStat(t, id), msgStat(t, twin); a.Qnum != b.Qnum || a.Cbytes != b.Cbytes {
			t.Errorf("after msgtyp %d: the mount's queue holds %d messages (%d bytes), the twin %d (%d)",
				msgtyp, a.Qnum, a.Cbytes, b.Qnum, b.Cbytes)
		}
	}
	if a, b := msgDrain(t, id), msgDrain(t, twin); !msgSameMessages(a, b) {
		t.Errorf("left over: %v through the mount, %v directly", a, b)
	}

	// A reader of NAME:T blocks while the queue holds only other types,
	// and takes the message of type T when it comes, leaving the others.
	msgSend(t, id, 1, []byte("other"))
	r := msgStart(t, nil, "msgtool", "read", p+":6", "65536")
	msgWaitDaemonWaiters(t, m, id, 1, 0)
	msgSend(t, id, 2, []byte("still other"))
	msgSend(t, id, 6, []byte("for the reader of 6"))
	e, _, got := msgToolResult(t, r.name, r.waitOK(t))
	if e != 0 || string(got) != "for the reader of 6" {
		t.Errorf("the reader of NAME:6 got %q %v", got, e)
	}
	if left := msgDrain(t, id); !msgSameMessages(left, []msgMessage{{1, []byte("other")}, {2, []byte("still other")}}) {
		t.Errorf("after the reader of NAME:6: %v", left)
	}
}

// TestMsgTooBig: a read whose buffer is shorter than the next message
// fails with E2BIG, as msgrcv without MSG_NOERROR does, and takes
// nothing: the message stays, and a read with room enough gets it whole.
func TestMsgTooBig(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := msgNewQueue(t, key, 0600)
	p := m.Path("msg", keyName(key))

	payload := randomBytes(3000, 77)
	msgSend(t, id, 4, payload)
	msgSend(t, id, 5, []byte("second"))
	before := msgStat(t, id)

	// msgrcv directly, on a twin, gives E2BIG too.
	twin := msgNewQueue(t, newKey(), 0600)
	msgSend(t, twin, 4, payload)
	if _, err := msgRcv(twin, 0, 100, unix.IPC_NOWAIT); !errors.Is(err, unix.E2BIG) {
		t.Fatalf("direct msgrcv of a too long message: %v", err)
	}

	for _, c := range []struct {
		suffix string
		size   int
	}{{"", 1}, {"", 100}, {"", 2999}, {":4", 2999}, {":-4", 10}} {
		for _, flags := range []int{0, syscall.O_NONBLOCK} {
			got, e := msgMountRead(t, p+c.suffix, c.size, flags)
			if e != syscall.E2BIG {
				t.Errorf("read of NAME%s into %d bytes (flags %#x): %d bytes, %v; want E2BIG", c.suffix, c.size, flags, len(got), e)
			}
		}
		if after := msgStat(t, id); after.Qnum != before.Qnum || after.Cbytes != before.Cbytes || after.Rtime != before.Rtime || after.Lrpid != before.Lrpid {
			t.Errorf("E2BIG of NAME%s changed the queue: %+v -> %+v", c.suffix, before, after)
		}
	}
	// The shell sees the failure: dd with too small a block.
	if out, _, err := sh(t, "timeout 60 dd if="+p+" bs=512 count=1 status=none"); err == nil || out != "" {
		t.Errorf("dd bs=512 of a 3000-byte message: %q %v", out, err)
	}
	// A C program's read(2) says E2BIG too.
	if e, _, _ := msgToolResult(t, "msgtool read", msgStart(t, nil, "msgtool", "read", p, "2048").waitOK(t)); e != syscall.E2BIG {
		t.Errorf("msgtool read into 2048 bytes: %v, want E2BIG", e)
	}
	if d := msgStat(t, id); d.Qnum != 2 {
		t.Errorf("after refused reads: qnum %d", d.Qnum)
	}

	// Exactly the size fits.
	if got, e := msgMountRead(t, p, 3000, syscall.O_NONBLOCK); e != 0 || !bytes.Equal(got, payload) {
		t.Errorf("read into 3000 bytes: %d bytes, %v", len(got), e)
	}
	// A small buffer is enough for a small message.
	if got, e := msgMountRead(t, p, 6, syscall.O_NONBLOCK); e != 0 || string(got) != "second" {
		t.Errorf("read of \"second\" into 6 bytes: %q %v", got, e)
	}
	if d := msgStat(t, id); d.Qnum != 0 {
		t.Errorf("after reading both: qnum %d", d.Qnum)
	}
}

// TestMsgNonblocking: with O_NONBLOCK a read of an empty queue fails with
// EAGAIN at once, and a write to a full queue fails with EAGAIN, sending
// nothing; as msgrcv and msgsnd with IPC_NOWAIT (which says ENOMSG for
// the read).
func TestMsgNonblocking(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := msgNewQueue(t, key, 0600)
	p := m.Path("msg", keyName(key))

	if _, err := msgRcv(id, 0, 100, unix.IPC_NOWAIT); !errors.Is(err, unix.ENOMSG) {
		t.Fatalf("direct msgrcv IPC_NOWAIT of an empty queue: %v", err)
	}
	for _, suffix := range []string{"", ":1", ":-5"} {
		if got, e := msgMountRead(t, p+suffix, 100, syscall.O_NONBLOCK); e != syscall.EAGAIN {
			t.Errorf("O_NONBLOCK read of an empty NAME%s: %q %v, want EAGAIN", suffix, got, e)
		}
		e, _, _ := msgToolResult(t, "msgtool read nonblock", msgStart(t, nil, "msgtool", "read", p+suffix, "100", "nonblock").waitOK(t))
		if e != syscall.EAGAIN {
			t.Errorf("msgtool read nonblock of an empty NAME%s: %v, want EAGAIN", suffix, e)
		}
	}
	// The shell: dd with iflag=nonblock.
	if _, _, err := sh(t, "dd if="+p+" iflag=nonblock bs=64k count=1 status=none"); err == nil {
		t.Error("dd iflag=nonblock of an empty queue succeeded")
	}
	// Messages of other types only: still nothing for NAME:2.
	msgSend(t, id, 1, []byte("type one"))
	if got, e := msgMountRead(t, p+":2", 100, syscall.O_NONBLOCK); e != syscall.EAGAIN {
		t.Errorf("O_NONBLOCK read of NAME:2 with only type 1 queued: %q %v", got, e)
	}
	if got, e := msgMountRead(t, p, 100, syscall.O_NONBLOCK); e != 0 || string(got) != "type one" {
		t.Errorf("O_NONBLOCK read of a message: %q %v", got, e)
	}

	// Full: writes fail at once with EAGAIN, and send nothing.
	sent := msgFill(t, id, 100)
	before := msgStat(t, id)
	if err := msgSnd(id, 1, []byte("x"), unix.IPC_NOWAIT); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("direct msgsnd IPC_NOWAIT to a full queue: %v", err)
	}
	for _, suffix := range []string{"", ":1", ":8"} {
		if e := msgMountWrite(t, p+suffix, []byte("does not fit"), syscall.O_NONBLOCK); e != syscall.EAGAIN {
			t.Errorf("O_NONBLOCK write to a full NAME%s: %v, want EAGAIN", suffix, e)
		}
		e, _, _ := msgToolResult(t, "msgtool write nonblock", msgStart(t, []byte("x"), "msgtool", "write", p+suffix, "nonblock").waitOK(t))
		if e != syscall.EAGAIN {
			t.Errorf("msgtool write nonblock to a full NAME%s: %v, want EAGAIN", suffix, e)
		}
	}
	if _, _, err := sh(t, "printf x | dd of="+p+" oflag=nonblock conv=notrunc status=none"); err == nil {
		t.Error("dd oflag=nonblock to a full queue succeeded")
	}
	if after := msgStat(t, id); after.Qnum != before.Qnum || after.Cbytes != before.Cbytes || after.Stime != before.Stime || after.Lspid != before.Lspid {
		t.Errorf("refused writes changed the queue: %+v -> %+v", before, after)
	}
	if got := msgDrain(t, id); !msgSameMessages(got, sent) {
		t.Errorf("the full queue holds %v, want %v", got, sent)
	}
}

// --- waiting ---

// msgCheckResponsive checks that the mount answers other requests, here
// while something waits on queue id: listing, stat, status, peek, and
// messages through another queue.
func msgCheckResponsive(t *testing.T, m *Mount, key uint32) {
	t.Helper()
	p := m.Path("msg", keyName(key))
	if out := mustSh(t, "timeout 60 ls "+m.Path("msg")); !strings.Contains(out, keyName(key)) {
		t.Errorf("ls while blocked: %q", out)
	}
	mustSh(t, "timeout 60 stat "+p+" "+p+":9 > /dev/null")
	if out := mustSh(t, "timeout 60 cat "+m.Path("msg", "status")); !strings.Contains(out, keyName(key)) {
		t.Errorf("msg/status while blocked: %q", out)
	}
	mustSh(t, "timeout 60 cat "+p+":peek > /dev/null")
	other := newKey()
	msgNewQueue(t, other, 0600)
	po := m.Path("msg", keyName(other))
	if out := mustSh(t, fmt.Sprintf("echo meanwhile > %s && timeout 60 dd if=%s bs=64k count=1 status=none", po, po)); out != "meanwhile\n" {
		t.Errorf("another queue while blocked: %q", out)
	}
}

// TestMsgBlockingReader: a read of an empty queue waits, like a FIFO's,
// without holding up the mount; a message sent directly releases it with
// exactly that message. Two readers get one message each.
func TestMsgBlockingReader(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := msgNewQueue(t, key, 0600)
	p := m.Path("msg", keyName(key))

	dd := msgStart(t, nil, "dd", "if="+p, "bs=64k", "count=1", "status=none")
	msgWaitDaemonWaiters(t, m, id, 1, 0)
	msgCheckResponsive(t, m, key)
	if got, e := msgMountRead(t, p, 100, syscall.O_NONBLOCK); e != syscall.EAGAIN {
		t.Errorf("O_NONBLOCK read beside a blocked reader: %q %v", got, e)
	}
	if dd.exited() {
		t.Fatalf("dd of an empty queue ended: %q", dd.stdout.String())
	}
	payload := append([]byte("wake up\x00\n"), randomBytes(2000, 5)...)
	msgSend(t, id, 2, payload)
	if out := dd.waitOK(t); out != string(payload) {
		t.Errorf("the released dd got %d bytes, want the %d sent", len(out), len(payload))
	}
	if d := msgStat(t, id); d.Qnum != 0 {
		t.Errorf("after the release: qnum %d", d.Qnum)
	}

	// Two readers, a C program and dd, both waiting: two messages, one
	// each, in some order.
	r1 := msgStart(t, nil, "msgtool", "read", p, "65536")
	r2 := msgStart(t, nil, "dd", "if="+p, "bs=64k", "count=1", "status=none")
	msgWaitDaemonWaiters(t, m, id, 2, 0)
	msgSend(t, id, 1, []byte("one"))
	msgSend(t, id, 7, []byte("two"))
	e, _, got1 := msgToolResult(t, r1.name, r1.waitOK(t))
	got2 := r2.waitOK(t)
	if e != 0 || !(string(got1) == "one" && got2 == "two" || string(got1) == "two" && got2 == "one") {
		t.Errorf("two readers got %q (%v) and %q", got1, e, got2)
	}
	msgWaitDaemonWaiters(t, m, id, 0, 0)
	if d := msgStat(t, id); d.Qnum != 0 {
		t.Errorf("after two releases: qnum %d", d.Qnum)
	}
}

// TestMsgBlockingWriter: a write to a full queue waits, without holding
// up the mount and without sending anything; a message received directly
// makes room and releases it, and its message is sent whole.
func TestMsgBlockingWriter(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := msgNewQueue(t, key, 0600)
	p := m.Path("msg", keyName(key))
	sent := msgFill(t, id, 100)
	before := msgStat(t, id)

	w1 := msgStart(t, []byte("blocked writer\x00"), "msgtool", "write", p+":4")
	w2 := msgStart(t, nil, "bash", "-c", "echo shell writer > "+p)
	msgWaitDaemonWaiters(t, m, id, 0, 2)
	msgCheckResponsive(t, m, key)
	if after := msgStat(t, id); after.Qnum != before.Qnum || after.Cbytes != before.Cbytes || after.Stime != before.Stime {
		t.Errorf("blocked writers changed the queue: %+v -> %+v", before, after)
	}
	if w1.exited() || w2.exited() {
		t.Fatal("a writer to a full queue ended")
	}

	first := msgReceive(t, id, 0)
	if first.Type != sent[0].Type || !bytes.Equal(first.Data, sent[0].Data) {
		t.Errorf("the first message: %v, want %v", first, sent[0])
	}
	e, f, _ := msgToolResult(t, w1.name, w1.waitOK(t))
	if e != 0 || f[0] != "15" {
		t.Errorf("the released msgtool write: %v %v", e, f)
	}
	w2.waitOK(t)
	msgWaitDaemonWaiters(t, m, id, 0, 0)
	got := msgDrain(t, id)
	if len(got) != 11 || !msgSameMessages(got[:9], sent[1:]) {
		t.Fatalf("after the release the queue held %v", got)
	}
	tail := got[9:]
	want := []msgMessage{{4, []byte("blocked writer\x00")}, {1, []byte("shell writer\n")}}
	if !msgSameMessages(tail, want) && !msgSameMessages(tail, []msgMessage{want[1], want[0]}) {
		t.Errorf("the released writers sent %v, want %v", tail, want)
	}
}

// msgBlockOnFullQueue makes a full queue and starts what blocks on it:
// through the mount a reader of NAME:9 (no message has type 9; the
// reader is msgtool read, or when reader is given that command line with
// if=NAME:9 added, as for dd) and a msgtool writer, and directly (when
// direct) a msgrcv of type 9 and a msgsnd; extra are words added to
// each command (msgtool's alarm). It returns the queue, what it holds,
// and the processes, all waiting.
func msgBlockOnFullQueue(t *testing.T, m *Mount, direct bool, reader []string, extra ...string) (int, []msgMessage, []*msgProc) {
	t.Helper()
	key := newKey()
	id := msgNewQueue(t, key, 0600)
	p := m.Path("msg", keyName(key))
	sent := msgFill(t, id, 100)
	var procs []*msgProc
	if reader == nil {
		reader = []string{"msgtool", "read", p + ":9", "65536"}
	} else {
		reader = append(reader, "if="+p+":9")
	}
	procs = append(procs, msgStart(t, nil, reader[0], append(reader[1:], extra...)...))
	procs = append(procs, msgStart(t, []byte("never sent"), "msgtool", append([]string{"write", p}, extra...)...))
	msgWaitDaemonWaiters(t, m, id, 1, 1)
	if direct {
		rcv := msgStart(t, nil, "msgtool", append([]string{"recv", strconv.Itoa(id), "9", "65536"}, extra...)...)
		snd := msgStart(t, []byte("never sent either"), "msgtool", append([]string{"send", strconv.Itoa(id), "1"}, extra...)...)
		msgWaitInSyscall(t, rcv, unix.SYS_MSGRCV)
		msgWaitInSyscall(t, snd, unix.SYS_MSGSND)
		procs = append(procs, rcv, snd)
	}
	return id, sent, procs
}

// msgCheckUntouched checks that the queue holds what it held, that the
// daemon waits on it no more, and that its messages all come out of a
// direct msgrcv, and nothing else, then or later.
func msgCheckUntouched(t *testing.T, m *Mount, id int, before msgQueueDs, sent []msgMessage) {
	t.Helper()
	msgWaitDaemonWaiters(t, m, id, 0, 0)
	after := msgStat(t, id)
	if after.Qnum != before.Qnum || after.Cbytes != before.Cbytes || after.Stime != before.Stime ||
		after.Rtime != before.Rtime || after.Lspid != before.Lspid || after.Lrpid != before.Lrpid {
		t.Errorf("interrupted waiters changed the queue: %+v -> %+v", before, after)
	}
	if got := msgDrain(t, id); !msgSameMessages(got, sent) {
		t.Errorf("the queue held %v, want %v", got, sent)
	}
	// Room now, and a message of type 9: nobody takes it, nothing comes.
	msgSend(t, id, 9, []byte("for nobody"))
	if d := msgStat(t, id); d.Qnum != 1 {
		t.Errorf("after the waiters are gone, a message of type 9 left %d messages", d.Qnum)
	}
	if got := msgDrain(t, id); !msgSameMessages(got, []msgMessage{{9, []byte("for nobody")}}) {
		t.Errorf("after the waiters are gone the queue held %v", got)
	}
}

// TestMsgInterrupted: a reader and a writer blocked through the mount,
// when killed or interrupted by a signal, take and send nothing; a
// signal handler without SA_RESTART sees EINTR, as with msgrcv and msgsnd
// made directly.
func TestMsgInterrupted(t *testing.T) {
	m := mount(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			id, sent, procs := msgBlockOnFullQueue(t, m, false, []string{"dd", "bs=64k", "count=1", "status=none"})
			before := msgStat(t, id)
			for _, p := range procs {
				if err := p.cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range procs {
				_, err := p.wait(t)
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != sig {
					t.Errorf("%s after %v: %v; want killed by it", p.name, sig, err)
				}
			}
			msgCheckUntouched(t, m, id, before, sent)
		})
	}
	t.Run("SIGALRM", func(t *testing.T) {
		id, sent, procs := msgBlockOnFullQueue(t, m, true, nil, "alarm")
		before := msgStat(t, id)
		for _, p := range procs {
			if e := msgToolErrno(t, p); e != syscall.EINTR {
				t.Errorf("%s: %v, want EINTR", p.name, e)
			}
		}
		msgCheckUntouched(t, m, id, before, sent)
	})
}

// TestMsgKilledReaderTakesNothing: a message sent right after a waiting
// reader is killed stays in the queue, as for a process killed in a
// direct msgrcv, whether or not it reached the daemon's waiting msgrcv
// before the daemon heard of the kill: the test sends it straight after
// the kill, ten times.
func TestMsgKilledReaderTakesNothing(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := msgNewQueue(t, key, 0600)
	for i := 0; i < 10; i++ {
		p := msgStart(t, nil, "dd", "bs=64k", "count=1", "status=none", "if="+m.Path("msg", keyName(key)))
		msgWaitDaemonWaiters(t, m, id, 1, 0)
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		text := []byte(fmt.Sprintf("message %d", i))
		msgSend(t, id, 1, text)
		p.wait(t)
		msgWaitDaemonWaiters(t, m, id, 0, 0)
		if got := msgDrain(t, id); !msgSameMessages(got, []msgMessage{{1, text}}) {
			t.Errorf("round %d: the queue held %v after the reader was killed, want the message sent", i, got)
		}
	}
}

// TestMsgRemovedWhileBlocked: removing a queue wakes a reader and a
// writer blocked on it through the mount with EIDRM, as it wakes msgrcv
// and msgsnd made directly: with ipcrm, with msg/remove, and with rm
// through the mount, the writer waiting on that very file.
func TestMsgRemovedWhileBlocked(t *testing.T) {
	m := mount(t)
	for _, how := range []string{"ipcrm", "remove", "rm"} {
		t.Run(how, func(t *testing.T) {
			id, _, procs := msgBlockOnFullQueue(t, m, true, nil)
			key := uint32(msgStat(t, id).Perm.Key)
			p := m.Path("msg", keyName(key))
			var rm *msgProc
			switch how {
			case "ipcrm":
				rm = msgStart(t, nil, "ipcrm", "-q", strconv.Itoa(id))
			case "remove":
				rm = msgStart(t, nil, "bash", "-c", "echo "+keyName(key)+" > "+m.Path("msg", "remove"))
			case "rm":
				rm = msgStart(t, nil, "rm", p)
			}
			rm.waitOK(t)
			for _, p := range procs {
				if e := msgToolErrno(t, p); e != syscall.EIDRM {
					t.Errorf("%s: %v, want EIDRM", p.name, e)
				}
			}
			if !msgGone(id) {
				t.Error("the queue is still there")
			}
			msgWaitDaemonWaiters(t, m, id, 0, 0)
			if e := statErrno(p); e != syscall.ENOENT {
				t.Errorf("stat after the removal: %v", e)
			}
		})
	}
}

// TestMsgWaitingWriterHoldsNoLock: a write waiting on a full queue holds
// up nothing else done to the same file: a second writer reaches msgsnd
// too (and can be killed), an O_NONBLOCK write fails with EAGAIN at once,
// chmod, truncate and the shell's `>` go through, and so does rm, which
// wakes the writers with EIDRM.
func TestMsgWaitingWriterHoldsNoLock(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := msgNewQueue(t, key, 0600)
	p := m.Path("msg", keyName(key))
	sent := msgFill(t, id, 100)

	w1 := msgStart(t, []byte("first writer"), "msgtool", "write", p)
	msgWaitDaemonWaiters(t, m, id, 0, 1)
	w2 := msgStart(t, []byte("second writer"), "msgtool", "write", p)
	msgWaitDaemonWaiters(t, m, id, 0, 2)

	if e := msgMountWrite(t, p, []byte("no wait"), syscall.O_NONBLOCK); e != syscall.EAGAIN {
		t.Errorf("O_NONBLOCK write beside waiting writers: %v, want EAGAIN", e)
	}
	for _, op := range [][]string{{"chmod", p, "0640"}, {"truncate", p, "0"}, {"stat", p}} {
		if e := msgToolErrno(t, msgStart(t, nil, "fsop", op...)); e != 0 {
			t.Errorf("fsop %v beside waiting writers: %v", op, e)
		}
	}
	if d := msgStat(t, id); d.Perm.Mode != 0640 {
		t.Errorf("chmod beside waiting writers: mode %o", d.Perm.Mode)
	}
	// The shell's `>` opens with O_TRUNC, and then waits as a writer.
	w3 := msgStart(t, nil, "bash", "-c", "echo third writer > "+p)
	msgWaitDaemonWaiters(t, m, id, 0, 3)

	// The second writer, killed, is gone, and sent nothing.
	w2.cmd.Process.Signal(syscall.SIGKILL)
	if _, err := w2.wait(t); err == nil {
		t.Error("the killed writer exited 0")
	}
	msgWaitDaemonWaiters(t, m, id, 0, 2)
	if d := msgStat(t, id); d.Qnum != uint64(len(sent)) {
		t.Errorf("with writers waiting or killed: qnum %d, want %d", d.Qnum, len(sent))
	}

	rm := msgStart(t, nil, "rm", p)
	rm.waitOK(t)
	if e := msgToolErrno(t, w1); e != syscall.EIDRM {
		t.Errorf("the first writer: %v, want EIDRM", e)
	}
	if _, err := w3.wait(t); err == nil {
		t.Error("echo > a removed queue succeeded")
	}
	if !msgGone(id) {
		t.Error("rm left the queue")
	}
}

// --- peek ---

// TestMsgPeek: NAME:peek lists the queued messages (index, type, size,
// first bytes) as MSG_COPY sees them, and reading it changes nothing: not
// the messages, not msg_rtime, not msg_lrpid.
func TestMsgPeek(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := msgNewQueue(t, key, 0644)
	p := m.Path("msg", keyName(key))

	// Empty: the header alone.
	if rows := msgReadPeek(t, p+":peek"); len(rows) != 0 {
		t.Errorf("peek of an empty queue: %v", rows)
	}

	msgs := []msgMessage{
		{1, []byte("hello\n")},
		{7, nil},
		{3, []byte(`quotes " and \ backslash, spaces`)},
		{2, []byte("exactly thirty-two bytes long!!!")},
		{2, []byte("thirty-three bytes, one too many!")},
		{9, randomBytes(5000, 1)},
		{1 << 40, []byte("\x00\x01\n\t\xff")},
		{5, []byte("últimos ünicode")},
	}
	for _, s := range msgs {
		msgSend(t, id, s.Type, s.Data)
	}
	before := msgStat(t, id)
	if before.Rtime != 0 || before.Lrpid != 0 {
		t.Fatalf("a queue never received from: %+v", before)
	}
	check := func(what string, want []msgMessage) {
		t.Helper()
		for _, read := range []func() []msgPeekRow{
			func() []msgPeekRow { return msgReadPeek(t, p+":peek") },
			func() []msgPeekRow { return msgReadPeek(t, m.Path("msg", fmt.Sprintf("id-%d:peek", id))) },
		} {
			rows := read()
			if len(rows) != len(want) {
				t.Errorf("%s: peek shows %d rows, %d messages are queued: %v", what, len(rows), len(want), rows)
				continue
			}
			for i, r := range rows {
				w := msgPeekRow{Index: i, Type: want[i].Type, Bytes: len(want[i].Data), First: msgPeekShows(want[i].Data)}
				if r != w {
					t.Errorf("%s: row %d: %+v, want %+v", what, i, r, w)
				}
				// MSG_COPY made directly agrees.
				e, f, b := msgToolResult(t, "msgtool copy", runC(t, "msgtool", "copy", strconv.Itoa(id), strconv.Itoa(i), "65536"))
				if e != 0 || f[0] != strconv.FormatInt(r.Type, 10) || f[1] != strconv.Itoa(r.Bytes) || msgPeekShows(b) != r.First {
					t.Errorf("%s: row %d: %+v; MSG_COPY directly: %v %v %q", what, i, r, e, f, b[:min(len(b), 40)])
				}
			}
		}
		// cat shows the same text.
		text, err := os.ReadFile(p + ":peek")
		if err != nil {
			t.Fatal(err)
		}
		if out := mustSh(t, "cat "+p+":peek"); out != string(text) {
			t.Errorf("%s: cat of peek %q, read %q", what, out, text)
		}
	}
	check("never received", msgs)
	if after := msgStat(t, id); after != before {
		t.Errorf("reading peek changed the queue: %+v -> %+v", before, after)
	}

	// After a receive: the rows move up; rtime and lrpid stay the
	// receiver's.
	msgReceive(t, id, 0)
	msgs = msgs[1:]
	before = msgStat(t, id)
	if before.Lrpid != int32(os.Getpid()) {
		t.Fatalf("lrpid %d after a msgrcv by %d", before.Lrpid, os.Getpid())
	}
	check("after one receive", msgs)
	if after := msgStat(t, id); after != before {
		t.Errorf("reading peek changed the queue: %+v -> %+v", before, after)
	}

	// Peek is read-only and sends nothing.
	if e := msgMountWrite(t, p+":peek", []byte("x"), 0); e == 0 {
		t.Error("write to NAME:peek succeeded")
	}
	if _, _, err := sh(t, "echo x > "+p+":peek"); err == nil {
		t.Error("echo > NAME:peek succeeded")
	}
	if after := msgStat(t, id); after != before {
		t.Errorf("writes to peek changed the queue: %+v -> %+v", before, after)
	}
	if got := msgDrain(t, id); !msgSameMessages(got, msgs) {
		t.Errorf("the queue held %v after peeking, want %v", got, msgs)
	}
	if rows := msgReadPeek(t, p+":peek"); len(rows) != 0 {
		t.Errorf("peek of a drained queue: %v", rows)
	}
}

// --- read-only mounts and other users ---

// TestMsgReadOnly: on a --ro mount, queues and peek read as attributes and
// tables, but a read (which takes a message) and a write fail with EROFS,
// as do chmod, rm, create and remove; nothing changes.
func TestMsgReadOnly(t *testing.T) {
	m := mount(t, "--ro")
	key := newKey()
	id := msgNewQueue(t, key, 0640)
	msgSend(t, id, 3, []byte("stays"))
	p := m.Path("msg", keyName(key))
	before := msgStat(t, id)

	msgCheckStat(t, p, id)
	if rows := msgReadPeek(t, p+":peek"); len(rows) != 1 || rows[0].Type != 3 || rows[0].First != `"stays"` {
		t.Errorf("peek on a read-only mount: %v", rows)
	}
	for _, suffix := range []string{"", ":3"} {
		if got, e := msgMountRead(t, p+suffix, 100, syscall.O_NONBLOCK); e != syscall.EROFS {
			t.Errorf("read of NAME%s on a read-only mount: %q %v, want EROFS", suffix, got, e)
		}
		if e := msgMountWrite(t, p+suffix, []byte("x"), syscall.O_NONBLOCK); e != syscall.EROFS {
			t.Errorf("write to NAME%s on a read-only mount: %v, want EROFS", suffix, e)
		}
	}
	errs := map[string]error{
		"chmod":  syscall.Chmod(p, 0666),
		"chown":  syscall.Chown(p, 1000, 1000),
		"unlink": syscall.Unlink(p),
	}
	_, errs["open create O_WRONLY"] = syscall.Open(m.Path("msg", "create"), syscall.O_WRONLY, 0)
	_, errs["open remove O_WRONLY"] = syscall.Open(m.Path("msg", "remove"), syscall.O_WRONLY, 0)
	for what, err := range errs {
		if errnoOf(err) != syscall.EROFS {
			t.Errorf("%s on a read-only mount: %v, want EROFS", what, err)
		}
	}
	if after := msgStat(t, id); after != before {
		t.Errorf("a read-only mount changed the queue: %+v -> %+v", before, after)
	}
}

// TestMsgAsOtherUser: with --allow-other, another user gets through the
// mount what msgsnd, msgrcv, MSG_COPY and IPC_SET give that user
// directly, errno for errno, and a refusal changes nothing.
func TestMsgAsOtherUser(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	key, keyR, keyW := newKey(), newKey(), newKey()
	id := msgNewQueue(t, key, 0600)   // root's own
	idR := msgNewQueue(t, keyR, 0644) // readable by all
	idW := msgNewQueue(t, keyW, 0622) // writable by all
	for _, q := range []int{id, idR, idW} {
		msgSend(t, q, 1, []byte("root's"))
	}
	p, pR, pW := m.Path("msg", keyName(key)), m.Path("msg", keyName(keyR)), m.Path("msg", keyName(keyW))
	sid, sidR, sidW := strconv.Itoa(id), strconv.Itoa(idR), strconv.Itoa(idW)
	before := map[int]msgQueueDs{id: msgStat(t, id), idR: msgStat(t, idR), idW: msgStat(t, idW)}

	for _, c := range []struct {
		what      string
		mount     []string
		direct    []string
		wantError bool
	}{
		{"read a 0600 queue", []string{"read", p}, []string{"recv", sid, "0", "100", "nowait"}, true},
		{"write a 0600 queue", []string{"write", p, "x"}, []string{"send", sid, "1", "nowait"}, true},
		{"peek a 0600 queue", []string{"read", p + ":peek"}, []string{"copy", sid, "0", "100"}, true},
		{"write a 0644 queue", []string{"write", pR, "x"}, []string{"send", sidR, "1", "nowait"}, true},
		{"read a 0622 queue", []string{"read", pW}, []string{"recv", sidW, "0", "100", "nowait"}, true},
		{"chmod", []string{"chmod", pR, "0666"}, []string{"set", sidR, "0", "0", "0666"}, true},
		{"chown", []string{"chown", pR, "1000", "1000"}, []string{"set", sidR, "1000", "1000", "0644"}, true},
		{"rm", []string{"unlink", p}, []string{"rmid", sid}, true},
		// IPC_SET needs no read permission, only ownership.
		{"chmod a 0600 queue", []string{"chmod", p, "0666"}, []string{"set", sid, "0", "0", "0666", "16384"}, true},
		{"chown a 0600 queue", []string{"chown", p, "1000", "1000"}, []string{"set", sid, "1000", "1000", "0600", "16384"}, true},
	} {
		got := runCErrno(t, true, "fsop", c.mount...)
		want := runCErrno(t, true, "msgtool", c.direct...)
		if got != want {
			t.Errorf("%s as uid 1000: through the mount %v (%d), directly %v (%d)", c.what, got, got, want, want)
		}
		if c.wantError && want == 0 {
			t.Errorf("%s as uid 1000 succeeded directly: the test is wrong", c.what)
		}
	}
	if _, _, err := asUser(t, "timeout 60 dd if="+p+" bs=64k count=1 status=none"); err == nil {
		t.Error("dd of a 0600 queue as uid 1000 succeeded")
	}
	for q, b := range before {
		if a := msgStat(t, q); a.Qnum != b.Qnum || a.Cbytes != b.Cbytes || a.Perm != b.Perm || a.Rtime != b.Rtime || a.Stime != b.Stime {
			t.Errorf("refused operations changed queue %d: %+v -> %+v", q, b, a)
		}
	}
	// What is allowed works, as that user: a read of the 0644 queue, a
	// write to the 0622 one, peek of the 0644 one.
	if rows := msgReadPeekAs(t, pR+":peek"); len(rows) != 1 || rows[0].First != `"root's"` {
		t.Errorf("peek of a 0644 queue as uid 1000: %v", rows)
	}
	if out, errs, err := asUser(t, "timeout 60 dd if="+pR+" bs=64k count=1 status=none"); err != nil || out != "root's" {
		t.Errorf("dd of a 0644 queue as uid 1000: %q %v %s", out, err, errs)
	}
	if e := runCErrno(t, true, "fsop", "write", pW+":5", "from 1000"); e != 0 {
		t.Errorf("write to a 0622 queue as uid 1000: %v", e)
	}
	if got := msgDrain(t, idW); !msgSameMessages(got, []msgMessage{{1, []byte("root's")}, {5, []byte("from 1000")}}) {
		t.Errorf("the 0622 queue holds %v", got)
	}
	if d := msgStat(t, idR); d.Qnum != 0 || d.Lrpid == 0 {
		t.Errorf("after uid 1000 read the 0644 queue: %+v", d)
	}

	// The owner may chmod and chown a queue it may not read (IPC_SET
	// checks ownership only), keeping msg_qbytes; so does root.
	for _, mode := range []uint32{0200, 0} {
		keyU := newKey()
		idU := msgNewQueue(t, keyU, 0600)
		msgSetPerm(t, idU, 1000, 1000, mode)
		msgSetQbytes(t, idU, 999)
		pU := m.Path("msg", keyName(keyU))
		if e := runCErrno(t, true, "msgtool", "set", strconv.Itoa(idU), "1000", "1000", "0", "999"); e != 0 {
			t.Fatalf("IPC_SET by the owner of a %04o queue, directly: %v", mode, e)
		}
		msgSetPerm(t, idU, 1000, 1000, mode)
		if e := runCErrno(t, true, "fsop", "chmod", pU, "0640"); e != 0 {
			t.Errorf("chmod 0640 by the owner of a %04o queue: %v, directly 0", mode, e)
		}
		if e := runCErrno(t, true, "fsop", "chown", pU, "-1", "1000"); e != 0 {
			t.Errorf("chgrp by the owner of a %04o queue: %v, directly 0", mode, e)
		}
		if d := msgStat(t, idU); d.Qbytes != 999 || d.Perm.Uid != 1000 || d.Perm.Mode != 0640 {
			t.Errorf("after the owner's chmod of a %04o queue: %+v", mode, d)
		}
		msgSetPerm(t, idU, 1000, 1000, mode)
		if err := os.Chmod(pU, 0604); err != nil {
			t.Errorf("chmod by root of a %04o queue: %v", mode, err)
		}
		if d := msgStat(t, idU); d.Qbytes != 999 || d.Perm.Mode != 0604 {
			t.Errorf("after root's chmod of a %04o queue: %+v", mode, d)
		}
	}
}

// msgReadPeekAs reads NAME:peek as uid 1000 and parses it.
func msgReadPeekAs(t *testing.T, path string) []msgPeekRow {
	t.Helper()
	out, errs, err := asUser(t, "cat "+path)
	if err != nil {
		t.Fatalf("cat %s as uid 1000: %v %s", path, err, errs)
	}
	f := filepath.Join(t.TempDir(), "peek")
	if err := os.WriteFile(f, []byte(out), 0600); err != nil {
		t.Fatal(err)
	}
	return msgReadPeek(t, f)
}
