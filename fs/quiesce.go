package fs

import (
	"sync/atomic"
	"time"

	"github.com/ipcfs/ipcfs/sysv"
)

// inflight counts the semaphore and queue operations under way. A
// daemon stopping with files still open (a lazy unmount) lets them reply
// before it exits: a waiter that a semop or msgsnd has woken is done in
// the kernel, inside the waker's syscall, and its caller, cut off by the
// exit, would be told ECONNABORTED about an operation that was made.
var inflight atomic.Int64

// operation counts one operation until the returned func is called.
func operation() (done func()) {
	inflight.Add(1)
	return func() { inflight.Add(-1) }
}

// replyGrace covers go-fuse's write of a reply after the handler
// returns: a syscall that does not wait.
const replyGrace = 20 * time.Millisecond

// Quiesce ends every wait (the caller gets EINTR, having taken nothing,
// or its operation's result where the kernel has made it), lets the
// operations under way reply, for up to timeout, and says whether they
// all did. Operations that come later do not wait.
func (r *Root) Quiesce(timeout time.Duration) bool {
	sysv.StopWaits()
	deadline := time.Now().Add(timeout)
	for inflight.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(replyGrace)
	return true
}
