package sysv

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Undo performs semops with SEM_UNDO on behalf of other processes.
//
// The kernel keeps undo records per process, so a daemon's SEM_UNDO would
// be undone when the daemon exits, not when the process it served does.
// Undo therefore performs the operation without SEM_UNDO, keeps the
// adjustment for the caller's process itself, watches that process
// through a pidfd, and when it exits applies the adjustments as the
// kernel's exit_sem does: value + semadj, clamped to [0, SEMVMX].
type Undo struct {
	mu    sync.Mutex
	procs map[int]*undoProc // by thread group id
}

// semRef names one semaphore.
type semRef struct{ id, num int }

type undoProc struct {
	pidfd  *os.File
	adj    map[semRef]int
	busy   int  // semops in progress for this process
	exited bool // the process has exited; apply once busy is 0
}

// NewUndo returns an empty undo keeper.
func NewUndo() *Undo { return &Undo{procs: map[int]*undoProc{}} }

// Semop performs ops for the process that thread pid belongs to, as
// Semop does, and records the adjustments SEM_UNDO would have recorded
// for it, to be applied when that process exits.
func (u *Undo) Semop(ctx context.Context, cred *Cred, pid, id int, ops []SemOp, timeout time.Duration) error {
	tgid := threadGroup(pid)
	p, err := u.pin(tgid)
	if err != nil {
		return unix.EINTR // the caller is already gone: it can take nothing
	}
	plain := make([]SemOp, len(ops))
	for i, op := range ops {
		op.Flags &^= SemUndo
		plain[i] = op
	}
	err = Semop(ctx, cred, id, plain, timeout)

	u.mu.Lock()
	p.busy--
	if err == nil {
		for _, op := range ops {
			r := semRef{id, int(op.Num)}
			p.adj[r] -= int(op.Op)
			if p.adj[r] == 0 {
				delete(p.adj, r)
			}
		}
	}
	apply := u.takeIfDone(tgid, p)
	u.mu.Unlock()
	applyAll(apply)
	return err
}

// Forget drops every recorded adjustment of one semaphore, as SETVAL
// clears the semadj of all processes in the kernel.
func (u *Undo) Forget(id, num int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, p := range u.procs {
		delete(p.adj, semRef{id, num})
	}
}

// Pending returns the adjustments kept for the process tgid.
func (u *Undo) Pending(tgid int) map[[2]int]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := map[[2]int]int{}
	if p := u.procs[tgid]; p != nil {
		for r, a := range p.adj {
			out[[2]int{r.id, r.num}] = a
		}
	}
	return out
}

// pin finds or starts the record of process tgid and marks a semop in
// progress, so that its exit cannot be handled before the semop's
// adjustment is recorded. The pidfd is opened while the process is known
// to be alive (it is waiting for our answer), so a reused pid is never
// mistaken for it.
func (u *Undo) pin(tgid int) (*undoProc, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if p := u.procs[tgid]; p != nil && !p.exited {
		p.busy++
		return p, nil
	}
	fd, err := unix.PidfdOpen(tgid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, err
	}
	p := &undoProc{pidfd: os.NewFile(uintptr(fd), "pidfd"), adj: map[semRef]int{}, busy: 1}
	u.procs[tgid] = p
	go u.watch(tgid, p)
	return p, nil
}

// watch waits, in the runtime's poller, for the process to exit.
func (u *Undo) watch(tgid int, p *undoProc) {
	if rc, err := p.pidfd.SyscallConn(); err == nil {
		rc.Read(func(fd uintptr) bool {
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, _ := unix.Poll(pfd, 0)
			return n > 0
		})
	}
	u.mu.Lock()
	p.exited = true
	apply := u.takeIfDone(tgid, p)
	u.mu.Unlock()
	applyAll(apply)
}

// takeIfDone removes an exited process with no semop in progress and
// returns its adjustments. u.mu is held.
func (u *Undo) takeIfDone(tgid int, p *undoProc) map[semRef]int {
	if !p.exited || p.busy > 0 {
		return nil
	}
	if u.procs[tgid] == p {
		delete(u.procs, tgid)
	}
	p.pidfd.Close()
	return p.adj
}

func applyAll(adj map[semRef]int) {
	for r, a := range adj {
		applyAdjustment(r.id, r.num, a)
	}
}

// applyAdjustment adds adj to a semaphore the way exit_sem does, clamping
// the result to [0, SEMVMX], with semops that never wait, so that a
// concurrent change is never lost: when the plain addition would leave
// the range, the value is moved to the bound with a compare-and-set.
func applyAdjustment(id, num, adj int) {
	adj = max(-SemVMX, min(SemVMX, adj)) // beyond that the clamp decides
	for try := 0; try < 100 && adj != 0; try++ {
		err := semtimedop(id, []SemOp{{Num: uint16(num), Op: int16(adj), Flags: NoWait}}, nil)
		if err == nil || (err != unix.EAGAIN && err != unix.ERANGE) {
			return // done, or the set is gone (EIDRM, EINVAL)
		}
		v, err := SemGetVal(id, num)
		if err != nil {
			return
		}
		var ops []SemOp
		if adj < 0 { // would go below 0: take v to 0, if it is still v
			ops = []SemOp{{Num: uint16(num), Op: int16(-v), Flags: NoWait}, {Num: uint16(num), Op: 0, Flags: NoWait}}
		} else { // would pass SEMVMX: raise v to SEMVMX, if it is still v
			ops = []SemOp{{Num: uint16(num), Op: int16(SemVMX - v), Flags: NoWait}}
		}
		if v == 0 && adj < 0 || v == SemVMX && adj > 0 {
			return
		}
		if err := semtimedop(id, ops, nil); err == nil || (err != unix.EAGAIN && err != unix.ERANGE) {
			return
		}
	}
}

// threadGroup returns the process that thread tid belongs to: FUSE names
// the calling thread, and undo records belong to processes.
func threadGroup(tid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return tid
	}
	_, rest, ok := bytes.Cut(b, []byte("\nTgid:"))
	if !ok {
		return tid
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	if n, err := strconv.Atoi(string(bytes.TrimSpace(line))); err == nil {
		return n
	}
	return tid
}
