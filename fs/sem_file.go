package fs

import (
	"context"
	"strconv"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// setFile is what the files of a set share: the set's owner and mode,
// which chmod and chown change (IPC_SET on the set).
type setFile struct {
	fs.Inode
	set  *semSetNode
	kept keptAttr
}

var (
	_ fs.NodeGetattrer   = (*setFile)(nil)
	_ fs.NodeSetattrer   = (*setFile)(nil)
	_ fs.NodeOnForgetter = (*setFile)(nil)
	_ fs.NodeAccesser    = (*setFile)(nil)
)

func (f *setFile) OnForget() {
	id := f.StableAttr()
	f.set.files.forgotten(id.Ino, id.Gen)
}

func (f *setFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	id := f.StableAttr()
	f.set.files.statted(id.Ino, id.Gen)
	return f.kept.answer(fh, out, f.set.fileAttr(out))
}

func (f *setFile) Access(ctx context.Context, mask uint32) syscall.Errno {
	s, errno := f.set.stat()
	if errno != 0 {
		return errno
	}
	return objectAccess(ctx, s.Perm, fuse.S_IFREG|s.Perm.Mode, mask, f.set.kind.readOnly)
}

func (f *setFile) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if errno := semSetPerm(ctx, f.set, in); errno != 0 {
		return errno
	}
	return f.Getattr(ctx, fh, out)
}

// semFile is sem/NAME/K: reading gives the value, a write performs one
// operation on semaphore K (see parseSemWrite).
type semFile struct {
	setFile
	xattrView
	num int
}

func newSemFile(set *semSetNode, num int) *semFile {
	f := &semFile{setFile: setFile{set: set}, num: num}
	f.list = f.xattrs
	return f
}

var (
	_ fs.NodeOpener     = (*semFile)(nil)
	_ fs.NodeGetxattrer = (*semFile)(nil)
)

func (f *semFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return openSemHandle(&f.setFile, flags, func(h *semHandle) ([]byte, error) {
		var v int
		err := h.cred.Do(func() (err error) { v, err = sysv.SemGetVal(f.set.id, f.num); return })
		return strconv.AppendInt(nil, int64(v), 10), err
	}, func(text string) (semCommand, syscall.Errno) {
		return parseSemWrite(text, f.num)
	})
}

// semopFile is sem/NAME/semop: a write performs several operations as
// one atomic semop (see parseSemopWrite); reading shows the values.
type semopFile struct{ setFile }

var _ fs.NodeOpener = (*semopFile)(nil)

func (f *semopFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return openSemHandle(&f.setFile, flags, func(h *semHandle) ([]byte, error) {
		s, err := sysv.SemStat(f.set.id)
		if err != nil {
			return nil, err
		}
		var vals []uint16
		err = h.cred.Do(func() (err error) { vals, err = sysv.SemGetAll(f.set.id, s.Nsems); return })
		var b []byte
		for i, v := range vals {
			if i > 0 {
				b = append(b, ' ')
			}
			b = strconv.AppendInt(b, int64(v), 10)
		}
		return b, err
	}, parseSemopWrite)
}

// semHandle is an open semaphore or semop file.
type semHandle struct {
	set      *semSetNode
	cred     *sysv.Cred
	read     func(h *semHandle) ([]byte, error)
	parse    func(text string) (semCommand, syscall.Errno)
	mu       sync.Mutex
	snapshot []byte // the value being read, nil: take a fresh one
	base     int64  // the file offset at which snapshot starts
	slotHandle
}

func openSemHandle(f *setFile, flags uint32, read func(*semHandle) ([]byte, error), parse func(string) (semCommand, syscall.Errno)) (fs.FileHandle, uint32, syscall.Errno) {
	set := f.set
	s, errno := set.stat()
	if errno != 0 {
		return nil, 0, errno
	}
	// Kept, so that an fstat after the set's removal answers as for a
	// file unlinked while open, even with no stat before (see keptAttr).
	var attr fuse.AttrOut
	fileAttrOf(&attr.Attr, &s)
	f.kept.answer(nil, &attr, 0)
	if set.kind.readOnly && flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EROFS
	}
	id := f.StableAttr()
	h := &semHandle{set: set, slotHandle: slotHandle{set.files.opened(id.Ino, id.Gen)}, read: read, parse: parse}
	// Direct I/O: every read asks for the value now, and no page of the
	// file is ever cached, so a write that waits holds no page lock that
	// another open would wait for. No flush: a write has done all its
	// work when it returns.
	return h, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH | fuse.FOPEN_NONSEEKABLE | writeOnlyStream(flags), 0
}

var (
	_ fs.FileReader   = (*semHandle)(nil)
	_ fs.FileWriter   = (*semHandle)(nil)
	_ fs.FileReleaser = (*semHandle)(nil)
)

// Read gives a fresh value and its newline, as many reads as the reader
// takes for it (one `cat` never mixes two values), then end of file; the
// read after that, or after a write, takes a fresh value. The file offset
// counts written bytes too (the file cannot seek), so the value is read
// from the offset where it was taken: `exec 3<>sem/K/0; echo -1 >&3;
// read v <&3` reads the whole value after the write, not its tail.
func (h *semHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.snapshot == nil {
		h.set.settle()
		h.cred = callerCred(ctx)
		b, err := h.read(h)
		if err != nil {
			return nil, toErrno(err) // as GETVAL or GETALL on the held set: EINVAL once removed
		}
		h.snapshot, h.base = append(b, '\n'), off
	}
	pos := off - h.base
	if pos < 0 || pos >= int64(len(h.snapshot)) {
		h.snapshot = nil
		return fuse.ReadResultData(nil), 0
	}
	return fuse.ReadResultData(h.snapshot[pos:min(int64(len(h.snapshot)), pos+int64(len(dest)))]), 0
}

// restart makes the next read take a fresh value.
func (h *semHandle) restart() {
	h.mu.Lock()
	h.snapshot = nil
	h.mu.Unlock()
}

// Write performs the command written, as the writer; it blocks only this
// writer, and an interrupt ends the wait with EINTR, changing nothing.
func (h *semHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	defer operation()() // see Quiesce
	if len(data) > maxControlWrite {
		return 0, syscall.EINVAL
	}
	c, errno := h.parse(string(data))
	if errno != 0 {
		return 0, errno
	}
	c.applyFlags(flagSet(ctx, syscall.O_NONBLOCK))
	h.restart()
	h.set.settle()
	cred := callerCred(ctx)
	id := h.set.id
	var err error
	switch {
	case c.setVal:
		num := c.setNum
		err = cred.Do(func() error { return sysv.SemSetVal(id, num, c.value) })
		if err == nil {
			h.set.kind.undo.Forget(id, num)
		}
	case c.undo:
		caller, _ := fuse.FromContext(ctx)
		err = h.set.kind.undo.Semop(ctx, cred, int(caller.Pid), id, c.ops, c.timeout)
	default:
		err = sysv.Semop(ctx, cred, id, c.ops, c.timeout)
	}
	if err != nil {
		return 0, toErrno(err)
	}
	return uint32(len(data)), 0
}
