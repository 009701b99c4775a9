package sysv

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Key is a SysV IPC key. Private (IPC_PRIVATE) is 0.
type Key int32

// Private is IPC_PRIVATE: a key that never names an existing object.
const Private Key = 0

// String spells the key as ipcs prints it.
func (k Key) String() string { return fmt.Sprintf("0x%08x", uint32(k)) }

// ParseKey reads a key written as 0x-prefixed hex, decimal, or "private".
// Keys are 32-bit; both signed and unsigned decimal spellings are taken.
func ParseKey(s string) (Key, error) {
	if s == "private" || s == "IPC_PRIVATE" {
		return Private, nil
	}
	var v uint64
	var err error
	if rest, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		if rest == "" || strings.HasPrefix(rest, "+") || strings.HasPrefix(rest, "-") {
			return 0, unix.EINVAL
		}
		v, err = strconv.ParseUint(rest, 16, 32)
	} else if strings.HasPrefix(s, "-") {
		var n int64
		n, err = strconv.ParseInt(s, 10, 32)
		v = uint64(uint32(int32(n)))
	} else {
		if strings.HasPrefix(s, "+") {
			return 0, unix.EINVAL
		}
		v, err = strconv.ParseUint(s, 10, 32)
	}
	if err != nil {
		return 0, unix.EINVAL
	}
	return Key(int32(uint32(v))), nil
}

// Perm is the kernel's struct ipc64_perm of an object.
type Perm struct {
	Key  Key
	Uid  uint32
	Gid  uint32
	Cuid uint32
	Cgid uint32
	// Mode holds the permission bits (low 9) and, for segments, the
	// SHM_DEST and SHM_LOCKED flags.
	Mode uint32
	Seq  uint16
}

func permOf(p *unix.SysvIpcPerm) Perm {
	return Perm{Key: Key(p.Key), Uid: p.Uid, Gid: p.Gid, Cuid: p.Cuid, Cgid: p.Cgid, Mode: p.Mode, Seq: p.Seq}
}

// Flags for get calls, re-exported so callers need not import unix.
const (
	Create    = unix.IPC_CREAT
	Exclusive = unix.IPC_EXCL
	NoWait    = unix.IPC_NOWAIT
)

// The *_STAT_ANY and *_INFO commands (linux/ipc.h, linux/shm.h, ...),
// which x/sys/unix does not define. *_STAT_ANY (Linux 4.17) reads an
// object by index without a permission check, as /proc/sysvipc does.
const (
	ipcInfo    = 3
	shmStat    = 13
	shmInfo    = 14
	shmStatAny = 15
	semStat    = 18
	semInfo    = 19
	semStatAny = 20
	msgStat    = 11
	msgInfo    = 12
	msgStatAny = 13
)

// SHM_DEST and SHM_LOCKED, the segment flags kept in Perm.Mode.
const (
	ShmDest   = 01000
	ShmLocked = 02000
)
