package fs

import (
	"context"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// A request says more than go-fuse hands a node or handle, which get only
// a context: rawFS notes what they need under the request's own cancel
// channel, which that context carries, while the request is served.
// Only requests with something to note are noted, so the common case
// costs one lookup in an empty map and allocates nothing.
var requestNotes sync.Map // <-chan struct{} → requestNote

type requestNote struct {
	// flags are the open file's liveFlagBits as they are now: the kernel
	// sends the file's flags with every read and write request.
	flags uint32
	// handleGiven: a getattr for which the kernel named the open
	// (FUSE_GETATTR_FH, as at a seek to the end, which asks for that
	// open's size). For any other getattr (a stat or fstat) go-fuse lends
	// the node the first open it finds, which may be another caller's, or
	// one whose close the kernel has not yet sent.
	handleGiven bool
}

// note keeps n for the request until the returned func.
func note(cancel <-chan struct{}, n requestNote) (done func()) {
	requestNotes.Store(cancel, n)
	return func() { requestNotes.Delete(cancel) }
}

// noteOf is what was noted for the request in ctx.
func noteOf(ctx context.Context) requestNote {
	if fc, ok := ctx.(*fuse.Context); ok {
		if n, ok := requestNotes.Load(fc.Cancel); ok {
			return n.(requestNote)
		}
	}
	return requestNote{}
}

// liveFlagBits are the open file's flags that count at each read or
// write, as for a FIFO or a tmpfs file: a later fcntl(F_SETFL) changes
// them.
const liveFlagBits = syscall.O_NONBLOCK | syscall.O_APPEND

// noteFlags notes a read's or write's flags until the returned func.
func noteFlags(cancel <-chan struct{}, flags uint32) (done func()) {
	if flags&liveFlagBits == 0 {
		return func() {}
	}
	return note(cancel, requestNote{flags: flags & liveFlagBits})
}

// flagSet reports whether the request in ctx has the flag bit (one of
// liveFlagBits) now. The flags given at open are among them: the kernel
// sends them until a fcntl changes them.
func flagSet(ctx context.Context, bit uint32) bool { return noteOf(ctx).flags&bit != 0 }

// GetAttr notes a getattr that names its open while it is served.
func (n *rawFS) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	if in.Flags()&fuse.FUSE_GETATTR_FH != 0 {
		defer note(cancel, requestNote{handleGiven: true})()
	}
	return n.RawFileSystem.GetAttr(cancel, in, out)
}

// ownHandle reports whether the kernel named the getattr's handle in the
// request in ctx, rather than go-fuse lending it.
func ownHandle(ctx context.Context) bool { return noteOf(ctx).handleGiven }
