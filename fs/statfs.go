package fs

import (
	"math"
	"os"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// StatFs makes `df` of the mount what `ipcs -u` and `ipcs -l` say of
// shared memory, in the kernel's own units: blocks are pages, the size
// is shmall, the used blocks are the pages of all segments (shm_tot), so
// the available ones are what shmget may still take before ENOSPC. Files
// are object slots: shmmni, semmni and msgmni, and those in use. The
// same for every path of the mount; go-fuse would answer zeros.
func (n *rawFS) StatFs(cancel <-chan struct{}, in *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	shmLim, err := sysv.ShmIPCInfo()
	if err != nil {
		return fuse.ToStatus(err)
	}
	shm, err := sysv.ShmUsage()
	if err != nil {
		return fuse.ToStatus(err)
	}
	sem, err := sysv.SemUsage() // SEM_INFO and MSG_INFO carry the limits too
	if err != nil {
		return fuse.ToStatus(err)
	}
	msg, err := sysv.MsgUsage()
	if err != nil {
		return fuse.ToStatus(err)
	}
	page := uint32(os.Getpagesize())
	// The default shmall (2^64 - 2^24 pages: no limit) is cut to the most
	// whose bytes df and stat -f can count without overflowing (8 EiB).
	blocks := min(shmLim.Shmall, math.MaxInt64/uint64(page))
	*out = fuse.StatfsOut{
		Blocks:  blocks,
		Bfree:   blocks - min(shm.Tot, blocks),
		Files:   shmLim.Shmmni + uint64(sem.Semmni) + uint64(msg.Msgmni),
		Bsize:   page,
		Frsize:  page,
		NameLen: 255,
	}
	out.Bavail = out.Bfree
	used := uint64(shm.UsedIDs) + uint64(sem.Semusz) + uint64(msg.Msgpool)
	out.Ffree = out.Files - min(used, out.Files)
	return fuse.OK
}
