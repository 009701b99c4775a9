package integration

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Tests of the README's "Reliability": all state lives in the kernel, so
// a daemon killed with work in flight loses nothing and the next one on
// the same mountpoint carries on (undo records included); SIGTERM and
// SIGINT end blocked callers with an error and take nothing; removing a
// segment a handle has open leaves that handle working; and a thousand
// waiters plus two thousand open handles cost threads and attachments
// only while they last.
//
// Removal waking waiters with EIDRM is tested where each kind is:
// TestSemRemovedWhileWaiting (rmdir of a set) and TestMsgRemovedWhileBlocked
// (rm, msg/remove and ipcrm of a queue).
//
// Helpers here are named rel*.

// relMsgCopy is the kernel's MSG_COPY: msgrcv of the message at an index,
// leaving the queue, its times and its pids as they were.
const relMsgCopy = 040000

// relState renders what the kernel keeps of the objects that a daemon's
// death must leave as they were: ipc_perm, values, times, pids, the queued
// messages and the segments' bytes. Not rendered: semncnt and semzcnt
// (waiters come and go), a segment's nattch, atime, dtime and lpid (the
// daemon's attachments die with it; relState itself attaches to read).
func relState(t testing.TB, sems, msgs, shms []int) string {
	t.Helper()
	var b strings.Builder
	perm := func(p unix.SysvIpcPerm) string {
		return fmt.Sprintf("key %#x uid %d gid %d cuid %d cgid %d mode %o", uint32(p.Key), p.Uid, p.Gid, p.Cuid, p.Cgid, p.Mode)
	}
	for _, id := range sems {
		d := semStat(t, id)
		fmt.Fprintf(&b, "sem %d: %s nsems %d otime %d ctime %d\n", id, perm(d.Perm), d.Nsems, d.Otime, d.Ctime)
		for i := 0; i < int(d.Nsems); i++ {
			fmt.Fprintf(&b, "  [%d] semval %d sempid %d\n", i, semVal(t, id, i), semPid(t, id, i))
		}
	}
	for _, id := range msgs {
		d := msgStat(t, id)
		fmt.Fprintf(&b, "msg %d: %s qnum %d cbytes %d qbytes %d stime %d rtime %d ctime %d lspid %d lrpid %d\n",
			id, perm(d.Perm), d.Qnum, d.Cbytes, d.Qbytes, d.Stime, d.Rtime, d.Ctime, d.Lspid, d.Lrpid)
		for i := 0; i < int(d.Qnum); i++ {
			m, err := msgRcv(id, int64(i), 1<<16, relMsgCopy|unix.IPC_NOWAIT)
			if err != nil {
				t.Fatalf("MSG_COPY of message %d of queue %d: %v", i, id, err)
			}
			fmt.Fprintf(&b, "  [%d] type %d %d bytes sha256 %x\n", i, m.Type, len(m.Data), sha256.Sum256(m.Data))
		}
	}
	for _, id := range shms {
		sum := sha256.Sum256(segmentBytes(t, id))
		d := shmStat(t, id)
		fmt.Fprintf(&b, "shm %d: %s segsz %d ctime %d cpid %d sha256 %x\n", id, perm(d.Perm), d.Segsz, d.Ctime, d.Cpid, sum)
	}
	return b.String()
}

// relSameState fails the test unless the objects are as before.
func relSameState(t testing.TB, what, before string, sems, msgs, shms []int) {
	t.Helper()
	if after := relState(t, sems, msgs, shms); after != before {
		t.Errorf("%s: the objects changed\nbefore:\n%s\nafter:\n%s", what, before, after)
	}
}

// relKill ends the daemon of m with sig and waits for it to exit. After
// SIGKILL its mount is left dead; after SIGTERM or SIGINT the daemon
// must have unmounted and exited 0.
func relKill(t *testing.T, m *Mount, sig syscall.Signal) {
	t.Helper()
	if err := m.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := waitExit(t, m)
	if sig == syscall.SIGKILL {
		// statfs, as stat may be answered from the kernel's cache.
		var st unix.Statfs_t
		if err := unix.Statfs(m.Dir, &st); err != syscall.ENOTCONN {
			t.Fatalf("statfs of the mountpoint after SIGKILL: %v, want ENOTCONN (a dead mount)", err)
		}
		return
	}
	if err != nil {
		t.Errorf("ipcfs exited with %v on %v\n%s", err, sig, m.Log())
	}
	if lines := mountInfo(m.Dir); len(lines) != 0 {
		t.Errorf("still mounted after %v: %q", sig, lines)
	}
}

// relRestart starts ipcfs again on dir, where a daemon ran before (its
// dead mount may still be there: ipcfs must clear it itself), and waits
// until the new mount answers, alone on dir. The probe is the lookup of
// a name never looked up before, which only a live daemon answers (with
// ENOENT): a path the dead mount looked up may still stat fine from the
// kernel's cache, and mount ids are reused.
func relRestart(t *testing.T, dir string) *Mount {
	t.Helper()
	m := startAt(t, dir)
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		probe := filepath.Join(dir, "sem", fmt.Sprintf("relprobe-%d-%d", time.Now().UnixNano(), i))
		if statErrno(probe) == syscall.ENOENT && len(mountInfo(dir)) == 1 {
			break
		}
		select {
		case err := <-m.done:
			m.done <- err
			t.Fatalf("ipcfs started again on %s exited: %v\n%s", dir, err, m.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ipcfs started again on %s: no live mount alone there (mounts %q)\n%s", dir, mountInfo(dir), m.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return m
}

// relConnErr fails the test unless e is what a caller of a dead FUSE
// connection gets: ENOTCONN, or ECONNABORTED for a request the daemon had
// already read when it died.
func relConnErr(t testing.TB, what string, e syscall.Errno) {
	t.Helper()
	if e != syscall.ENOTCONN && e != syscall.ECONNABORTED {
		t.Errorf("%s after the daemon died: %v (%d), want ENOTCONN or ECONNABORTED", what, e, int(e))
	}
}

// relExitedWithError fails the test unless a shell caller ended with an
// error: it printed a non-zero status (the script's last line) and exited.
func relExitedWithError(t testing.TB, what string, p *semProc) {
	t.Helper()
	if l := p.line(t); l == "0" {
		t.Errorf("%s: succeeded", what)
	}
	p.mustSucceed(t)
}

// relMountCreate writes a create line to KIND/create through the mount
// and returns the new object's id, which the daemon made.
func relMountCreate(t *testing.T, m *Mount, kind string, key uint32, args string) int {
	t.Helper()
	mustSh(t, fmt.Sprintf("echo '%s %s' > %s", keyName(key), args, m.Path(kind, "create")))
	var id int
	var err error
	switch kind {
	case "shm":
		removeShmLater(t, key)
		id, err = shmIDOf(key)
	case "sem":
		semRemoveKeyLater(t, key)
		var e syscall.Errno
		if id, e = semIDOf(key); e != 0 {
			err = e
		}
	case "msg":
		msgRemoveKeyLater(t, key)
		id, err = msgIDOf(key)
	}
	if err != nil {
		t.Fatalf("%s/create %s %s made nothing: %v", kind, keyName(key), args, err)
	}
	return id
}

// TestRelCrashWithWorkInFlight: the daemon is killed with SIGKILL while
// callers wait in it (semop P's, a wait for zero, an atomic semop, a P
// with undo, msgrcv's, msgsnd's) and a segment is open through it. Every
// caller gets an error at once, having taken and sent nothing; no object
// is lost, those the daemon made itself included; no value, message or
// byte changes. ipcfs started again on the same mountpoint clears the
// dead mount and shows every object as it was.
func TestRelCrashWithWorkInFlight(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mnt")
	m := startAt(t, dir)
	m.waitMounted()
	daemon := m.cmd.Process.Pid

	// Objects made directly...
	kS, kR, kW, kM := newKey(), newKey(), newKey(), newKey()
	sid := semNew(t, kS, 3, 0600)
	semSetVals(t, sid, 0, 3, 5)
	rq := msgNewQueue(t, kR, 0600)
	for i, s := range []string{"first", "second", "third"} {
		msgSend(t, rq, int64(i+1), []byte(s))
	}
	wq := msgNewQueue(t, kW, 0600)
	msgFill(t, wq, 100)
	seg := newSegment(t, kM, 3*4096+100, 0600)
	runC(t, "shmtool", "pattern", strconv.Itoa(seg), "7")
	// ... and through the mount: the daemon made these, and they outlive it.
	kS2, kQ2, kM2 := newKey(), newKey(), newKey()
	sid2 := relMountCreate(t, m, "sem", kS2, "2 0640")
	semMustWrite(t, m.Path("sem", keyName(kS2), "1"), "=9")
	qid2 := relMountCreate(t, m, "msg", kQ2, "0640")
	semMustWrite(t, m.Path("msg", keyName(kQ2)+":4"), "made through the mount")
	seg2 := relMountCreate(t, m, "shm", kM2, "5000 0640")
	semMustWrite(t, m.Path("shm", keyName(kM2)), "bytes through the mount")
	if cpid := shmStat(t, seg2).Cpid; int(cpid) != daemon {
		t.Errorf("a segment made through shm/create has cpid %d, want the daemon's %d", cpid, daemon)
	}
	sems, msgs, shms := []int{sid, sid2}, []int{rq, wq, qid2}, []int{seg, seg2}

	// The callers that wait in the daemon.
	sdir := m.Path("sem", keyName(kS))
	semCallers := []struct {
		what string
		p    *semProc
	}{
		{"P", semTool(t, "write", sdir+"/0", "-1")},
		{"wait for zero", semTool(t, "write", sdir+"/1", "0")},
		{"atomic semop", semTool(t, "write", sdir+"/semop", "2:-1 0:-1")},
		{"P with undo", semTool(t, "write", sdir+"/0", "-1 undo", "-hold")},
	}
	shellP := semBash(t, "echo -1 > "+shQuote(sdir+"/0")+"; echo $?")
	semWaitCounts(t, sid, 0, 4, 0)
	semWaitCounts(t, sid, 1, 0, 1)
	rpath, wpath := m.Path("msg", keyName(kR)), m.Path("msg", keyName(kW))
	msgCallers := []*msgProc{
		msgStart(t, nil, "msgtool", "read", rpath+":9", "65536"),
		msgStart(t, []byte("never sent"), "msgtool", "write", wpath),
	}
	shellRead := msgStart(t, nil, "dd", "if="+rpath+":9", "bs=64k", "count=1", "status=none")
	shellWrite := msgStart(t, nil, "bash", "-c", "echo never sent either > "+shQuote(wpath))
	msgWaitDaemonWaiters(t, m, rq, 2, 0)
	msgWaitDaemonWaiters(t, m, wq, 0, 2)
	// A segment open through the mount, by a shell that reads it later.
	spath := m.Path("shm", keyName(kM))
	shmHolder := semBash(t, "exec 3<>"+shQuote(spath)+" || exit 1\necho opened\nread -r _\nhead -c 16 <&3 > /dev/null\necho $?\n")
	if l := shmHolder.line(t); l != "opened" {
		t.Fatalf("the segment's holder: %q", l)
	}
	if n := nattch(t, seg); n != 1 {
		t.Fatalf("nattch %d with the segment open through the mount", n)
	}
	before := relState(t, sems, msgs, shms)
	// With the root's attributes in the kernel's cache, a stat of the
	// dead mount will succeed: the next daemon must see through that.
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}

	relKill(t, m, syscall.SIGKILL)
	if _, err := os.Stat(dir); err == nil {
		t.Logf("stat of the dead mount's root succeeds (from the kernel's cache)")
	}

	// Every caller ends with an error, with no daemon to answer it.
	for _, c := range semCallers {
		e := c.p.errnoLine(t)
		relConnErr(t, "semtool "+c.what, e)
		t.Logf("semtool %s ended with %v", c.what, e)
	}
	for _, c := range semCallers[:3] {
		c.p.mustSucceed(t)
	}
	relExitedWithError(t, "the shell's P", shellP)
	for _, p := range msgCallers {
		e := msgToolErrno(t, p)
		relConnErr(t, p.name, e)
		t.Logf("%s ended with %v", p.name, e)
	}
	for _, p := range []*msgProc{shellRead, shellWrite} {
		if out, err := p.wait(t); err == nil {
			t.Errorf("%s succeeded (%q) with the daemon dead", p.name, out)
		}
	}
	shmHolder.release()
	relExitedWithError(t, "a read through the handle of the dead mount", shmHolder)

	// Nothing was taken or sent; nobody waits; only the daemon's own
	// attachment is gone.
	semWaitCounts(t, sid, 0, 0, 0)
	semWaitCounts(t, sid, 1, 0, 0)
	semWaitCounts(t, sid, 2, 0, 0)
	relSameState(t, "after the daemon died", before, sems, msgs, shms)
	shmPollUntil(t, "the dead daemon's attachment is gone", func() bool { return nattch(t, seg) == 0 })

	// Started again on the same mountpoint: every object shows as it was.
	m2 := relRestart(t, dir)
	relSameState(t, "after the restart", before, sems, msgs, shms)
	for kind, names := range map[string][]string{
		"sem": {keyName(kS), keyName(kS2)},
		"msg": {keyName(kR), keyName(kW), keyName(kQ2)},
		"shm": {keyName(kM), keyName(kM2)},
	} {
		listed := strings.Fields(mustSh(t, "ls "+m2.Path(kind)))
		for _, n := range names {
			if !slices.Contains(listed, n) {
				t.Errorf("ls %s after the restart: %q lacks %s", kind, listed, n)
			}
		}
	}
	for i, want := range []string{"0\n", "3\n", "5\n"} {
		if got := semRead(t, m2.Path("sem", keyName(kS), strconv.Itoa(i))); got != want {
			t.Errorf("sem %s/%d after the restart: %q, want %q", keyName(kS), i, got, want)
		}
	}
	if got := semRead(t, m2.Path("sem", keyName(kS2), "1")); got != "9\n" {
		t.Errorf("sem %s/1 after the restart: %q, want 9", keyName(kS2), got)
	}
	for _, c := range []struct {
		key uint32
		n   int
	}{{kR, 3}, {kW, 10}, {kQ2, 1}} {
		if rows := msgReadPeek(t, m2.Path("msg", keyName(c.key)+":peek")); len(rows) != c.n {
			t.Errorf("%s:peek after the restart: %d messages, want %d", keyName(c.key), len(rows), c.n)
		}
	}
	for _, id := range shms {
		key := uint32(shmStat(t, id).Perm.Key)
		got, err := os.ReadFile(m2.Path("shm", keyName(key)))
		if err != nil || !bytes.Equal(got, segmentBytes(t, id)) {
			t.Errorf("shm %s through the new mount: %d bytes, %v; not the segment's", keyName(key), len(got), err)
		}
	}

	// The P with undo took nothing, so its end gives nothing back.
	semCallers[3].p.release()
	semCallers[3].p.mustSucceed(t)
	time.Sleep(200 * time.Millisecond)
	relSameState(t, "after the failed undo writer exited", before, sems, msgs, shms)

	// The new daemon serves waiting callers as the old one did.
	p := semBash(t, "echo -1 > "+shQuote(m2.Path("sem", keyName(kS), "0")))
	semWaitCounts(t, sid, 0, 1, 0)
	semMustOp(t, sid, semBuf{0, 1, 0})
	p.mustSucceed(t)
	if v := semVals(t, sid); !slices.Equal(v, []int{0, 3, 5}) {
		t.Errorf("after a P and a V through the new mount: %v, want [0 3 5]", v)
	}
}

// relUndoHolder is bash taking text (with undo) through an open file of
// the mount, as in `exec 3>F; echo "-1 undo" >&3`, then waiting for the
// end of its stdin; its fd 3 stays open to its end, on whichever mount
// it was opened.
func relUndoHolder(t *testing.T, path, text string) *semProc {
	t.Helper()
	p := semBash(t, fmt.Sprintf("exec 3>%s || exit 1\necho %s >&3\necho $?\nread -r _ || true\n", shQuote(path), shQuote(text)))
	if e := p.errnoLine(t); e != 0 {
		t.Fatalf("echo %q >&3 on %s failed", text, path)
	}
	return p
}

// TestRelUndoAcrossRestart: a process that took semaphores with undo
// through the mount has them given back when it exits, though the daemon
// that recorded the undo was killed meanwhile: by the daemon started
// again on that mountpoint, whether the process exits after the restart
// (even after a second one) or while no daemon runs. The kernel's own
// SEM_UNDO of a twin process, made directly, ends the same way.
func TestRelUndoAcrossRestart(t *testing.T) {
	setup := func(t *testing.T) (string, *Mount, int, int, *semProc, *semProc) {
		dir := filepath.Join(t.TempDir(), "mnt")
		m := startAt(t, dir)
		m.waitMounted()
		k, kt := newKey(), newKey()
		id, twin := semNew(t, k, 2, 0600), semNew(t, kt, 2, 0600)
		semSetVals(t, id, 3, 0)
		semSetVals(t, twin, 3, 0)
		h := relUndoHolder(t, m.Path("sem", keyName(k), "semop"), "0:-1 1:+2 undo")
		d := semUndoTwin(t, twin, "0:-1:u", "1:2:u")
		if v := semSameVals(t, "while the holders live", id, twin); !slices.Equal(v, []int{2, 2}) {
			t.Errorf("while the holders live: %v, want [2 2]", v)
		}
		return dir, m, id, twin, h, d
	}

	t.Run("exit after the restart", func(t *testing.T) {
		dir, m, id, twin, h, d := setup(t)
		relKill(t, m, syscall.SIGKILL)
		semSameVals(t, "with the daemon killed", id, twin)
		m2 := relRestart(t, dir)
		// The holder lives: the new daemon must give nothing back yet.
		semSameVals(t, "after the restart", id, twin)
		// A second restart, after a clean stop this time, keeps the record.
		relKill(t, m2, syscall.SIGTERM)
		relRestart(t, dir)
		semSameVals(t, "after the second restart", id, twin)
		time.Sleep(200 * time.Millisecond)
		semSameVals(t, "a moment after the second restart", id, twin)

		semEnd(t, h, 0)
		semEnd(t, d, 0)
		if v := semVals(t, twin); !slices.Equal(v, []int{3, 0}) {
			t.Errorf("the kernel's twin after the end: %v, want [3 0]", v)
		}
		semPollVals(t, "after the holder exits", id, semVals(t, twin))
	})

	t.Run("exit while the daemon is down", func(t *testing.T) {
		dir, m, id, twin, h, d := setup(t)
		relKill(t, m, syscall.SIGKILL)
		semEnd(t, h, syscall.SIGKILL)
		semEnd(t, d, syscall.SIGKILL)
		if v := semVals(t, twin); !slices.Equal(v, []int{3, 0}) {
			t.Errorf("the kernel's twin after the end: %v, want [3 0]", v)
		}
		// No daemon runs: nobody gives back yet.
		if v := semVals(t, id); !slices.Equal(v, []int{2, 2}) {
			t.Errorf("with no daemon running: %v, want [2 2] still", v)
		}
		m2 := relRestart(t, dir)
		semPollVals(t, "once the new daemon runs", id, semVals(t, twin))

		// Given back once: yet another daemon on the mountpoint finds
		// nothing left to give back.
		relKill(t, m2, syscall.SIGKILL)
		relRestart(t, dir)
		time.Sleep(200 * time.Millisecond)
		semSameVals(t, "after a further restart", id, twin)
	})
}

// TestRelSignalsWithBlockedCallers: SIGTERM and SIGINT, while callers
// wait in semop, msgrcv and msgsnd through the mount and a segment is
// open through it: the daemon unmounts and exits 0 (within 10 s, or the
// test fails), every waiting caller ends with an error, and nothing was
// taken or sent.
func TestRelSignalsWithBlockedCallers(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			m := mount(t)
			kS, kR, kW, kM := newKey(), newKey(), newKey(), newKey()
			sid := semNew(t, kS, 2, 0600)
			semSetVals(t, sid, 0, 4)
			rq := msgNewQueue(t, kR, 0600)
			msgSend(t, rq, 1, []byte("kept"))
			wq := msgNewQueue(t, kW, 0600)
			msgFill(t, wq, 100)
			seg := newSegment(t, kM, 8192, 0600)
			runC(t, "shmtool", "pattern", strconv.Itoa(seg), "3")
			sems, msgs, shms := []int{sid}, []int{rq, wq}, []int{seg}

			sdir := m.Path("sem", keyName(kS))
			shellP := semBash(t, "echo -1 > "+shQuote(sdir+"/0")+"; echo $?")
			undoP := semTool(t, "write", sdir+"/semop", "1:-1 0:-1 undo")
			shellZ := semBash(t, "echo 0 > "+shQuote(sdir+"/1")+"; echo $?")
			semWaitCounts(t, sid, 1, 0, 1)
			semWaitCounts(t, sid, 0, 2, 0)
			reader := msgStart(t, nil, "dd", "if="+m.Path("msg", keyName(kR))+":9", "bs=64k", "count=1", "status=none")
			writer := msgStart(t, []byte("never sent"), "msgtool", "write", m.Path("msg", keyName(kW)))
			msgWaitDaemonWaiters(t, m, rq, 1, 0)
			msgWaitDaemonWaiters(t, m, wq, 0, 1)
			f, err := os.OpenFile(m.Path("shm", keyName(kM)), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			before := relState(t, sems, msgs, shms)

			start := time.Now()
			if err := m.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-m.done:
				m.done <- err
				if err != nil {
					t.Errorf("ipcfs ended with %v on %v, want exit status 0\n%s", err, sig, m.Log())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("ipcfs has not exited 10 s after %v\n%s", sig, m.Log())
			}
			t.Logf("ipcfs exited %v after %v", time.Since(start).Round(time.Millisecond), sig)
			if lines := mountInfo(m.Dir); len(lines) != 0 {
				t.Errorf("still mounted after %v: %q", sig, lines)
			}

			relExitedWithError(t, "the shell's P", shellP)
			relExitedWithError(t, "the shell's wait for zero", shellZ)
			if e := undoP.errnoLine(t); e == 0 {
				t.Error("semtool's semop with undo succeeded")
			} else {
				t.Logf("semtool's semop with undo ended with %v", e)
			}
			undoP.mustSucceed(t)
			if out, err := reader.wait(t); err == nil {
				t.Errorf("dd of a queue succeeded (%q) after the daemon exited", out)
			}
			e := msgToolErrno(t, writer)
			if e == 0 {
				t.Error("msgtool write succeeded after the daemon exited")
			}
			t.Logf("msgtool write ended with %v", e)
			if _, err := f.ReadAt(make([]byte, 1), 0); err == nil {
				t.Error("a read through the open segment file succeeded after the daemon exited")
			}

			semWaitCounts(t, sid, 0, 0, 0)
			semWaitCounts(t, sid, 1, 0, 0)
			relSameState(t, "after "+sig.String(), before, sems, msgs, shms)
			shmPollUntil(t, "the daemon's attachment is gone", func() bool { return nattch(t, seg) == 0 })
		})
	}
}

// TestRelRemoveOpenSegment: a segment removed (rm through the mount,
// shm/remove, ipcrm) while handles have it open through the mount stays,
// marked for destruction, as id-N; reads, writes and truncation through
// an open handle go on against it, checked against what shmat sees; the
// daemon keeps serving; the segment goes when the last handle closes.
func TestRelRemoveOpenSegment(t *testing.T) {
	m := mount(t)
	for _, how := range []string{"rm", "remove", "ipcrm"} {
		t.Run(how, func(t *testing.T) {
			const size = 3*4096 + 100
			key := newKey()
			id := newSegment(t, key, size, 0600)
			runC(t, "shmtool", "pattern", strconv.Itoa(id), "11")
			p := m.Path("shm", keyName(key))
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			// A second handle, read-only, in another process: it reads
			// the first 16 bytes when told, then exits.
			ro := semBash(t, "exec 3<"+shQuote(p)+" || exit 1\necho opened\nread -r _\nx=$(head -c 16 <&3 | od -An -tx1 | tr -d ' \\n'; exit ${PIPESTATUS[0]})\necho \"$? $x\"\n")
			if l := ro.line(t); l != "opened" {
				t.Fatalf("the read-only holder: %q", l)
			}
			if n := nattch(t, id); n != 2 {
				t.Fatalf("nattch %d with two handles open", n)
			}

			switch how {
			case "rm":
				mustSh(t, "rm "+shQuote(p))
			case "remove":
				mustSh(t, "echo "+keyName(key)+" > "+shQuote(m.Path("shm", "remove")))
			case "ipcrm":
				mustSh(t, "ipcrm -m "+strconv.Itoa(id))
			}
			d := shmStat(t, id)
			if d.Perm.Mode&01000 == 0 || d.Perm.Key != 0 || d.Nattch != 2 {
				t.Errorf("after %s: mode %o key %#x nattch %d; want SHM_DEST (01000), key 0, nattch 2", how, d.Perm.Mode, d.Perm.Key, d.Nattch)
			}
			idName := fmt.Sprintf("id-%d", id)
			if listed := strings.Fields(mustSh(t, "ls "+m.Path("shm"))); !slices.Contains(listed, idName) || slices.Contains(listed, keyName(key)) {
				t.Errorf("ls after %s: %q; want %s and not %s", how, listed, idName, keyName(key))
			}
			checkStatMatches(t, m.Path("shm", idName), id)
			if st, err := f.Stat(); err != nil || st.Size() != size {
				t.Errorf("fstat of the open handle after %s: %v %v", how, st, err)
			}

			// I/O through the open handle goes on, against the segment.
			want := segmentBytes(t, id)
			for i := range 40 {
				off := (i * 977) % size
				chunk := randomBytes(1+(i*131)%3000, byte(i))
				// One write(2); one running past the end is short.
				n, err := unix.Pwrite(int(f.Fd()), chunk, int64(off))
				if off+len(chunk) > size {
					chunk = chunk[:size-off]
				}
				if n != len(chunk) || err != nil {
					t.Fatalf("write of %d bytes at %d after %s: %d, %v", len(chunk), off, how, n, err)
				}
				copy(want[off:], chunk)
				got := make([]byte, len(chunk))
				if n, err := f.ReadAt(got, int64(off)); n != len(chunk) || !bytes.Equal(got, chunk) {
					t.Fatalf("read back at %d after %s: %d bytes, %v, equal %v", off, how, n, err, bytes.Equal(got, chunk))
				}
			}
			if got := segmentBytes(t, id); !bytes.Equal(got, want) {
				t.Errorf("after writes through the handle: the segment differs at %d", firstDiff(got, want))
			}
			if _, err := f.WriteAt([]byte("x"), size); errnoOf(err) != syscall.ENOSPC {
				t.Errorf("write at the end after %s: %v, want ENOSPC", how, err)
			}
			if n, err := f.ReadAt(make([]byte, 10), size); n != 0 || err != io.EOF {
				t.Errorf("read at the end after %s: %d %v, want EOF", how, n, err)
			}
			if err := f.Truncate(5000); err != nil {
				t.Errorf("ftruncate of the open handle after %s: %v", how, err)
			}
			clear(want[5000:])
			if got := segmentBytes(t, id); !bytes.Equal(got, want) {
				t.Errorf("after ftruncate 5000: the segment differs at %d", firstDiff(got, want))
			}
			if err := f.Truncate(size + 1); errnoOf(err) != syscall.EFBIG {
				t.Errorf("ftruncate past the size after %s: %v, want EFBIG", how, err)
			}
			// A new open of id-N attaches the removed segment too.
			if got, err := os.ReadFile(m.Path("shm", idName)); err != nil || !bytes.Equal(got, want) {
				t.Errorf("read of %s after %s: %d bytes, %v", idName, how, len(got), err)
			}

			// The first close leaves it to the other handle.
			f.Close()
			shmPollUntil(t, "nattch is 1 after the first close", func() bool { return nattch(t, id) == 1 })
			checkStatMatches(t, m.Path("shm", idName), id)
			ro.release()
			if l, wantL := ro.line(t), fmt.Sprintf("0 %x", want[:16]); l != wantL {
				t.Errorf("read through the read-only handle after %s: %q, want %q", how, l, wantL)
			}
			ro.mustSucceed(t)
			shmPollUntil(t, "the segment goes at the last close", func() bool { return shmGone(id) })
			if e := statErrno(m.Path("shm", idName)); e != syscall.ENOENT {
				t.Errorf("stat %s after the last close: %v, want ENOENT", idName, e)
			}
			if listed := strings.Fields(mustSh(t, "ls "+m.Path("shm"))); slices.Contains(listed, idName) {
				t.Errorf("ls after the last close still shows %s", idName)
			}
			select {
			case err := <-m.done:
				m.done <- err
				t.Fatalf("the daemon exited: %v\n%s", err, m.Log())
			default:
			}
		})
	}
	if strings.Contains(m.Log(), "panic") {
		t.Errorf("the daemon logged a panic:\n%s", m.Log())
	}
}

// relThreadsBackTo waits until the daemon has no more than max threads.
func relThreadsBackTo(t *testing.T, pid, max int) int {
	t.Helper()
	var th int
	shmPollUntil(t, fmt.Sprintf("the daemon is back to at most %d threads", max), func() bool {
		th, _ = semDaemonFigures(t, pid)
		return th <= max
	})
	return th
}

// relFDs counts the daemon's open files.
func relFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestRelLoad: a thousand callers waiting in semop through the mount and
// two thousand handles open on four segments, held by one process, all
// at once: the mount keeps answering stat and reads; once all are
// released and closed, the daemon's threads are back near where they
// were, it holds no attachment, and its memory is under 64 MiB again.
// Threads, open files and VmRSS are logged before, during and after.
func TestRelLoad(t *testing.T) {
	const waiters, handles, segs = 1000, 2000, 4
	m := mount(t)
	pid := m.cmd.Process.Pid
	kS := newKey()
	sid := semNew(t, kS, 1, 0600)
	spath := m.Path("sem", keyName(kS), "0")
	var ids []int
	var paths []string
	for i := range segs {
		k := newKey()
		id := newSegment(t, k, 64<<10, 0600)
		runC(t, "shmtool", "pattern", strconv.Itoa(id), strconv.Itoa(i))
		ids = append(ids, id)
		paths = append(paths, m.Path("shm", keyName(k)))
	}
	// Warm up: the daemon's usual threads exist before the baseline.
	for _, p := range paths {
		if _, err := os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	semMustWrite(t, spath, "+1")
	semMustWrite(t, spath, "-1")
	th0, rss0 := semDaemonFigures(t, pid)
	fd0 := relFDs(t, pid)
	t.Logf("baseline: %d threads, %d open files, VmRSS %d kB", th0, fd0, rss0)

	// Two thousand handles in one bash, with its RLIMIT_NOFILE raised.
	var quoted []string
	for _, p := range paths {
		quoted = append(quoted, shQuote(p))
	}
	holder := semBash(t, fmt.Sprintf(`ulimit -n 4096 || exit 1
paths=(%s)
for ((i = 0; i < %d; i++)); do
	exec {fd}<>"${paths[i %% %d]}" || { echo "open $i failed"; exit 1; }
done
echo opened
read -r _ || true
`, strings.Join(quoted, " "), handles, segs))
	if l := holder.line(t); l != "opened" {
		t.Fatalf("the holder of %d handles: %q", handles, l)
	}
	w := semTool(t, "waiters", strconv.Itoa(waiters), spath, "-1")
	if l := w.line(t); l != fmt.Sprintf("forked %d", waiters) {
		t.Fatalf("semtool waiters: %q", l)
	}
	semWaitCounts(t, sid, 0, waiters, 0)
	for _, id := range ids {
		if n := nattch(t, id); n != handles/segs {
			t.Errorf("segment %d: nattch %d with %d handles open on it", id, n, handles/segs)
		}
	}
	th, rss := semDaemonFigures(t, pid)
	t.Logf("with %d waiters and %d handles: %d threads, %d open files, VmRSS %d kB", waiters, handles, th, relFDs(t, pid), rss)

	semAnswers(t, "stat, reads and listings under load", func() error {
		for i, p := range paths {
			var st syscall.Stat_t
			if err := syscall.Stat(p, &st); err != nil {
				return err
			}
			if st.Size != 64<<10 {
				return fmt.Errorf("stat %s: size %d", p, st.Size)
			}
			got, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, patternBytes(64<<10, uint64(i))) {
				return fmt.Errorf("read of %s under load: not the segment's bytes", p)
			}
		}
		rows, err := semTryStatus(m.Path("sem", keyName(kS), "status"))
		if err != nil {
			return err
		}
		if rows[0]["semncnt"] != strconv.Itoa(waiters) {
			return fmt.Errorf("status shows semncnt %q, want %d", rows[0]["semncnt"], waiters)
		}
		if got, err := semTryRead(spath); got != "0\n" || err != nil {
			return fmt.Errorf("read of the waited-on semaphore: %q %v", got, err)
		}
		for _, f := range []string{"shm/status", "usage", "limits"} {
			if _, err := os.ReadFile(m.Path(f)); err != nil {
				return err
			}
		}
		_, _, err = sh(t, "ls -l "+m.Path("shm")+" "+m.Path("sem")+" > /dev/null")
		return err
	})
	th, rss = semDaemonFigures(t, pid)
	t.Logf("after the requests under load: %d threads, VmRSS %d kB", th, rss)

	semMustOp(t, sid, semBuf{0, waiters, 0})
	if l := w.line(t); l != fmt.Sprintf("ok %d failed 0", waiters) {
		t.Errorf("the waiters: %q", l)
	}
	w.mustSucceed(t)
	holder.release()
	holder.mustSucceed(t)
	semWaitCounts(t, sid, 0, 0, 0)
	if v := semVal(t, sid, 0); v != 0 {
		t.Errorf("value %d after %d P's and one V of %d", v, waiters, waiters)
	}
	for _, id := range ids {
		shmPollUntil(t, fmt.Sprintf("segment %d has no attachment left", id), func() bool { return nattch(t, id) == 0 })
		if maps := daemonMapsOf(t, pid, id); len(maps) != 0 {
			t.Errorf("the daemon still maps segment %d: %v", id, maps)
		}
	}
	th = relThreadsBackTo(t, pid, th0+16)
	shmPollUntil(t, "the daemon's open files are back near the baseline", func() bool { return relFDs(t, pid) <= fd0+16 })
	// The daemon hands freed heap back within seconds (returnIdleMemory),
	// and must then be well under the 64 MiB issue 7 allows it.
	shmPollUntil(t, "the daemon's VmRSS is under 64 MiB again", func() bool {
		_, rss = semDaemonFigures(t, pid)
		return rss < 64<<10
	})
	t.Logf("after release and close: %d threads, %d open files, VmRSS %d kB", th, relFDs(t, pid), rss)
}

// TestRelBurstMemory: after a burst of waits ends (a thousand semaphore
// writers and a thousand queue readers, ended by removing their objects),
// the daemon hands the burst's memory back within seconds, under the 64
// MiB issue 7 allows it, though nothing comes after the burst to make the
// runtime collect (it then collects only every two minutes).
func TestRelBurstMemory(t *testing.T) {
	m := mount(t)
	const n = 1000
	k, qk := newKey(), newKey()
	sid := semNew(t, k, 1, 0600)
	qid := msgNewQueue(t, qk, 0600)
	pid := m.cmd.Process.Pid

	w := semTool(t, "waiters", strconv.Itoa(n), m.Path("sem", keyName(k), "0"), "-1")
	if l := w.line(t); l != fmt.Sprintf("forked %d", n) {
		t.Fatalf("semtool waiters: %q", l)
	}
	readers := semBash(t, fmt.Sprintf("for i in $(seq %d); do cat %s > /dev/null 2>&1 & done; wait; echo done", n, m.Path("msg", keyName(qk))))
	semWaitCounts(t, sid, 0, n, 0)
	msgWaitDaemonWaiters(t, m, qid, n, 0)
	th, rss := semDaemonFigures(t, pid)
	t.Logf("with %d writers and %d readers waiting: %d threads, VmRSS %d kB", n, n, th, rss)

	semctlRaw(sid, 0, unix.IPC_RMID, 0)
	msgRmid(t, qid)
	if l := w.line(t); l != fmt.Sprintf("ok 0 failed %d", n) {
		t.Errorf("the writers, their set removed: %q", l)
	}
	if l := readers.line(t); l != "done" {
		t.Errorf("the readers: %q", l)
	}
	ended := time.Now()
	shmPollUntil(t, "the daemon's VmRSS is under 64 MiB again", func() bool {
		_, rss = semDaemonFigures(t, pid)
		return rss < 64<<10
	})
	t.Logf("%v after the burst's end: VmRSS %d kB", time.Since(ended).Round(time.Millisecond), rss)
}
