package fs

import (
	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// shmKind is shm/: shared memory segments as regular files.
type shmKind struct {
	readOnly    bool
	passthrough *passthrough // see Root.passthrough
}

func segmentObject(s *sysv.Segment) object {
	o := object{id: s.ID, key: s.Perm.Key}
	a := &o.attr
	a.Ino = inoShmBase | uint64(s.ID)
	setPermAttr(a, fuse.S_IFREG, &s.Perm)
	a.Size = s.Size
	a.Blocks = (s.Size + 511) / 512
	a.Blksize = 4096
	setTimes(a, s.Atime, s.Dtime, s.Ctime)
	return o
}

func (shmKind) list() ([]object, error) {
	segs, err := sysv.Segments()
	if err != nil {
		return nil, err
	}
	objs := make([]object, len(segs))
	for i := range segs {
		objs[i] = segmentObject(&segs[i])
	}
	return objs, nil
}

func (shmKind) stat(id int) (object, error) {
	s, err := sysv.ShmStat(id)
	if err != nil {
		return object{}, err
	}
	return segmentObject(&s), nil
}

func (shmKind) idOf(key sysv.Key) (int, error) { return sysv.ShmGet(key, 0, 0) }

func (k shmKind) node(o *object) fs.InodeEmbedder {
	n := &segmentNode{id: o.id, key: o.key, readOnly: k.readOnly, passthrough: k.passthrough}
	n.list = n.xattrs
	return n
}

// create takes KEY SIZE [MODE].
func (shmKind) create(cred *sysv.Cred, w []string) (string, error) {
	a, errno := parseCreate(w, parseSize)
	if errno != 0 {
		return "", errno
	}
	var id int
	err := cred.Do(func() (err error) {
		id, err = sysv.ShmGet(a.key, a.n, sysv.Create|sysv.Exclusive|int(a.mode))
		return err
	})
	if err != nil {
		return "", err
	}
	return objectName(a.key, id), nil
}

func (shmKind) remove(cred *sysv.Cred, id int) error {
	return cred.Do(func() error { return sysv.ShmRemove(id) })
}

func (shmKind) createUsage() string {
	return `Write "KEY SIZE [MODE]" to make a shared memory segment, as shmget(KEY, SIZE,
IPC_CREAT|IPC_EXCL|MODE) would for the writer.
  KEY   0x-prefixed hex, decimal, or "private"
  SIZE  bytes, or as ipcmk takes it: 1.5K, 1M or 1MiB (powers of 1024),
        1MB (powers of 1000)
  MODE  octal permission bits, default 0644
Reading the same handle afterwards returns the new segment's name.
Example: echo "0x1234 1M 0600" > create
`
}

func (shmKind) status(caller *sysv.Cred) ([]byte, error) { return shmStatus(caller) }
