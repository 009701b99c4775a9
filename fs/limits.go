package fs

import (
	"bytes"
	"fmt"
	"math"
	"os"

	"github.com/ipcfs/ipcfs/sysv"
)

// renderLimits is what `ipcs -l` prints, line for line, from the kernel's
// IPC_INFO of each kind (the same figures as /proc/sys/kernel).
func renderLimits() ([]byte, error) {
	msg, err := sysv.MsgIPCInfo()
	if err != nil {
		return nil, err
	}
	shm, err := sysv.ShmIPCInfo()
	if err != nil {
		return nil, err
	}
	sem, err := sysv.SemIPCInfo()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "\n------ Messages Limits --------\n")
	fmt.Fprintf(&b, "max queues system wide = %d\n", msg.Msgmni)
	fmt.Fprintf(&b, "max size of message (bytes) = %d\n", msg.Msgmax)
	fmt.Fprintf(&b, "default max size of queue (bytes) = %d\n", msg.Msgmnb)
	fmt.Fprintf(&b, "\n------ Shared Memory Limits --------\n")
	fmt.Fprintf(&b, "max number of segments = %d\n", shm.Shmmni)
	fmt.Fprintf(&b, "max seg size (kbytes) = %d\n", shm.Shmmax/1024)
	fmt.Fprintf(&b, "max total shared memory (kbytes) = %d\n", totalKbytes(shm.Shmall))
	fmt.Fprintf(&b, "min seg size (bytes) = %d\n", shm.Shmmin)
	fmt.Fprintf(&b, "\n------ Semaphore Limits --------\n")
	fmt.Fprintf(&b, "max number of arrays = %d\n", sem.Semmni)
	fmt.Fprintf(&b, "max semaphores per array = %d\n", sem.Semmsl)
	fmt.Fprintf(&b, "max semaphores system wide = %d\n", sem.Semmns)
	fmt.Fprintf(&b, "max ops per semop call = %d\n", sem.Semopm)
	fmt.Fprintf(&b, "semaphore max value = %d\n\n", sem.Semvmx)
	return b.Bytes(), nil
}

// totalKbytes is shmall pages in KiB, saturating as ipcs does when the
// product overflows 64 bits (the default shmall is near 2^64).
func totalKbytes(shmall uint64) uint64 {
	kPerPage := uint64(os.Getpagesize() / 1024)
	if t := shmall * kPerPage; shmall == 0 || t/shmall == kPerPage {
		return t
	}
	return math.MaxUint64 - math.MaxUint64%kPerPage
}

// renderUsage is what `ipcs -u` prints, from MSG_INFO, SHM_INFO, SEM_INFO.
func renderUsage() ([]byte, error) {
	msg, err := sysv.MsgUsage()
	if err != nil {
		return nil, err
	}
	shm, err := sysv.ShmUsage()
	if err != nil {
		return nil, err
	}
	sem, err := sysv.SemUsage()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "\n------ Messages Status --------\n")
	fmt.Fprintf(&b, "allocated queues = %d\n", msg.Msgpool)
	fmt.Fprintf(&b, "used headers = %d\n", msg.Msgmap)
	fmt.Fprintf(&b, "used space = %d bytes\n", msg.Msgtql)
	fmt.Fprintf(&b, "\n------ Shared Memory Status --------\n")
	fmt.Fprintf(&b, "segments allocated %d\n", shm.UsedIDs)
	fmt.Fprintf(&b, "pages allocated %d\n", shm.Tot)
	fmt.Fprintf(&b, "pages resident  %d\n", shm.Rss)
	fmt.Fprintf(&b, "pages swapped   %d\n", shm.Swp)
	fmt.Fprintf(&b, "Swap performance: %d attempts\t %d successes\n", shm.SwapAttempts, shm.SwapSuccesses)
	fmt.Fprintf(&b, "\n------ Semaphore Status --------\n")
	fmt.Fprintf(&b, "used arrays = %d\n", sem.Semusz)
	fmt.Fprintf(&b, "allocated semaphores = %d\n\n", sem.Semaem)
	return b.Bytes(), nil
}
