package fs

import (
	"context"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// liveFlagBits are the open file's flags that count at each read or
// write, as for a FIFO or a tmpfs file: a later fcntl(F_SETFL) changes
// them. The kernel sends the file's flags as they are now with every
// read and write request, but go-fuse hands a handle only a context, so
// rawFS notes them under the request's own cancel channel, which the
// context carries, while the request is served.
const liveFlagBits = syscall.O_NONBLOCK | syscall.O_APPEND

// liveFlags holds the noted flags of the requests in flight that have
// any of liveFlagBits; a request without them is not noted, so the
// common case costs one lookup in an empty map and allocates nothing.
var liveFlags sync.Map // <-chan struct{} → uint32

// noteFlags notes a read's or write's flags until the returned func.
func noteFlags(cancel <-chan struct{}, flags uint32) (done func()) {
	if flags&liveFlagBits == 0 {
		return func() {}
	}
	liveFlags.Store(cancel, flags&liveFlagBits)
	return func() { liveFlags.Delete(cancel) }
}

// flagSet reports whether the request in ctx has the flag bit (one of
// liveFlagBits) now. The flags given at open are among them: the kernel
// sends them until a fcntl changes them.
func flagSet(ctx context.Context, bit uint32) bool {
	fc, ok := ctx.(*fuse.Context)
	if !ok {
		return false
	}
	f, ok := liveFlags.Load(fc.Cancel)
	return ok && f.(uint32)&bit != 0
}
