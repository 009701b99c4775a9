package fs

import (
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// NewRawFS is go-fuse's file system for the tree under root, with one
// guard: no open is ever served from the kernel's page cache, which would
// go stale as programs change the objects behind it.
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
// past the node tree: this guard, and statfs (statfs.go).
type rawFS struct {
	fuse.RawFileSystem
	root    *Root
	streams sync.Map // handle (Fh) -> true: the open queues (FOPEN_STREAM)
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
	if out.OpenFlags&fuse.FOPEN_STREAM != 0 {
		n.streams.Store(out.Fh, true)
	}
	return st
}

func (n *rawFS) Release(cancel <-chan struct{}, in *fuse.ReleaseIn) {
	n.streams.Delete(in.Fh) // before go-fuse frees the number for reuse
	n.RawFileSystem.Release(cancel, in)
}

// Writev refuses the later pieces of a queue's write(2). The kernel cuts
// a write(2) into requests of at most 1 MiB and 256 pages (fewer bytes
// where the buffers are scattered, as a writev's), each at the offset
// where the one before ended. A stream's write(2) starts at offset 0,
// or, with O_APPEND (the write's own flags, fcntl included), at the end
// the kernel saw: so a piece past 0 without O_APPEND is a continuation.
// Refused, it makes the write(2) short, its first piece's length, sent
// as one message: a message is always exactly what one write(2) reports
// written. With O_APPEND every piece is a message of its own.
func (n *rawFS) Writev(cancel <-chan struct{}, in *fuse.WriteIn, data [][]byte) (uint32, fuse.Status) {
	if in.Offset > 0 && in.Flags&syscall.O_APPEND == 0 {
		if _, ok := n.streams.Load(in.Fh); ok {
			return 0, fuse.Status(syscall.EMSGSIZE)
		}
	}
	return n.RawFileSystem.Writev(cancel, in, data)
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
	return n.RawFileSystem.Read(cancel, in, buf)
}
