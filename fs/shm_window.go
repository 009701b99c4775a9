package fs

import (
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcfs/ipcfs/sysv"
	"golang.org/x/sys/unix"
)

// segmentWindow is the daemon's own mapping of a segment's file, shared by
// the segment's writable handles and kept a while after the last closes.
//
// A large write copies into it at memory speed once its pages are mapped,
// where a pwrite to the file looks every page up again (BenchmarkSegmentCopy:
// 2.8 and 0.79 times the speed of a pwrite into /dev/shm). Mapping the
// pages costs more than one pwrite (mapping and copying: 0.59, and a fresh
// segment's pages are zeroed first), so a chunk
// is mapped only when written a second time, and the mapping outlives the
// opens so that passes over a segment (dd, a program rewriting it) pay
// for it once. It is an mmap of the file, not an attachment: shm_nattch
// does not count it, the segment's times and pids are not touched, and
// the views do not show the daemon attached for it.
type segmentWindow struct {
	mu     sync.RWMutex // read: a copy in progress; write: map or unmap
	mem    []byte       // nil: not mapped
	chunks []atomic.Uint32
	idle   *time.Timer
}

const (
	// windowChunk is the unit mapped at once: the largest write request.
	windowChunk = 1 << 20
	// windowMinWrite: a smaller write goes by pwrite, as mapping a chunk
	// for it would cost more than its copy saves.
	windowMinWrite = 64 << 10
	// windowLinger is how long the mapping stays after the segment's last
	// handle closes. The segment's memory cannot be freed while it is
	// mapped, so it goes at once when the segment is removed.
	windowLinger = time.Second
)

// The state of a chunk.
const (
	chunkUntouched = iota
	chunkWritten   // written once, by pwrite
	chunkMapped    // its pages are mapped in the window
)

// write copies data into the segment at off through the window, false when
// it did not (a small write, a chunk's first write, no mapping): the
// caller writes with pwrite then. f is the segment's file, size its size.
func (w *segmentWindow) write(f *os.File, size int64, data []byte, off int64) (int, bool) {
	if len(data) < windowMinWrite {
		return 0, false
	}
	w.mu.RLock()
	if w.mem == nil {
		w.mu.RUnlock()
		w.open(f, size)
		w.mu.RLock()
	}
	defer w.mu.RUnlock()
	if w.mem == nil {
		return 0, false
	}
	end := off + int64(len(data))
	first, last := off/windowChunk, (end-1)/windowChunk
	fresh := false
	for c := first; c <= last; c++ {
		if w.chunks[c].CompareAndSwap(chunkUntouched, chunkWritten) {
			fresh = true
		}
	}
	if fresh {
		return 0, false
	}
	for c := first; c <= last; c++ {
		if w.chunks[c].Load() != chunkMapped {
			populate(w.mem, c*windowChunk, min((c+1)*windowChunk, size), unix.MADV_POPULATE_WRITE)
			w.chunks[c].Store(chunkMapped)
		}
	}
	return copyGuarded(w.mem[off:end], data)
}

// open maps f, within the daemon's address space bound; on failure the
// window stays unmapped and writes go by pwrite.
func (w *segmentWindow) open(f *os.File, size int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mem != nil || size <= 0 || !reserve(attachCost(uint64(size))) {
		return
	}
	mem, err := sysv.MapSegmentFile(int(f.Fd()), int(size))
	if err != nil {
		release(attachCost(uint64(size)))
		return
	}
	w.mem = mem
	w.chunks = make([]atomic.Uint32, (size+windowChunk-1)/windowChunk)
}

func (w *segmentWindow) mapped() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.mem != nil
}

// forget marks every chunk unmapped: the segment's pages were punched out
// (a truncation), so the window's entries for them are gone.
func (w *segmentWindow) forget() {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for i := range w.chunks {
		w.chunks[i].Store(chunkUntouched)
	}
}

// closeAfter unmaps the window after d, unless busy says by then that a
// handle is open again; d 0 unmaps it now.
func (w *segmentWindow) closeAfter(d time.Duration, busy func() bool) {
	if d == 0 {
		w.close(busy)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mem == nil {
		return
	}
	if w.idle == nil {
		w.idle = time.AfterFunc(d, func() { w.close(busy) })
		return
	}
	w.idle.Reset(d)
}

func (w *segmentWindow) close(busy func() bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mem == nil || busy() {
		return
	}
	sysv.UnmapSegmentFile(w.mem)
	release(attachCost(uint64(len(w.mem))))
	w.mem, w.chunks = nil, nil
}

// copyGuarded is copy into a mapping that may fault: only a caller with
// CAP_SYS_ADMIN can truncate a segment's file (through
// /proc/PID/map_files), but the daemon must not die of it.
func copyGuarded(dst, src []byte) (n int, ok bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			n, ok = 0, false
		}
	}()
	return copy(dst, src), true
}
