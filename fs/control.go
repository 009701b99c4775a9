package fs

import (
	"context"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// maxControlWrite bounds one write to a control or semaphore file; a
// longer write is refused whole (EINVAL).
const maxControlWrite = 64 << 10

// writeOnlyStream is FOPEN_STREAM for a write-only open of a file whose
// writes are commands (control and semaphore files). The kernel cuts a
// write(2) whose buffers span more than 256 pages (a scattered writev)
// into several requests; in a stream the daemon can tell those later
// pieces (see rawFS.Writev) and carry out the first alone, a short write,
// rather than each as a command of its own. An open that reads keeps its
// offsets, which its reads need.
func writeOnlyStream(flags uint32) uint32 {
	if flags&syscall.O_ACCMODE == syscall.O_WRONLY {
		return fuse.FOPEN_STREAM
	}
	return 0
}

// controlFile is `create` or `remove`: a write is a command, carried out
// as the writer; reading shows usage, or the answer to the last command
// written on the same handle.
type controlFile struct {
	fs.Inode
	usage    string
	readOnly bool
	// do runs the command and returns the answer a read will show.
	do func(cred *sysv.Cred, words []string) (string, error)
}

var (
	_ fs.NodeOpener    = (*controlFile)(nil)
	_ fs.NodeGetattrer = (*controlFile)(nil)
	_ fs.NodeSetattrer = (*controlFile)(nil)
)

func (c *controlFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	fixedAttr(out, fuse.S_IFREG|0666, 1) // anyone may try; the kernel decides
	return 0
}

// Setattr accepts a touch to now and refuses the rest (see fixedSetattr);
// the truncation of `echo > create` comes with its open.
func (c *controlFile) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return fixedSetattr(ctx, c, fh, in, out)
}

func (c *controlFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if c.readOnly && flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EROFS
	}
	return &controlHandle{file: c}, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH | writeOnlyStream(flags), 0
}

type controlHandle struct {
	file *controlFile
	mu   sync.Mutex // two threads may share the open
	// answer is the reply to the last command. The first read after the
	// command shows it from its start, whatever the offset, and fixes
	// answerAt there; later reads go on from answerAt, as in a file, so a
	// reader that takes it in pieces, or seeks back (bash's read), sees
	// each byte once.
	answer   string
	answerAt int64
	answered bool // a command has answered
	started  bool // a read has fixed answerAt
}

var (
	_ fs.FileReader = (*controlHandle)(nil)
	_ fs.FileWriter = (*controlHandle)(nil)
)

func (h *controlHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	text, base := h.file.usage, int64(0)
	if h.answered {
		if !h.started {
			h.answerAt, h.started = off, true
		}
		text, base = h.answer, h.answerAt
	}
	b := sliceFrom(text, off-max(0, min(base, off)))
	return fuse.ReadResultData(b[:min(len(b), len(dest))]), 0
}

func (h *controlHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if len(data) > maxControlWrite {
		return 0, syscall.EINVAL
	}
	ws := asciiFields(string(data))
	if len(ws) == 0 {
		return 0, syscall.EINVAL
	}
	answer, err := h.file.do(callerCred(ctx), ws)
	if err != nil {
		return 0, toErrno(err)
	}
	h.mu.Lock()
	h.answer, h.answered, h.started = answer, true, false
	h.mu.Unlock()
	return uint32(len(data)), 0
}

// sliceFrom is text from byte off on, empty past its end.
func sliceFrom(text string, off int64) []byte {
	if off < 0 || off >= int64(len(text)) {
		return nil
	}
	return []byte(text[off:])
}
