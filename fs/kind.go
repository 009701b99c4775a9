package fs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// object is one IPC object as its kind's folder shows it.
type object struct {
	id   int
	key  sysv.Key
	attr fuse.Attr // complete: Ino, Mode with the file type, size, owner, times
}

func (o *object) name() string { return objectName(o.key, o.id) }

// kind is what differs between shm/, sem/ and msg/: how objects are
// listed, found, made, removed and shown. kindDir does the rest.
type kind interface {
	// list reads every object of the kind, in one pass over the kernel.
	list() ([]object, error)
	// stat reads one object by id.
	stat(id int) (object, error)
	// idOf finds the object that holds key.
	idOf(key sysv.Key) (int, error)
	// node makes the FUSE node of an object.
	node(o *object) fs.InodeEmbedder
	// create makes an object from the words written to `create`, as cred,
	// and returns its name (from the key asked for and the id made: the
	// object may be gone again by the time it is looked at, and shmget
	// still made it).
	create(cred *sysv.Cred, words []string) (string, error)
	// remove is IPC_RMID, as cred.
	remove(cred *sysv.Cred, id int) error
	// createUsage is what reading `create` shows.
	createUsage() string
	// status renders the `status` table for caller.
	status(caller *sysv.Cred) ([]byte, error)
}

// callerCred is the identity of the process that made the request.
func callerCred(ctx context.Context) *sysv.Cred {
	c, ok := fuse.FromContext(ctx)
	if !ok {
		return nil
	}
	return sysv.CredOf(c.Pid, c.Uid, c.Gid)
}

// inodePerOpener is a kind whose object files need an inode per open,
// for reads and writes that may wait (msgrcv, msgsnd; see freshGen):
// its openSlots say which inode each lookup gets.
type inodePerOpener interface{ openSlots() *openSlots }

// folderKind is a kind whose objects are folders (sem/: a set is one).
// Each such folder's `..` is a link to the kind's folder, so its link
// count is 2 and one for each object, as a directory's is.
type folderKind interface {
	// count is how many objects there are, in one call to the kernel.
	count() (int, error)
}

// aliaser is a kind with lookup-only names NAME:SUFFIX (msg/NAME:T).
type aliaser interface {
	// alias returns the node and inode number (0: any) for SUFFIX of o.
	alias(o *object, suffix string) (fs.InodeEmbedder, uint64, syscall.Errno)
}
