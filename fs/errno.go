package fs

import (
	"errors"
	"syscall"

	"github.com/ipcfs/ipcfs/sysv"
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
	if e := toErrno(err); !vanished(e) {
		return e
	}
	return syscall.ENOENT
}

// vanished reports whether IPC_STAT's errno says the id no longer exists.
func vanished(e syscall.Errno) bool { return e == syscall.EINVAL || e == syscall.EIDRM }

// objectErrno is the answer of a node found under key want, whose object
// IPC_STAT read with err and key, when the object is gone or its key now
// names another. ESTALE makes the kernel walk the path again, looking
// every entry up afresh, so it finds the object that has the name now; but
// it walks again only once, and a second ESTALE reaches the caller as
// "Stale file handle", which no syscall gives. So ESTALE is the answer
// only where walking again finds something, and otherwise ENOENT: an
// object that lives on under another name (a segment removed while
// attached, whose key is now 0) is found again by its id-N, and a key
// name by idOf. (Only a key removed and made again twice within one walk
// still ends in ESTALE.)
func objectErrno(err error, key, want sysv.Key, idOf func(sysv.Key) (int, error)) syscall.Errno {
	if err != nil {
		if e := toErrno(err); !vanished(e) {
			return e
		}
	} else if key == want {
		return 0
	} else {
		// The walk again looks id-N up afresh (a new inode, see
		// kindDir.gen), and a key name finds the key's object or ENOENT.
		return syscall.ESTALE
	}
	if want == sysv.Private { // id-N: no other object can take the name
		return syscall.ENOENT
	}
	if _, err := idOf(want); err != nil {
		return syscall.ENOENT
	}
	return syscall.ESTALE
}
