package fs

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// setPerm carries out the chmod and chown parts of a setattr as one
// IPC_SET made as the caller, so the kernel decides who may. Fields the
// setattr leaves out keep their current values.
func setPerm(cred *sysv.Cred, in *fuse.SetAttrIn, cur *sysv.Perm, set func(uid, gid, mode uint32) error) syscall.Errno {
	mode, okMode := in.GetMode()
	uid, okUid := in.GetUID()
	gid, okGid := in.GetGID()
	if !okMode && !okUid && !okGid {
		return 0
	}
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
