package fs

import (
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// keptAttr is the attributes a file last served, so that an fstat of a
// handle still open on an object removed since answers as one of a file
// unlinked while open does: those attributes, with no links. Only a queue
// or semaphore file needs it: its inode serves one open (see openSlots),
// so a getattr with a handle is that handle's fstat, where a path's stat
// looks the name up afresh and finds the object gone.
type keptAttr struct {
	mu   sync.Mutex
	attr fuse.Attr
	ok   bool
}

// answer is a Getattr's result: it keeps out when errno is 0, and turns
// an errno that says the object is gone (ENOENT, or ESTALE when its key
// names another by now) into the kept attributes when fh is set.
func (k *keptAttr) answer(fh fs.FileHandle, out *fuse.AttrOut, errno syscall.Errno) syscall.Errno {
	k.mu.Lock()
	defer k.mu.Unlock()
	switch {
	case errno == 0:
		k.attr, k.ok = out.Attr, true
	case fh != nil && k.ok && (errno == syscall.ENOENT || errno == syscall.ESTALE):
		out.Attr = k.attr
		out.Nlink = 0
		out.SetTimeout(objectAttrTimeout)
		return 0
	}
	return errno
}
