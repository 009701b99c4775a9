package fs

import (
	"context"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// Inode numbers. An object's is derived from its kind and id, so it is
// stable while the object lives; fixed nodes take small numbers.
const (
	inoRoot = 1 + iota
	inoShmDir
	inoSemDir
	inoMsgDir
	inoLimits
	inoUsage
	inoShmCreate
	inoShmRemove
	inoShmStatus
	inoSemCreate
	inoSemRemove
	inoSemStatus
	inoMsgCreate
	inoMsgRemove
	inoMsgStatus
)

const (
	inoShmBase      = 1 << 56
	inoSemSetBase   = 2 << 56
	inoSemBase      = 3 << 56 // | id<<16 | semnum
	inoMsgBase      = 4 << 56
	inoSemOpBase    = 5 << 56 // | id<<16: the semop file
	inoSemStatBase  = 6 << 56 // | id<<16: the status file
	inoMsgTypedBase = 7 << 56 // | id<<20 | T&0xfffff: msg/NAME:T
	inoMsgPeekBase  = 8 << 56 // | id: msg/NAME:peek
)

// Cache lifetimes. Objects come and go behind our back (ipcmk, ipcrm, any
// program), so what the kernel may keep of them is bounded:
//   - an object's entry lives a second, but every use of it (open, stat,
//     a child's lookup) asks the daemon, which answers ESTALE when the
//     object is gone or its key now names another: the kernel then walks
//     the path afresh, so a removed object is ENOENT at once and a
//     re-made one is the new one;
//   - an object's attributes are never cached (stat always asks), except
//     those a listing hands out with the names (READDIRPLUS), which live
//     until the lister's next read of the directory (see kindDirHandle);
//   - there is no negative caching: a new object shows at once.
//
// Fixed nodes never change.
var (
	objectEntryTimeout = time.Second
	objectAttrTimeout  = time.Duration(0)
	listedAttrTimeout  = time.Second
	fixedTimeout       = time.Hour
)

// started is the time of the nodes that are no IPC object (the folders,
// control files and views): they have no times of their own, and the
// daemon's start says more than 1970.
var started = time.Now()

// fixedAttr fills the attributes of such a node, which never change.
func fixedAttr(out *fuse.AttrOut, mode, nlink uint32) {
	out.Mode = mode
	out.Nlink = nlink
	t := uint64(started.Unix())
	out.Atime, out.Mtime, out.Ctime = t, t, t
	out.SetTimeout(fixedTimeout)
}

// fixedSetattr answers chmod, chown, truncate and touch of such a node n:
// a touch to now succeeds and changes nothing; anything else is EPERM, as
// a change of an object's times is. (The O_TRUNC of `echo > create`
// comes with its open, atomic O_TRUNC, not here.)
func fixedSetattr(ctx context.Context, n fs.NodeGetattrer, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	v := in.Valid
	if v&fuse.FATTR_ATIME != 0 && v&fuse.FATTR_ATIME_NOW == 0 || v&fuse.FATTR_MTIME != 0 && v&fuse.FATTR_MTIME_NOW == 0 {
		return syscall.EPERM
	}
	allowed := uint32(fuse.FATTR_FH | fuse.FATTR_LOCKOWNER | fuse.FATTR_CTIME |
		fuse.FATTR_ATIME | fuse.FATTR_ATIME_NOW | fuse.FATTR_MTIME | fuse.FATTR_MTIME_NOW)
	if v&^allowed != 0 {
		return syscall.EPERM
	}
	return n.Getattr(ctx, fh, out)
}

// setTimes fills the three times from the kernel's own record of the
// object. A time the kernel has never set (0) shows as the object's ctime,
// so ls does not print 1970; the xattrs keep the raw values.
func setTimes(a *fuse.Attr, atime, mtime, ctime int64) {
	if atime == 0 {
		atime = ctime
	}
	if mtime == 0 {
		mtime = ctime
	}
	a.Atime, a.Mtime, a.Ctime = uint64(atime), uint64(mtime), uint64(ctime)
	a.Atimensec, a.Mtimensec, a.Ctimensec = 0, 0, 0
}

// setPermAttr fills mode, owner and link count from the object's ipc_perm.
func setPermAttr(a *fuse.Attr, fileType uint32, p *sysv.Perm) {
	a.Mode = fileType | p.Mode&0777
	a.Uid, a.Gid = p.Uid, p.Gid
	a.Nlink = 1
	if fileType == fuse.S_IFDIR {
		a.Nlink = 2
	}
}

// A write that waits (semop, msgsnd) holds its file's inode lock in the
// kernel for as long as it waits; every other write to that inode, and
// every open with O_TRUNC (the shell's `>`), would queue behind it,
// unkillable. So files that take such writes get an inode of their own
// at each lookup (the same number, a new generation, unless the last one
// is free again: see openSlots), and their entries are never cached:
// each open has an inode, and a lock, of its own.
var inodeGen atomic.Uint64

// freshGen is a generation no inode has had.
func freshGen() uint64 { return inodeGen.Add(1) }

// childNode returns parent's node for name when it has identity id (an
// earlier lookup's node, as is, costs no allocation: a listing of
// thousands, or a shell loop, looks the same names up again), and
// otherwise a new node from newOps.
func childNode(ctx context.Context, parent *fs.Inode, name string, id fs.StableAttr, newOps func() fs.InodeEmbedder) *fs.Inode {
	if n := parent.GetChild(name); n != nil && n.StableAttr() == id {
		return n
	}
	return parent.NewInode(ctx, newOps(), id)
}

// entry fills a lookup's answer for child from its own Getattr, with the
// entry and attribute lifetimes given, and returns child.
func entry(ctx context.Context, child *fs.Inode, out *fuse.EntryOut, entryTTL, attrTTL time.Duration) *fs.Inode {
	if ga, ok := child.Operations().(fs.NodeGetattrer); ok {
		var a fuse.AttrOut
		ga.Getattr(ctx, nil, &a)
		out.Attr = a.Attr
	}
	out.SetEntryTimeout(entryTTL)
	out.SetAttrTimeout(attrTTL)
	return child
}
