package sysv

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// ShmLimits is the kernel's struct shminfo64 (shmctl IPC_INFO).
type ShmLimits struct {
	Shmmax, Shmmin, Shmmni, Shmseg, Shmall uint64
	_                                      [4]uint64
}

// ShmTotals is the kernel's struct shm_info (shmctl SHM_INFO): what ipcs -u
// shows. Counts of pages.
type ShmTotals struct {
	UsedIDs                     int32
	_                           int32
	Tot, Rss, Swp               uint64
	SwapAttempts, SwapSuccesses uint64
}

// ShmIPCInfo is shmctl(IPC_INFO).
func ShmIPCInfo() (ShmLimits, error) {
	var buf struct {
		l ShmLimits
		_ [unsafe.Sizeof(unix.SysvShmDesc{})]byte // room for what the cast claims
	}
	_, err := unix.SysvShmCtl(0, ipcInfo, (*unix.SysvShmDesc)(unsafe.Pointer(&buf)))
	return buf.l, err
}

// ShmUsage is shmctl(SHM_INFO).
func ShmUsage() (ShmTotals, error) {
	var buf struct {
		t ShmTotals
		_ [unsafe.Sizeof(unix.SysvShmDesc{})]byte // room for what the cast claims
	}
	_, err := unix.SysvShmCtl(0, shmInfo, (*unix.SysvShmDesc)(unsafe.Pointer(&buf)))
	return buf.t, err
}
