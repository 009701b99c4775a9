package fs

import (
	"strconv"
	"strings"
	"syscall"

	"github.com/ipcfs/ipcfs/sysv"
)

// parseSize reads a byte count: decimal digits with an optional K, M or G
// suffix (powers of 1024, also spelled KiB, MiB, GiB, as ipcmk takes).
func parseSize(s string) (uint64, syscall.Errno) {
	mult := uint64(1)
	for _, suf := range []struct {
		s string
		m uint64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}} {
		if rest, ok := strings.CutSuffix(s, suf.s); ok {
			s, mult = rest, suf.m
			break
		}
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, syscall.EINVAL
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > (1<<63-1)/mult {
		return 0, syscall.EINVAL
	}
	return n * mult, 0
}

// parseMode reads a mode in octal (0644 or 644), at most 07777 as chmod
// spells it, and keeps its permission bits: the kernel keeps no others of
// an IPC object's mode (ipcmk -p 1777 makes mode 0777).
func parseMode(s string) (uint32, syscall.Errno) {
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, syscall.EINVAL
	}
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 07777 {
		return 0, syscall.EINVAL
	}
	return uint32(m) & 0777, 0
}

// defaultMode is what create uses without a MODE, as ipcmk does.
const defaultMode = 0644

// createArgs is a parsed write to a `create` file.
type createArgs struct {
	key  sysv.Key
	n    uint64 // SIZE for shm, NSEMS for sem; none for msg
	mode uint32
}

// parseCreate reads "KEY [N] [MODE]": N is required when withN (a size
// with an optional K, M or G suffix), absent otherwise.
func parseCreate(w []string, withN bool) (createArgs, syscall.Errno) {
	need := 1
	if withN {
		need = 2
	}
	if len(w) < need || len(w) > need+1 {
		return createArgs{}, syscall.EINVAL
	}
	key, err := sysv.ParseKey(w[0])
	if err != nil {
		return createArgs{}, syscall.EINVAL
	}
	a := createArgs{key: key, mode: defaultMode}
	var errno syscall.Errno
	if withN {
		if a.n, errno = parseSize(w[1]); errno != 0 {
			return createArgs{}, errno
		}
	}
	if len(w) == need+1 {
		if a.mode, errno = parseMode(w[need]); errno != 0 {
			return createArgs{}, errno
		}
	}
	return a, 0
}
