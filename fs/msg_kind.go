package fs

import (
	"strconv"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// msgKind is msg/: message queues as files, plus the lookup-only aliases
// NAME:T (send and receive with type T) and NAME:peek (the queued
// messages, read with MSG_COPY without taking them out).
type msgKind struct {
	readOnly bool
	files    *openSlots // which inode a lookup of a queue's file gets
}

// queueObject is queue q as a file, with blksize (messageBlksize) as its
// st_blksize.
func queueObject(q *sysv.Queue, blksize uint32) object {
	o := object{id: q.ID, key: q.Perm.Key}
	a := &o.attr
	a.Ino = inoMsgBase | uint64(q.ID)
	setPermAttr(a, fuse.S_IFREG, &q.Perm)
	a.Size = q.Cbytes // the bytes queued
	a.Blksize = blksize
	setTimes(a, q.Rtime, q.Stime, q.Ctime)
	return o
}

// messageBlksize is the st_blksize of a queue's files: the least power of
// two that holds the largest message (msgmax), at least 4096 and at most
// 1 MiB (the most one write request carries). Programs that write through
// stdio (printf, and a shell's echo in a fresh shell) size their buffer
// by it, and write each line that fits in one write(2), one message: with
// 4096, a 5000-byte line went as two messages. Readers through stdio
// likewise read every message whole, where a smaller buffer gets E2BIG.
func messageBlksize() uint32 {
	l, err := sysv.MsgIPCInfo()
	if err != nil || l.Msgmax <= 4096 {
		return 4096
	}
	b := uint32(4096)
	for b < uint32(l.Msgmax) && b < 1<<20 {
		b <<= 1
	}
	return b
}

func (msgKind) list() ([]object, error) {
	qs, err := sysv.Queues()
	if err != nil {
		return nil, err
	}
	blksize := messageBlksize()
	objs := make([]object, len(qs))
	for i := range qs {
		objs[i] = queueObject(&qs[i], blksize)
	}
	return objs, nil
}

func (msgKind) stat(id int) (object, error) {
	q, err := sysv.MsgStat(id)
	if err != nil {
		return object{}, err
	}
	return queueObject(&q, messageBlksize()), nil
}

func (k msgKind) openSlots() *openSlots { return k.files }

func (msgKind) idOf(key sysv.Key) (int, error) { return sysv.MsgGet(key, 0) }

func (k msgKind) node(o *object) fs.InodeEmbedder {
	return newQueueNode(o.id, k.readOnly, 0, k.files)
}

// alias resolves the part after the colon of NAME:T or NAME:peek.
func (k msgKind) alias(o *object, suffix string) (fs.InodeEmbedder, uint64, syscall.Errno) {
	if suffix == "peek" {
		return &peekFile{id: o.id}, inoMsgPeekBase | uint64(o.id), 0
	}
	t, err := strconv.ParseInt(suffix, 10, 64)
	if err != nil || t == 0 || strconv.FormatInt(t, 10) != suffix {
		return nil, 0, syscall.ENOENT
	}
	var ino uint64 // small types get a stable number; go-fuse numbers the rest
	if t > -1<<19 && t < 1<<19 {
		ino = inoMsgTypedBase | uint64(o.id)<<20 | uint64(t)&(1<<20-1)
	}
	return newQueueNode(o.id, k.readOnly, t, k.files), ino, 0
}

// create takes KEY [MODE].
func (msgKind) create(cred *sysv.Cred, w []string) (string, error) {
	a, errno := parseCreate(w, nil)
	if errno != 0 {
		return "", errno
	}
	var id int
	err := cred.Do(func() (err error) {
		id, err = sysv.MsgGet(a.key, sysv.Create|sysv.Exclusive|int(a.mode))
		return err
	})
	if err != nil {
		return "", err
	}
	return objectName(a.key, id), nil
}

func (msgKind) remove(cred *sysv.Cred, id int) error {
	return cred.Do(func() error { return sysv.MsgRemove(id) })
}

func (msgKind) createUsage() string {
	return `Write "KEY [MODE]" to make a message queue, as msgget(KEY,
IPC_CREAT|IPC_EXCL|MODE) would for the writer.
  KEY   0x-prefixed hex, decimal, or "private"
  MODE  octal permission bits, default 0644
Reading the same handle afterwards returns the new queue's name.
Example: echo "0x1234 0600" > create
`
}

func (msgKind) status(*sysv.Cred) ([]byte, error) { return msgStatus() }
