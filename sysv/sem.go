package sysv

import (
	"context"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SemSet is what IPC_STAT reports of a semaphore set.
type SemSet struct {
	ID    int
	Perm  Perm
	Nsems int
	Otime int64 // last semop, seconds since the epoch; 0 = never
	Ctime int64 // creation or last IPC_SET
}

// semid64Ds is the kernel's amd64 struct semid64_ds.
type semid64Ds struct {
	Perm  unix.SysvIpcPerm
	Otime int64
	_     uint64
	Ctime int64
	_     uint64
	Nsems uint64
	_     uint64
	_     uint64
}

func semSetOf(id int, d *semid64Ds) SemSet {
	return SemSet{ID: id, Perm: permOf(&d.Perm), Nsems: int(d.Nsems), Otime: d.Otime, Ctime: d.Ctime}
}

// SemOp is the kernel's struct sembuf: one operation of a semop.
type SemOp struct {
	Num   uint16 // semaphore index
	Op    int16  // > 0 add, < 0 subtract (may wait), 0 wait for zero
	Flags int16  // NoWait, SemUndo
}

// SemUndo is SEM_UNDO. The kernel keeps undo records per process (shared
// by all threads), so for a daemon they are undone when the daemon exits.
const SemUndo = 0x1000

// SemVMX is SEMVMX, the largest value a semaphore may hold.
const SemVMX = 32767

// SemAEM is SEMAEM, the largest adjustment SEM_UNDO keeps for one
// semaphore of one process (and -SemAEM-1 the lowest).
const SemAEM = SemVMX

// SemLimits is the kernel's struct seminfo.
type SemLimits struct {
	Semmap, Semmni, Semmns, Semmnu, Semmsl, Semopm, Semume, Semusz, Semvmx, Semaem int32
}

// semctl commands (linux/sem.h), which x/sys/unix does not define.
const (
	getPid  = 11
	getVal  = 12
	getAll  = 13
	getNcnt = 14
	getZcnt = 15
	setVal  = 16
)

// semctl passes arg as the union semun: a value (SETVAL) or a pointer.
func semctl(id, num, cmd int, arg uintptr) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), uintptr(num), uintptr(cmd), arg, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func semctlPtr(id, num, cmd int, p unsafe.Pointer) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), uintptr(num), uintptr(cmd), uintptr(p), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// SemGet is semget(2).
func SemGet(key Key, nsems int, flags int) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_SEMGET, uintptr(key), uintptr(nsems), uintptr(flags))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// SemStat is semctl(IPC_STAT), or SEM_STAT_ANY where the daemon may not
// read the set (see statAny).
func SemStat(id int) (SemSet, error) {
	var d semid64Ds
	_, err := semctlPtr(id, 0, unix.IPC_STAT, unsafe.Pointer(&d))
	if err == unix.EACCES {
		err = statAny(id, func(idx int) (int, error) { return semctlPtr(idx, 0, semStatAny, unsafe.Pointer(&d)) })
	}
	if err != nil {
		return SemSet{}, err
	}
	return semSetOf(id, &d), nil
}

// SemSetPerm is semctl(IPC_SET): owner, group and permission bits; the
// kernel reads nothing else.
func SemSetPerm(id int, uid, gid, mode uint32) error {
	var d semid64Ds
	d.Perm.Uid, d.Perm.Gid, d.Perm.Mode = uid, gid, mode&0777
	_, err := semctlPtr(id, 0, unix.IPC_SET, unsafe.Pointer(&d))
	return err
}

// SemRemove is semctl(IPC_RMID); waiters wake with EIDRM.
func SemRemove(id int) error {
	_, err := semctl(id, 0, unix.IPC_RMID, 0)
	return err
}

// SemPresent reports whether set id is still there: nil, or the error of
// a set that is not (EINVAL, EIDRM). Unlike SemStat, whose IPC_STAT
// walks every semaphore of the set for its otime, it costs the same for
// any set: a GETVAL of semaphore 0, which every set has, where EACCES
// (the caller may not read it) still says the set is there.
func SemPresent(id int) error {
	_, err := SemGetVal(id, 0)
	if err == unix.EACCES {
		return nil
	}
	return err
}

// SemGetVal is semctl(GETVAL).
func SemGetVal(id, num int) (int, error) { return semctl(id, num, getVal, 0) }

// SemSetVal is semctl(SETVAL); a value outside 0..SemVMX is ERANGE.
func SemSetVal(id, num, val int) error {
	_, err := semctl(id, num, setVal, uintptr(val))
	return err
}

// SemGetNcnt is semctl(GETNCNT): tasks waiting for the value to grow.
func SemGetNcnt(id, num int) (int, error) { return semctl(id, num, getNcnt, 0) }

// SemGetZcnt is semctl(GETZCNT): tasks waiting for the value to be zero.
func SemGetZcnt(id, num int) (int, error) { return semctl(id, num, getZcnt, 0) }

// SemGetPid is semctl(GETPID): the pid of the last operation.
func SemGetPid(id, num int) (int, error) { return semctl(id, num, getPid, 0) }

// SemGetAll is semctl(GETALL). GETALL writes as many values as the set
// has, whatever buffer it is given, so the count comes from IPC_STAT;
// nsems is only the caller's expectation and the kernel's count wins.
func SemGetAll(id int, nsems int) ([]uint16, error) {
	s, err := SemStat(id)
	if err != nil {
		return nil, err
	}
	vals := make([]uint16, max(s.Nsems, nsems, 1))
	if _, err := semctlPtr(id, 0, getAll, unsafe.Pointer(&vals[0])); err != nil {
		return nil, err
	}
	return vals[:s.Nsems], nil
}

// SemSets lists every set of the IPC namespace, whatever its
// permissions (SEM_STAT_ANY, as /proc/sysvipc/sem). One syscall per
// index in use.
func SemSets() ([]SemSet, error) {
	var info SemLimits
	maxIdx, err := semctlPtr(0, 0, semInfo, unsafe.Pointer(&info))
	if err != nil {
		return nil, err
	}
	var d semid64Ds
	sets := make([]SemSet, 0, maxIdx+1)
	for idx := 0; idx <= maxIdx; idx++ {
		id, err := semctlPtr(idx, 0, semStatAny, unsafe.Pointer(&d))
		if err != nil {
			continue // an unused index (EINVAL), or one just removed
		}
		sets = append(sets, semSetOf(id, &d))
	}
	return sets, nil
}

// SemIPCInfo is semctl(IPC_INFO): the limits (ipcs -l).
func SemIPCInfo() (SemLimits, error) {
	var l SemLimits
	_, err := semctlPtr(0, 0, ipcInfo, unsafe.Pointer(&l))
	return l, err
}

// SemUsage is semctl(SEM_INFO): the limits, except that Semusz is the
// number of sets and Semaem the number of semaphores in use (ipcs -u).
func SemUsage() (SemLimits, error) {
	var l SemLimits
	_, err := semctlPtr(0, 0, semInfo, unsafe.Pointer(&l))
	return l, err
}

func semtimedop(id int, ops []SemOp, ts *unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_SEMTIMEDOP, uintptr(id), uintptr(unsafe.Pointer(&ops[0])),
		uintptr(len(ops)), uintptr(unsafe.Pointer(ts)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// Semop performs ops as one atomic semop with cred's identity. A timeout
// <= 0 means none; when it runs out the result is EAGAIN, as semtimedop
// gives. While it waits, only the calling goroutine blocks, and ctx
// ending the wait gives EINTR with the set untouched.
//
// ops is tried first with NoWait on every operation, which succeeds or
// fails exactly as the plain semop would when it need not wait; only if
// it would wait does a blocking call follow, on a thread of its own.
func Semop(ctx context.Context, cred *Cred, id int, ops []SemOp, timeout time.Duration) error {
	if len(ops) == 0 {
		return unix.EINVAL
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	var small [8]SemOp
	fast := small[:0]
	if len(ops) > len(small) {
		fast = make([]SemOp, 0, len(ops))
	}
	mayWait := false
	for _, op := range ops {
		if op.Flags&NoWait == 0 {
			mayWait = true
		}
		op.Flags |= NoWait
		fast = append(fast, op)
	}
	err := cred.Do(func() error { return semtimedop(id, fast, nil) })
	if err != unix.EAGAIN || !mayWait {
		return err
	}
	if err := semopWait(ctx, cred, id, ops, deadline); err != nil {
		return err
	}
	if cred.dying() && cred.Do(func() error { return semtimedop(id, inverse(fast[:0], ops), nil) }) == nil {
		// The caller was killed while it waited, and what it waited for
		// came before the daemon heard (the interrupt is a request of its
		// own): a direct semop would have ended with the signal, leaving
		// the value for others. Give it back; the caller hears EINTR, if
		// anything, and records no undo.
		return unix.EINTR
	}
	return nil
}

// inverse is ops undone, without waiting: each value given back (a wait
// for zero took nothing), appended to dst.
func inverse(dst, ops []SemOp) []SemOp {
	for _, op := range ops {
		if op.Op != 0 {
			dst = append(dst, SemOp{Num: op.Num, Op: -op.Op, Flags: NoWait})
		}
	}
	return dst
}

// semopWait is the waiting semtimedop, apart so that only it pays for the
// closure Block keeps (the fast path then allocates nothing). Each try
// waits only what is left until the deadline (zero: no deadline).
func semopWait(ctx context.Context, cred *Cred, id int, ops []SemOp, deadline time.Time) error {
	nowait := noWait(nil, ops) // for the tries past the bound on waiters
	return cred.Block(ctx, func() error {
		if deadline.IsZero() {
			return semtimedop(id, ops, nil)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return unix.EAGAIN
		}
		ts := unix.NsecToTimespec(int64(left))
		return semtimedop(id, ops, &ts)
	}, func() error {
		if !deadline.IsZero() && time.Until(deadline) <= 0 {
			return unix.EAGAIN
		}
		// EAGAIN where any operation would wait, even one whose own NoWait
		// would make the semop fail at once (such a write then waits for
		// its time, as if it had none).
		if err := semtimedop(id, nowait, nil); err != unix.EAGAIN {
			return err
		}
		return errWouldWait
	})
}

// noWait appends ops to dst, each without waiting and without undo.
func noWait(dst, ops []SemOp) []SemOp {
	for _, op := range ops {
		op.Flags = op.Flags&^SemUndo | NoWait
		dst = append(dst, op)
	}
	return dst
}
