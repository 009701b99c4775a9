package sysv

import "golang.org/x/sys/unix"

// Segment is what IPC_STAT reports of a shared memory segment.
type Segment struct {
	ID     int
	Perm   Perm
	Size   uint64 // shm_segsz
	Atime  int64  // last attach, seconds since the epoch; 0 = never
	Dtime  int64  // last detach
	Ctime  int64  // creation or last IPC_SET
	Cpid   int32
	Lpid   int32
	Nattch uint64
}

// Removed reports whether IPC_RMID has marked the segment for
// destruction; it lives on, keyed IPC_PRIVATE, until its last detach.
func (s *Segment) Removed() bool { return s.Perm.Mode&ShmDest != 0 }

// Locked reports SHM_LOCK.
func (s *Segment) Locked() bool { return s.Perm.Mode&ShmLocked != 0 }

func segmentOf(id int, d *unix.SysvShmDesc) Segment {
	return Segment{
		ID: id, Perm: permOf(&d.Perm), Size: d.Segsz,
		Atime: d.Atime, Dtime: d.Dtime, Ctime: d.Ctime,
		Cpid: d.Cpid, Lpid: d.Lpid, Nattch: d.Nattch,
	}
}

// ShmGet is shmget(2).
func ShmGet(key Key, size uint64, flags int) (int, error) {
	return unix.SysvShmGet(int(key), int(size), flags)
}

// ShmStat is shmctl(IPC_STAT), or SHM_STAT_ANY where the daemon may not
// read the segment (see statAny).
func ShmStat(id int) (Segment, error) {
	var d unix.SysvShmDesc
	_, err := unix.SysvShmCtl(id, unix.IPC_STAT, &d)
	if err == unix.EACCES {
		err = statAny(id, func(idx int) (int, error) { return unix.SysvShmCtl(idx, shmStatAny, &d) })
	}
	if err != nil {
		return Segment{}, err
	}
	return segmentOf(id, &d), nil
}

// ShmSet is shmctl(IPC_SET): it changes owner, group and the permission
// bits; the kernel ignores everything else.
func ShmSet(id int, uid, gid, mode uint32) error {
	var d unix.SysvShmDesc
	d.Perm.Uid, d.Perm.Gid, d.Perm.Mode = uid, gid, mode&0777
	_, err := unix.SysvShmCtl(id, unix.IPC_SET, &d)
	return err
}

// ShmRemove is shmctl(IPC_RMID).
func ShmRemove(id int) error {
	_, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil)
	return err
}

// Segments lists every segment of the IPC namespace, private and
// removed-but-attached ones included, whatever their permissions
// (SHM_STAT_ANY, as ipcs does through /proc/sysvipc/shm). It costs one
// syscall per index in use.
func Segments() ([]Segment, error) {
	var d unix.SysvShmDesc // SHM_INFO fills a smaller struct shm_info
	maxIdx, err := unix.SysvShmCtl(0, shmInfo, &d)
	if err != nil {
		return nil, err
	}
	segs := make([]Segment, 0, maxIdx+1)
	for idx := 0; idx <= maxIdx; idx++ {
		id, err := unix.SysvShmCtl(idx, shmStatAny, &d)
		if err != nil {
			continue // an unused index (EINVAL), or one just removed
		}
		segs = append(segs, segmentOf(id, &d))
	}
	return segs, nil
}

// ShmAttach is shmat(2) at an address the kernel picks; the slice covers
// the whole segment. It is read-only when readOnly is set (SHM_RDONLY).
func ShmAttach(id int, readOnly bool) ([]byte, error) {
	flag := 0
	if readOnly {
		flag = unix.SHM_RDONLY
	}
	return unix.SysvShmAttach(id, 0, flag)
}

// ShmDetach is shmdt(2) of an attachment made by ShmAttach.
func ShmDetach(b []byte) error { return unix.SysvShmDetach(b) }
