package fs

import (
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// NewRawFS is go-fuse's file system for the tree under root, with one
// guard: nothing is ever served from the kernel's page cache, which would
// go stale as programs change the objects behind it (see also Read).
//
// Every open asks for direct I/O, except a read-only open of a segment,
// which asks for passthrough instead (see segmentNode.Open). go-fuse
// leaves passthrough out of its reply when the kernel refuses the backing
// file, and from then on for every file of the mount. Such a reply gets
// direct I/O here, and segments stop asking. (An inode that still has a
// passthrough open fails further opens with EIO until that one closes:
// the kernel allows no other kind of open beside it.)
func NewRawFS(root *Root, opts *fs.Options) fuse.RawFileSystem {
	o := *opts
	if o.RootStableAttr == nil {
		o.RootStableAttr = &fs.StableAttr{Ino: inoRoot} // not go-fuse's 0
	}
	return &rawFS{RawFileSystem: fs.NewNodeFS(root, &o), root: root}
}

// rawFS is go-fuse's file system with ipcfs's own answers to what goes
// past the node tree: this guard, a queue write's pieces (msg_pieces.go),
// and statfs (statfs.go).
type rawFS struct {
	fuse.RawFileSystem
	root    *Root
	streams streamHandles // see Writev
}

// Init hands the server to the passthrough probe (see passthrough).
func (n *rawFS) Init(server *fuse.Server) {
	n.root.passthrough.server = server
	n.RawFileSystem.Init(server)
}

func (n *rawFS) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	st := n.RawFileSystem.Open(cancel, in, out)
	if st != fuse.OK {
		return st
	}
	if out.OpenFlags&(fuse.FOPEN_PASSTHROUGH|fuse.FOPEN_DIRECT_IO) == 0 {
		out.OpenFlags |= fuse.FOPEN_DIRECT_IO
		n.root.passthrough.disable()
	}
	n.streams.opened(out)
	return st
}

// Read refuses the reads that would fill the kernel's page cache. Only
// read(2) of a direct I/O open comes straight through, with a lock owner;
// a splice or sendfile of it, readahead(2), and the faults of a private
// mapping where there is no passthrough go through the page cache, which
// would keep what they read for as long as the open lasts: stale segment
// bytes, and, for a queue, messages received by readahead that no one
// reads. Dropping the pages again after the reply
// (FUSE_NOTIFY_INVAL_INODE) was tried: a sendfile loop still read the
// old bytes in 199 of 200 rounds. EINVAL, as from a file that cannot be
// spliced, changes nothing, and sendfile's users fall back to read(2).
func (n *rawFS) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	if in.ReadFlags&fuse.READ_LOCKOWNER == 0 {
		return nil, fuse.EINVAL
	}
	defer noteFlags(cancel, in.Flags)()
	return n.RawFileSystem.Read(cancel, in, buf)
}
