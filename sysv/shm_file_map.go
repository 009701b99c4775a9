package sysv

import (
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A process may map a segment's file itself (an mmap of the file that
// /proc/self/map_files opens): the segment's pages, but no attachment,
// which shm_nattch does not count. /proc/PID/maps names both alike
// (/SYSV<key>, the shmid as inode), so Attachments leaves out the
// mappings made here, by their start address.
var fileMaps struct {
	sync.RWMutex // held over a mapping's making and its listing
	starts       map[uintptr]bool
}

// MapSegmentFile maps size bytes of the segment file open as fd, shared,
// for reading and writing.
func MapSegmentFile(fd int, size int) ([]byte, error) {
	fileMaps.Lock()
	defer fileMaps.Unlock()
	b, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	if fileMaps.starts == nil {
		fileMaps.starts = map[uintptr]bool{}
	}
	fileMaps.starts[uintptr(unsafe.Pointer(&b[0]))] = true
	return b, nil
}

// UnmapSegmentFile unmaps a mapping made by MapSegmentFile.
func UnmapSegmentFile(b []byte) error {
	fileMaps.Lock()
	defer fileMaps.Unlock()
	delete(fileMaps.starts, uintptr(unsafe.Pointer(&b[0])))
	return unix.Munmap(b)
}

// ownAttachedIDs is attachedIDs of this process's maps file at path,
// leaving out the mappings made by MapSegmentFile: none is made or
// unmade between the reading and the leaving out.
func ownAttachedIDs(path string) ([]int, error) {
	fileMaps.RLock()
	defer fileMaps.RUnlock()
	maps, err := os.ReadFile(path)
	return attachedIDs(maps, fileMaps.starts), err
}
