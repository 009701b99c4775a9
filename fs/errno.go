package fs

import (
	"errors"
	"syscall"
)

// toErrno hands a syscall's errno on unchanged; anything else is EIO.
func toErrno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}

// goneErrno is what a lookup of a vanished object answers: IPC_STAT says
// EINVAL or EIDRM for an id that no longer exists, and a file system says
// ENOENT.
func goneErrno(err error) syscall.Errno {
	e := toErrno(err)
	if e == syscall.EINVAL || e == syscall.EIDRM {
		return syscall.ENOENT
	}
	return e
}

// staleErrno is what a node answers when its object is gone. ESTALE makes
// the kernel walk the path once more with every entry looked up afresh,
// so the caller sees ENOENT, or the object that holds the name now.
func staleErrno(err error) syscall.Errno {
	e := toErrno(err)
	if e == syscall.EINVAL || e == syscall.EIDRM {
		return syscall.ESTALE
	}
	return e
}
