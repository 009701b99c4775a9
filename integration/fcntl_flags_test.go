package integration

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFcntlFlags: O_NONBLOCK and O_APPEND count as the open file has them
// at each read or write, as for a FIFO or a tmpfs file: fcntl(F_SETFL)
// after the open sets or clears them (Python's os.set_blocking, asyncio's
// pipes, a C program that opens first and sets the flag later).
func TestFcntlFlags(t *testing.T) {
	m := mount(t)
	open := func(t *testing.T, path string, flags int) int {
		t.Helper()
		fd, err := unix.Open(path, flags, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	setFL := func(t *testing.T, fd int, set, clear int) {
		t.Helper()
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err == nil {
			_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^clear|set)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// inBackground runs fn, which should wait, and hands back its answer.
	inBackground := func(fn func() error) <-chan error {
		done := make(chan error, 1)
		go func() { done <- fn() }()
		return done
	}
	// atOnce runs fn, which should not wait; one that still waits after
	// 20 s is a failure, and unblock ends its wait so the test goes on.
	atOnce := func(t *testing.T, what string, fn func() error, unblock func()) error {
		t.Helper()
		done := inBackground(fn)
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			t.Errorf("%s waited", what)
			unblock()
			return <-done
		}
	}

	t.Run("queue", func(t *testing.T) {
		key := newKey()
		id := msgNewQueue(t, key, 0600)
		p := m.Path("msg", keyName(key))

		fd := open(t, p, unix.O_RDWR)
		setFL(t, fd, unix.O_NONBLOCK, 0)
		if err := atOnce(t, "a read of an empty queue", func() error { _, err := unix.Read(fd, make([]byte, 100)); return err },
			func() { msgSend(t, id, 1, []byte("unblock")) }); err != unix.EAGAIN {
			t.Errorf("read of an empty queue after F_SETFL O_NONBLOCK: %v, want EAGAIN", err)
		}
		sent := msgFill(t, id, 100)
		before := msgStat(t, id)
		if err := atOnce(t, "a write to a full queue", func() error { _, err := unix.Write(fd, []byte("x")); return err },
			func() { msgReceive(t, id, 0) }); err != unix.EAGAIN {
			t.Errorf("write to a full queue after F_SETFL O_NONBLOCK: %v, want EAGAIN, as msgsnd IPC_NOWAIT", err)
		}
		if after := msgStat(t, id); after.Qnum != before.Qnum || after.Cbytes != before.Cbytes {
			t.Errorf("the refused write changed the queue: %+v -> %+v", before, after)
		}
		if got := msgDrain(t, id); !msgSameMessages(got, sent) {
			t.Errorf("the full queue held %v, want %v", got, sent)
		}

		// Opened O_NONBLOCK, then cleared: the read waits for a message.
		fd2 := open(t, p, unix.O_RDONLY|unix.O_NONBLOCK)
		setFL(t, fd2, 0, unix.O_NONBLOCK)
		buf := make([]byte, 100)
		var n int
		done := inBackground(func() (err error) { n, err = unix.Read(fd2, buf); return err })
		msgWaitDaemonWaiters(t, m, id, 1, 0)
		msgSend(t, id, 1, []byte("hello"))
		if err := <-done; err != nil || string(buf[:n]) != "hello" {
			t.Errorf("read after F_SETFL without O_NONBLOCK: %q %v, want it to wait for hello", buf[:n], err)
		}
	})

	t.Run("semaphore", func(t *testing.T) {
		key := newKey()
		id := semNew(t, key, 1, 0600)
		p := m.Path("sem", keyName(key), "0")
		if e := semRaw(id, []semBuf{{0, -1, unix.IPC_NOWAIT}}, 0); e != unix.EAGAIN {
			t.Fatalf("direct semop -1 IPC_NOWAIT at 0: %v", e)
		}

		fd := open(t, p, unix.O_WRONLY)
		setFL(t, fd, unix.O_NONBLOCK, 0)
		if err := atOnce(t, "-1 at 0", func() error { _, err := unix.Write(fd, []byte("-1\n")); return err },
			func() { semMustOp(t, id, semBuf{0, 1, 0}) }); err != unix.EAGAIN {
			t.Errorf("-1 at 0 after F_SETFL O_NONBLOCK: %v, want EAGAIN, as semop IPC_NOWAIT", err)
		}
		if v, n := semVal(t, id, 0), semNcnt(t, id, 0); v != 0 || n != 0 {
			t.Errorf("after the refused -1: value %d, semncnt %d", v, n)
		}

		setFL(t, fd, 0, unix.O_NONBLOCK)
		done := inBackground(func() error { _, err := unix.Write(fd, []byte("-1\n")); return err })
		semWaitCounts(t, id, 0, 1, 0)
		semMustOp(t, id, semBuf{0, 1, 0})
		if err := <-done; err != nil {
			t.Errorf("-1 after F_SETFL without O_NONBLOCK: %v, want it to wait for the +1", err)
		}
		if v := semVal(t, id, 0); v != 0 {
			t.Errorf("after +1 and the -1 that waited: value %d", v)
		}
	})

	t.Run("segment", func(t *testing.T) {
		key := newKey()
		newSegment(t, key, 4096, 0600)
		p := m.Path("shm", keyName(key))

		// After an O_TRUNC open the kernel takes the size to be 0 until
		// it asks again, so it would append at 0.
		fd := open(t, p, unix.O_WRONLY|unix.O_TRUNC)
		setFL(t, fd, unix.O_APPEND, 0)
		if _, err := unix.Write(fd, []byte("x")); err != unix.ENOSPC {
			t.Errorf("write after F_SETFL O_APPEND: %v, want ENOSPC (the end of a segment that cannot grow)", err)
		}
		fd = open(t, p, unix.O_WRONLY|unix.O_APPEND)
		setFL(t, fd, 0, unix.O_APPEND)
		if n, err := unix.Pwrite(fd, []byte("y"), 10); n != 1 || err != nil {
			t.Errorf("pwrite after F_SETFL without O_APPEND: %d %v", n, err)
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) != 4096 || b[10] != 'y' || b[0] != 0 {
			t.Errorf("the segment after: %d bytes, %v; want y at 10 only", len(b), err)
		}
	})
}
