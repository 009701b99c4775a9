package sysv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log"
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
//
// The records can be kept in a file, so that a daemon started again after
// a crash or a restart still undoes what the previous one recorded.
type Undo struct {
	mu    sync.Mutex
	procs map[int]*undoProc // by thread group id
	path  string            // the records' file; "" keeps them in memory only
	// unsaved is why the file last failed to be written, nil if it was:
	// a failure is logged once, not at every semop.
	unsaved error
	// applying counts, by set, the adjustments taken out of the records
	// and not yet applied (see Settle); applied is signalled as they end.
	applying map[int]int
	applied  sync.Cond
}

// semRef names one semaphore.
type semRef struct{ id, num int }

type undoProc struct {
	pidfd *os.File
	// start is the process's start time in clock ticks after boot: with
	// the pid, it names the process across a restart of the daemon.
	start  uint64
	adj    map[semRef]int
	busy   int  // semops in progress for this process
	exited bool // the process has exited; apply once busy is 0
	taken  bool // its adjustments have been handed out to be applied
}

// OpenUndo returns an undo keeper whose records live in the file at path
// ("": in memory only), taking over the records a previous daemon left
// there: processes still alive are watched again, and the adjustments of
// those that exited meanwhile are applied now.
func OpenUndo(path string) (*Undo, error) {
	u := &Undo{procs: map[int]*undoProc{}, path: path, applying: map[int]int{}}
	u.applied.L = &u.mu
	if path == "" {
		return u, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return u, nil
	}
	if err != nil {
		return nil, err
	}
	var saved []savedProc
	if err := json.Unmarshal(b, &saved); err != nil {
		return nil, err
	}
	var gone []map[semRef]int
	u.mu.Lock()
	for _, s := range saved {
		adj := map[semRef]int{}
		for _, a := range s.Adj {
			adj[semRef{a[0], a[1]}] += a[2]
		}
		p, err := u.watchNew(s.Pid)
		if err != nil || p.start != s.Start { // gone, or its pid reused
			if p != nil {
				p.busy, p.exited = 0, true
				u.takeIfDone(s.Pid, p)
			}
			gone = append(gone, adj)
			continue
		}
		p.busy = 0
		p.adj = adj
	}
	u.saveLocked()
	u.mu.Unlock()
	for _, adj := range gone {
		applyAll(adj)
	}
	return u, nil
}

// savedProc is one process's records in the file: [id, num, adj] triples.
type savedProc struct {
	Pid   int
	Start uint64
	Adj   [][3]int
}

// saveLocked writes the records to the file, replacing it whole so that a
// crash leaves the old or the new version. u.mu is held. A failure (the
// daemon out of descriptors, the file system full) is logged: the
// records still hold in memory, for as long as the daemon runs.
func (u *Undo) saveLocked() {
	err := u.writeLocked()
	switch {
	case err != nil && u.unsaved == nil:
		log.Printf("undo records not saved to %s (they hold until the daemon exits): %v", u.path, err)
	case err == nil && u.unsaved != nil:
		log.Printf("undo records saved to %s again", u.path)
	}
	u.unsaved = err
}

func (u *Undo) writeLocked() error {
	if u.path == "" {
		return nil
	}
	saved := []savedProc{}
	for pid, p := range u.procs {
		if len(p.adj) == 0 {
			continue
		}
		s := savedProc{Pid: pid, Start: p.start}
		for r, a := range p.adj {
			s.Adj = append(s.Adj, [3]int{r.id, r.num, a})
		}
		saved = append(saved, s)
	}
	if len(saved) == 0 {
		// Nothing to take over: no file, rather than one left behind in
		// /run for every mountpoint ever used.
		if err := os.Remove(u.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	b, _ := json.Marshal(saved)
	tmp := u.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0600); err != nil {
		return err
	}
	return os.Rename(tmp, u.path)
}

// Semop performs ops for the process that thread pid belongs to, as
// Semop does, and records the adjustments SEM_UNDO would have recorded
// for it, to be applied when that process exits.
func (u *Undo) Semop(ctx context.Context, cred *Cred, pid, id int, ops []SemOp, timeout time.Duration) error {
	if pid == 0 {
		// A caller outside the daemon's pid namespace has no pid here
		// (FUSE says 0): its exit cannot be watched, so its undo could
		// never be made. Refused, changing nothing.
		return unix.EOPNOTSUPP
	}
	tgid := threadGroup(pid)
	p, err := u.pin(tgid)
	if err != nil {
		return pinErrno(err)
	}
	plain := make([]SemOp, len(ops))
	for i, op := range ops {
		op.Flags &^= SemUndo
		plain[i] = op
	}
	if u.outOfRange(p, id, ops) {
		err = rangeErrno(cred, id, ops)
	} else {
		err = Semop(ctx, cred, id, plain, timeout)
	}

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
		u.saveLocked() // before the caller hears of success
	}
	apply := u.takeIfDone(tgid, p)
	u.mu.Unlock()
	u.apply(apply)
	return err
}

// rangeErrno is the answer to ops whose adjustments would go out of
// range: ERANGE, unless the kernel refuses them first, as it checks the
// count (E2BIG), the numbers (EFBIG), the set (EINVAL) and the caller's
// permission (EACCES) before any value. It asks the kernel with ops made
// never to succeed: each without waiting and without undo, then one that
// would take 32768 from semaphore 0, which no value can give (EAGAIN once
// every check has passed). With exactly semopm operations no room is
// left for that one, and the answer is ERANGE.
func rangeErrno(cred *Cred, id int, ops []SemOp) error {
	l, err := SemIPCInfo()
	switch {
	case err != nil:
		return unix.ERANGE
	case len(ops) > int(l.Semopm):
		return unix.E2BIG
	case len(ops) == int(l.Semopm):
		return unix.ERANGE
	}
	probe := append(noWait(make([]SemOp, 0, len(ops)+1), ops), SemOp{Num: 0, Op: -SemVMX - 1, Flags: NoWait})
	err = cred.Do(func() error { return semtimedop(id, probe, nil) })
	if err == nil || err == unix.EAGAIN {
		return unix.ERANGE
	}
	return err
}

// outOfRange reports whether ops would take a recorded adjustment of
// process p outside [-(SEMAEM+1), SEMAEM], which the kernel refuses a
// SEM_UNDO semop with (ERANGE), whatever the semaphore's value.
func (u *Undo) outOfRange(p *undoProc, id int, ops []SemOp) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	after := map[semRef]int{}
	for _, op := range ops {
		if op.Flags&SemUndo == 0 {
			continue
		}
		r := semRef{id, int(op.Num)}
		a, ok := after[r]
		if !ok {
			a = p.adj[r]
		}
		a -= int(op.Op)
		if a < -SemAEM-1 || a > SemAEM {
			return true
		}
		after[r] = a
	}
	return false
}

// Forget drops every recorded adjustment of one semaphore, as SETVAL
// clears the semadj of all processes in the kernel.
func (u *Undo) Forget(id, num int) {
	u.forget(func(r semRef) bool { return r == semRef{id, num} })
}

// ForgetSet drops every recorded adjustment of set id, as IPC_RMID frees
// the semadj of its semaphores in the kernel.
func (u *Undo) ForgetSet(id int) {
	u.forget(func(r semRef) bool { return r.id == id })
}

func (u *Undo) forget(match func(semRef) bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	changed := false
	for _, p := range u.procs {
		for r := range p.adj {
			if match(r) {
				delete(p.adj, r)
				changed = true
			}
		}
	}
	if changed {
		u.saveLocked()
	}
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
	return u.watchNew(tgid)
}

// pinErrno is the answer to a semop whose caller's record could not be
// started: EINTR when the caller is already gone (it can take nothing),
// otherwise ENOMEM, what semop gives when it cannot allocate an undo
// structure (the daemon is out of descriptors or memory), which a caller
// does not retry blindly as it would EINTR.
func pinErrno(err error) error {
	if errors.Is(err, unix.ESRCH) || errors.Is(err, os.ErrNotExist) {
		return unix.EINTR
	}
	return unix.ENOMEM
}

// watchNew opens a pidfd on tgid, records the process as busy and starts
// watching for its exit. u.mu is held.
func (u *Undo) watchNew(tgid int) (*undoProc, error) {
	fd, err := unix.PidfdOpen(tgid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, err
	}
	// The pidfd holds the pid: the start time read now is this process's.
	start, err := startTime(tgid)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	p := &undoProc{pidfd: os.NewFile(uintptr(fd), "pidfd"), start: start, adj: map[semRef]int{}, busy: 1}
	u.procs[tgid] = p
	go u.watch(tgid, p)
	return p, nil
}

// watch waits, in the runtime's poller, for the process to exit.
func (u *Undo) watch(tgid int, p *undoProc) {
	if rc, err := p.pidfd.SyscallConn(); err == nil {
		rc.Read(readable)
	}
	u.mu.Lock()
	p.exited = true
	apply := u.takeIfDone(tgid, p)
	u.mu.Unlock()
	u.apply(apply)
}

// Settle applies at once the adjustments on set id of every process that
// has exited, rather than when its watcher gets to run. The kernel undoes
// in exit_sem, before the parent hears of the exit; the pidfd turns
// readable as the parent is told, and the watcher may run after the
// parent has gone on. So every use of the set through the mount settles
// first: a shell that waited for a lock holder's exit and tries the lock
// next finds it free, as with SEM_UNDO.
func (u *Undo) Settle(id int) {
	u.mu.Lock()
	var apply []map[semRef]int
	for tgid, p := range u.procs {
		if p.exited || !p.touches(id) || !p.hasExited() {
			continue
		}
		p.exited = true
		if a := u.takeIfDone(tgid, p); a != nil {
			apply = append(apply, a)
		}
	}
	u.mu.Unlock()
	for _, a := range apply {
		u.apply(a)
	}
	// Those a watcher or a Semop took out may still be under way: a read
	// right after them must see them applied too.
	u.mu.Lock()
	for u.applying[id] > 0 {
		u.applied.Wait()
	}
	u.mu.Unlock()
}

// touches reports whether p has adjustments on set id.
func (p *undoProc) touches(id int) bool {
	for r := range p.adj {
		if r.id == id {
			return true
		}
	}
	return false
}

// hasExited polls the pidfd without waiting (and without taking it out
// of the runtime's poller, as File.Fd would).
func (p *undoProc) hasExited() bool {
	rc, err := p.pidfd.SyscallConn()
	if err != nil {
		return false
	}
	exited := false
	rc.Control(func(fd uintptr) { exited = readable(fd) })
	return exited
}

// readable reports, without waiting, whether a pidfd says its process
// has exited.
func readable(fd uintptr) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, _ := unix.Poll(pfd, 0)
	return n > 0
}

// takeIfDone removes an exited process with no semop in progress and
// returns its adjustments, to be applied once u.mu is released. The file
// is rewritten first: a crash in between loses an undo rather than
// applying one twice. u.mu is held.
func (u *Undo) takeIfDone(tgid int, p *undoProc) map[semRef]int {
	if !p.exited || p.busy > 0 || p.taken {
		return nil
	}
	p.taken = true
	if u.procs[tgid] == p {
		delete(u.procs, tgid)
		if len(p.adj) > 0 {
			u.saveLocked()
		}
	}
	p.pidfd.Close()
	u.countApplying(p.adj, 1)
	return p.adj
}

// apply applies adjustments takeIfDone took out, and then counts them
// as applied.
func (u *Undo) apply(adj map[semRef]int) {
	if len(adj) == 0 {
		return
	}
	applyAll(adj)
	u.mu.Lock()
	u.countApplying(adj, -1)
	u.mu.Unlock()
	u.applied.Broadcast()
}

// countApplying adds d for each semaphore of adj to its set's count of
// adjustments being applied. u.mu is held.
func (u *Undo) countApplying(adj map[semRef]int, d int) {
	for r := range adj {
		if u.applying[r.id] += d; u.applying[r.id] == 0 {
			delete(u.applying, r.id)
		}
	}
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
		if v == 0 && adj < 0 || v == SemVMX && adj > 0 {
			return // already at the bound the clamp gives
		}
		var ops []SemOp
		if adj < 0 { // would go below 0: take v to 0, if it is still v
			ops = []SemOp{{Num: uint16(num), Op: int16(-v), Flags: NoWait}, {Num: uint16(num), Op: 0, Flags: NoWait}}
		} else { // would pass SEMVMX: raise v to SEMVMX, if it is still v
			ops = []SemOp{{Num: uint16(num), Op: int16(SemVMX - v), Flags: NoWait}}
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

// startTime reads field 22 of /proc/PID/stat, the process's start time.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command, field 2, is in parentheses and may hold anything.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, unix.EINVAL
	}
	f := bytes.Fields(b[i+1:]) // from field 3 on
	if len(f) < 20 {
		return 0, unix.EINVAL
	}
	return strconv.ParseUint(string(f[19]), 10, 64)
}
