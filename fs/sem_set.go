package fs

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// semSetNode is sem/NAME/: one file per semaphore, 0 to nsems-1, plus
// semop (atomic multi-operation writes) and status.
type semSetNode struct {
	fs.Inode
	fixedNames
	xattrView
	id    int
	key   sysv.Key
	kind  semKind
	files openSlots                   // which inode a lookup of a semaphore or semop file gets
	seen  atomic.Pointer[sysv.SemSet] // the set as last read (see present)
}

var (
	_ fs.NodeGetattrer      = (*semSetNode)(nil)
	_ fs.NodeSetattrer      = (*semSetNode)(nil)
	_ fs.NodeLookuper       = (*semSetNode)(nil)
	_ fs.NodeUnlinker       = (*semSetNode)(nil)
	_ fs.NodeAccesser       = (*semSetNode)(nil)
	_ fs.NodeOpendirHandler = (*semSetNode)(nil)
)

// Unlink is refused: a set's files are its semaphores, which come and go
// only with the set (without this, go-fuse would answer success and the
// file would come back at the next lookup).
func (n *semSetNode) Unlink(ctx context.Context, name string) syscall.Errno {
	if _, errno := n.stat(); errno != 0 {
		return errno
	}
	return syscall.EPERM
}

// settle applies the undo adjustments of exited processes on the set
// before a use of its values (see sysv.Undo.Settle).
func (n *semSetNode) settle() { n.kind.undo.Settle(n.id) }

// stat reads the set; ESTALE when it is gone or its key now names
// another, so the kernel looks the path up afresh (see objectErrno).
func (n *semSetNode) stat() (sysv.SemSet, syscall.Errno) {
	s, err := sysv.SemStat(n.id)
	errno := objectErrno(err, s.Perm.Key, n.key, semKind{}.idOf)
	if errno == 0 {
		n.seen.Store(&s)
	}
	return s, errno
}

// present is the set for a lookup of one of its files: the set as last
// read, once it is known to be there still (ESTALE or ENOENT as stat).
// The kernel's IPC_STAT walks every semaphore of a set (for its otime),
// and a listing looks up each file, so a stat per lookup made `ls` of a
// set of 32000 cost 32000 squared steps; the check costs the same for
// any set. What a lookup answers needs no more: the number of
// semaphores never changes, and the attributes it answers with are not
// kept by the kernel (objectAttrTimeout), which asks again at a stat.
func (n *semSetNode) present() (*sysv.SemSet, syscall.Errno) {
	s := n.seen.Load()
	if s == nil {
		st, errno := n.stat()
		return &st, errno
	}
	return s, objectErrno(sysv.SemPresent(n.id), n.key, n.key, semKind{}.idOf)
}

func (n *semSetNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	s, errno := n.stat()
	if errno != 0 {
		return errno
	}
	o := semSetObject(&s)
	out.Attr = o.attr
	out.SetTimeout(objectAttrTimeout)
	return 0
}

func (n *semSetNode) Access(ctx context.Context, mask uint32) syscall.Errno {
	s, errno := n.stat()
	if errno != 0 {
		return errno
	}
	return objectAccess(ctx, s.Perm, semSetObject(&s).attr.Mode, mask, n.kind.readOnly)
}

// Setattr is chmod, chown and touch of the set: IPC_SET as the caller.
func (n *semSetNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if errno := semSetPerm(ctx, n, in); errno != 0 {
		return errno
	}
	return n.Getattr(ctx, fh, out)
}

// semSetPerm is chmod/chown/touch of set id (see permChange), from the
// set or any of its files. A truncation means nothing here.
func semSetPerm(ctx context.Context, set *semSetNode, in *fuse.SetAttrIn) syscall.Errno {
	if change, errno := permChange(in); !change {
		return errno
	}
	if set.kind.readOnly {
		return syscall.EROFS
	}
	s, errno := set.stat()
	if errno != 0 {
		return errno
	}
	return setPerm(callerCred(ctx), in, &s.Perm, func(uid, gid, mode uint32) error {
		return sysv.SemSetPerm(set.id, uid, gid, mode)
	})
}

// Create refuses a new file: a set's files are its semaphores (EPERM, as
// in a kind's folder; EROFS on a read-only mount), and a semaphore number
// past the set is EFBIG, as semop gives for it (`echo 1 > sem/K/5` on a
// set of 2). In a set that is gone (the kernel may hold its folder's
// entry for a second) every name is unknown: ENOENT, as a lookup gives.
func (n *semSetNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if _, errno := n.stat(); errno != 0 {
		return nil, nil, 0, errno
	}
	if n.kind.readOnly {
		return nil, nil, 0, syscall.EROFS
	}
	if _, ok := semNumber(name); ok {
		return nil, nil, 0, syscall.EFBIG // a number in the set would have been found
	}
	return nil, nil, 0, syscall.EPERM
}

// semNumber reads a semaphore's file name: a decimal number as the
// listing spells it (no sign, no leading zero).
func semNumber(name string) (uint64, bool) {
	num, err := strconv.ParseUint(name, 10, 64)
	return num, err == nil && strconv.FormatUint(num, 10) == name
}

func (n *semSetNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	s, errno := n.present()
	if errno != 0 {
		return nil, errno
	}
	var ops func() fs.InodeEmbedder
	var ino uint64
	switch name {
	case "semop":
		ops, ino = func() fs.InodeEmbedder { return &semopFile{setFile{set: n}} }, inoSemOpBase|uint64(n.id)<<16
	case "status":
		ops, ino = func() fs.InodeEmbedder { return newSemStatusFile(n) }, inoSemStatBase|uint64(n.id)<<16
	default:
		num, ok := semNumber(name)
		if !ok || num >= uint64(s.Nsems) {
			return nil, syscall.ENOENT
		}
		ops, ino = func() fs.InodeEmbedder { return newSemFile(n, int(num)) }, inoSemBase|uint64(n.id)<<16|num
	}
	fileAttrOf(&out.Attr, s)
	out.SetAttrTimeout(objectAttrTimeout)
	if name == "status" {
		statusAttr(&out.Attr, viewSize)
		out.SetEntryTimeout(fixedTimeout)
		return childNode(ctx, &n.Inode, name, fs.StableAttr{Mode: syscall.S_IFREG, Ino: ino, Gen: 0}, ops), 0
	}
	// Files that take writes get an inode no other open is using, and
	// are never cached, so a semop that waits holds no lock another open
	// needs (see freshGen and openSlots).
	out.SetEntryTimeout(0)
	return childNode(ctx, &n.Inode, name, fs.StableAttr{Mode: syscall.S_IFREG, Ino: ino, Gen: n.files.lookup(ino)}, ops), 0
}

// fileAttr is the attributes of a file in the set: the set's owner and
// permission bits, as the kernel checks those for every semaphore.
func (n *semSetNode) fileAttr(out *fuse.AttrOut) syscall.Errno {
	s, errno := n.stat()
	if errno != 0 {
		return errno
	}
	fileAttrOf(&out.Attr, &s)
	out.SetTimeout(objectAttrTimeout)
	return 0
}

// fileAttrOf fills a's mode, owner and times from set s.
func fileAttrOf(a *fuse.Attr, s *sysv.SemSet) {
	setPermAttr(a, fuse.S_IFREG, &s.Perm)
	setTimes(a, s.Otime, s.Otime, s.Ctime)
}

// status is one row per semaphore: value, waiters for an increase
// (semncnt) and for zero (semzcnt), and the pid of the last operation.
// They are read as the caller, who needs the set's read permission for
// them, as for GETALL (EACCES).
func (n *semSetNode) status(caller *sysv.Cred) ([]byte, error) {
	s, errno := n.stat() // ESTALE for a set made again under the key
	if errno != 0 {
		return nil, errno
	}
	var b bytes.Buffer
	n.settle()
	err := caller.Do(func() error {
		vals, err := sysv.SemGetAll(n.id, s.Nsems)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%-6s %-6s %-8s %-8s %s\n", "semnum", "value", "semncnt", "semzcnt", "sempid")
		for i, v := range vals {
			ncnt, _ := sysv.SemGetNcnt(n.id, i)
			zcnt, _ := sysv.SemGetZcnt(n.id, i)
			pid, _ := sysv.SemGetPid(n.id, i)
			fmt.Fprintf(&b, "%-6d %-6d %-8d %-8d %d\n", i, v, ncnt, zcnt, pid)
		}
		return nil
	})
	return b.Bytes(), err
}
