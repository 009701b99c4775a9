package fs

import (
	"context"
	"syscall"
	"unsafe"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
	"golang.org/x/sys/unix"
)

// segmentNode is shm/NAME: a regular file of the segment's size whose
// bytes are the segment's. It holds no attachment itself: each open
// handle attaches the segment (shmat, as the opener, so the kernel checks
// the permission) and its release detaches it.
type segmentNode struct {
	fs.Inode
	id       int
	readOnly bool
}

var (
	_ fs.NodeGetattrer = (*segmentNode)(nil)
	_ fs.NodeSetattrer = (*segmentNode)(nil)
	_ fs.NodeOpener    = (*segmentNode)(nil)
)

func (n *segmentNode) stat() (sysv.Segment, syscall.Errno) {
	s, err := sysv.ShmStat(n.id)
	if err != nil {
		return s, goneErrno(err)
	}
	return s, 0
}

func (n *segmentNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	s, errno := n.stat()
	if errno != 0 {
		return errno
	}
	o := segmentObject(&s)
	out.Attr = o.attr
	out.SetTimeout(attrTimeout)
	return 0
}

// Setattr is chmod and chown (IPC_SET, as the caller) and truncate (zero
// the bytes from the new size on; the segment never changes size).
func (n *segmentNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if n.readOnly {
		return syscall.EROFS
	}
	s, errno := n.stat()
	if errno != 0 {
		return errno
	}
	cred := callerCred(ctx)
	if errno := setPerm(cred, in, &s.Perm, func(uid, gid, mode uint32) error {
		return sysv.ShmSet(n.id, uid, gid, mode)
	}); errno != 0 {
		return errno
	}
	if size, ok := in.GetSize(); ok {
		if size > s.Size {
			return syscall.EFBIG
		}
		if h, ok := fh.(*segmentHandle); ok && h.writable {
			zeroFrom(h.mem, size)
		} else {
			var mem []byte
			err := cred.Do(func() (err error) { mem, err = sysv.ShmAttach(n.id, false); return })
			if err != nil {
				return toErrno(err)
			}
			zeroFrom(mem, size)
			sysv.ShmDetach(mem)
		}
	}
	return n.Getattr(ctx, fh, out)
}

func (n *segmentNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	writable := flags&syscall.O_ACCMODE != syscall.O_RDONLY
	if writable && n.readOnly {
		return nil, 0, syscall.EROFS
	}
	var mem []byte
	err := callerCred(ctx).Do(func() (err error) { mem, err = sysv.ShmAttach(n.id, !writable); return })
	if err != nil {
		return nil, 0, goneErrno(err)
	}
	if writable && flags&syscall.O_TRUNC != 0 {
		zeroFrom(mem, 0)
	}
	// Direct I/O: no page cache, every read and write reaches the segment.
	return &segmentHandle{mem: mem, writable: writable}, fuse.FOPEN_DIRECT_IO, 0
}

// segmentHandle is one open of a segment, with its own attachment.
type segmentHandle struct {
	mem      []byte
	writable bool
}

var (
	_ fs.FileReader   = (*segmentHandle)(nil)
	_ fs.FileWriter   = (*segmentHandle)(nil)
	_ fs.FileReleaser = (*segmentHandle)(nil)
)

// Read hands the kernel the segment's bytes straight from the attachment.
func (h *segmentHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	size := int64(len(h.mem))
	if off >= size {
		return fuse.ReadResultData(nil), 0
	}
	return fuse.ReadResultData(h.mem[off:min(size, off+int64(len(dest)))]), 0
}

// Write stores into the segment; a write running past the end is short,
// and one starting at the end fails with ENOSPC, as the segment cannot grow.
func (h *segmentHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if off >= int64(len(h.mem)) {
		return 0, syscall.ENOSPC
	}
	return uint32(copy(h.mem[off:], data)), 0
}

func (h *segmentHandle) Release(ctx context.Context) syscall.Errno {
	return toErrno(sysv.ShmDetach(h.mem))
}

// zeroFrom zeroes mem from off to the end. Whole pages are handed back to
// the kernel (MADV_REMOVE punches them out of the shmem file, so they
// read as zeros and cost no memory); only a partial first page is written.
func zeroFrom(mem []byte, off uint64) {
	size := uint64(len(mem))
	if off >= size {
		return
	}
	page := uint64(unix.Getpagesize())
	start := (off + page - 1) / page * page
	end := (size + page - 1) / page * page // the attachment spans whole pages
	if start < end {
		whole := unsafe.Slice(&mem[0], end)[start:end]
		if unix.Madvise(whole, unix.MADV_REMOVE) == nil {
			size = start
		}
	}
	if off < size {
		clear(mem[off:size])
	}
}
