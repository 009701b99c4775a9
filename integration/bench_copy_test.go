package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkSegmentCopy: the ways a daemon can store 256 MiB into a
// segment in 1 MiB pieces, with no FUSE in between, against pwrite of a
// /dev/shm file: pwrite of the segment's file; copy into a mapping of the
// file whose pages are already mapped; and mapping them first
// (MADV_POPULATE_WRITE) then copying, as a fresh mapping must. This is why
// the daemon writes through a mapping it keeps (fs/shm_window.go).
func BenchmarkSegmentCopy(b *testing.B) {
	const size = 256 << 20
	id := newSegment(b, newKey(), size, 0600)
	att := attach(b, id, 0)
	start := uintptr(unsafe.Pointer(&att[0]))
	seg, err := os.OpenFile(fmt.Sprintf("/proc/self/map_files/%x-%x", start, start+size), os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer seg.Close()
	tmp, err := os.Create(filepath.Join("/dev/shm", fmt.Sprintf("ipcfs-copy-%d", os.Getpid())))
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	pass := func(store func(off int)) float64 {
		t := time.Now()
		for off := 0; off < size; off += len(buf) {
			store(off)
		}
		return float64(size) / time.Since(t).Seconds()
	}
	pwrite := func(f *os.File) func() float64 {
		return func() float64 {
			return pass(func(off int) {
				if _, err := f.WriteAt(buf, int64(off)); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
	mapped, err := unix.Mmap(int(seg.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Munmap(mapped)
	copyMapped := func() float64 { return pass(func(off int) { copy(mapped[off:], buf) }) }
	populateCopy := func() float64 {
		m, err := unix.Mmap(int(seg.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Munmap(m)
		return pass(func(off int) {
			unix.Madvise(m[off:off+len(buf)], unix.MADV_POPULATE_WRITE)
			copy(m[off:], buf)
		})
	}
	pwrite(seg)()
	pwrite(tmp)()
	copyMapped()
	for i := 0; i < b.N; i++ {
		ratio(b, "pwrite-segment/tmpfs", pwrite(seg), pwrite(tmp))
		ratio(b, "copy-mapped/tmpfs", copyMapped, pwrite(tmp))
		ratio(b, "populate-copy/tmpfs", populateCopy, pwrite(tmp))
	}
}
