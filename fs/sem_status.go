package fs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// semStatusFile is sem/NAME/status. Reading it takes the set's read
// permission (GETALL), so it shows the set's owner and mode without w,
// and access(2) answers as the open will, as msg/NAME:peek does.
type semStatusFile struct {
	textFile
	set *semSetNode
}

var (
	_ fs.NodeGetattrer = (*semStatusFile)(nil)
	_ fs.NodeSetattrer = (*semStatusFile)(nil)
	_ fs.NodeAccesser  = (*semStatusFile)(nil)
)

func newSemStatusFile(set *semSetNode) *semStatusFile {
	return &semStatusFile{textFile: textFile{render: set.status}, set: set}
}

func (f *semStatusFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if errno := f.set.fileAttr(out); errno != 0 {
		return errno
	}
	statusAttr(&out.Attr, viewSizeOf(ctx, fh))
	return 0
}

// statusAttr turns the attributes of a file of the set into those of its
// status view, of the size given: a table, which no one writes.
func statusAttr(a *fuse.Attr, size uint64) {
	a.Mode &^= 0222
	a.Size = size
}

// Setattr: a view's attributes are not the set's to change (EPERM).
func (f *semStatusFile) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return fixedSetattr(ctx, f, fh, in, out)
}

// Access: a table, which no one opens for writing (EACCES, as Open).
func (f *semStatusFile) Access(ctx context.Context, mask uint32) syscall.Errno {
	s, errno := f.set.stat()
	if errno != 0 {
		return errno
	}
	return tableAccess(ctx, s.Perm, mask)
}
