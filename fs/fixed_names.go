package fs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// fixedNames answers the calls that would make or move a name (mkdir,
// mknod, ln -s, ln, mv) in a folder whose names are its objects' or
// fixed: an object is made only through `create`, and its name is its
// key, which nothing changes. EPERM, as a touch of a new name gets, or
// EROFS on a read-only mount; go-fuse's own answer, EOPNOTSUPP, would
// say the file system lacks the feature.
type fixedNames struct{ readOnly bool }

var (
	_ fs.NodeMkdirer   = fixedNames{}
	_ fs.NodeMknoder   = fixedNames{}
	_ fs.NodeSymlinker = fixedNames{}
	_ fs.NodeLinker    = fixedNames{}
	_ fs.NodeRenamer   = fixedNames{}
)

func (f fixedNames) refused() syscall.Errno {
	if f.readOnly {
		return syscall.EROFS
	}
	return syscall.EPERM
}

func (f fixedNames) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, f.refused()
}

func (f fixedNames) Mknod(ctx context.Context, name string, mode, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, f.refused()
}

func (f fixedNames) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, f.refused()
}

func (f fixedNames) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, f.refused()
}

func (f fixedNames) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return f.refused()
}
