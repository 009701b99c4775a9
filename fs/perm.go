package fs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
	"golang.org/x/sys/unix"
)

// permChange reports whether a setattr changes an object's ipc_perm,
// which is one IPC_SET: a chmod, a chown, or a touch. An object's times
// are the kernel's record of it, and cannot be set to a given value
// (EPERM); a touch (to now) is an IPC_SET of the current values, so the
// kernel decides who may, and it moves the object's ctime, as a touch
// moves a file's. The times a truncation brings (ftruncate sends them)
// change nothing.
func permChange(in *fuse.SetAttrIn) (bool, syscall.Errno) {
	_, okMode := in.GetMode()
	_, okUid := in.GetUID()
	_, okGid := in.GetGID()
	if okMode || okUid || okGid {
		return true, 0
	}
	if in.Valid&fuse.FATTR_SIZE != 0 {
		return false, 0
	}
	touch := false
	for _, t := range [...]struct{ set, now uint32 }{{fuse.FATTR_ATIME, fuse.FATTR_ATIME_NOW}, {fuse.FATTR_MTIME, fuse.FATTR_MTIME_NOW}} {
		if in.Valid&t.set == 0 {
			continue
		}
		if in.Valid&t.now == 0 {
			return false, syscall.EPERM
		}
		touch = true
	}
	return touch, 0
}

// setPerm carries out the chmod, chown and touch parts of a setattr (see
// permChange) as one IPC_SET made as the caller, so the kernel decides
// who may. Fields the setattr leaves out keep their current values.
func setPerm(cred *sysv.Cred, in *fuse.SetAttrIn, cur *sysv.Perm, set func(uid, gid, mode uint32) error) syscall.Errno {
	if change, errno := permChange(in); !change {
		return errno
	}
	mode, okMode := in.GetMode()
	uid, okUid := in.GetUID()
	gid, okGid := in.GetGID()
	if !okMode {
		mode = cur.Mode
	}
	if !okUid {
		uid = cur.Uid
	}
	if !okGid {
		gid = cur.Gid
	}
	// IPC_SET keeps only the permission bits, as the kernel does.
	return toErrno(cred.Do(func() error { return set(uid, gid, mode&0777) }))
}

// tableAccess is access(2) of a table read with an object's read
// permission (sem/NAME/status, msg/NAME:peek): no one opens it for
// writing (EACCES, as its open), and reading follows the object's mode.
func tableAccess(ctx context.Context, p sysv.Perm, mask uint32) syscall.Errno {
	if mask&unix.W_OK != 0 {
		return syscall.EACCES
	}
	return objectAccess(ctx, p, fuse.S_IFREG|p.Mode&^0222, mask, false)
}

// objectAccess answers access(2) on an object file or folder showing
// mode (its permission bits) as the kernel would answer the calls it
// stands for: ipcperms by the caller's classes and capabilities. A
// regular file needs an x bit somewhere to be executable, whoever asks,
// as on any file system.
func objectAccess(ctx context.Context, p sysv.Perm, mode uint32, mask uint32, readOnly bool) syscall.Errno {
	mask &= 7
	if mask&unix.W_OK != 0 && readOnly {
		return syscall.EROFS
	}
	if mask&unix.X_OK != 0 && mode&syscall.S_IFMT == syscall.S_IFREG && mode&0111 == 0 {
		return syscall.EACCES
	}
	p.Mode = mode & 0777
	if !callerCred(ctx).Permits(&p, mask) {
		return syscall.EACCES
	}
	return 0
}
