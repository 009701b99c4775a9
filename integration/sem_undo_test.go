package integration

import (
	"fmt"
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

// Tests of `undo`: what a process takes or gives with undo through the
// mount is reversed when that process ends, by any means, exactly as the
// kernel's SEM_UNDO reverses it for a process that makes the semop itself
// (exit_sem: value + adjustment, clamped to 0..SEMVMX). Each case runs
// twice: through the mount, and with semtool making the semop directly
// with SEM_UNDO on a twin set; the values are compared at each step.

// semUndoHolder is bash writing each text to its path through the mount
// (one write(2) each, by the shell itself), printing 0 when all worked,
// then waiting for the end of its stdin.
func semUndoHolder(t testing.TB, writes ...[2]string) *semProc {
	t.Helper()
	script := "ok=0\n"
	for _, w := range writes {
		script += fmt.Sprintf("echo %s > %s || ok=1\n", shQuote(w[1]), shQuote(w[0]))
	}
	script += "echo $ok\nread -r _ || true\n"
	p := semBash(t, script)
	if e := p.errnoLine(t); e != 0 {
		t.Fatalf("writes %v through the mount failed", writes)
	}
	return p
}

// semUndoTwin is semtool making ops directly as one semop (SEM_UNDO where
// an op says u), holding until the end of its stdin.
func semUndoTwin(t testing.TB, id int, ops ...string) *semProc {
	t.Helper()
	p := semTool(t, append(append([]string{"op", strconv.Itoa(id)}, ops...), "-hold")...)
	if e := p.errnoLine(t); e != 0 {
		t.Fatalf("semop %v directly: %v", ops, e)
	}
	return p
}

// semEnd ends a holder: normally (end of stdin) or by a signal.
func semEnd(t testing.TB, p *semProc, sig syscall.Signal) {
	t.Helper()
	if sig == 0 {
		p.release()
		p.mustSucceed(t)
		return
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	if _, err := p.wait(t); err == nil {
		t.Errorf("%v exited 0 after %v", p.cmd.Args, sig)
	}
}

// semSameVals fails unless the two sets hold the same values.
func semSameVals(t testing.TB, what string, id, twin int) []int {
	t.Helper()
	got, want := semVals(t, id), semVals(t, twin)
	if !slices.Equal(got, want) {
		t.Errorf("%s: values %v through the mount, %v directly", what, got, want)
	}
	return want
}

// semPollVals waits until set id holds want: undo through the mount is
// applied once the daemon sees the process end, a moment after.
func semPollVals(t testing.TB, what string, id int, want []int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := semVals(t, id)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: values %v through the mount, %v directly (waited for the undo)", what, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSemUndoOnExit: a P with undo is reversed when its writer ends:
// normally, by SIGTERM, by SIGKILL; a separate program (/bin/echo, a C
// program) is reversed as soon as it exits.
func TestSemUndoOnExit(t *testing.T) {
	m := mount(t)
	for _, c := range []struct {
		name string
		sig  syscall.Signal
	}{{"exit", 0}, {"SIGTERM", syscall.SIGTERM}, {"SIGKILL", syscall.SIGKILL}} {
		t.Run(c.name, func(t *testing.T) {
			k, kt := newKey(), newKey()
			id, twin := semNew(t, k, 2, 0600), semNew(t, kt, 2, 0600)
			semSetVals(t, id, 3, 1)
			semSetVals(t, twin, 3, 1)
			dir := m.Path("sem", keyName(k))
			h := semUndoHolder(t, [2]string{dir + "/0", "-1 undo"}, [2]string{dir + "/1", "+4 undo"})
			d := semUndoTwin(t, twin, "0:-1:u", "1:4:u")
			semSameVals(t, "while the writers live", id, twin)
			if v := semVals(t, id); !slices.Equal(v, []int{2, 5}) {
				t.Errorf("while the writer lives: %v, want [2 5]", v)
			}
			semEnd(t, h, c.sig)
			semEnd(t, d, c.sig)
			semPollVals(t, "after the end", id, semVals(t, twin))
			if v := semVals(t, twin); !slices.Equal(v, []int{3, 1}) {
				t.Errorf("the kernel's twin after the end: %v, want [3 1]", v)
			}
		})
	}

	t.Run("separate programs", func(t *testing.T) {
		k, kt := newKey(), newKey()
		id, twin := semNew(t, k, 1, 0600), semNew(t, kt, 1, 0600)
		semSetVals(t, id, 5)
		semSetVals(t, twin, 5)
		p := m.Path("sem", keyName(k), "0")
		mustSh(t, "/bin/echo '-2 undo' > "+p)
		runC(t, "semtool", "op", strconv.Itoa(twin), "0:-2:u")
		semPollVals(t, "/bin/echo -2 undo", id, semVals(t, twin))
		w := semTool(t, "write", p, "-3 undo")
		if e := w.errnoLine(t); e != 0 {
			t.Fatalf("semtool write -3 undo: %v", e)
		}
		w.mustSucceed(t)
		runC(t, "semtool", "op", strconv.Itoa(twin), "0:-3:u")
		semPollVals(t, "semtool write -3 undo", id, semVals(t, twin))
		if v := semVal(t, twin, 0); v != 5 {
			t.Errorf("the twin ends at %d, want 5", v)
		}
	})
}

// TestSemUndoBeforeNextUse: once a lock holder has exited and its
// parent has reaped it, the next use of the set through the mount finds
// the value restored: the kernel undoes in exit_sem, before the parent
// hears of the exit, so a try-lock right after wait() succeeds. Reading,
// the set's status and the semval xattr see it too.
func TestSemUndoBeforeNextUse(t *testing.T) {
	m := mount(t)
	k := newKey()
	id := semNew(t, k, 1, 0600)
	semSetVals(t, id, 1)
	p := m.Path("sem", keyName(k), "0")
	uses := []struct {
		name string
		use  func() (string, error)
	}{
		{"try-lock", func() (string, error) {
			if e := semWrite(t, p, "-1 nowait", 0); e != 0 {
				return "", e
			}
			return "1", semWriteErr(p, "+1")
		}},
		{"read", func() (string, error) {
			b, err := os.ReadFile(p)
			return strings.TrimSpace(string(b)), err
		}},
		{"semval", func() (string, error) {
			v := make([]byte, 16)
			n, err := unix.Getxattr(p, "user.ipc.semval", v)
			return string(v[:max(n, 0)]), err
		}},
		{"status", func() (string, error) {
			b, err := os.ReadFile(m.Path("sem", keyName(k), "status"))
			f := strings.Fields(strings.SplitN(string(b), "\n", 3)[1])
			return f[1], err
		}},
	}
	for _, u := range uses {
		for i := 0; i < 30; i++ {
			mustSh(t, "echo '-1 undo' > "+p) // takes the lock and exits; reaped
			if got, err := u.use(); err != nil || got != "1" {
				t.Fatalf("%s right after the holder was reaped (round %d): %q, %v; want 1", u.name, i, got, err)
			}
		}
	}
}

// TestSemUndoClamp: the reversal is clamped to 0..SEMVMX when others
// changed the value meanwhile, as exit_sem clamps it.
func TestSemUndoClamp(t *testing.T) {
	m := mount(t)
	for _, c := range []struct {
		name        string
		init        int
		text, op    string
		other       int16 // a plain semop by another process meanwhile
		final       int   // what the kernel ends with
		beforeFinal int
	}{
		{"+2 undo, 2 taken meanwhile", 1, "+2 undo", "0:2:u", -2, 0, 1},
		{"+2 undo, 1 taken meanwhile", 0, "+2 undo", "0:2:u", -1, 0, 1},
		{"+2 undo, nothing taken", 0, "+2 undo", "0:2:u", 0, 0, 2},
		{"-2 undo, raised to 32766 meanwhile", 2, "-2 undo", "0:-2:u", 32766, 32767, 32766},
		{"-1 undo, raised meanwhile", 1, "-1 undo", "0:-1:u", 100, 101, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, kt := newKey(), newKey()
			id, twin := semNew(t, k, 1, 0600), semNew(t, kt, 1, 0600)
			semSetVals(t, id, c.init)
			semSetVals(t, twin, c.init)
			h := semUndoHolder(t, [2]string{m.Path("sem", keyName(k), "0"), c.text})
			d := semUndoTwin(t, twin, c.op)
			if c.other != 0 {
				semMustOp(t, id, semBuf{0, c.other, 0})
				semMustOp(t, twin, semBuf{0, c.other, 0})
			}
			if v := semSameVals(t, "before the end", id, twin); v[0] != c.beforeFinal {
				t.Errorf("before the end: %v, want %d", v, c.beforeFinal)
			}
			semEnd(t, d, 0)
			if v := semVal(t, twin, 0); v != c.final {
				t.Errorf("the kernel's twin ends at %d, want %d", v, c.final)
			}
			semEnd(t, h, 0)
			semPollVals(t, "after the end", id, semVals(t, twin))
		})
	}
}

// TestSemUndoSetvalClears: `=N` drops every recorded adjustment of that
// semaphore, as SETVAL drops the kernel's; the other semaphores' stay.
func TestSemUndoSetvalClears(t *testing.T) {
	m := mount(t)
	k, kt := newKey(), newKey()
	id, twin := semNew(t, k, 2, 0600), semNew(t, kt, 2, 0600)
	semSetVals(t, id, 5, 5)
	semSetVals(t, twin, 5, 5)
	dir := m.Path("sem", keyName(k))
	h := semUndoHolder(t, [2]string{dir + "/0", "-1 undo"}, [2]string{dir + "/semop", "0:-1 1:-1 undo"})
	d := semUndoTwin(t, twin, "0:-1:u", "0:-1:u", "1:-1:u")
	semSameVals(t, "after the takes", id, twin)
	// Another process sets semaphore 0: through the mount, and directly.
	mustSh(t, "echo =10 > "+dir+"/0")
	semSetVals(t, twin, 10)
	semSameVals(t, "after =10", id, twin)
	semEnd(t, d, 0)
	semEnd(t, h, syscall.SIGKILL)
	want := semVals(t, twin)
	if !slices.Equal(want, []int{10, 5}) {
		t.Errorf("the kernel's twin ends at %v, want [10 5]", want)
	}
	// Semaphore 1 coming back to 5 shows the undo was applied; semaphore
	// 0 must have kept the 10 it was set to.
	semPollVals(t, "after the end", id, want)

	// =N through the mount is a SETVAL: it clears the kernel's own
	// SEM_UNDO record of a process that made its semop directly.
	semSetVals(t, id, 5, 5)
	semSetVals(t, twin, 5, 5)
	d1 := semUndoTwin(t, id, "0:-1:u", "1:-1:u")
	d2 := semUndoTwin(t, twin, "0:-1:u", "1:-1:u")
	semMustWrite(t, dir+"/0", "=10")
	semSetVals(t, twin, 10)
	semEnd(t, d1, 0)
	semEnd(t, d2, 0)
	if v := semSameVals(t, "a direct SEM_UNDO after =10 through the mount", id, twin); !slices.Equal(v, []int{10, 5}) {
		t.Errorf("the kernel's twin ends at %v, want [10 5]", v)
	}
}

// TestSemUndoAccumulates: several writes with undo by one process add up
// to one adjustment per semaphore, as the kernel's semadj does; writes
// without undo are not reversed.
func TestSemUndoAccumulates(t *testing.T) {
	m := mount(t)
	k, kt := newKey(), newKey()
	id, twin := semNew(t, k, 2, 0600), semNew(t, kt, 2, 0600)
	semSetVals(t, id, 5, 0)
	semSetVals(t, twin, 5, 0)
	dir := m.Path("sem", keyName(k))
	h := semUndoHolder(t,
		[2]string{dir + "/0", "-1 undo"}, [2]string{dir + "/0", "-1 undo nowait"}, [2]string{dir + "/0", "+1 undo"},
		[2]string{dir + "/0", "-1"}, [2]string{dir + "/1", "0 undo timeout=1s nowait"}, [2]string{dir + "/semop", "0:-1 1:+1 undo"},
		[2]string{dir + "/1", "+3"})
	d := semUndoTwin(t, twin, "0:-1:u", "0:-1:un", "0:1:u", "0:-1", "1:0:un", "0:-1:u", "1:1:u", "1:3")
	if v := semSameVals(t, "while they live", id, twin); !slices.Equal(v, []int{2, 4}) {
		t.Errorf("while they live: %v, want [2 4]", v)
	}
	semEnd(t, d, 0)
	semEnd(t, h, 0)
	want := semVals(t, twin)
	if !slices.Equal(want, []int{4, 3}) {
		t.Errorf("the kernel's twin ends at %v, want [4 3]", want)
	}
	semPollVals(t, "after the end", id, want)
}

// TestSemUndoThread: undo belongs to the process, not to the thread that
// wrote: a writing thread that ends reverses nothing; its process's end
// does.
func TestSemUndoThread(t *testing.T) {
	m := mount(t)
	k, kt := newKey(), newKey()
	id, twin := semNew(t, k, 1, 0600), semNew(t, kt, 1, 0600)
	semSetVals(t, id, 3)
	semSetVals(t, twin, 3)
	h := semTool(t, "thread-write", m.Path("sem", keyName(k), "0"), "-1 undo")
	if e := h.errnoLine(t); e != 0 {
		t.Fatalf("the thread's write: %v", e)
	}
	d := semUndoTwin(t, twin, "0:-1:u")
	// The thread has ended; the process lives on and keeps what it took.
	time.Sleep(300 * time.Millisecond)
	semSameVals(t, "after the writing thread ended", id, twin)
	semEnd(t, h, 0)
	semEnd(t, d, 0)
	semPollVals(t, "after the process ended", id, semVals(t, twin))
	if v := semVal(t, twin, 0); v != 3 {
		t.Errorf("the kernel's twin ends at %d, want 3", v)
	}
}

// TestSemUndoSetRemoved: the undo of a set that was removed meanwhile
// touches nothing, not even a new set made under the same key.
func TestSemUndoSetRemoved(t *testing.T) {
	m := mount(t)
	k := newKey()
	id := semNew(t, k, 1, 0600)
	semSetVals(t, id, 3)
	// A second semaphore in another set shows when the undo was applied.
	kw := newKey()
	idw := semNew(t, kw, 1, 0600)
	h := semUndoHolder(t, [2]string{m.Path("sem", keyName(k), "0"), "-1 undo"}, [2]string{m.Path("sem", keyName(kw), "0"), "+1 undo"})
	if err := syscall.Rmdir(m.Path("sem", keyName(k))); err != nil {
		t.Fatal(err)
	}
	id2 := semNew(t, k, 1, 0600)
	semSetVals(t, id2, 7)
	semEnd(t, h, 0)
	semPollVals(t, "the other set's undo", idw, []int{0})
	time.Sleep(100 * time.Millisecond) // the same process's other adjustment
	if v := semVal(t, id2, 0); v != 7 {
		t.Errorf("the new set under the same key: %d, want 7 untouched", v)
	}
}

// TestSemUndoRange: the adjustments undo keeps for one process and one
// semaphore stay within [-(SEMAEM+1), SEMAEM]: a write that would take
// them beyond is ERANGE and changes nothing, as semop with SEM_UNDO is,
// whatever the value.
func TestSemUndoRange(t *testing.T) {
	m := mount(t)
	k, kt := newKey(), newKey()
	id, twin := semNew(t, k, 1, 0600), semNew(t, kt, 1, 0600)
	p := m.Path("sem", keyName(k), "0")
	steps := []struct{ text, spec string }{
		{"+20000 undo", "0:20000:u"}, // adjustment -20000
		{"-20000", "0:-20000"},
		{"+20000 undo", "0:20000:u"}, // would be -40000: ERANGE
		{"+12767 undo", "0:12767:u"}, // -32767: within
		{"+1 undo", "0:1:u"},         // -32768: the lowest
		{"+1 undo", "0:1:u"},         // -32769: ERANGE
	}
	script := ""
	var specs []string
	for _, s := range steps {
		script += fmt.Sprintf("echo %s > %s; echo $?\n", shQuote(s.text), shQuote(p))
		specs = append(specs, s.spec)
	}
	h := semBash(t, script+"read -r _ || true\n")
	d := semTool(t, append([]string{"seq", strconv.Itoa(twin)}, specs...)...)
	for i, s := range steps {
		direct := d.errnoLine(t)
		mountOK := strings.TrimSpace(h.line(t)) == "0"
		if mountOK != (direct == 0) {
			t.Errorf("step %d %q: through the mount ok=%v, directly %v", i, s.text, mountOK, direct)
		}
		if (i == 2 || i == 5) && direct != syscall.ERANGE {
			t.Errorf("step %d directly: %v, want ERANGE", i, direct)
		}
	}
	semSameVals(t, "after the steps", id, twin)
	semEnd(t, d, 0)
	semEnd(t, h, 0)
	semPollVals(t, "after both end", id, semVals(t, twin))
}

// TestSemUndoSetIDReused: the undo records of a set removed through the
// mount go with it; a new set that gets its id (sem_next_id) is not
// touched when the writer ends, as the kernel frees a set's semadj at
// IPC_RMID.
func TestSemUndoSetIDReused(t *testing.T) {
	m := mount(t)
	k := newKey()
	id := semNew(t, k, 1, 0600)
	dir := m.Path("sem", keyName(k))
	mustSh(t, "echo =5 > "+dir+"/0")
	h := semUndoHolder(t, [2]string{dir + "/0", "-2 undo"})
	if err := os.Remove(dir); err != nil {
		t.Fatalf("rmdir of the set: %v", err)
	}
	setSysctl(t, "sem_next_id", id)
	k2 := newKey()
	id2 := semNew(t, k2, 1, 0600)
	if id2 != id {
		t.Skipf("sem_next_id gave id %d, not %d: the kernel lacks CONFIG_CHECKPOINT_RESTORE", id2, id)
	}
	semSetVals(t, id2, 10)
	semEnd(t, h, 0)
	// The exit is handled at once; give a late adjustment time to show.
	time.Sleep(200 * time.Millisecond)
	if v := semVals(t, id2); v[0] != 10 {
		t.Errorf("the new set with the removed one's id: %d after the writer ended, want 10", v[0])
	}
}

// TestSemUndoRangeAfterChecks: an `undo` write whose adjustment would go
// out of range gets the kernel's answer where semop checks something
// else first (the number of operations, the semaphore numbers), and
// ERANGE only past those checks.
func TestSemUndoRangeAfterChecks(t *testing.T) {
	m := mount(t)
	k := newKey()
	semNew(t, k, 2, 0600)
	semopPath := m.Path("sem", keyName(k), "semop")
	write := func(text string) syscall.Errno {
		f, err := os.OpenFile(semopPath, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		_, err = unix.Write(int(f.Fd()), []byte(text))
		return errnoOf(err)
	}
	many := strings.Repeat("0:-32768 ", semopm(t)+1)
	for _, c := range []struct {
		text string
		want syscall.Errno
	}{
		{"9:-32768 undo nowait", syscall.EFBIG},
		{many + "undo nowait", syscall.E2BIG},
		{"1:-32768 undo nowait", syscall.ERANGE},
	} {
		if got := write(c.text); got != c.want {
			t.Errorf("%.40q: %v, want %v (semop's)", c.text, got, c.want)
		}
	}
}

// semopm is the kernel's most operations in one semop.
func semopm(t testing.TB) int {
	b, err := os.ReadFile("/proc/sys/kernel/sem")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	n, err := strconv.Atoi(f[2])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSemUndoCallerWithoutPid: a daemon in a pid namespace of its own
// (`unshare --pid`) cannot see a caller from outside it (FUSE gives pid
// 0), nor so watch for its exit: an undo write from there is refused
// with EOPNOTSUPP, changing nothing, where it gave EINTR (a lock loop
// retrying on EINTR spun); writes without undo work.
func TestSemUndoCallerWithoutPid(t *testing.T) {
	m := startCmdAttr(t, filepath.Join(t.TempDir(), "mnt"), []string{ipcfsBin}, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID})
	m.waitMounted()
	k := newKey()
	id := semNew(t, k, 1, 0600)
	semSetVals(t, id, 3)
	// One write(2) each (writeControl): os.WriteFile would retry an EINTR
	// for ever.
	p := m.Path("sem", keyName(k), "0")
	for _, text := range []string{"1 undo", "-1 undo", "-1 undo nowait"} {
		if err := writeControl(t, p, text); err != syscall.EOPNOTSUPP {
			t.Errorf("writing %q from outside the daemon's pid namespace: %v, want EOPNOTSUPP", text, err)
		}
	}
	semop := m.Path("sem", keyName(k), "semop")
	if err := writeControl(t, semop, "0:1 undo"); err != syscall.EOPNOTSUPP {
		t.Errorf("writing \"0:1 undo\" to semop from outside: %v, want EOPNOTSUPP", err)
	}
	if v := semVal(t, id, 0); v != 3 {
		t.Errorf("value after the refused undo writes: %d, want 3", v)
	}
	if err := writeControl(t, p, "-1"); err != 0 {
		t.Errorf("writing -1 without undo from outside: %v", err)
	}
	if v := semVal(t, id, 0); v != 2 {
		t.Errorf("value after -1: %d, want 2", v)
	}
}

// TestSemUndoDaemonOutOfFiles: an undo write needs the daemon to open the
// writer's pidfd. With the daemon out of descriptors (each open of a
// segment holds one), a writer it has no record of gets ENOMEM, as semop
// does when it cannot allocate an undo structure, changing nothing,
// where it got EINTR (a loop retrying EINTR spun). A writer it already
// watches goes on, its record kept in memory while it cannot be saved, as
// the daemon's log says; and its undo is applied at its exit.
func TestSemUndoDaemonOutOfFiles(t *testing.T) {
	m := mountWrapped(t, []string{"prlimit", "--nofile=64:64"})
	k := newKey()
	id := semNew(t, k, 1, 0600)
	semSetVals(t, id, 5)
	p := m.Path("sem", keyName(k), "0")
	holder := semBash(t, fmt.Sprintf(`for i in 1 2 3; do
	echo "1 undo" > %s; echo $?
	read -r _ || exit 1
done`, shQuote(p)))
	if e := holder.errnoLine(t); e != 0 {
		t.Fatalf("first undo write by the holder: exit %d", e)
	}

	before := relFDs(t, m.cmd.Process.Pid)
	sk := newKey()
	newSegment(t, sk, 4096, 0600)
	seg := m.Path("shm", keyName(sk))
	var open []*os.File
	closeAll := func() {
		for _, f := range open {
			f.Close()
		}
		open = nil
	}
	defer closeAll()
	for len(open) < 200 {
		f, err := os.Open(seg)
		if errnoOf(err) == syscall.EMFILE {
			break
		}
		if err != nil {
			t.Fatalf("opening the segment: %v", err)
		}
		open = append(open, f)
	}
	if len(open) == 200 {
		t.Fatal("200 opens of a segment and the daemon, limited to 64 descriptors, not out of them")
	}

	if e := runCErrno(t, false, "fsop", "write", p, "1 undo"); e != syscall.ENOMEM {
		t.Errorf("undo write by a new writer, the daemon out of descriptors: %v, want ENOMEM", e)
	}
	if e := runCErrno(t, false, "fsop", "write", m.Path("sem", keyName(k), "semop"), "0:-1 undo"); e != syscall.ENOMEM {
		t.Errorf("undo semop by a new writer, the daemon out of descriptors: %v, want ENOMEM", e)
	}
	if v := semVal(t, id, 0); v != 6 {
		t.Errorf("value after the refused writes: %d, want 6", v)
	}

	holder.stdin.Write([]byte("\n"))
	if e := holder.errnoLine(t); e != 0 {
		t.Fatalf("second undo write by the holder, its record unsaved: exit %d", e)
	}
	// The daemon logs before it answers, but its log reaches the test
	// through a pipe.
	semPollFor(t, 30*time.Second, "the daemon's log says the records went unsaved", func() bool {
		return strings.Contains(m.Log(), "undo records not saved")
	})
	closeAll()
	// The releases reach the daemon after the closes.
	semPollFor(t, 30*time.Second, "the daemon has its descriptors back", func() bool {
		return relFDs(t, m.cmd.Process.Pid) <= before
	})
	holder.stdin.Write([]byte("\n"))
	if e := holder.errnoLine(t); e != 0 {
		t.Fatalf("third undo write by the holder: exit %d", e)
	}
	semPollFor(t, 30*time.Second, "the daemon's log says the records were saved again", func() bool {
		return strings.Contains(m.Log(), "undo records saved to")
	})
	if v := semVal(t, id, 0); v != 8 {
		t.Errorf("value after the holder's three writes: %d, want 8", v)
	}
	semEnd(t, holder, syscall.SIGKILL)
	semPollVals(t, "after the holder's end", id, []int{5})
}
