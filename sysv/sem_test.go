package sysv

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newSemSet makes a private set, removed when the test ends.
func newSemSet(t *testing.T, nsems int, mode int) int {
	t.Helper()
	id, err := SemGet(Private, nsems, Create|mode)
	if err != nil {
		t.Fatalf("SemGet: %v", err)
	}
	t.Cleanup(func() {
		if err := SemRemove(id); err != nil && err != unix.EINVAL && err != unix.EIDRM {
			t.Errorf("SemRemove(%d): %v", id, err)
		}
	})
	return id
}

// semState is what ipchelper reports of semaphore num: val ncnt zcnt pid.
func semState(h *helper, id, num int) [4]int {
	h.t.Helper()
	rows := h.run("sem", strconv.Itoa(id))
	var s [4]int
	for i, f := range strings.Fields(rows[num]) {
		s[i] = atoi(h.t, f)
	}
	return s
}

func mustVal(t *testing.T, id, num, want int) {
	t.Helper()
	if v, err := SemGetVal(id, num); err != nil || v != want {
		t.Fatalf("GETVAL %d: got %d, %v; want %d", num, v, err, want)
	}
}

func TestSemStat(t *testing.T) {
	before := time.Now().Unix()
	id := newSemSet(t, 3, 0640)
	s, err := SemStat(id)
	if err != nil {
		t.Fatal(err)
	}
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	if s.ID != id || s.Nsems != 3 || s.Perm.Mode&0777 != 0640 || s.Perm.Key != Private ||
		s.Perm.Uid != uid || s.Perm.Gid != gid || s.Perm.Cuid != uid || s.Perm.Cgid != gid ||
		s.Otime != 0 || s.Ctime < before-1 {
		t.Errorf("SemStat = %+v", s)
	}
	row := procRow(t, "sem", id)
	for col, got := range map[string]int64{
		"key": int64(s.Perm.Key), "nsems": int64(s.Nsems), "uid": int64(s.Perm.Uid), "gid": int64(s.Perm.Gid),
		"cuid": int64(s.Perm.Cuid), "cgid": int64(s.Perm.Cgid), "otime": s.Otime, "ctime": s.Ctime,
	} {
		if row[col] != strconv.FormatInt(got, 10) {
			t.Errorf("%s: SemStat %d, /proc %s", col, got, row[col])
		}
	}
	if row["perms"] != strconv.FormatUint(uint64(s.Perm.Mode), 8) {
		t.Errorf("perms: SemStat %o, /proc %s", s.Perm.Mode, row["perms"])
	}

	if err := SemSetPerm(id, 1234, 5678, 01600); err != nil {
		t.Fatal(err)
	}
	s2, err := SemStat(id)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Perm.Uid != 1234 || s2.Perm.Gid != 5678 || s2.Perm.Mode != 0600 || s2.Perm.Cuid != uid || s2.Nsems != 3 {
		t.Errorf("after SemSetPerm: %+v", s2)
	}
	row = procRow(t, "sem", id)
	if row["uid"] != "1234" || row["gid"] != "5678" || row["perms"] != "600" {
		t.Errorf("after SemSetPerm, /proc: %v", row)
	}

	if err := SemRemove(id); err != nil {
		t.Fatal(err)
	}
	if _, err := SemStat(id); err != unix.EINVAL {
		t.Errorf("SemStat of removed set: %v, want EINVAL", err)
	}
}

func TestSemGetKey(t *testing.T) {
	key := Key(0x5ea40000 + os.Getpid()&0xffff)
	id, err := SemGet(key, 2, Create|Exclusive|0600)
	if err != nil {
		t.Skipf("key %v taken: %v", key, err)
	}
	t.Cleanup(func() { SemRemove(id) })
	if _, err := SemGet(key, 2, Create|Exclusive|0600); err != unix.EEXIST {
		t.Errorf("exclusive again: %v, want EEXIST", err)
	}
	if got, err := SemGet(key, 0, 0); err != nil || got != id {
		t.Errorf("SemGet existing: %d, %v; want %d", got, err, id)
	}
	if _, err := SemGet(key, 5, 0); err != unix.EINVAL {
		t.Errorf("SemGet with more nsems: %v, want EINVAL", err)
	}
	if s, err := SemStat(id); err != nil || s.Perm.Key != key {
		t.Errorf("SemStat: %+v, %v", s, err)
	}
}

func TestSemValues(t *testing.T) {
	h := newHelper(t)
	id := newSemSet(t, 3, 0600)
	for num, v := range []int{5, 0, SemVMX} {
		if err := SemSetVal(id, num, v); err != nil {
			t.Fatalf("SETVAL %d: %v", num, err)
		}
	}
	if err := Semop(bg, nil, id, []SemOp{{Num: 0, Op: -2}, {Num: 1, Op: 3}}, 0); err != nil {
		t.Fatal(err)
	}
	all, err := SemGetAll(id, 1) // a short hint must not matter
	if err != nil || !slices.Equal(all, []uint16{3, 3, SemVMX}) {
		t.Fatalf("GETALL: %v, %v", all, err)
	}
	for num := range 3 {
		want := semState(h, id, num)
		v, _ := SemGetVal(id, num)
		n, _ := SemGetNcnt(id, num)
		z, _ := SemGetZcnt(id, num)
		p, err := SemGetPid(id, num)
		if err != nil || [4]int{v, n, z, p} != want || int(all[num]) != v {
			t.Errorf("sem %d: got %v, kernel via C %v (%v)", num, [4]int{v, n, z, p}, want, err)
		}
	}
	if p, _ := SemGetPid(id, 0); p != os.Getpid() {
		t.Errorf("GETPID = %d, want %d", p, os.Getpid())
	}
	pid := atoi(t, h.run("semop", strconv.Itoa(id), "1", "-1")[0])
	if p, _ := SemGetPid(id, 1); p != pid {
		t.Errorf("GETPID after another process's semop = %d, want %d", p, pid)
	}
	mustVal(t, id, 1, 2)
	if s, _ := SemStat(id); s.Otime == 0 {
		t.Errorf("otime not set after semop: %+v", s)
	}
}

func TestSemErrors(t *testing.T) {
	id := newSemSet(t, 2, 0600)
	if err := SemSetVal(id, 0, SemVMX+1); err != unix.ERANGE {
		t.Errorf("SETVAL SEMVMX+1: %v, want ERANGE", err)
	}
	if err := SemSetVal(id, 0, -1); err != unix.ERANGE {
		t.Errorf("SETVAL -1: %v, want ERANGE", err)
	}
	if err := SemSetVal(id, 0, SemVMX); err != nil {
		t.Fatal(err)
	}
	if err := Semop(bg, nil, id, []SemOp{{Num: 1, Op: 1}, {Num: 0, Op: 1}}, 0); err != unix.ERANGE {
		t.Errorf("semop past SEMVMX: %v, want ERANGE", err)
	}
	mustVal(t, id, 0, SemVMX)
	mustVal(t, id, 1, 0) // atomic: the first op was not applied
	if err := Semop(bg, nil, id, nil, 0); err != unix.EINVAL {
		t.Errorf("no ops: %v, want EINVAL", err)
	}
	if err := Semop(bg, nil, id, []SemOp{{Num: 2, Op: 1}}, 0); err != unix.EFBIG {
		t.Errorf("sem_num past nsems: %v, want EFBIG", err)
	}
	if _, err := SemGetVal(id, 2); err != unix.EINVAL {
		t.Errorf("GETVAL past nsems: %v, want EINVAL", err)
	}
	// NoWait: nothing changes, whichever op would block.
	if err := Semop(bg, nil, id, []SemOp{{Num: 1, Op: -1, Flags: NoWait}}, 0); err != unix.EAGAIN {
		t.Errorf("nowait P on 0: %v, want EAGAIN", err)
	}
	if err := Semop(bg, nil, id, []SemOp{{Num: 0, Op: -1}, {Num: 1, Op: -1, Flags: NoWait}}, 0); err != unix.EAGAIN {
		t.Errorf("nowait on the blocking op: %v, want EAGAIN", err)
	}
	mustVal(t, id, 0, SemVMX)
	// A timeout gives EAGAIN and changes nothing.
	if err := Semop(bg, nil, id, []SemOp{{Num: 0, Op: -1}, {Num: 1, Op: -1}}, 20*time.Millisecond); err != unix.EAGAIN {
		t.Errorf("timeout: %v, want EAGAIN", err)
	}
	if err := Semop(bg, nil, id, []SemOp{{Num: 0, Op: 0}}, time.Nanosecond); err != unix.EAGAIN {
		t.Errorf("timeout waiting for zero: %v, want EAGAIN", err)
	}
	mustVal(t, id, 0, SemVMX)
	mustVal(t, id, 1, 0)
	// Ops that can proceed succeed whatever the timeout.
	if err := Semop(bg, nil, id, []SemOp{{Num: 0, Op: -1, Flags: SemUndo}}, time.Nanosecond); err != nil {
		t.Errorf("op that can proceed, with timeout: %v", err)
	}
	mustVal(t, id, 0, SemVMX-1)
	if err := Semop(bg, nil, -1, []SemOp{{Num: 0, Op: 1}}, 0); err != unix.EINVAL {
		t.Errorf("bad id: %v, want EINVAL", err)
	}
}

// blockedSemop starts Semop in a goroutine and waits until the kernel
// counts it as waiting on semaphore num (zero: for zero, else increase).
func blockedSemop(t *testing.T, ctx context.Context, cred *Cred, id int, ops []SemOp, num int, zero bool) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- Semop(ctx, cred, id, ops, 0) }()
	get := SemGetNcnt
	if zero {
		get = SemGetZcnt
	}
	eventually(t, "the semop to wait", func() bool {
		select {
		case err := <-done:
			t.Fatalf("semop returned %v instead of waiting", err)
		default:
		}
		n, err := get(id, num)
		return err == nil && n == 1
	})
	return done
}

func TestSemBlocking(t *testing.T) {
	h := newHelper(t)
	id := newSemSet(t, 2, 0600)
	if err := SemSetVal(id, 1, 7); err != nil {
		t.Fatal(err)
	}
	done := blockedSemop(t, bg, nil, id, []SemOp{{Num: 0, Op: -2}, {Num: 1, Op: -1}}, 0, false)
	// The waiter leaves the kernel's queue for a moment whenever a
	// runtime signal interrupts it and Block retries: counts are polled.
	eventually(t, "semncnt 1 via C", func() bool { return semState(h, id, 0)[1] == 1 })
	mustVal(t, id, 1, 7) // nothing applied while waiting
	if err := Semop(bg, nil, id, []SemOp{{Num: 0, Op: 1}}, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "semncnt 1 after a too-small V", func() bool {
		n, err := SemGetNcnt(id, 0)
		return err == nil && n == 1
	})
	select {
	case err := <-done:
		t.Fatalf("semop returned %v after a too-small V", err)
	default:
	}
	if err := SemSetVal(id, 0, 2); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, "semop", done); err != nil {
		t.Fatalf("blocked semop: %v", err)
	}
	mustVal(t, id, 0, 0)
	mustVal(t, id, 1, 6)

	// Waiting for zero.
	done = blockedSemop(t, bg, nil, id, []SemOp{{Num: 1, Op: 0}}, 1, true)
	eventually(t, "semzcnt 1 via C", func() bool { return semState(h, id, 1)[2] == 1 })
	if err := SemSetVal(id, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, "semop", done); err != nil {
		t.Fatalf("wait for zero: %v", err)
	}
}

func TestSemTimeoutWhileBlocked(t *testing.T) {
	id := newSemSet(t, 1, 0600)
	if err := Semop(bg, nil, id, []SemOp{{Num: 0, Op: -1}}, 100*time.Millisecond); err != unix.EAGAIN {
		t.Errorf("timeout: %v, want EAGAIN", err)
	}
	if n, _ := SemGetNcnt(id, 0); n != 0 {
		t.Errorf("semncnt %d after timeout", n)
	}
	mustVal(t, id, 0, 0)
}

func TestSemCancel(t *testing.T) {
	id := newSemSet(t, 2, 0600)
	if err := SemSetVal(id, 1, 5); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	done := blockedSemop(t, ctx, nil, id, []SemOp{{Num: 1, Op: 1}, {Num: 0, Op: -1}}, 0, false)
	cancel()
	if err := wait(t, "semop", done); err != unix.EINTR {
		t.Errorf("cancelled semop: %v, want EINTR", err)
	}
	mustVal(t, id, 0, 0)
	mustVal(t, id, 1, 5)
	if n, _ := SemGetNcnt(id, 0); n != 0 {
		t.Errorf("semncnt %d after cancel", n)
	}

	// A context already done still lets an op that can proceed through,
	// as the fast path does not look at it, and stops one that would wait.
	if err := Semop(ctx, nil, id, []SemOp{{Num: 1, Op: -1}}, 0); err != nil {
		t.Errorf("op that can proceed under a done ctx: %v", err)
	}
	if err := Semop(ctx, nil, id, []SemOp{{Num: 0, Op: -1}}, 0); err != unix.EINTR {
		t.Errorf("op that would wait under a done ctx: %v, want EINTR", err)
	}
	mustVal(t, id, 1, 4)
}

func TestSemRemovedWhileBlocked(t *testing.T) {
	id := newSemSet(t, 1, 0600)
	done := blockedSemop(t, bg, nil, id, []SemOp{{Num: 0, Op: -1}}, 0, false)
	if err := SemRemove(id); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, "semop", done); err != unix.EIDRM {
		t.Errorf("semop on removed set: %v, want EIDRM", err)
	}
}

func TestSemCred(t *testing.T) {
	other := otherCred(t)
	priv := newSemSet(t, 1, 0600)
	if err := Semop(bg, other, priv, []SemOp{{Num: 0, Op: 1}}, 0); err != unix.EACCES {
		t.Errorf("semop without permission: %v, want EACCES", err)
	}
	if err := Semop(bg, other, priv, []SemOp{{Num: 0, Op: -1}}, 0); err != unix.EACCES {
		t.Errorf("would-wait semop without permission: %v, want EACCES", err)
	}
	mustVal(t, priv, 0, 0)

	open := newSemSet(t, 1, 0666)
	done := blockedSemop(t, bg, other, open, []SemOp{{Num: 0, Op: -1}}, 0, false)
	if err := Semop(bg, other, open, []SemOp{{Num: 0, Op: 1}}, 0); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, "semop", done); err != nil {
		t.Errorf("semop as another user: %v", err)
	}
	// The daemon's own identity is back on every thread.
	if os.Geteuid() != 0 {
		t.Errorf("euid %d after Semop", os.Geteuid())
	}
}

func TestSemSets(t *testing.T) {
	a := newSemSet(t, 1, 0600)
	b := newSemSet(t, 4, 0644)
	if err := SemSetPerm(b, 4321, 4321, 0); err != nil { // unreadable to its owner, listed anyway
		t.Fatal(err)
	}
	sets, err := SemSets()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{a, b} {
		want, err := SemStat(id)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(sets, func(s SemSet) bool { return s.ID == id })
		if i < 0 {
			t.Errorf("set %d not listed", id)
		} else if sets[i] != want {
			t.Errorf("listed %+v, IPC_STAT %+v", sets[i], want)
		}
		procRow(t, "sem", id) // the kernel lists it too
	}
}

func TestSemLimits(t *testing.T) {
	l, err := SemIPCInfo()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/sys/kernel/sem") // SEMMSL SEMMNS SEMOPM SEMMNI
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if got := [4]int{int(l.Semmsl), int(l.Semmns), int(l.Semopm), int(l.Semmni)}; got != [4]int{atoi(t, f[0]), atoi(t, f[1]), atoi(t, f[2]), atoi(t, f[3])} {
		t.Errorf("IPC_INFO %+v, /proc/sys/kernel/sem %v", l, f)
	}
	if l.Semvmx != SemVMX {
		t.Errorf("semvmx %d, want %d", l.Semvmx, SemVMX)
	}

	newSemSet(t, 5, 0600)
	u, err := SemUsage()
	if err != nil {
		t.Fatal(err)
	}
	// Other tests may make and remove sets meanwhile: bounds only.
	if u.Semusz < 1 || u.Semaem < 5 || u.Semmni != l.Semmni || u.Semvmx != SemVMX {
		t.Errorf("SEM_INFO %+v", u)
	}
}

func TestSemopAllocs(t *testing.T) {
	skipIfRace(t)
	id := newSemSet(t, 1, 0600)
	ops := []SemOp{{Num: 0, Op: 1}}
	n := testing.AllocsPerRun(100, func() {
		if err := Semop(bg, nil, id, ops, 0); err != nil {
			t.Fatal(err)
		}
	})
	if n > 0 {
		t.Errorf("fast-path Semop allocates %v times", n)
	}
}

// TestSemPresent: a set is present to any caller, one who may not read it
// too (as IPC_STAT's SEM_STAT_ANY fallback sees it), and not once removed.
func TestSemPresent(t *testing.T) {
	id := newSemSet(t, 3, 0600)
	if err := SemPresent(id); err != nil {
		t.Errorf("SemPresent of a set: %v", err)
	}
	other := &Cred{Uid: 4321, Gid: 4321}
	if err := other.Do(func() error { _, err := SemGetVal(id, 0); return err }); err != unix.EACCES {
		t.Fatalf("GETVAL by uid 4321 of a set of mode 0600: %v, want EACCES (the test needs a caller who may not read)", err)
	}
	if err := other.Do(func() error { return SemPresent(id) }); err != nil {
		t.Errorf("SemPresent by a caller who may not read the set: %v, want nil", err)
	}
	if err := SemRemove(id); err != nil {
		t.Fatal(err)
	}
	if err := SemPresent(id); err != unix.EINVAL && err != unix.EIDRM {
		t.Errorf("SemPresent of a removed set: %v, want EINVAL or EIDRM", err)
	}
}
