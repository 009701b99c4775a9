package fs

import (
	"context"
	"sync/atomic"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// textFile is a read-only view (status, limits, usage): its text is made
// once per open, so one reader sees one consistent snapshot, as with the
// seq files of /proc.
type textFile struct {
	fs.Inode
	render func(caller *sysv.Cred) ([]byte, error)
}

// sameForAll is a view every caller may read whole, as /proc/sysvipc.
func sameForAll(render func() ([]byte, error)) func(*sysv.Cred) ([]byte, error) {
	return func(*sysv.Cred) ([]byte, error) { return render() }
}

var (
	_ fs.NodeOpener    = (*textFile)(nil)
	_ fs.NodeGetattrer = (*textFile)(nil)
	_ fs.NodeSetattrer = (*textFile)(nil)
)

func (t *textFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	fixedAttr(out, fuse.S_IFREG|0444, 1)
	out.Size = viewSizeOf(ctx, fh)
	out.SetTimeout(objectAttrTimeout) // so that a seek to the end asks (viewSizeOf)
	return 0
}

// viewSize is the size a view shows, as sysfs's files show: its text's
// length is known only once it is made, at the open. With size 0 the
// kernel would answer sendfile and splice with end of file itself, and a
// copy made with them (Python's shutil) would be empty; at this size they
// ask the daemon, which refuses them (see rawFS.Read), and the copy falls
// back to read(2), which reads to the end whatever the size. Tools that
// trust a size (tail -c) do not trust one of a block (st_blksize).
const viewSize = 4096

// viewSizeOf is the size of a view as a getattr sees it: the length of
// its open's text where the kernel names the open, as at a seek to the
// end (tail -n reads back from there), and viewSize for a stat or fstat,
// whatever open go-fuse lends (see requestNote).
func viewSizeOf(ctx context.Context, fh fs.FileHandle) uint64 {
	if h, ok := fh.(*textHandle); ok && ownHandle(ctx) {
		return uint64(len(h.text))
	}
	return viewSize
}

func (t *textFile) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return fixedSetattr(ctx, t, fh, in, out)
}

func (t *textFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EACCES
	}
	b, err := t.render(callerCred(ctx))
	if err != nil {
		return nil, 0, toErrno(err)
	}
	return openText(b)
}

// textHandle is one open of a view: the text as it was at the open, so
// that one `cat` never mixes two moments.
type textHandle struct{ text []byte }

var (
	_ fs.FileReader   = (*textHandle)(nil)
	_ fs.FileReleaser = (*textHandle)(nil)
)

// viewBudget bounds the memory the open views hold together. Each open
// keeps its own text (800 KB for shm/status with 4000 segments), and a
// caller holding thousands of opens would grow the daemon without end;
// past the budget an open fails with ENOMEM, as a kernel seq_file open
// that cannot allocate does. The daemon's resident memory is about three
// times the texts held (the garbage of making them, until a collection):
// at 256 MiB, 1467 opens of shm/status held 793 MB (QA), at 64 MiB 775
// held 217 MB. 64 MiB still lets 80 readers of that table with 4000
// segments hold it at once.
const viewBudget = 64 << 20

var viewBytes atomic.Int64

// openText is the answer to an open of a view whose text is b.
func openText(b []byte) (fs.FileHandle, uint32, syscall.Errno) {
	if viewBytes.Add(int64(len(b))) > viewBudget {
		viewBytes.Add(-int64(len(b)))
		return nil, 0, syscall.ENOMEM
	}
	return &textHandle{text: b}, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, 0
}

func (h *textHandle) Release(ctx context.Context) syscall.Errno {
	viewBytes.Add(-int64(len(h.text)))
	return 0
}

func (h *textHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if off >= int64(len(h.text)) {
		return fuse.ReadResultData(nil), 0
	}
	return fuse.ReadResultData(h.text[off:min(int64(len(h.text)), off+int64(len(dest)))]), 0
}
