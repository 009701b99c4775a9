package fs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
	"golang.org/x/sys/unix"
)

// segmentNode is shm/NAME: a regular file of the segment's size whose
// bytes are the segment's. It holds no attachment itself: each open
// handle attaches the segment (shmat, as the opener, so the kernel checks
// the permission) and its release detaches it. (Its window, for large
// writes, is a mapping of the segment's file, no attachment.)
type segmentNode struct {
	fs.Inode
	xattrView
	id          int
	key         sysv.Key
	readOnly    bool
	passthrough *passthrough
	handles     atomic.Int32 // open handles, each with its attachment
	window      segmentWindow
}

var (
	_ fs.NodeGetattrer = (*segmentNode)(nil)
	_ fs.NodeSetattrer = (*segmentNode)(nil)
	_ fs.NodeOpener    = (*segmentNode)(nil)
	_ fs.NodeAccesser  = (*segmentNode)(nil)
)

// stat reads the segment; ESTALE when it is gone, or when its key now
// names another (removed while attached) and no handle of ours holds it,
// so the kernel looks the path up afresh (see objectErrno). An open
// handle keeps its segment, key or not: fstat and ftruncate on it still
// work (the kernel sends neither with the handle).
func (n *segmentNode) stat() (sysv.Segment, syscall.Errno) {
	s, err := sysv.ShmStat(n.id)
	if err == nil && n.handles.Load() > 0 {
		return s, 0
	}
	return s, n.pathErrno(err, s.Perm.Key)
}

// statToOpen is stat for an open, which always comes from a path: the
// path must still name this segment, whatever handles are open, or a
// write after `ipcrm; shmget` of the same key would land in the removed
// segment.
func (n *segmentNode) statToOpen() (sysv.Segment, syscall.Errno) {
	s, err := sysv.ShmStat(n.id)
	return s, n.pathErrno(err, s.Perm.Key)
}

// pathErrno is what a use of the segment's path answers when a call on it
// failed with err, or found its key now key (see objectErrno).
func (n *segmentNode) pathErrno(err error, key sysv.Key) syscall.Errno {
	return objectErrno(err, key, n.key, shmKind{}.idOf)
}

func (n *segmentNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	s, errno := n.stat()
	if errno != 0 {
		return errno
	}
	o := segmentObject(&s)
	out.Attr = o.attr
	out.SetTimeout(objectAttrTimeout)
	return 0
}

// Access is ipcperms for the opens it stands for: an open for writing
// attaches read-write, which needs read permission as well.
func (n *segmentNode) Access(ctx context.Context, mask uint32) syscall.Errno {
	s, errno := n.stat()
	if errno != 0 {
		return errno
	}
	if mask&unix.W_OK != 0 {
		mask |= unix.R_OK
	}
	return objectAccess(ctx, s.Perm, segmentObject(&s).attr.Mode, mask, n.readOnly)
}

// Setattr is chmod, chown and touch (IPC_SET as the caller, see
// permChange) and truncate (zero the bytes from the new size on; the
// segment never changes size).
func (n *segmentNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if n.readOnly {
		return syscall.EROFS
	}
	// A change with a handle (ftruncate) is to the handle's segment. One
	// without may come from a path (chmod, chown, truncate, touch), and must
	// reach the segment the key names now, never a removed one that a
	// handle still holds: ESTALE, and the kernel walks the path again.
	// (fchmod and fchown come without a handle too: on a removed segment
	// they fail the same way.)
	stat := n.statToOpen
	if fh != nil {
		stat = n.stat
	}
	s, errno := stat()
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
		if h := handleOf(fh); h != nil && h.writable {
			zeroFrom(h.mem, size)
		} else {
			mem, err := attach(cred, n.id, s.Size, false)
			if err != nil {
				return toErrno(err)
			}
			zeroFrom(mem, size)
			detach(mem)
		}
		n.window.forget()
	}
	return n.Getattr(ctx, fh, out)
}

func (n *segmentNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	// O_TRUNC truncates whatever the access mode, and so needs the right
	// to write, as open(2) of any file does.
	writable := flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0
	if writable && n.readOnly {
		return nil, 0, syscall.EROFS
	}
	s, errno := n.statToOpen()
	if errno != 0 {
		return nil, 0, errno
	}
	mem, err := attach(callerCred(ctx), n.id, s.Size, !writable)
	if err != nil {
		return nil, 0, n.pathErrno(err, n.key) // removed since the stat: as if then
	}
	file, err := openBacking(mem)
	if err != nil && n.passthrough.enabled() {
		// Without its file the open could not be in passthrough, which the
		// kernel requires of every open of an inode that has one open so
		// (EIO): say what ran out instead (EMFILE, ENFILE, ENOMEM).
		detach(mem)
		return nil, 0, toErrno(err)
	}
	if writable && flags&syscall.O_TRUNC != 0 {
		zeroFrom(mem, 0)
		n.window.forget()
	}
	h := &segmentHandle{node: n, mem: mem, file: file, writable: writable}
	n.handles.Add(1)
	// Direct I/O: no page cache, every read and write reaches the segment.
	mode := uint32(fuse.FOPEN_DIRECT_IO)
	if h.file == nil || !n.passthrough.enabled() {
		return h, mode, 0
	}
	// Passthrough: the kernel reads (and maps) the segment's file itself,
	// at the speed of the shmem file system, and a shared mapping is the
	// segment's own pages. The kernel wants every open of an inode that
	// has one in passthrough to be in passthrough, all on one file (go-fuse
	// registers the first open's for the inode). So a writable open is in
	// passthrough too, but with direct I/O, which takes precedence for
	// reads and writes: its writes come through the daemon, which cuts
	// each at the segment's size, where a write to the file would grow it.
	if !writable {
		mode = 0
	}
	return &passthroughSegment{h}, mode, 0
}

// passthroughSegment is an open whose file the kernel may use itself.
type passthroughSegment struct{ *segmentHandle }

var _ fs.FilePassthroughFder = (*passthroughSegment)(nil)

func (p *passthroughSegment) PassthroughFd() (int, bool) { return int(p.file.Fd()), true }

// segmentHandle is one open of a segment: its own attachment, and, where
// the daemon may open it, the segment's file in the kernel's hidden shmem
// file system. Copying through the file costs no page mapping in the
// daemon, where a fresh attachment must map every page it touches.
type segmentHandle struct {
	node     *segmentNode
	mem      []byte
	file     *os.File // nil: copy through mem instead
	writable bool
}

var (
	_ fs.FileReader   = (*segmentHandle)(nil)
	_ fs.FileWriter   = (*segmentHandle)(nil)
	_ fs.FileReleaser = (*segmentHandle)(nil)
)

// handleOf is the segment handle behind fh, nil for none.
func handleOf(fh fs.FileHandle) *segmentHandle {
	switch h := fh.(type) {
	case *segmentHandle:
		return h
	case *passthroughSegment:
		return h.segmentHandle
	}
	return nil
}

// openBacking opens the shmem file behind an attachment through
// /proc/self/map_files, which needs CAP_SYS_ADMIN (EPERM without). It is
// opened for writing whatever the attachment (shmat checked the caller's
// permission), as the kernel may use it for any later open of the inode,
// writable mappings included. A SHM_HUGETLB segment's file is in
// hugetlbfs, which has no read or write calls and which the kernel does
// not take as a backing file: nil, and its handles copy through the
// attachment.
func openBacking(mem []byte) (*os.File, error) {
	start := uintptr(unsafe.Pointer(&mem[0]))
	var f *os.File
	var err error
	// map_files names a mapping by its exact range: the segment's size
	// rounded up to its page size, a huge page's for SHM_HUGETLB.
	for _, page := range mappingPageSizes() {
		end := start + (uintptr(len(mem))+page-1)/page*page
		f, err = os.OpenFile(fmt.Sprintf("/proc/self/map_files/%x-%x", start, end), os.O_RDWR, 0)
		if !errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil || st.Type == unix.HUGETLBFS_MAGIC {
		f.Close()
		return nil, err
	}
	return f, nil
}

// mappingPageSizes is the page size, then each huge page size the kernel
// has (/sys/kernel/mm/hugepages/hugepages-2048kB...).
var mappingPageSizes = sync.OnceValue(func() []uintptr {
	sizes := []uintptr{uintptr(unix.Getpagesize())}
	dirs, _ := os.ReadDir("/sys/kernel/mm/hugepages")
	for _, d := range dirs {
		var kb uintptr
		if _, err := fmt.Sscanf(d.Name(), "hugepages-%dkB", &kb); err == nil {
			sizes = append(sizes, kb<<10)
		}
	}
	return sizes
})

// Read gives the kernel the segment's bytes, read from its file or
// straight from the attachment.
func (h *segmentHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	size := int64(len(h.mem))
	if off >= size {
		return fuse.ReadResultData(nil), 0
	}
	end := min(size, off+int64(len(dest)))
	if h.file != nil {
		n, err := unix.Pread(int(h.file.Fd()), dest[:end-off], off)
		if err != nil {
			return nil, toErrno(err)
		}
		return fuse.ReadResultData(dest[:n]), 0
	}
	populate(h.mem, off, end, unix.MADV_POPULATE_READ)
	return fuse.ReadResultData(h.mem[off:end]), 0
}

// Write stores into the segment; a write running past the end is short,
// and one starting at the end fails with ENOSPC, as the segment cannot
// grow (its file could: every write is cut at the segment's size).
func (h *segmentHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	size := int64(len(h.mem))
	// With O_APPEND every write starts at the end, so fails. The kernel
	// would start it at the size it last saw, which an O_TRUNC open makes
	// 0 until it asks again: `echo x > f; echo y >> f` would write y at
	// offset 2.
	if off >= size || flagSet(ctx, syscall.O_APPEND) {
		return 0, syscall.ENOSPC
	}
	data = data[:min(int64(len(data)), size-off)]
	if h.file != nil {
		if n, ok := h.node.window.write(h.file, size, data, off); ok {
			return uint32(n), 0
		}
		n, err := unix.Pwrite(int(h.file.Fd()), data, off)
		return uint32(n), toErrno(err)
	}
	populate(h.mem, off, off+int64(len(data)), unix.MADV_POPULATE_WRITE)
	return uint32(copy(h.mem[off:], data)), 0
}

func (h *segmentHandle) Release(ctx context.Context) syscall.Errno {
	n := h.node
	last := n.handles.Add(-1) == 0
	if h.file != nil {
		h.file.Close()
	}
	err := detach(h.mem)
	if last {
		n.window.closeAfter(n.windowStay(), func() bool { return n.handles.Load() > 0 })
	}
	return toErrno(err)
}

// windowStay is how long the window may stay after the last handle: none
// once the segment is removed, whose memory the window would keep.
func (n *segmentNode) windowStay() time.Duration {
	if !n.window.mapped() {
		return 0
	}
	if s, err := sysv.ShmStat(n.id); err != nil || s.Removed() {
		return 0
	}
	return windowLinger
}

// populate maps the pages of mem[off:end] in one call. A fresh attachment
// has no page table entries, and faulting them in one at a time while
// copying costs several times the copy (65,536 faults per 256 MiB).
func populate(mem []byte, off, end int64, advice int) {
	page := int64(unix.Getpagesize())
	start := off / page * page
	stop := min((end+page-1)/page*page, (int64(len(mem))+page-1)/page*page)
	if stop-start < 4*page {
		return // a few faults cost less than the call
	}
	unix.Madvise(unsafe.Slice(&mem[0], stop)[start:stop], advice)
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
