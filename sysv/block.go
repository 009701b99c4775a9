package sysv

import (
	"context"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// Block runs call, a syscall that may block (semop, msgsnd, msgrcv), with
// c's identity, so that only the goroutine calling Block waits and ctx can
// end the wait. call runs on a locked OS thread; when ctx is done, that
// thread is sent SIGURG (which the Go runtime already expects and ignores),
// so the syscall returns EINTR and Block returns EINTR too.
//
// These syscalls are never restarted after a signal, and the runtime
// sends SIGURG on its own for preemption, so an EINTR that ctx did not
// cause is retried: call must recompute any timeout it passes.
func (c *Cred) Block(ctx context.Context, call func() error) error {
	runtime.LockOSThread()
	if c.needsSwitch() {
		if err := c.enter(); err != nil {
			leave()
			return err
		}
	}
	tid := unix.Gettid()
	done := make(chan struct{})
	go interruptOnCancel(ctx, tid, done)

	var err error
	for {
		err = call()
		if err != unix.EINTR {
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(done)
	if !c.needsSwitch() || leave() == nil {
		runtime.UnlockOSThread()
	}
	return err
}

// interruptOnCancel signals thread tid once ctx is done, and again every
// millisecond until done is closed: the first signal may land before the
// thread has entered the syscall.
func interruptOnCancel(ctx context.Context, tid int, done <-chan struct{}) {
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	pid := unix.Getpid()
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		unix.Tgkill(pid, tid, unix.SIGURG)
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}
