package fs

import (
	"context"
	"strconv"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/ipcfs/ipcfs/sysv"
)

// The user.ipc.* attributes of each kind of object node. Reading them
// never attaches a segment: they come from IPC_STAT, semctl and /proc.

type xattrNode interface {
	fs.NodeGetxattrer
	fs.NodeListxattrer
	fs.NodeSetxattrer
	fs.NodeRemovexattrer
}

var (
	_ xattrNode = (*segmentNode)(nil)
	_ xattrNode = (*semSetNode)(nil)
	_ xattrNode = (*semFile)(nil)
	_ xattrNode = (*queueNode)(nil)
)

func (n *segmentNode) xattrs(name string) ([]xattr, syscall.Errno) {
	s, errno := n.stat()
	if errno != 0 {
		return nil, errno
	}
	// Scanning /proc for attachments costs; only a read of that one
	// attribute pays for it.
	attached := func() string { return "" }
	if name == xattrPrefix+"attached" {
		attached = func() string { return attachedPids(s.ID) }
	}
	return segmentXattrs(&s, attached), 0
}

func (n *segmentNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	l, errno := n.xattrs(attr)
	if errno != 0 {
		return 0, errno
	}
	return getXattr(l, attr, dest)
}

func (n *segmentNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	l, errno := n.xattrs("")
	if errno != 0 {
		return 0, errno
	}
	return listXattr(l, dest)
}

func (n *segmentNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return setXattr(attr)
}

func (n *segmentNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return setXattr(attr)
}

func (n *semSetNode) xattrs() ([]xattr, syscall.Errno) {
	s, errno := n.stat()
	if errno != 0 {
		return nil, errno
	}
	return semSetXattrs(&s), 0
}

func (n *semSetNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	l, errno := n.xattrs()
	if errno != 0 {
		return 0, errno
	}
	return getXattr(l, attr, dest)
}

func (n *semSetNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	l, errno := n.xattrs()
	if errno != 0 {
		return 0, errno
	}
	return listXattr(l, dest)
}

func (n *semSetNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return setXattr(attr)
}

func (n *semSetNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return setXattr(attr)
}

// A semaphore's attributes: its set's ipc_perm and its own four values.
func (f *semFile) xattrs() ([]xattr, syscall.Errno) {
	s, errno := f.set.stat()
	if errno != 0 {
		return nil, errno
	}
	id, num := f.set.id, f.num
	val, err := sysv.SemGetVal(id, num)
	if err != nil {
		return nil, goneErrno(err)
	}
	ncnt, _ := sysv.SemGetNcnt(id, num)
	zcnt, _ := sysv.SemGetZcnt(id, num)
	pid, _ := sysv.SemGetPid(id, num)
	return append(permXattrs(&s.Perm, id),
		xattr{"semnum", strconv.Itoa(num)},
		xattr{"semval", strconv.Itoa(val)},
		xattr{"semncnt", strconv.Itoa(ncnt)},
		xattr{"semzcnt", strconv.Itoa(zcnt)},
		xattr{"sempid", strconv.Itoa(pid)},
	), 0
}

func (f *semFile) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	l, errno := f.xattrs()
	if errno != 0 {
		return 0, errno
	}
	return getXattr(l, attr, dest)
}

func (f *semFile) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	l, errno := f.xattrs()
	if errno != 0 {
		return 0, errno
	}
	return listXattr(l, dest)
}

func (f *semFile) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return setXattr(attr)
}

func (f *semFile) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return setXattr(attr)
}

func (n *queueNode) xattrs() ([]xattr, syscall.Errno) {
	q, err := sysv.MsgStat(n.id)
	if err != nil {
		return nil, goneErrno(err)
	}
	return queueXattrs(&q), 0
}

func (n *queueNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	l, errno := n.xattrs()
	if errno != 0 {
		return 0, errno
	}
	return getXattr(l, attr, dest)
}

func (n *queueNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	l, errno := n.xattrs()
	if errno != 0 {
		return 0, errno
	}
	return listXattr(l, dest)
}

func (n *queueNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return setXattr(attr)
}

func (n *queueNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return setXattr(attr)
}
