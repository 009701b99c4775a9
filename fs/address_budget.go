package fs

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/ipcfs/ipcfs/sysv"
	"golang.org/x/sys/unix"
)

// Every open of a segment is an attachment in the daemon's address space,
// where the kernel bounds a program's own attachments by that program's.
// Unbounded, callers opening huge segments (SHM_NORESERVE ones cost no
// memory) filled it until the daemon could start no thread and the Go
// runtime aborted, taking the mount down for everyone. So attachments may
// take half of the address space (of RLIMIT_AS where that is less); an
// open past that gets ENOMEM, as shmat does in a full address space.

var addressSpace struct {
	sync.Mutex
	used uint64
}

var attachMax = sync.OnceValue(attachLimit)

// attach is shmat of segment id as cred, within the bound.
func attach(cred *sysv.Cred, id int, size uint64, readOnly bool) ([]byte, error) {
	cost := attachCost(size)
	if !reserve(cost) {
		return nil, syscall.ENOMEM
	}
	var mem []byte
	err := cred.Do(func() (err error) { mem, err = sysv.ShmAttach(id, readOnly); return })
	if err != nil {
		release(cost)
		return nil, err
	}
	return mem, nil
}

// detach is shmdt of an attachment made by attach.
func detach(mem []byte) error {
	err := sysv.ShmDetach(mem)
	release(attachCost(uint64(len(mem))))
	return err
}

// reserve takes cost bytes of the bound, false when they are not left.
func reserve(cost uint64) bool {
	addressSpace.Lock()
	defer addressSpace.Unlock()
	if addressSpace.used+cost > attachMax() {
		return false
	}
	addressSpace.used += cost
	return true
}

func release(cost uint64) {
	addressSpace.Lock()
	addressSpace.used -= cost
	addressSpace.Unlock()
}

// attachCost is the address space an attachment of size bytes takes: its
// size rounded up to 2 MiB, a huge page's (more than a 4 KiB page's).
func attachCost(size uint64) uint64 { return (size + 2<<20 - 1) &^ (2<<20 - 1) }

// attachLimit is half the address space: up to the process's stack,
// which the kernel places at its top, or RLIMIT_AS where less.
func attachLimit() uint64 {
	top := uint64(1) << 47
	if f, err := os.Open("/proc/self/maps"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if line := sc.Text(); strings.HasSuffix(line, "[stack]") {
				if _, end, ok := strings.Cut(strings.Fields(line)[0], "-"); ok {
					if v, err := strconv.ParseUint(end, 16, 64); err == nil {
						top = v
					}
				}
			}
		}
		f.Close()
	}
	var r unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_AS, &r) == nil && r.Cur != unix.RLIM_INFINITY {
		top = min(top, r.Cur)
	}
	return top / 2
}
