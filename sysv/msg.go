package sysv

import (
	"context"
	"encoding/binary"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Queue is what IPC_STAT reports of a message queue.
type Queue struct {
	ID     int
	Perm   Perm
	Stime  int64  // last msgsnd, seconds since the epoch; 0 = never
	Rtime  int64  // last msgrcv
	Ctime  int64  // creation or last IPC_SET
	Cbytes uint64 // bytes queued
	Qnum   uint64 // messages queued
	Qbytes uint64 // most bytes the queue may hold
	Lspid  int32
	Lrpid  int32
}

// msqid64Ds is the kernel's amd64 struct msqid64_ds.
type msqid64Ds struct {
	Perm   unix.SysvIpcPerm
	Stime  int64
	Rtime  int64
	Ctime  int64
	Cbytes uint64
	Qnum   uint64
	Qbytes uint64
	Lspid  int32
	Lrpid  int32
	_      uint64
	_      uint64
}

func queueOf(id int, d *msqid64Ds) Queue {
	return Queue{
		ID: id, Perm: permOf(&d.Perm),
		Stime: d.Stime, Rtime: d.Rtime, Ctime: d.Ctime,
		Cbytes: d.Cbytes, Qnum: d.Qnum, Qbytes: d.Qbytes,
		Lspid: d.Lspid, Lrpid: d.Lrpid,
	}
}

// MsgLimits is the kernel's struct msginfo.
type MsgLimits struct {
	Msgpool, Msgmap, Msgmax, Msgmnb, Msgmni, Msgssz, Msgtql int32
	Msgseg                                                  uint16
}

// msgrcv flags.
const (
	MsgNoError = 010000 // MSG_NOERROR: truncate a message too big
	MsgExcept  = 020000 // MSG_EXCEPT: any type but the one given
	MsgCopy    = 040000 // MSG_COPY: copy the message at an index
)

func msgctl(id, cmd int, p unsafe.Pointer) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_MSGCTL, uintptr(id), uintptr(cmd), uintptr(p))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// MsgGet is msgget(2).
func MsgGet(key Key, flags int) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_MSGGET, uintptr(key), uintptr(flags), 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// MsgStat is msgctl(IPC_STAT), or MSG_STAT_ANY where the daemon may not
// read the queue (see statAny).
func MsgStat(id int) (Queue, error) {
	var d msqid64Ds
	_, err := msgctl(id, unix.IPC_STAT, unsafe.Pointer(&d))
	if err == unix.EACCES {
		err = statAny(id, func(idx int) (int, error) { return msgctl(idx, msgStatAny, unsafe.Pointer(&d)) })
	}
	if err != nil {
		return Queue{}, err
	}
	return queueOf(id, &d), nil
}

// MsgSetPerm is msgctl(IPC_SET), which sets owner, group, permission
// bits and msg_qbytes together. It makes no IPC_STAT: the kernel checks
// only that the caller owns or created the queue (else EPERM), not that
// it may read it, so a caller changing only the owner or mode passes the
// qbytes it read with another identity. Above msgmnb, qbytes needs
// CAP_SYS_RESOURCE.
func MsgSetPerm(id int, uid, gid, mode uint32, qbytes uint64) error {
	var d msqid64Ds
	d.Perm.Uid, d.Perm.Gid, d.Perm.Mode = uid, gid, mode&0777
	d.Qbytes = qbytes
	_, err := msgctl(id, unix.IPC_SET, unsafe.Pointer(&d))
	return err
}

// MsgSetQbytes sets msg_qbytes, keeping owner, group and mode.
func MsgSetQbytes(id int, qbytes uint64) error {
	q, err := MsgStat(id)
	if err != nil {
		return err
	}
	return MsgSetPerm(id, q.Perm.Uid, q.Perm.Gid, q.Perm.Mode, qbytes)
}

// MsgRemove is msgctl(IPC_RMID); waiters wake with EIDRM.
func MsgRemove(id int) error {
	_, err := msgctl(id, unix.IPC_RMID, nil)
	return err
}

// Queues lists every queue of the IPC namespace, whatever its
// permissions (MSG_STAT_ANY, as /proc/sysvipc/msg). One syscall per
// index in use.
func Queues() ([]Queue, error) {
	var info MsgLimits
	maxIdx, err := msgctl(0, msgInfo, unsafe.Pointer(&info))
	if err != nil {
		return nil, err
	}
	var d msqid64Ds
	qs := make([]Queue, 0, maxIdx+1)
	for idx := 0; idx <= maxIdx; idx++ {
		id, err := msgctl(idx, msgStatAny, unsafe.Pointer(&d))
		if err != nil {
			continue // an unused index (EINVAL), or one just removed
		}
		qs = append(qs, queueOf(id, &d))
	}
	return qs, nil
}

// MsgIPCInfo is msgctl(IPC_INFO): the limits (ipcs -l).
func MsgIPCInfo() (MsgLimits, error) {
	var l MsgLimits
	_, err := msgctl(0, ipcInfo, unsafe.Pointer(&l))
	return l, err
}

// MsgUsage is msgctl(MSG_INFO): the limits, except that Msgpool is the
// number of queues, Msgmap the messages and Msgtql the bytes queued
// (ipcs -u).
func MsgUsage() (MsgLimits, error) {
	var l MsgLimits
	_, err := msgctl(0, msgInfo, unsafe.Pointer(&l))
	return l, err
}

// A msgbuf is struct msgbuf: a native long mtype, then the text.
const mtypeSize = 8

// msgbufs recycles msgbuf buffers; ones above maxPooled are let go.
var msgbufs sync.Pool

const maxPooled = 1 << 20

func getMsgbuf(textLen int) *[]byte {
	if p, ok := msgbufs.Get().(*[]byte); ok && cap(*p) >= mtypeSize+textLen {
		*p = (*p)[:mtypeSize+textLen]
		return p
	}
	b := make([]byte, mtypeSize+textLen, max(mtypeSize+textLen, 8192+mtypeSize))
	return &b
}

func putMsgbuf(p *[]byte) {
	if cap(*p) <= maxPooled {
		msgbufs.Put(p)
	}
}

func msgsnd(id int, b []byte, flags int) error {
	_, _, e := unix.Syscall6(unix.SYS_MSGSND, uintptr(id), uintptr(unsafe.Pointer(&b[0])),
		uintptr(len(b)-mtypeSize), uintptr(flags), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func msgrcv(id int, b []byte, mtype int64, flags int) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_MSGRCV, uintptr(id), uintptr(unsafe.Pointer(&b[0])),
		uintptr(len(b)-mtypeSize), uintptr(mtype), uintptr(flags), 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// MsgSend is msgsnd(2) of one message of type mtype (> 0, else EINVAL)
// with cred's identity. Unless nowait, it waits while the queue is full;
// only the calling goroutine blocks, and ctx ending the wait gives EINTR
// with nothing sent. With nowait a full queue gives EAGAIN.
func MsgSend(ctx context.Context, cred *Cred, id int, mtype int64, data []byte, nowait bool) error {
	if mtype <= 0 {
		return unix.EINVAL
	}
	p := getMsgbuf(len(data))
	defer putMsgbuf(p)
	b := *p
	binary.NativeEndian.PutUint64(b, uint64(mtype))
	copy(b[mtypeSize:], data)

	err := cred.Do(func() error { return msgsnd(id, b, unix.IPC_NOWAIT) })
	if err != unix.EAGAIN || nowait {
		return err
	}
	return msgsndWait(ctx, cred, id, b)
}

// msgsndWait is the waiting msgsnd, apart so that only it pays for the
// closure Block keeps (the fast path then allocates nothing).
func msgsndWait(ctx context.Context, cred *Cred, id int, b []byte) error {
	return cred.Block(ctx, func() error { return msgsnd(id, b, 0) }, func() error {
		if err := msgsnd(id, b, unix.IPC_NOWAIT); err != unix.EAGAIN {
			return err
		}
		return errWouldWait
	})
}

// MsgReceive is msgrcv(2) of one message as msgtyp mtype selects (0 the
// first, > 0 the first of that type, < 0 the first of the lowest type up
// to -mtype) with cred's identity, into buf. A message longer than buf
// is not taken: E2BIG, and it stays queued. Unless nowait, it waits
// while there is no such message (ctx ending the wait gives EINTR);
// with nowait that is ENOMSG, as msgrcv gives.
func MsgReceive(ctx context.Context, cred *Cred, id int, mtype int64, buf []byte, nowait bool) (gotType int64, n int, err error) {
	p := getMsgbuf(len(buf))
	defer putMsgbuf(p)
	b := *p

	err = cred.Do(func() (err error) {
		n, err = msgrcv(id, b, mtype, unix.IPC_NOWAIT)
		return err
	})
	if err == unix.ENOMSG && !nowait {
		n, err = msgrcvWait(ctx, cred, id, b, mtype)
	}
	if err != nil {
		return 0, 0, err
	}
	copy(buf, b[mtypeSize:mtypeSize+n])
	return int64(binary.NativeEndian.Uint64(b)), n, nil
}

// msgrcvWait is the waiting msgrcv, apart as msgsndWait is.
func msgrcvWait(ctx context.Context, cred *Cred, id int, b []byte, mtype int64) (n int, err error) {
	err = cred.Block(ctx, func() (err error) {
		n, err = msgrcv(id, b, mtype, 0)
		return err
	}, func() (err error) {
		if n, err = msgrcv(id, b, mtype, unix.IPC_NOWAIT); err == unix.ENOMSG {
			return errWouldWait
		}
		return err
	})
	if err == nil && cred.dying() && cred.Do(func() error { return msgsnd(id, b[:mtypeSize+n], unix.IPC_NOWAIT) }) == nil {
		// The caller was killed while it waited, and the message came
		// before the daemon heard (the interrupt is a request of its own):
		// a direct msgrcv would have ended with the signal and left it.
		// It goes back to the queue, at its end; the caller hears EINTR,
		// if anything.
		return 0, unix.EINTR
	}
	return n, err
}

// MsgPeek copies the message at position index (0 the oldest) into buf
// without taking it out (MSG_COPY; no permission switch, and msg_rtime
// and msg_lrpid stay). n is the message's full length; when it exceeds
// len(buf) only len(buf) bytes were copied. ENOMSG when index is past
// the end; ENOSYS when the kernel lacks CONFIG_CHECKPOINT_RESTORE.
//
// A too-long message is read again into a buffer of msg_cbytes bytes,
// since the kernel tells no message's length: MSG_COPY with MSG_NOERROR
// does not truncate but fails with EINVAL. A message longer than the
// current msgmax cannot be copied at all (EINVAL).
func MsgPeek(id int, index int, buf []byte) (mtype int64, n int, err error) {
	if index < 0 {
		return 0, 0, unix.ENOMSG
	}
	p := getMsgbuf(len(buf))
	defer putMsgbuf(p)
	b := *p
	const flags = MsgCopy | unix.IPC_NOWAIT
	for try := 0; ; try++ {
		n, err = msgrcv(id, b, int64(index), flags)
		if err != unix.E2BIG || try == 3 {
			break
		}
		// Any one message is at most all the queue holds; the queue may
		// grow meanwhile, hence the retries.
		q, serr := MsgStat(id)
		if serr != nil {
			return 0, 0, serr
		}
		size := int(min(q.Cbytes, 1<<31))
		if size <= len(b)-mtypeSize {
			size = 2 * (len(b) - mtypeSize)
		}
		b = make([]byte, mtypeSize+size)
	}
	if err != nil {
		return 0, 0, err
	}
	copy(buf, b[mtypeSize:mtypeSize+n])
	return int64(binary.NativeEndian.Uint64(b)), n, nil
}
