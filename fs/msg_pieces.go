package fs

import (
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// streamHandles are the open handles (Fh) of streams: the queue files,
// and write-only opens of control and semaphore files.
type streamHandles struct{ m sync.Map }

func (s *streamHandles) opened(out *fuse.OpenOut) {
	if out.OpenFlags&fuse.FOPEN_STREAM != 0 {
		s.m.Store(out.Fh, true)
	}
}

func (s *streamHandles) closed(fh uint64) { s.m.Delete(fh) }

func (s *streamHandles) has(fh uint64) bool {
	_, ok := s.m.Load(fh)
	return ok
}

func (n *rawFS) Release(cancel <-chan struct{}, in *fuse.ReleaseIn) {
	n.streams.closed(in.Fh) // before go-fuse frees the number for reuse
	n.RawFileSystem.Release(cancel, in)
}

// Writev refuses the later pieces of a stream's write(2). The kernel cuts
// a write(2) into requests of at most 1 MiB and 256 pages (fewer bytes
// where the buffers are scattered, as a writev's), each at the offset
// where the one before ended. A stream's write(2) starts at offset 0,
// or, with O_APPEND (the write's own flags, fcntl included), at the end
// the kernel saw: so a piece past 0 without O_APPEND is a continuation.
// Refused, it makes the write(2) short, its first piece's length, sent
// as one message or carried out as one command: a message or command is
// always exactly what one write(2) reports written. With O_APPEND every
// piece is one of its own.
func (n *rawFS) Writev(cancel <-chan struct{}, in *fuse.WriteIn, data [][]byte) (uint32, fuse.Status) {
	if in.Offset > 0 && in.Flags&syscall.O_APPEND == 0 && n.streams.has(in.Fh) {
		return 0, fuse.Status(syscall.EMSGSIZE)
	}
	defer noteFlags(cancel, in.Flags)()
	return n.RawFileSystem.Writev(cancel, in, data)
}
