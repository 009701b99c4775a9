package fs

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/ipcfs/ipcfs/sysv"
)

// The user.ipc.* attributes of each kind of object node. Reading them
// never attaches a segment: they come from IPC_STAT, semctl and /proc.

// xattrView answers the xattr calls of a node from its attribute list;
// each node embeds one and sets list to its own xattrs method.
type xattrView struct {
	// list returns the node's attributes; name is the one asked for
	// ("" when listing), for attributes that cost to compute.
	list func(ctx context.Context, name string) ([]xattr, syscall.Errno)
}

var (
	_ fs.NodeGetxattrer    = (*xattrView)(nil)
	_ fs.NodeListxattrer   = (*xattrView)(nil)
	_ fs.NodeSetxattrer    = (*xattrView)(nil)
	_ fs.NodeRemovexattrer = (*xattrView)(nil)
)

func (v *xattrView) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if strings.HasPrefix(attr, "security.") || strings.HasPrefix(attr, "system.posix_acl_") {
		// No labels, capabilities or ACLs here. Saying so, rather than
		// "none set", lets ls -l stop asking after the first file.
		return 0, syscall.EOPNOTSUPP
	}
	l, errno := v.list(ctx, attr)
	if errno != 0 {
		return 0, errno
	}
	return getXattr(l, attr, dest)
}

func (v *xattrView) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	l, errno := v.list(ctx, "")
	if errno != 0 {
		return 0, errno
	}
	return listXattr(l, dest)
}

func (v *xattrView) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return setXattr(attr)
}

func (v *xattrView) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return setXattr(attr)
}

func (n *segmentNode) xattrs(ctx context.Context, name string) ([]xattr, syscall.Errno) {
	s, errno := n.stat()
	if errno != 0 {
		return nil, errno
	}
	// Scanning /proc for attachments costs; only a read of that one
	// attribute pays for it.
	attached := ""
	if name == xattrPrefix+"attached" {
		var err error
		if attached, err = attachedPids(callerCred(ctx), s.ID); err != nil {
			return nil, toErrno(err)
		}
	}
	return segmentXattrs(&s, attached), 0
}

func (n *semSetNode) xattrs(context.Context, string) ([]xattr, syscall.Errno) {
	s, errno := n.stat()
	if errno != 0 {
		return nil, errno
	}
	return semSetXattrs(&s), 0
}

// A semaphore's attributes: its set's ipc_perm, and its own four values,
// read as the caller, who needs the set's read permission for them as for
// GETVAL: without it they are left out of a listing, and asking for one
// is EACCES. (The ipc_perm is everyone's to see, as in /proc/sysvipc.)
func (f *semFile) xattrs(ctx context.Context, name string) ([]xattr, syscall.Errno) {
	s, errno := f.set.stat()
	if errno != 0 {
		return nil, errno
	}
	id, num := f.set.id, f.num
	l := append(permXattrs(&s.Perm, id), xattr{"semnum", strconv.Itoa(num)})
	var val, ncnt, zcnt, pid int
	f.set.settle()
	err := callerCred(ctx).Do(func() (err error) {
		if val, err = sysv.SemGetVal(id, num); err != nil {
			return err
		}
		ncnt, _ = sysv.SemGetNcnt(id, num)
		zcnt, _ = sysv.SemGetZcnt(id, num)
		pid, _ = sysv.SemGetPid(id, num)
		return nil
	})
	switch e := toErrno(err); {
	case e == syscall.EACCES && !slices.Contains(semValueXattrs, strings.TrimPrefix(name, xattrPrefix)):
		return l, 0
	case e != 0:
		return nil, goneErrno(err)
	}
	return append(l,
		xattr{"semval", strconv.Itoa(val)},
		xattr{"semncnt", strconv.Itoa(ncnt)},
		xattr{"semzcnt", strconv.Itoa(zcnt)},
		xattr{"sempid", strconv.Itoa(pid)},
	), 0
}

// semValueXattrs are a semaphore's attributes that need read permission.
var semValueXattrs = []string{"semval", "semncnt", "semzcnt", "sempid"}

func (n *queueNode) xattrs(context.Context, string) ([]xattr, syscall.Errno) {
	q, err := sysv.MsgStat(n.id)
	if err != nil {
		return nil, goneErrno(err)
	}
	return queueXattrs(&q), 0
}
