package fs

import (
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// semKind is sem/: semaphore sets as directories.
type semKind struct {
	readOnly bool
	undo     *sysv.Undo
}

func semSetObject(s *sysv.SemSet) object {
	o := object{id: s.ID, key: s.Perm.Key}
	a := &o.attr
	a.Ino = inoSemSetBase | uint64(s.ID)
	setPermAttr(a, fuse.S_IFDIR, &s.Perm)
	// A set is a folder: x lets the owner's classes walk into it where
	// they may read or alter its semaphores.
	a.Mode |= searchBits(s.Perm.Mode)
	setTimes(a, s.Otime, s.Otime, s.Ctime)
	return o
}

// searchBits gives x to each class that has r or w, so a folder is
// entered exactly by those the set lets in.
func searchBits(mode uint32) uint32 {
	var x uint32
	for shift := 0; shift < 9; shift += 3 {
		if mode>>shift&06 != 0 {
			x |= 1 << shift
		}
	}
	return x
}

// count is SEM_INFO's semusz: the sets in use, which ipcs -u shows.
func (semKind) count() (int, error) {
	u, err := sysv.SemUsage()
	return int(u.Semusz), err
}

func (semKind) list() ([]object, error) {
	sets, err := sysv.SemSets()
	if err != nil {
		return nil, err
	}
	objs := make([]object, len(sets))
	for i := range sets {
		objs[i] = semSetObject(&sets[i])
	}
	return objs, nil
}

func (semKind) stat(id int) (object, error) {
	s, err := sysv.SemStat(id)
	if err != nil {
		return object{}, err
	}
	return semSetObject(&s), nil
}

func (semKind) idOf(key sysv.Key) (int, error) { return sysv.SemGet(key, 0, 0) }

func (k semKind) node(o *object) fs.InodeEmbedder {
	n := &semSetNode{fixedNames: fixedNames{k.readOnly}, id: o.id, key: o.key, kind: k}
	n.list = n.xattrs
	return n
}

// create takes KEY NSEMS [MODE].
func (semKind) create(cred *sysv.Cred, w []string) (string, error) {
	a, errno := parseCreate(w, parseCount) // NSEMS is a decimal count: no K, M or G, no octal
	if errno != 0 {
		return "", errno
	}
	var id int
	err := cred.Do(func() (err error) {
		id, err = sysv.SemGet(a.key, int(a.n), sysv.Create|sysv.Exclusive|int(a.mode))
		return err
	})
	if err != nil {
		return "", err
	}
	return objectName(a.key, id), nil
}

// remove is IPC_RMID as the caller; the set's undo records go with it,
// as the kernel frees a set's semadj (its id may name another set later).
func (k semKind) remove(cred *sysv.Cred, id int) error {
	if err := cred.Do(func() error { return sysv.SemRemove(id) }); err != nil {
		return err
	}
	k.undo.ForgetSet(id)
	return nil
}

func (semKind) createUsage() string {
	return `Write "KEY NSEMS [MODE]" to make a semaphore set, as semget(KEY, NSEMS,
IPC_CREAT|IPC_EXCL|MODE) would for the writer. Its semaphores start at 0.
  KEY    0x-prefixed hex, decimal, or "private"
  NSEMS  the number of semaphores, in decimal (010 is ten)
  MODE   octal permission bits, default 0644
Reading the same handle afterwards returns the new set's name.
Example: echo "0x1234 2 0600" > create
`
}

func (semKind) status(*sysv.Cred) ([]byte, error) { return semStatus() }
