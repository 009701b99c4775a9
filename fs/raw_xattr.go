package fs

import (
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// SetXAttr of a node that has no attributes (a folder, control file or
// view) is EOPNOTSUPP, as for a name other than user.ipc.* on an object.
// go-fuse answers it ENODATA ("no such attribute"), which setxattr(2)
// gives only to XATTR_REPLACE of a name not set.
func (n *rawFS) SetXAttr(cancel <-chan struct{}, in *fuse.SetXAttrIn, attr string, data []byte) fuse.Status {
	st := n.RawFileSystem.SetXAttr(cancel, in, attr, data)
	if st == fuse.ENOATTR && in.Flags&unix.XATTR_REPLACE == 0 {
		return fuse.ENOTSUP
	}
	return st
}
