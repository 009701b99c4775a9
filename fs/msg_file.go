package fs

import (
	"bytes"
	"context"
	"fmt"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// queueNode is msg/NAME (mtype 0) or msg/NAME:T: a write sends one
// message, a read receives one whole message, like a FIFO.
type queueNode struct {
	fs.Inode
	xattrView
	id       int
	readOnly bool
	// mtype is the alias's T: the type sent, and the msgtyp received
	// (negative: the lowest type up to |T|). 0 sends type 1 and
	// receives any type.
	mtype int64
	files *openSlots // the kind's: this inode is free again when closed
	kept  keptAttr
}

func newQueueNode(id int, readOnly bool, mtype int64, files *openSlots) *queueNode {
	n := &queueNode{id: id, readOnly: readOnly, mtype: mtype, files: files}
	n.list = n.xattrs
	return n
}

var (
	_ fs.NodeGetattrer   = (*queueNode)(nil)
	_ fs.NodeSetattrer   = (*queueNode)(nil)
	_ fs.NodeOpener      = (*queueNode)(nil)
	_ fs.NodeOnForgetter = (*queueNode)(nil)
	_ fs.NodeAccesser    = (*queueNode)(nil)
)

func (n *queueNode) OnForget() {
	id := n.StableAttr()
	n.files.forgotten(id.Ino, id.Gen)
}

func (n *queueNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	id := n.StableAttr()
	n.files.statted(id.Ino, id.Gen)
	return n.kept.answer(fh, out, n.attr(out))
}

func (n *queueNode) attr(out *fuse.AttrOut) syscall.Errno {
	q, err := sysv.MsgStat(n.id)
	if err != nil {
		return goneErrno(err)
	}
	o := queueObject(&q, messageBlksize())
	out.Attr = o.attr
	if n.mtype != 0 {
		out.Ino = 0 // an alias has its own inode number, which go-fuse fills in
	}
	out.SetTimeout(objectAttrTimeout)
	return 0
}

func (n *queueNode) Access(ctx context.Context, mask uint32) syscall.Errno {
	q, err := sysv.MsgStat(n.id)
	if err != nil {
		return goneErrno(err)
	}
	return objectAccess(ctx, q.Perm, queueObject(&q, 0).attr.Mode, mask, n.readOnly)
}

// Setattr is chmod, chown and touch (IPC_SET as the caller, see
// permChange). A truncation is accepted and ignored: a queue is emptied
// by reading it, and `echo >` must not fail.
func (n *queueNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if change, errno := permChange(in); errno != 0 {
		return errno
	} else if change && n.readOnly {
		return syscall.EROFS
	}
	q, err := sysv.MsgStat(n.id)
	if err != nil {
		return goneErrno(err)
	}
	// msg_qbytes as just read by the daemon: IPC_SET as the caller needs
	// no read permission, and neither may chmod of a queue one owns.
	if errno := setPerm(callerCred(ctx), in, &q.Perm, func(uid, gid, mode uint32) error {
		return sysv.MsgSetPerm(n.id, uid, gid, mode, q.Qbytes)
	}); errno != 0 {
		return errno
	}
	return n.Getattr(ctx, fh, out)
}

func (n *queueNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if n.readOnly && flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EROFS
	}
	// Kept, so that an fstat after the queue's removal answers as for an
	// unlinked file, though none came before (see keptAttr).
	// (Not through Getattr, which frees the lookup's claim: see statted.)
	var attr fuse.AttrOut
	if errno := n.kept.answer(nil, &attr, n.attr(&attr)); errno != 0 {
		return nil, 0, errno
	}
	id := n.StableAttr()
	h := &queueHandle{node: n,
		slotHandle: slotHandle{n.files.opened(id.Ino, id.Gen)}}
	// A stream: no file position, so no lock on it that a second process
	// reading or writing the same open file would wait on, unkillable,
	// behind a first one waiting in msgrcv or msgsnd; and every read(2)
	// and write(2) starts at offset 0 (see Read and Write).
	return h, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH | fuse.FOPEN_STREAM, 0
}

type queueHandle struct {
	node *queueNode
	slotHandle
}

var (
	_ fs.FileReader   = (*queueHandle)(nil)
	_ fs.FileWriter   = (*queueHandle)(nil)
	_ fs.FileReleaser = (*queueHandle)(nil)
)

// Read receives one whole message into the reader's buffer; one too long
// for it stays queued (E2BIG).
//
// The kernel cuts a read(2) into requests of at most 1 MiB, and sends the
// next one when a reply fills its request: a message of exactly that size
// would be followed by a second msgrcv within the same read(2). As the
// file is a stream, every read(2) starts at offset 0, so a request at a
// later offset is such a continuation: it gets end of file, and the
// read(2) returns the one message. (So a message longer than one request
// cannot be read through the mount: E2BIG, and it stays queued.)
func (h *queueHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	defer operation()() // see Quiesce
	if h.node.readOnly {
		return nil, syscall.EROFS
	}
	if off > 0 {
		return fuse.ReadResultData(nil), 0
	}
	nonblocking := flagSet(ctx, syscall.O_NONBLOCK)
	_, n, err := sysv.MsgReceive(ctx, callerCred(ctx), h.node.id, h.node.mtype, dest, nonblocking)
	if err == syscall.ENOMSG && nonblocking {
		err = syscall.EAGAIN // what a read of an empty O_NONBLOCK FIFO gives
	}
	if err != nil {
		return nil, toErrno(err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

// Write sends the bytes of one write(2) as one message. (A write(2)
// longer than one request comes in pieces, of which only the first
// reaches here: see rawFS.Writev.)
func (h *queueHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	defer operation()() // see Quiesce
	mtype := h.node.mtype
	if mtype == 0 {
		mtype = 1
	}
	err := sysv.MsgSend(ctx, callerCred(ctx), h.node.id, mtype, data, flagSet(ctx, syscall.O_NONBLOCK))
	if err != nil {
		return 0, toErrno(err)
	}
	return uint32(len(data)), 0
}

// peekFile is msg/NAME:peek: one row per queued message (position, type,
// size, first bytes), read with MSG_COPY, which leaves the queue, its
// times and its pids as they were.
type peekFile struct {
	fs.Inode
	id int
}

var (
	_ fs.NodeGetattrer = (*peekFile)(nil)
	_ fs.NodeOpener    = (*peekFile)(nil)
	_ fs.NodeAccesser  = (*peekFile)(nil)
)

func (p *peekFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	q, err := sysv.MsgStat(p.id)
	if err != nil {
		return goneErrno(err)
	}
	setPermAttr(&out.Attr, fuse.S_IFREG, &q.Perm)
	out.Mode &^= 0222
	out.Size = viewSizeOf(ctx, fh)
	setTimes(&out.Attr, q.Rtime, q.Stime, q.Ctime)
	out.SetTimeout(objectAttrTimeout)
	return 0
}

// Access: a table, which no one opens for writing (EACCES, as Open).
func (p *peekFile) Access(ctx context.Context, mask uint32) syscall.Errno {
	q, err := sysv.MsgStat(p.id)
	if err != nil {
		return goneErrno(err)
	}
	return tableAccess(ctx, q.Perm, mask)
}

func (p *peekFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EACCES
	}
	var text []byte
	err := callerCred(ctx).Do(func() (err error) { text, err = peekTable(p.id); return })
	if err != nil {
		return nil, 0, toErrno(err)
	}
	return openText(text)
}

// peekShown is how many bytes of each message the table shows.
const peekShown = 32

// maxPeek bounds the table: MSG_COPY walks the queue to each position.
const maxPeek = 100000

func peekTable(id int) ([]byte, error) {
	// MSG_COPY checks read permission before it looks at the queue, so
	// the first peek fails for a caller without it (EACCES), even on an
	// empty queue, as for a queue removed (EINVAL).
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-6s %-20s %-8s %s\n", "index", "type", "bytes", "first bytes")
	// A buffer for the longest message: a shorter one makes MsgPeek read
	// each longer message again into one of the whole queue's size.
	size := peekShown
	if l, err := sysv.MsgIPCInfo(); err == nil {
		size = max(size, int(l.Msgmax))
	}
	buf := make([]byte, size)
	for i := 0; i < maxPeek; i++ {
		mtype, n, err := sysv.MsgPeek(id, i, buf)
		if err == syscall.ENOMSG {
			break
		}
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "%-6d %-20d %-8d %s\n", i, mtype, n, quoteBytes(buf[:min(n, peekShown)], n > peekShown))
	}
	return b.Bytes(), nil
}

// quoteBytes shows bytes as a Go-quoted string, so binary data and
// newlines keep the table one row per message.
func quoteBytes(b []byte, more bool) string {
	s := fmt.Sprintf("%q", b)
	if more {
		s += "..."
	}
	return s
}
