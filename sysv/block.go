package sysv

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// maxWaiting bounds the syscalls waiting at once. Each waits on an OS
// thread of its own, and the Go runtime stops the whole program at 10000
// threads, or at the first it cannot start (a pids cgroup's pids.max, as
// systemd's TasksMax sets, RLIMIT_NPROC, threads-max): the bound is the
// least of 4096 and half the tasks those leave when the first call
// waits. Callers past it wait for a free slot (see awaitSlot).
const maxWaiting = 4096

// waitSlots holds a token for each syscall waiting now.
var waitSlots = sync.OnceValue(func() chan struct{} {
	n := maxWaiting
	if left := tasksLeft(); left >= 0 {
		n = min(n, max(left/2, 8))
	}
	return make(chan struct{}, n)
})

// slotPoll is how often a caller waiting for a slot tries its call again
// without waiting.
const slotPoll = 10 * time.Millisecond

// stopWaits is closed by StopWaits: every wait ends, now and later.
var (
	stopWaits     = make(chan struct{})
	stopWaitsOnce sync.Once
)

// StopWaits ends every call waiting in Block, and every later one at
// once, as a done ctx would: a daemon about to exit must reply to each
// (EINTR, having taken nothing, or what the kernel already did for it).
func StopWaits() { stopWaitsOnce.Do(func() { close(stopWaits) }) }

func waitsStopped() bool {
	select {
	case <-stopWaits:
		return true
	default:
		return false
	}
}

// errWouldWait is what a try of Block says when its call would wait.
var errWouldWait = errors.New("would wait")

// Block runs call, a syscall that may wait (semop, msgsnd, msgrcv), with
// c's identity, so that only the goroutine calling Block waits and ctx can
// end the wait: when ctx is done, the thread in the syscall is sent
// SIGURG (which the Go runtime already expects and ignores), so the
// syscall returns EINTR and Block returns EINTR too.
//
// These syscalls are never restarted after a signal, and the runtime
// sends SIGURG on its own for preemption, so an EINTR that ctx did not
// cause is retried: call must recompute any timeout it passes.
//
// The call runs on a thread locked to a goroutine that ends without
// unlocking it, so the runtime ends the thread too: a thousand waiters
// cost a thousand threads while they wait, and none afterwards (see
// thread_trim.go for the idle ones their wakeup leaves), and no thread
// ever goes back to the pool with a caller's identity.
//
// try is call made without waiting, which gives errWouldWait where call
// would wait, and the result call would have otherwise (a timeout that
// has run out included); Block runs it with c's identity while it waits
// for a slot.
func (c *Cred) Block(ctx context.Context, call, try func() error) error {
	if err, ok := c.awaitSlot(ctx, try); !ok {
		return err
	}
	waitBegins()
	defer func() {
		waitEnds()
		<-waitSlots()
	}()

	tids := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		if c.needsSwitch() {
			if err := c.enter(); err != nil {
				done <- err
				return
			}
		}
		tids <- unix.Gettid()
		var err error
		for {
			err = call()
			if err != unix.EINTR || ctx.Err() != nil || waitsStopped() {
				break
			}
		}
		done <- err
	}()

	var tid int
	select {
	case tid = <-tids:
	case err := <-done:
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	case <-stopWaits:
	}
	// Signal the thread, and again every millisecond: the first signal
	// may land before the thread has entered the syscall.
	pid := unix.Getpid()
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		unix.Tgkill(pid, tid, unix.SIGURG)
		select {
		case err := <-done:
			return err
		case <-t.C:
		}
	}
}

// awaitSlot takes a slot for a waiting call (ok), or, while there is
// none, tries the call without waiting every slotPoll, so that a caller
// past maxWaiting still ends as its syscall would (done, failed, or out
// of time; interrupted: EINTR), only later, by up to slotPoll, and
// without the kernel counting it as waiting (semncnt, semzcnt).
func (c *Cred) awaitSlot(ctx context.Context, try func() error) (err error, ok bool) {
	slots := waitSlots()
	select {
	case slots <- struct{}{}:
		return nil, true
	default:
	}
	t := time.NewTicker(slotPoll)
	defer t.Stop()
	for {
		select {
		case slots <- struct{}{}:
			return nil, true
		case <-ctx.Done():
			return unix.EINTR, false
		case <-stopWaits:
			return unix.EINTR, false
		case <-t.C:
			switch err := c.Do(try); err {
			case errWouldWait:
			case unix.EINVAL:
				// The object is gone (the first try found it): a waiter
				// in the kernel gets EIDRM.
				return unix.EIDRM, false
			default:
				return err, false
			}
		}
	}
}
