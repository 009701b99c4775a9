package fs

import (
	"context"
	"sync"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// handleGiven holds the getattr requests in flight for which the kernel
// named an open (FUSE_GETATTR_FH: a seek to the end, which asks for the
// size of that open). For any other getattr (a stat or fstat) go-fuse
// lends the node the first open it finds, which may be another caller's
// and may be one whose close the kernel has not yet sent; a view whose
// size depends on its open must not answer with that one's.
var handleGiven sync.Map // <-chan struct{} → struct{}

// GetAttr notes a getattr that names its open while it is served. Such
// requests are rare, so a stat costs one flag test.
func (n *rawFS) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	if in.Flags()&fuse.FUSE_GETATTR_FH != 0 {
		handleGiven.Store(cancel, struct{}{})
		defer handleGiven.Delete(cancel)
	}
	return n.RawFileSystem.GetAttr(cancel, in, out)
}

// ownHandle reports whether the kernel named fh in the request in ctx,
// rather than go-fuse lending it.
func ownHandle(ctx context.Context) bool {
	fc, ok := ctx.(*fuse.Context)
	if !ok {
		return false
	}
	_, ok = handleGiven.Load(fc.Cancel)
	return ok
}
