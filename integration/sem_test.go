package integration

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Tests of sem/: every write through the mount is compared with the same
// semop or semctl made directly, most often on a twin set. Helpers here
// are named sem* to keep clear of the other files' helpers; each object
// and process they make is removed or ended when the test ends.

// --- direct syscalls ---

// semBuf is the kernel's struct sembuf.
type semBuf struct {
	Num uint16
	Op  int16
	Flg int16
}

const semUNDO = 0x1000 // SEM_UNDO

// semctl commands from linux/sem.h.
const (
	semGETPID  = 11
	semGETVAL  = 12
	semGETALL  = 13
	semGETNCNT = 14
	semGETZCNT = 15
	semSETVAL  = 16
)

// semDs is the kernel's 64-bit struct semid64_ds.
type semDs struct {
	Perm  unix.SysvIpcPerm
	Otime int64
	_     uint64
	Ctime int64
	_     uint64
	Nsems uint64
	_     [2]uint64
}

func semctlRaw(id, num, cmd int, arg uintptr) (int, syscall.Errno) {
	r, _, e := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), uintptr(num), uintptr(cmd), arg, 0, 0)
	return int(r), e
}

// semRaw is semtimedop made directly by the test (timeout 0: none). It
// must not carry SEM_UNDO: the test process outlives every set.
func semRaw(id int, ops []semBuf, timeout time.Duration) syscall.Errno {
	deadline := time.Now().Add(timeout)
	for {
		var ts *unix.Timespec
		if timeout > 0 {
			t := unix.NsecToTimespec(int64(max(time.Until(deadline), 0)))
			ts = &t
		}
		_, _, e := unix.Syscall6(unix.SYS_SEMTIMEDOP, uintptr(id), uintptr(unsafe.Pointer(&ops[0])), uintptr(len(ops)), uintptr(unsafe.Pointer(ts)), 0, 0)
		// The Go runtime's own preemption signal (SIGURG) can end a wait
		// with EINTR; nobody else signals the test process.
		if e != syscall.EINTR {
			return e
		}
	}
}

// semMustOp is a direct semop that must succeed.
func semMustOp(t testing.TB, id int, ops ...semBuf) {
	t.Helper()
	if e := semRaw(id, ops, 0); e != 0 {
		t.Fatalf("semop %d %v: %v", id, ops, e)
	}
}

// semNew makes a set directly, removed when the test ends.
func semNew(t testing.TB, key uint32, nsems, mode int) int {
	t.Helper()
	r, _, e := unix.Syscall(unix.SYS_SEMGET, uintptr(int32(key)), uintptr(nsems), uintptr(unix.IPC_CREAT|unix.IPC_EXCL|mode))
	if e != 0 {
		t.Fatalf("semget(%#x, %d): %v", key, nsems, e)
	}
	id := int(r)
	semRemoveIDLater(t, id)
	return id
}

// semNewPrivate makes an IPC_PRIVATE set directly.
func semNewPrivate(t testing.TB, nsems, mode int) int {
	t.Helper()
	r, _, e := unix.Syscall(unix.SYS_SEMGET, unix.IPC_PRIVATE, uintptr(nsems), uintptr(unix.IPC_CREAT|mode))
	if e != 0 {
		t.Fatalf("semget(IPC_PRIVATE, %d): %v", nsems, e)
	}
	id := int(r)
	semRemoveIDLater(t, id)
	return id
}

func semRemoveIDLater(t testing.TB, id int) {
	t.Cleanup(func() { semctlRaw(id, 0, unix.IPC_RMID, 0) })
}

// semRemoveKeyLater removes whatever set holds key when the test ends.
func semRemoveKeyLater(t testing.TB, key uint32) {
	t.Cleanup(func() {
		if id, err := semIDOf(key); err == 0 {
			semctlRaw(id, 0, unix.IPC_RMID, 0)
		}
	})
}

// semIDOf is semget(key, 0, 0).
func semIDOf(key uint32) (int, syscall.Errno) {
	r, _, e := unix.Syscall(unix.SYS_SEMGET, uintptr(int32(key)), 0, 0)
	return int(r), e
}

// semStat is IPC_STAT made directly.
func semStat(t testing.TB, id int) semDs {
	t.Helper()
	var d semDs
	if _, e := semctlRaw(id, 0, unix.IPC_STAT, uintptr(unsafe.Pointer(&d))); e != 0 {
		t.Fatalf("semctl(%d, IPC_STAT): %v", id, e)
	}
	return d
}

// semGone reports whether IPC_STAT says set id no longer exists.
func semGone(id int) bool {
	var d semDs
	_, e := semctlRaw(id, 0, unix.IPC_STAT, uintptr(unsafe.Pointer(&d)))
	return e == unix.EINVAL || e == unix.EIDRM
}

// semSetPermDirect is IPC_SET made directly.
func semSetPermDirect(t testing.TB, id int, uid, gid, mode uint32) {
	t.Helper()
	var d semDs
	d.Perm.Uid, d.Perm.Gid, d.Perm.Mode = uid, gid, mode
	if _, e := semctlRaw(id, 0, unix.IPC_SET, uintptr(unsafe.Pointer(&d))); e != 0 {
		t.Fatalf("semctl(%d, IPC_SET): %v", id, e)
	}
}

func semGet(t testing.TB, id, num, cmd int) int {
	t.Helper()
	v, e := semctlRaw(id, num, cmd, 0)
	if e != 0 {
		t.Fatalf("semctl(%d, %d, %d): %v", id, num, cmd, e)
	}
	return v
}

func semVal(t testing.TB, id, num int) int  { t.Helper(); return semGet(t, id, num, semGETVAL) }
func semNcnt(t testing.TB, id, num int) int { t.Helper(); return semGet(t, id, num, semGETNCNT) }
func semZcnt(t testing.TB, id, num int) int { t.Helper(); return semGet(t, id, num, semGETZCNT) }
func semPid(t testing.TB, id, num int) int  { t.Helper(); return semGet(t, id, num, semGETPID) }

// semVals reads every value of a set with GETVAL.
func semVals(t testing.TB, id int) []int {
	t.Helper()
	n := int(semStat(t, id).Nsems)
	vals := make([]int, n)
	for i := range vals {
		vals[i] = semVal(t, id, i)
	}
	return vals
}

// semSetVals sets the first len(vals) semaphores with SETVAL.
func semSetVals(t testing.TB, id int, vals ...int) {
	t.Helper()
	for i, v := range vals {
		if _, e := semctlRaw(id, i, semSETVAL, uintptr(v)); e != 0 {
			t.Fatalf("SETVAL %d[%d]=%d: %v", id, i, v, e)
		}
	}
}

// semSetValErrno is SETVAL made directly, returning its errno.
func semSetValErrno(id, num, v int) syscall.Errno {
	_, e := semctlRaw(id, num, semSETVAL, uintptr(v))
	return e
}

// semLimits reads /proc/sys/kernel/sem: SEMMSL SEMMNS SEMOPM SEMMNI.
func semLimits(t testing.TB) (msl, mns, opm, mni int) {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/sem")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscan(string(b), &msl, &mns, &opm, &mni); err != nil {
		t.Fatalf("/proc/sys/kernel/sem %q: %v", b, err)
	}
	return
}

// --- through the mount ---

// semTryWrite opens path O_WRONLY|flags and writes text in one write(2),
// returning how many bytes it wrote and the errno (0 on success). It
// never stops the test, so goroutines may use it.
func semTryWrite(path, text string, flags int) (int, syscall.Errno) {
	fd, err := syscall.Open(path, syscall.O_WRONLY|flags, 0)
	if err != nil {
		return 0, errnoOf(err)
	}
	defer syscall.Close(fd)
	n, err := syscall.Write(fd, []byte(text))
	if err != nil {
		return 0, errnoOf(err)
	}
	return n, 0
}

// semWriteErr is a write through the mount that must succeed whole, for
// goroutines: it returns what went wrong.
func semWriteErr(path, text string) error {
	n, e := semTryWrite(path, text, 0)
	if e != 0 || n != len(text) {
		return fmt.Errorf("write %q to %s: %d bytes, %v", text, path, n, e)
	}
	return nil
}

// semWrite is semTryWrite for the test's goroutine, where a short write
// is a failure of the test; it returns the errno.
func semWrite(t testing.TB, path, text string, flags int) syscall.Errno {
	t.Helper()
	n, e := semTryWrite(path, text, flags)
	if e == 0 && n != len(text) {
		t.Fatalf("write %q to %s: %d bytes written", text, path, n)
	}
	return e
}

// semMustWrite is a write through the mount that must succeed.
func semMustWrite(t testing.TB, path, text string) {
	t.Helper()
	if e := semWrite(t, path, text, 0); e != 0 {
		t.Fatalf("write %q to %s: %v", text, path, e)
	}
}

// semRead reads a whole file through the mount.
func semRead(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

// semPoll waits for an eventual condition with a generous deadline.
func semPoll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	semPollFor(t, 30*time.Second, what, cond)
}

func semPollFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// semAnswers runs fn, which makes requests to the mount, and fails the
// test if it has not returned after a generous deadline: a request that
// never answers is a hang, not a slow answer.
func semAnswers(t testing.TB, what string, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not answer while a writer waits", what)
	}
}

// --- processes ---

// semProc is a process the test started: a C helper, or bash doing its
// I/O through the mount. It runs in a process group of its own, killed
// whole when the test ends.
type semProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
	err   error // once done is closed
	mu    sync.Mutex
	rest  []string // lines not yet taken
}

// semStart starts a program; its stdout is read line by line.
func semStart(t testing.TB, name string, args ...string) *semProc {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &semProc{cmd: cmd, stdin: stdin, lines: make(chan string, 1<<12), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
		p.err = cmd.Wait()
		close(p.lines)
		close(p.done)
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-p.done:
			return
		default:
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Errorf("%v did not end on SIGKILL", cmd.Args)
		}
	})
	return p
}

// semBash runs a bash script in the background.
func semBash(t testing.TB, script string) *semProc {
	t.Helper()
	return semStart(t, "bash", "-c", script)
}

// semTool starts integration/c/semtool.
func semTool(t testing.TB, args ...string) *semProc {
	t.Helper()
	return semStart(t, cProgram(t, "semtool"), args...)
}

// line waits for the next line the process prints.
func (p *semProc) line(t testing.TB) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatalf("%v ended (%v) without printing a line", p.cmd.Args, p.err)
		}
		return l
	case <-time.After(120 * time.Second):
		t.Fatalf("%v printed no line", p.cmd.Args)
	}
	return ""
}

// errnoLine waits for the errno the process prints.
func (p *semProc) errnoLine(t testing.TB) syscall.Errno {
	t.Helper()
	l := p.line(t)
	n, err := strconv.Atoi(strings.TrimSpace(l))
	if err != nil {
		t.Fatalf("%v printed %q, not an errno", p.cmd.Args, l)
	}
	return syscall.Errno(n)
}

// exited reports whether the process has ended (and been reaped).
func (p *semProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to end and returns what it printed that no
// line call took, and how it ended.
func (p *semProc) wait(t testing.TB) (string, error) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(120 * time.Second):
		t.Fatalf("%v did not end", p.cmd.Args)
	}
	var b strings.Builder
	for l := range p.lines {
		b.WriteString(l + "\n")
	}
	return b.String(), p.err
}

// mustSucceed waits for the process and fails the test unless it exited 0.
func (p *semProc) mustSucceed(t testing.TB) string {
	t.Helper()
	out, err := p.wait(t)
	if err != nil {
		t.Errorf("%v: %v (printed %q)", p.cmd.Args, err, out)
	}
	return out
}

// release closes its stdin: a holder exits normally.
func (p *semProc) release() { p.stdin.Close() }

// semWaitCounts waits until semaphore num of id has ncnt tasks waiting for
// an increase and zcnt for zero.
func semWaitCounts(t testing.TB, id, num, ncnt, zcnt int) {
	t.Helper()
	semPollFor(t, 120*time.Second, fmt.Sprintf("set %d semaphore %d has semncnt %d semzcnt %d", id, num, ncnt, zcnt), func() bool {
		return semNcnt(t, id, num) == ncnt && semZcnt(t, id, num) == zcnt
	})
}

// semDaemonFigures reads Threads and VmRSS (kB) from /proc/PID/status.
func semDaemonFigures(t testing.TB, pid int) (threads, rssKB int) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "Threads:" {
			threads, _ = strconv.Atoi(f[1])
		}
		if len(f) >= 2 && f[0] == "VmRSS:" {
			rssKB, _ = strconv.Atoi(f[1])
		}
	}
	return
}

// semSearchBits is the x a set's folder shows: one for each class that has
// r or w.
func semSearchBits(mode uint32) uint32 {
	var x uint32
	for shift := 0; shift < 9; shift += 3 {
		if mode>>shift&06 != 0 {
			x |= 1 << shift
		}
	}
	return x
}

// semCheckStat compares stat of a set's folder and of its files with
// IPC_STAT.
func semCheckStat(t testing.TB, dir string, id int) syscall.Stat_t {
	t.Helper()
	d := semStat(t, id)
	st := statOf(t, dir)
	mode := uint32(d.Perm.Mode & 0777)
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		t.Errorf("%s: mode %o, want a directory", dir, st.Mode)
	}
	if st.Mode&0777 != mode|semSearchBits(mode) {
		t.Errorf("%s: mode %o, IPC_STAT says %o (so %o with search bits)", dir, st.Mode&0777, mode, mode|semSearchBits(mode))
	}
	if st.Uid != d.Perm.Uid || st.Gid != d.Perm.Gid {
		t.Errorf("%s: owner %d:%d, IPC_STAT says %d:%d", dir, st.Uid, st.Gid, d.Perm.Uid, d.Perm.Gid)
	}
	wantM := d.Otime
	if wantM == 0 {
		wantM = d.Ctime
	}
	if st.Ctim.Sec != d.Ctime || st.Mtim.Sec != wantM {
		t.Errorf("%s: mtime %d ctime %d, IPC_STAT says otime %d ctime %d", dir, st.Mtim.Sec, st.Ctim.Sec, d.Otime, d.Ctime)
	}
	// A set's files show its owner and mode too; their attributes may be
	// up to a second old (the contract's bound), so a change shows within
	// that.
	names := []string{"semop"}
	for i := 0; i < int(d.Nsems) && i < 4; i++ {
		names = append(names, strconv.Itoa(i))
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, name := range names {
		for {
			fst := statOf(t, dir+"/"+name)
			if fst.Mode&syscall.S_IFMT == syscall.S_IFREG && fst.Mode&0777 == mode && fst.Uid == d.Perm.Uid && fst.Gid == d.Perm.Gid {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s/%s: mode %o owner %d:%d; IPC_STAT says mode %o owner %d:%d", dir, name, fst.Mode, fst.Uid, fst.Gid, mode, d.Perm.Uid, d.Perm.Gid)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return st
}

// semStatusRows parses sem/NAME/status: semaphore number -> column -> cell.
func semStatusRows(t testing.TB, path string) []map[string]string {
	t.Helper()
	rows, err := semTryStatus(path)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// semTryStatus reads and parses sem/NAME/status; it never stops the test.
func semTryStatus(path string) ([]map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	head := strings.Fields(lines[0])
	var rows []map[string]string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != len(head) {
			return nil, fmt.Errorf("%s: row %q does not match header %q", path, l, lines[0])
		}
		row := map[string]string{}
		for i, h := range head {
			row[h] = f[i]
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return rows, nil
}

// semTryRead reads a file through the mount; it never stops the test.
func semTryRead(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// --- listing and lookup ---

// TestSemListing: sets made directly show as folders named as ipcs names
// them, with files 0..nsems-1, semop and status; stat matches IPC_STAT;
// every spelling of a key, and id-N, finds the same folder; reads give
// the values semctl gives.
func TestSemListing(t *testing.T) {
	m := mount(t)
	k1, k2 := newKey(), newKey()
	id1 := semNew(t, k1, 3, 0640)
	id2 := semNew(t, k2, 1, 0604)
	idp := semNewPrivate(t, 2, 0600)
	kBig := newKey()
	idBig := semNew(t, kBig, 250, 0600)
	kGone := newKey()
	idGone := semNew(t, kGone, 1, 0600)
	semctlRaw(idGone, 0, unix.IPC_RMID, 0)

	listed := strings.Fields(mustSh(t, "ls -1 "+m.Path("sem")))
	for _, name := range []string{"create", "remove", "status", keyName(k1), keyName(k2), keyName(kBig), fmt.Sprintf("id-%d", idp)} {
		if !slices.Contains(listed, name) {
			t.Errorf("ls sem does not list %s: %q", name, listed)
		}
	}
	for _, name := range []string{keyName(kGone), fmt.Sprintf("id-%d", id1), fmt.Sprintf("id-%d", idGone)} {
		if slices.Contains(listed, name) {
			t.Errorf("ls sem lists %s", name)
		}
	}

	for name, c := range map[string]struct{ id, n int }{
		keyName(k1): {id1, 3}, keyName(k2): {id2, 1}, fmt.Sprintf("id-%d", idp): {idp, 2}, keyName(kBig): {idBig, 250},
	} {
		dir := m.Path("sem", name)
		want := []string{"semop", "status"}
		for i := 0; i < c.n; i++ {
			want = append(want, strconv.Itoa(i))
		}
		got := strings.Fields(mustSh(t, "ls -1 "+dir))
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("ls %s: %q, want %q", name, got, want)
		}
		semCheckStat(t, dir, c.id)
		// ls -l reads every entry with its attributes: the set's mode for
		// each file, without w for status.
		out := mustSh(t, "ls -l "+dir)
		if strings.Count(out, "\n") != c.n+3 {
			t.Errorf("ls -l %s: %d lines for %d semaphores:\n%s", name, strings.Count(out, "\n"), c.n, out)
		}
		fileMode := os.FileMode(statOf(t, dir+"/0").Mode & 0777)
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			f := strings.Fields(line)
			want := fileMode
			if f[len(f)-1] == "status" {
				want &^= 0222
			}
			if f[0] != want.String() {
				t.Errorf("ls -l %s: %q, want mode %s", name, line, want)
			}
		}
		// Past the end, and names that are not plain numbers.
		for _, bad := range []string{strconv.Itoa(c.n), strconv.Itoa(c.n + 1), "00", "+0", "-0", "0x0", " 0", "65536", "semop2", "x"} {
			if e := statErrno(dir + "/" + bad); e != syscall.ENOENT {
				t.Errorf("stat %s/%q: %v, want ENOENT", name, bad, e)
			}
		}
	}

	// Other spellings of a key, and id-N of a keyed set: the same folder.
	st := statOf(t, m.Path("sem", keyName(k1)))
	short := fmt.Sprintf("0x%x", k1)
	for _, s := range []string{short, strings.ToUpper(short), "0X" + strings.ToUpper(short[2:]), "0x00" + short[2:], fmt.Sprintf("id-%d", id1)} {
		if got := semCheckStat(t, m.Path("sem", s), id1); got.Ino != st.Ino {
			t.Errorf("%s: ino %d, %s has %d", s, got.Ino, keyName(k1), st.Ino)
		}
		if got := semRead(t, m.Path("sem", s, "2")); got != "0\n" {
			t.Errorf("read %s/2: %q", s, got)
		}
	}
	if e := statErrno(m.Path("sem", keyName(kGone))); e != syscall.ENOENT {
		t.Errorf("stat of a removed set: %v, want ENOENT", e)
	}
	if e := statErrno(m.Path("sem", fmt.Sprintf("id-%d", idGone))); e != syscall.ENOENT {
		t.Errorf("stat id-N of a removed set: %v, want ENOENT", e)
	}

	// Reads: K gives its value and a newline, semop all values, status a
	// row per semaphore as semctl tells.
	semSetVals(t, id1, 7, 0, 32767)
	semMustOp(t, id1, semBuf{1, 4, 0})
	for i, want := range []string{"7\n", "4\n", "32767\n"} {
		if got := semRead(t, m.Path("sem", keyName(k1), strconv.Itoa(i))); got != want {
			t.Errorf("read %d: %q, want %q", i, got, want)
		}
	}
	if got := semRead(t, m.Path("sem", keyName(k1), "semop")); got != "7 4 32767\n" {
		t.Errorf("read semop: %q", got)
	}
	if got := mustSh(t, "cat "+m.Path("sem", keyName(k1), "1")); got != "4\n" {
		t.Errorf("cat 1: %q", got)
	}
	rows := semStatusRows(t, m.Path("sem", keyName(k1), "status"))
	if len(rows) != 3 {
		t.Fatalf("status: %d rows for 3 semaphores", len(rows))
	}
	for i, row := range rows {
		want := map[string]int{"value": semVal(t, id1, i), "semncnt": semNcnt(t, id1, i), "semzcnt": semZcnt(t, id1, i), "sempid": semPid(t, id1, i)}
		for col, v := range want {
			if row[col] != strconv.Itoa(v) {
				t.Errorf("status row %d: %s %q, semctl says %d", i, col, row[col], v)
			}
		}
	}
	// The folder's mtime is the last semop's time.
	semCheckStat(t, m.Path("sem", keyName(k1)), id1)
}

// TestSemFolderLinks: sem/ has the link count of a directory holding one
// folder per set the kernel lists (2 and one for each `..`), at once
// after a set is made or removed; a set's folder holds no folder (2), and
// shm/ and msg/ hold none. Sets other tests make at the same time may
// move the kernel's count: each check retries until a stat falls between
// two equal counts.
func TestSemFolderLinks(t *testing.T) {
	m := mount(t)
	kernelSets := func() int {
		b, err := os.ReadFile("/proc/sysvipc/sem")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "\n") - 1 // a header line
	}
	check := func(when string) {
		t.Helper()
		var got uint64
		var before, after int
		for range 50 {
			before = kernelSets()
			got = statOf(t, m.Path("sem")).Nlink
			if after = kernelSets(); before == after && got == uint64(2+after) {
				return
			}
		}
		t.Errorf("sem/ %s: nlink %d; the kernel lists %d sets (then %d): want 2 more", when, got, before, after)
	}
	check("at first")
	key := newKey()
	id := semNew(t, key, 2, 0600)
	check("after semget")
	if n := statOf(t, m.Path("sem", keyName(key))).Nlink; n != 2 {
		t.Errorf("a set's folder: nlink %d, want 2", n)
	}
	made := newKey()
	semRemoveKeyLater(t, made)
	mustSh(t, "echo "+keyName(made)+" 1 > "+m.Path("sem", "create"))
	check("after a create through the mount")
	semctlRaw(id, 0, unix.IPC_RMID, 0)
	check("after IPC_RMID")
	for _, kind := range []string{"shm", "msg"} {
		if n := statOf(t, m.Path(kind)).Nlink; n != 2 {
			t.Errorf("%s/: nlink %d, want 2", kind, n)
		}
	}
}

// TestSemRmdirRm: rmdir is IPC_RMID; rm of a set is EISDIR; files in a
// set cannot be removed; sem/remove removes named sets, or none.
func TestSemRmdirRm(t *testing.T) {
	m := mount(t)
	k := newKey()
	id := semNew(t, k, 2, 0600)
	if err := syscall.Unlink(m.Path("sem", keyName(k))); errnoOf(err) != syscall.EISDIR {
		t.Errorf("unlink of a set: %v, want EISDIR", err)
	}
	if _, errs, err := sh(t, "rm "+m.Path("sem", keyName(k))); err == nil || !strings.Contains(errs, "directory") {
		t.Errorf("rm of a set: %v %q", err, errs)
	}
	if err := syscall.Rmdir(m.Path("sem", keyName(k), "0")); errnoOf(err) != syscall.ENOTDIR {
		t.Errorf("rmdir of a semaphore file: %v, want ENOTDIR", err)
	}
	for _, name := range []string{"0", "1", "semop", "status"} {
		if err := syscall.Unlink(m.Path("sem", keyName(k), name)); errnoOf(err) != syscall.EPERM {
			t.Errorf("unlink of %s in a set: %v, want EPERM", name, err)
		}
		if e := statErrno(m.Path("sem", keyName(k), name)); e != 0 {
			t.Errorf("stat %s after a refused unlink: %v", name, e)
		}
	}
	if err := syscall.Mkdir(m.Path("sem", keyName(k), "5"), 0755); err == nil {
		t.Error("mkdir in a set succeeded")
	}
	if fd, err := syscall.Open(m.Path("sem", keyName(k), "5"), syscall.O_CREAT|syscall.O_WRONLY, 0644); err == nil {
		syscall.Close(fd)
		t.Error("creating a file in a set succeeded")
	}
	if semGone(id) || int(semStat(t, id).Nsems) != 2 {
		t.Fatal("refused removals changed the set")
	}
	mustSh(t, "rmdir "+m.Path("sem", keyName(k)))
	if !semGone(id) {
		t.Error("rmdir left the set")
	}
	if e := statErrno(m.Path("sem", keyName(k))); e != syscall.ENOENT {
		t.Errorf("stat after rmdir: %v", e)
	}

	// Other spellings, and id-N of a private set.
	k2 := newKey()
	id2 := semNew(t, k2, 1, 0600)
	if err := syscall.Rmdir(m.Path("sem", strings.ToUpper(fmt.Sprintf("0x%x", k2)))); err != nil {
		t.Errorf("rmdir of the upper-case spelling: %v", err)
	}
	idp := semNewPrivate(t, 1, 0600)
	if err := syscall.Rmdir(m.Path("sem", fmt.Sprintf("id-%d", idp))); err != nil {
		t.Errorf("rmdir id-%d: %v", idp, err)
	}
	if !semGone(id2) || !semGone(idp) {
		t.Error("rmdir left a set")
	}

	// sem/remove: several names; one unknown name removes none.
	kA, kB := newKey(), newKey()
	idA, idB := semNew(t, kA, 1, 0600), semNew(t, kB, 1, 0600)
	idC := semNewPrivate(t, 1, 0600)
	remove := m.Path("sem", "remove")
	if e := writeControl(t, remove, fmt.Sprintf("%s %s id-%d\n", keyName(kA), keyName(newKey()), idC)); e != syscall.ENOENT {
		t.Errorf("remove with an unknown name: %v, want ENOENT", e)
	}
	if semGone(idA) || semGone(idC) {
		t.Fatal("a remove with an unknown name removed a set")
	}
	if e := writeControl(t, remove, fmt.Sprintf("%s\t0X%X\nid-%d\n", keyName(kA), kB, idC)); e != 0 {
		t.Errorf("remove: %v", e)
	}
	if !semGone(idA) || !semGone(idB) || !semGone(idC) {
		t.Error("remove left a set")
	}
}

// TestSemChmodChown: chmod and chown of a set's folder, or of any of its
// files, are IPC_SET, with the outcome of IPC_SET made directly on a twin.
func TestSemChmodChown(t *testing.T) {
	m := mount(t)
	k, kt := newKey(), newKey()
	id := semNew(t, k, 2, 0600)
	twin := semNew(t, kt, 2, 0600)
	dir := m.Path("sem", keyName(k))
	compare := func(what string) {
		t.Helper()
		got, want := semStat(t, id).Perm, semStat(t, twin).Perm
		if got.Uid != want.Uid || got.Gid != want.Gid || got.Cuid != want.Cuid || got.Cgid != want.Cgid || got.Mode != want.Mode {
			t.Errorf("%s: through the mount %d:%d (creator %d:%d) mode %o; directly %d:%d (creator %d:%d) mode %o",
				what, got.Uid, got.Gid, got.Cuid, got.Cgid, got.Mode, want.Uid, want.Gid, want.Cuid, want.Cgid, want.Mode)
		}
		semCheckStat(t, dir, id)
	}
	for _, c := range []struct {
		what            string
		script          string
		uid, gid, mode  uint32
		throughSyscalls func() error
	}{
		{"chmod 0640 of the folder", "chmod 0640 " + dir, 0, 0, 0640, nil},
		{"chmod 0600 of a semaphore file", "chmod 0600 " + dir + "/1", 0, 0, 0600, nil},
		{"chmod 0666 of semop", "chmod 0666 " + dir + "/semop", 0, 0, 0666, nil},
		{"chown 1000:1000 of the folder", "chown 1000:1000 " + dir, 1000, 1000, 0666, nil},
		{"chgrp 55 of a file", "chgrp 55 " + dir + "/0", 1000, 55, 0666, nil},
		{"chmod 4755 drops the high bits", "", 1000, 55, 0755, func() error { return syscall.Chmod(dir, 04755) }},
		{"chown 0:0 of a file", "", 0, 0, 0755, func() error { return os.Chown(dir+"/0", 0, 0) }},
		{"chmod 0", "chmod 0 " + dir, 0, 0, 0, nil},
	} {
		if c.throughSyscalls != nil {
			if err := c.throughSyscalls(); err != nil {
				t.Errorf("%s: %v", c.what, err)
			}
		} else {
			mustSh(t, c.script)
		}
		semSetPermDirect(t, twin, c.uid, c.gid, c.mode)
		compare(c.what)
	}
	if n := semStat(t, id).Nsems; n != 2 {
		t.Errorf("nsems changed to %d", n)
	}
}

// TestSemSetAfterKeyRemade: a set removed and made again under its key
// is the new set at once through every path into its folder, though the
// kernel keeps the folder's entry for a second: its status, a chmod,
// chown or touch of the folder, and a listing (ESTALE at the open makes
// the kernel look the path up again; ENOENT, EINVAL or an fstat's ESTALE
// would reach the caller).
func TestSemSetAfterKeyRemade(t *testing.T) {
	m := mount(t)
	key := newKey()
	semRemoveKeyLater(t, key)
	dir := m.Path("sem", keyName(key))
	create := func() int {
		t.Helper()
		if err := os.WriteFile(m.Path("sem", "create"), []byte(keyName(key)+" 2 0666"), 0); err != nil {
			t.Fatal(err)
		}
		id, e := semIDOf(key)
		if e != 0 {
			t.Fatal(e)
		}
		return id
	}
	for _, c := range []struct {
		what string
		do   func(id int) error
	}{
		{"cat status", func(id int) error {
			b, err := os.ReadFile(dir + "/status")
			if err == nil && strings.Count(string(b), "\n") != 3 { // a heading and two rows
				err = fmt.Errorf("status %q", b)
			}
			return err
		}},
		{"chmod", func(id int) error {
			if err := syscall.Chmod(dir, 0640); err != nil {
				return err
			}
			if mode := semStat(t, id).Perm.Mode & 0777; mode != 0640 {
				return fmt.Errorf("mode %o", mode)
			}
			return nil
		}},
		{"chown", func(id int) error { return os.Chown(dir, 0, 0) }},
		{"touch", func(id int) error { return unix.UtimesNano(dir, nil) }},
		{"listing", func(id int) error {
			names, err := os.ReadDir(dir)
			if err == nil && len(names) != 4 {
				err = fmt.Errorf("listed %v", names)
			}
			return err
		}},
	} {
		old := create()
		// The folder's entry and its status file's are in the kernel now.
		if _, err := os.ReadFile(dir + "/status"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(m.Path("sem", "remove"), []byte(keyName(key)), 0); err != nil {
			t.Fatal(err)
		}
		id := create()
		if id == old {
			t.Fatalf("the set made again has the old id %d", id)
		}
		if err := c.do(id); err != nil {
			t.Errorf("%s of a set made again under its key: %v", c.what, err)
		}
		semctlRaw(id, 0, unix.IPC_RMID, 0)
	}
}

// --- create ---

// TestSemCreate: `KEY NSEMS [MODE]` written to sem/create makes what
// semget(KEY, NSEMS, IPC_CREAT|IPC_EXCL|MODE) makes directly; the handle
// answers the name; taken keys and what semget refuses fail as semget
// fails; bad input is EINVAL; nothing is made by a failure.
func TestSemCreate(t *testing.T) {
	m := mount(t)
	create := m.Path("sem", "create")
	for _, c := range []struct {
		key      func(uint32) string
		nsems    string
		mode     string
		wantN    int
		wantMode uint32
	}{
		{func(k uint32) string { return fmt.Sprintf("0x%x", k) }, "2", "", 2, 0644},
		{func(k uint32) string { return fmt.Sprintf("0X%X", k) }, "1", "0600", 1, 0600},
		{func(k uint32) string { return fmt.Sprint(k) }, "10", "640", 10, 0640},
		{func(k uint32) string { return keyName(k) }, "250", "0", 250, 0},
		{func(k uint32) string { return keyName(k) }, "3", "0777", 3, 0777},
	} {
		key, twinKey := newKey(), newKey()
		semRemoveKeyLater(t, key)
		text := c.key(key) + " " + c.nsems
		if c.mode != "" {
			text += " " + c.mode
		}
		if e := writeControl(t, create, text+"\n"); e != 0 {
			t.Errorf("create %q: %v", text, e)
			continue
		}
		id, e := semIDOf(key)
		if e != 0 {
			t.Errorf("create %q: semget finds nothing: %v", text, e)
			continue
		}
		twin := semNew(t, twinKey, c.wantN, int(c.wantMode))
		got, want := semStat(t, id), semStat(t, twin)
		if int(got.Nsems) != c.wantN || got.Perm.Mode != c.wantMode {
			t.Errorf("create %q: nsems %d mode %o, want %d %o", text, got.Nsems, got.Perm.Mode, c.wantN, c.wantMode)
		}
		if got.Nsems != want.Nsems || got.Perm.Mode != want.Perm.Mode || got.Perm.Uid != want.Perm.Uid || got.Perm.Gid != want.Perm.Gid ||
			got.Perm.Cuid != want.Perm.Cuid || got.Perm.Cgid != want.Perm.Cgid || got.Otime != want.Otime {
			t.Errorf("create %q: %+v; semget directly: %+v", text, got, want)
		}
		if vals := semVals(t, id); slices.ContainsFunc(vals, func(v int) bool { return v != 0 }) {
			t.Errorf("create %q: values %v, want all 0", text, vals)
		}
		semCheckStat(t, m.Path("sem", keyName(key)), id)
	}

	// The handle answers the new name; a private set answers id-N.
	key := newKey()
	semRemoveKeyLater(t, key)
	if out := mustSh(t, fmt.Sprintf("exec 3<>%s; echo '%#x 2' >&3; read name <&3; echo \"$name\"", create, key)); out != keyName(key)+"\n" {
		t.Errorf("the answer to create: %q, want %q", out, keyName(key)+"\n")
	}
	out := mustSh(t, fmt.Sprintf("exec 3<>%s; echo 'private 3 0600' >&3; read name <&3; echo \"$name\"", create))
	var idp int
	if _, err := fmt.Sscanf(out, "id-%d\n", &idp); err != nil {
		t.Fatalf("the answer to a private create: %q", out)
	}
	semRemoveIDLater(t, idp)
	if d := semStat(t, idp); d.Perm.Key != 0 || d.Nsems != 3 || d.Perm.Mode != 0600 {
		t.Errorf("private create: key %#x nsems %d mode %o", d.Perm.Key, d.Nsems, d.Perm.Mode)
	}
	if st := statOf(t, m.Path("sem", fmt.Sprintf("id-%d", idp))); st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		t.Errorf("the private set is not a folder: %o", st.Mode)
	}

	// A taken key: EEXIST, as semget with IPC_EXCL says; nothing changes.
	kTaken := newKey()
	idTaken := semNew(t, kTaken, 2, 0600)
	_, _, direct := unix.Syscall(unix.SYS_SEMGET, uintptr(int32(kTaken)), 2, uintptr(unix.IPC_CREAT|unix.IPC_EXCL|0644))
	before := semStat(t, idTaken)
	for _, text := range []string{keyName(kTaken) + " 2", fmt.Sprintf("%d 5 0600", kTaken)} {
		if e := writeControl(t, create, text+"\n"); e != direct || e != syscall.EEXIST {
			t.Errorf("create %q of a taken key: %v, directly %v", text, e, direct)
		}
	}
	if after := semStat(t, idTaken); after != before {
		t.Errorf("EEXIST changed the set: %+v -> %+v", before, after)
	}

	// What semget refuses (no semaphores, more than SEMMSL) is refused
	// the same way.
	msl, _, _, _ := semLimits(t)
	for _, n := range []int{0, msl + 1} {
		k := newKey()
		semRemoveKeyLater(t, k)
		_, _, direct := unix.Syscall(unix.SYS_SEMGET, uintptr(int32(k)), uintptr(n), uintptr(unix.IPC_CREAT|unix.IPC_EXCL|0644))
		if direct == 0 {
			t.Fatalf("semget with %d semaphores succeeded directly", n)
		}
		if e := writeControl(t, create, fmt.Sprintf("%s %d\n", keyName(k), n)); e != direct {
			t.Errorf("create with %d semaphores: %v, directly %v", n, e, direct)
		}
		if _, e := semIDOf(k); e == 0 {
			t.Errorf("create with %d semaphores made a set", n)
		}
	}

	// Bad input: EINVAL, nothing made.
	k := newKey()
	semRemoveKeyLater(t, k)
	kn := keyName(k)
	for _, text := range []string{
		"\n", kn, kn + "\n", "0xZZ 2", "key 2", "private2", kn + " -1", kn + " +1", kn + " 2x", kn + " 1.5", kn + " two",
		kn + " 2 0999", kn + " 2 8", kn + " 2 010000", kn + " 2 rw", kn + " 2 -644", kn + " 2 0644 extra", kn + " 99999999999999999999",
	} {
		if e := writeControl(t, create, text); e != syscall.EINVAL {
			t.Errorf("create %q: %v, want EINVAL", text, e)
		}
	}
	if _, e := semIDOf(k); e == 0 {
		t.Errorf("a bad create made %s", kn)
	}
	if _, _, err := sh(t, "echo '"+kn+" 0' > "+create); err == nil {
		t.Error("echo of a bad create succeeded")
	}
	if usage := semRead(t, create); !strings.Contains(usage, "NSEMS") {
		t.Errorf("create's usage: %q", usage)
	}
}

// TestSemAsOtherUser: with --allow-other a set made through create
// belongs to the writer, as one made by that user directly (ipcmk) does;
// semop through the mount is allowed and refused as semop directly is,
// and a write that waits does so as that user.
func TestSemAsOtherUser(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	key := newKey()
	semRemoveKeyLater(t, key)
	if _, errs, err := asUser(t, fmt.Sprintf(`echo "%#x 3 0640" > %s`, key, m.Path("sem", "create"))); err != nil {
		t.Fatalf("create as uid 1000: %v %s", err, errs)
	}
	out, errs, err := asUser(t, "ipcmk -S 3 -p 0640")
	if err != nil {
		t.Fatalf("ipcmk as uid 1000: %v %s", err, errs)
	}
	f := strings.Fields(out)
	twin, err := strconv.Atoi(f[len(f)-1])
	if err != nil {
		t.Fatalf("ipcmk said %q", out)
	}
	semRemoveIDLater(t, twin)
	id, e := semIDOf(key)
	if e != 0 {
		t.Fatalf("the set made as uid 1000: %v", e)
	}
	got, want := semStat(t, id).Perm, semStat(t, twin).Perm
	if got.Uid != 1000 || got.Gid != 1000 || got.Cuid != 1000 || got.Cgid != 1000 || got.Mode != 0640 {
		t.Errorf("made as uid 1000: %d:%d creator %d:%d mode %o", got.Uid, got.Gid, got.Cuid, got.Cgid, got.Mode)
	}
	if got.Uid != want.Uid || got.Gid != want.Gid || got.Cuid != want.Cuid || got.Cgid != want.Cgid || got.Mode != want.Mode {
		t.Errorf("made as uid 1000 through the mount: %+v; by ipcmk as uid 1000: %+v", got, want)
	}

	// Root's 0600 set: uid 1000 may do nothing, through the mount or not.
	kr := newKey()
	idr := semNew(t, kr, 1, 0600)
	semSetVals(t, idr, 1)
	bin := cProgram(t, "semtool")
	openToOthers(t, bin)
	user := []string{"--reuid=1000", "--regid=1000", "--clear-groups", bin}
	errnoAs := func(args ...string) syscall.Errno {
		t.Helper()
		out, err := exec.Command("setpriv", append(user, args...)...).Output()
		n, perr := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil || perr != nil {
			t.Fatalf("semtool %v as uid 1000: %v %q", args, err, out)
		}
		return syscall.Errno(n)
	}
	pr := m.Path("sem", keyName(kr), "0")
	ko := newKey()
	ido := semNew(t, ko, 1, 0666)
	for _, c := range []struct{ text, op string }{{"-1 nowait", "0:-1:n"}, {"+1", "0:1"}, {"0 nowait", "0:0:n"}} {
		gotE, wantE := errnoAs("write", pr, c.text), errnoAs("op", strconv.Itoa(idr), c.op)
		if gotE != wantE || wantE != syscall.EACCES {
			t.Errorf("%q on root's 0600 set as uid 1000: through the mount %v, directly %v", c.text, gotE, wantE)
		}
	}
	if e := errnoAs("write", pr, "=5"); e != syscall.EACCES {
		t.Errorf("=5 on root's 0600 set as uid 1000: %v", e)
	}
	if v := semVal(t, idr, 0); v != 1 {
		t.Errorf("refused writes changed the value to %d", v)
	}

	// A set's status table is read with the set's read permission
	// (GETALL): it shows the set's owner and mode without w, and test -r
	// answers as cat does.
	for _, c := range []struct {
		key     uint32
		id      int
		mode    uint32
		canRead bool
	}{{kr, idr, 0400, false}, {key, id, 0440, true}, {ko, ido, 0444, true}} {
		p := m.Path("sem", keyName(c.key), "status")
		st, perm := statOf(t, p), semStat(t, c.id).Perm
		if st.Mode != syscall.S_IFREG|c.mode || st.Uid != perm.Uid || st.Gid != perm.Gid {
			t.Errorf("%s: mode %o owner %d:%d; the set's %o %d:%d", p, st.Mode, st.Uid, st.Gid, perm.Mode, perm.Uid, perm.Gid)
		}
		out, _, _ := asUser(t, "test -r "+p+"; echo $?; cat "+p+" >/dev/null 2>&1; echo $?")
		if f := strings.Fields(out); len(f) != 2 || (f[0] == "0") != c.canRead || (f[1] == "0") != c.canRead {
			t.Errorf("%s as uid 1000: test -r and cat exit %v, want both to succeed: %v", p, f, c.canRead)
		}
	}

	// A 0666 set: uid 1000 waits through the mount, as uid 1000, and root
	// releases it through the mount.
	po := m.Path("sem", keyName(ko), "0")
	w := semStart(t, "setpriv", append(user, "write", po, "-1")...)
	semWaitCounts(t, ido, 0, 1, 0)
	semMustWrite(t, po, "2")
	if e := w.errnoLine(t); e != 0 {
		t.Errorf("the waiting write as uid 1000 ended with %v", e)
	}
	w.mustSucceed(t)
	if v := semVal(t, ido, 0); v != 1 {
		t.Errorf("value %d after -1 then +2, want 1", v)
	}
}

// --- writes ---

// semCase is one write through the mount and the same operation made
// directly on a twin set.
type semCase struct {
	init  []int
	file  string // "0", "1", "2" or "semop"
	text  string
	flags int      // open flags (O_NONBLOCK)
	ops   []semBuf // the direct semop; nil with setval or want
	// setval: the direct counterpart is SETVAL of semaphore num to val.
	setval   bool
	num, val int
	// want: no direct counterpart exists; the errno the mount must give.
	want    syscall.Errno
	timeout time.Duration // of the direct semtimedop
}

// TestSemWriteForms: each write form changes the values exactly as the
// same semop or SETVAL made directly changes a twin set, and fails with
// the same errno; a failed write changes nothing.
func TestSemWriteForms(t *testing.T) {
	m := mount(t)
	k, kt := newKey(), newKey()
	id := semNew(t, k, 3, 0600)
	twin := semNew(t, kt, 3, 0600)
	daemon := m.cmd.Process.Pid
	nw := int16(unix.IPC_NOWAIT)
	op := func(num uint16, o int16, flg int16) semBuf { return semBuf{num, o, flg} }

	cases := []semCase{
		{init: []int{0, 0, 0}, file: "0", text: "1", ops: []semBuf{op(0, 1, 0)}},
		{init: []int{0, 0, 0}, file: "0", text: "1\n", ops: []semBuf{op(0, 1, 0)}},
		{init: []int{2, 0, 0}, file: "0", text: "+3\n", ops: []semBuf{op(0, 3, 0)}},
		{init: []int{0, 5, 0}, file: "1", text: "-2\n", ops: []semBuf{op(1, -2, 0)}},
		{init: []int{0, 5, 0}, file: "1", text: "-5", ops: []semBuf{op(1, -5, 0)}},
		{init: []int{0, 0, 0}, file: "2", text: "0\n", ops: []semBuf{op(2, 0, 0)}},
		{init: []int{0, 0, 0}, file: "2", text: "000\n", ops: []semBuf{op(2, 0, 0)}},
		{init: []int{1, 1, 1}, file: "1", text: "=7\n", setval: true, num: 1, val: 7},
		{init: []int{1, 1, 1}, file: "1", text: "=0", setval: true, num: 1, val: 0},
		{init: []int{1, 1, 1}, file: "2", text: "=32767\n", setval: true, num: 2, val: 32767},
		{init: []int{1, 1, 1}, file: "0", text: "=5 nowait\n", setval: true, num: 0, val: 5},
		{init: []int{1, 1, 1}, file: "0", text: "=32768\n", setval: true, num: 0, val: 32768},
		{init: []int{1, 1, 1}, file: "0", text: "=-1\n", setval: true, num: 0, val: -1},
		{init: []int{1, 1, 1}, file: "1", text: "=-32768\n", setval: true, num: 1, val: -32768},
		{init: []int{1, 0, 0}, file: "0", text: "-1 nowait\n", ops: []semBuf{op(0, -1, nw)}},
		{init: []int{1, 0, 0}, file: "0", text: "-2 nowait\n", ops: []semBuf{op(0, -2, nw)}},
		{init: []int{0, 3, 0}, file: "1", text: "0 nowait\n", ops: []semBuf{op(1, 0, nw)}},
		{init: []int{0, 0, 0}, file: "1", text: "0 nowait\n", ops: []semBuf{op(1, 0, nw)}},
		{init: []int{0, 0, 0}, file: "0", text: "  +2   nowait  \n", ops: []semBuf{op(0, 2, nw)}},
		{init: []int{0, 0, 0}, file: "0", text: "+1 timeout=2s\n", ops: []semBuf{op(0, 1, 0)}, timeout: 2 * time.Second},
		{init: []int{1, 0, 0}, file: "0", text: "-1 timeout=500ms\n", ops: []semBuf{op(0, -1, 0)}, timeout: 500 * time.Millisecond},
		{init: []int{0, 0, 0}, file: "0", text: "-1 timeout=0\n", ops: []semBuf{op(0, -1, nw)}},
		{init: []int{0, 0, 0}, file: "0", text: "-1 timeout=100ms\n", ops: []semBuf{op(0, -1, 0)}, timeout: 100 * time.Millisecond},
		{init: []int{0, 0, 5}, file: "2", text: "0 timeout=100ms nowait\n", ops: []semBuf{op(2, 0, nw)}},
		{init: []int{0, 0, 0}, file: "0", text: "-1\n", flags: syscall.O_NONBLOCK, ops: []semBuf{op(0, -1, nw)}},
		{init: []int{0, 4, 0}, file: "1", text: "0\n", flags: syscall.O_NONBLOCK, ops: []semBuf{op(1, 0, nw)}},
		{init: []int{0, 0, 0}, file: "0", text: "+1\n", flags: syscall.O_NONBLOCK, ops: []semBuf{op(0, 1, nw)}},
		{init: []int{0, 0, 0}, file: "0", text: "32767\n", ops: []semBuf{op(0, 32767, 0)}},
		{init: []int{32767, 0, 0}, file: "0", text: "+1\n", ops: []semBuf{op(0, 1, 0)}},
		{init: []int{0, 1, 0}, file: "1", text: "+32767\n", ops: []semBuf{op(1, 32767, 0)}},
		{init: []int{0, 0, 0}, file: "0", text: "+32768\n", want: syscall.ERANGE},
		{init: []int{0, 0, 0}, file: "0", text: "+99999 nowait\n", want: syscall.ERANGE},
		{init: []int{0, 0, 0}, file: "0", text: "=40000\n", want: syscall.ERANGE},
		// -32768 is a sem_op like any other (a short), which no value
		// meets: it waits, or with nowait gives EAGAIN.
		{init: []int{3, 0, 0}, file: "0", text: "-32768 nowait\n", ops: []semBuf{op(0, -32768, nw)}},
		{init: []int{3, 0, 0}, file: "semop", text: "1:+1 0:-32768 nowait\n", ops: []semBuf{op(1, 1, nw), op(0, -32768, nw)}},
		{init: []int{3, 0, 0}, file: "0", text: "-32768 timeout=50ms\n", ops: []semBuf{op(0, -32768, 0)}, timeout: 50 * time.Millisecond},
		{init: []int{3, 0, 0}, file: "0", text: "-32769 nowait\n", want: syscall.ERANGE},
		// semop: several operations, one atomic semop.
		{init: []int{0, 0, 1}, file: "semop", text: "0:+1 1:+2 2:-1\n", ops: []semBuf{op(0, 1, 0), op(1, 2, 0), op(2, -1, 0)}},
		{init: []int{1, 2, 0}, file: "semop", text: "0:-1 1:-5 nowait\n", ops: []semBuf{op(0, -1, nw), op(1, -5, nw)}},
		{init: []int{1, 2, 0}, file: "semop", text: "0:-1 1:-2 nowait\n", ops: []semBuf{op(0, -1, nw), op(1, -2, nw)}},
		{init: []int{0, 0, 0}, file: "semop", text: "2:+1 2:+1 1:0", ops: []semBuf{op(2, 1, 0), op(2, 1, 0), op(1, 0, 0)}},
		{init: []int{32766, 0, 0}, file: "semop", text: "0:+1 1:+1 0:+1\n", ops: []semBuf{op(0, 1, 0), op(1, 1, 0), op(0, 1, 0)}},
		{init: []int{0, 1, 0}, file: "semop", text: "1:0 0:+1 nowait\n", ops: []semBuf{op(1, 0, nw), op(0, 1, nw)}},
		{init: []int{0, 0, 0}, file: "semop", text: "0:1 1:2 2:3\n", flags: syscall.O_NONBLOCK, ops: []semBuf{op(0, 1, nw), op(1, 2, nw), op(2, 3, nw)}},
		{init: []int{0, 0, 0}, file: "semop", text: "3:+1\n", ops: []semBuf{op(3, 1, 0)}},
		{init: []int{0, 0, 0}, file: "semop", text: "0:+1 65535:+1\n", ops: []semBuf{op(0, 1, 0), op(65535, 1, 0)}},
		{init: []int{0, 0, 0}, file: "semop", text: "0:+1 1:-1 timeout=100ms\n", ops: []semBuf{op(0, 1, 0), op(1, -1, 0)}, timeout: 100 * time.Millisecond},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%q to %s from %v", c.text, c.file, c.init)
		if c.flags != 0 {
			name += " with O_NONBLOCK"
		}
		semSetVals(t, id, c.init...)
		semSetVals(t, twin, c.init...)
		before := semStat(t, id)
		pidBefore := make([]int, 3)
		for i := range pidBefore {
			pidBefore[i] = semPid(t, id, i)
		}
		got := semWrite(t, m.Path("sem", keyName(k), c.file), c.text, c.flags)
		var want syscall.Errno
		switch {
		case c.setval:
			want = semSetValErrno(twin, c.num, c.val)
		case c.ops != nil:
			want = semRaw(twin, c.ops, c.timeout)
		default:
			want = c.want
		}
		gotVals, wantVals := semVals(t, id), semVals(t, twin)
		if c.ops == nil && !c.setval {
			wantVals = c.init
		}
		if got != want {
			t.Errorf("%s: %v through the mount, %v directly", name, got, want)
		}
		if !slices.Equal(gotVals, wantVals) {
			t.Errorf("%s: values %v through the mount, %v directly", name, gotVals, wantVals)
		}
		for i := range 3 {
			if n, z := semNcnt(t, id, i), semZcnt(t, id, i); n != 0 || z != 0 {
				t.Errorf("%s: semaphore %d left semncnt %d semzcnt %d", name, i, n, z)
			}
		}
		after := semStat(t, id)
		if got == 0 && !c.setval {
			// A semop: sempid is the process that made it (the daemon),
			// and the set's otime is now.
			for i := range 3 {
				if p := semPid(t, id, i); p != daemon && slices.ContainsFunc(c.ops, func(b semBuf) bool { return int(b.Num) == i }) {
					t.Errorf("%s: sempid of %d is %d, want the daemon's %d", name, i, p, daemon)
				}
			}
			if after.Otime < before.Ctime || after.Otime == 0 {
				t.Errorf("%s: otime %d after the semop (ctime %d)", name, after.Otime, before.Ctime)
			}
		}
		if got != 0 {
			if after.Otime != before.Otime || after.Ctime != before.Ctime {
				t.Errorf("%s: the failed write changed otime %d->%d ctime %d->%d", name, before.Otime, after.Otime, before.Ctime, after.Ctime)
			}
			for i := range 3 {
				if p := semPid(t, id, i); p != pidBefore[i] {
					t.Errorf("%s: the failed write changed sempid of %d from %d to %d", name, i, pidBefore[i], p)
				}
			}
		}
		// A read gives each value and a newline.
		for i, v := range gotVals {
			if r := semRead(t, m.Path("sem", keyName(k), strconv.Itoa(i))); r != strconv.Itoa(v)+"\n" {
				t.Errorf("%s: read %d gives %q, the value is %d", name, i, r, v)
			}
		}
	}

	// The shell sees the same: echo is a write, its errors are messages.
	semSetVals(t, id, 0, 0, 0)
	mustSh(t, "echo 3 > "+m.Path("sem", keyName(k), "0")+" && echo -1 > "+m.Path("sem", keyName(k), "0"))
	if v := semVal(t, id, 0); v != 2 {
		t.Errorf("echo 3, echo -1: value %d", v)
	}
	if _, errs, err := sh(t, "echo '-5 nowait' > "+m.Path("sem", keyName(k), "0")); err == nil || !strings.Contains(errs, "temporarily unavailable") {
		t.Errorf("echo -5 nowait on 2: %v %q, want EAGAIN's message", err, errs)
	}
	semCheckStat(t, m.Path("sem", keyName(k)), id)
}

// TestSemWriteErrors: what does not parse is EINVAL and changes nothing;
// a semaphore number past the set is EFBIG and more operations than
// SEMOPM is E2BIG, as semop says.
func TestSemWriteErrors(t *testing.T) {
	m := mount(t)
	k, kt := newKey(), newKey()
	id := semNew(t, k, 3, 0600)
	twin := semNew(t, kt, 3, 0600)
	dir := m.Path("sem", keyName(k))
	semSetVals(t, id, 2, 3, 4)
	semMustWrite(t, dir+"/0", "+1") // an otime and sempid to keep
	before := semStat(t, id)
	vals := semVals(t, id)
	unchanged := func(what string) {
		t.Helper()
		if got := semVals(t, id); !slices.Equal(got, vals) {
			t.Errorf("%s changed the values: %v -> %v", what, vals, got)
		}
		if after := semStat(t, id); after.Otime != before.Otime || after.Ctime != before.Ctime || after.Perm != before.Perm {
			t.Errorf("%s changed the set: %+v -> %+v", what, before, after)
		}
		for i := range 3 {
			if n, z := semNcnt(t, id, i), semZcnt(t, id, i); n != 0 || z != 0 {
				t.Errorf("%s: semaphore %d has waiters %d %d", what, i, n, z)
			}
		}
	}
	for _, text := range []string{
		"\n", " ", "\t\n", "+", "-", "=", "+\n", "1 2", "1 2\n", "=-0", "=--1", "=-x", "=+1", "= 1", "=1.5", "nowait", "undo", "timeout=1s",
		"nowait -1", "undo -1", "-1 NOWAIT", "-1 no-wait", "-1 nowait extra", "-1 timeout=", "-1 timeout=abc",
		"-1 timeout=-1s", "-1 timeout=5", "-1 timeout=1x", "=5 undo", "=5 undo\n", "+0", "-0", "+00", "1.5", "0x1", "one",
		"+-1", "--1", "-+1", "1e3", "١", "−1", "1\x00", "\x00", "1:+1", "0:+1",
	} {
		for _, file := range []string{"1", "2"} {
			if e := semWrite(t, dir+"/"+file, text, 0); e != syscall.EINVAL {
				t.Errorf("write %q to %s: %v, want EINVAL", text, file, e)
			}
		}
		unchanged(fmt.Sprintf("write %q", text))
	}
	for _, text := range []string{
		"\n", "0", "+1", "0:", ":1", "a:+1", "0:+1 garbage", "0:=5", "+0:+1", "-1:+1", "0:+1 =5", "0:+1 nowait 1:+1",
		"0:+0", "0:-0", "0:1:2", "00x:1", "99999:+1", "0:+1 undo=1", "0:+1 timeout=", "0:+1,1:+1",
	} {
		if e := semWrite(t, dir+"/semop", text, 0); e != syscall.EINVAL {
			t.Errorf("write %q to semop: %v, want EINVAL", text, e)
		}
		unchanged(fmt.Sprintf("write %q to semop", text))
	}
	// A write of nothing reaches no one: it changes nothing, either way.
	if e := semWrite(t, dir+"/0", "", 0); e != 0 && e != syscall.EINVAL {
		t.Errorf("an empty write: %v", e)
	}
	unchanged("an empty write")
	// The shell's view.
	if _, errs, err := sh(t, "echo garbage > "+dir+"/0"); err == nil || !strings.Contains(errs, "Invalid argument") {
		t.Errorf("echo garbage: %v %q", err, errs)
	}
	unchanged("echo garbage")
	// A write longer than any command.
	if e := semWrite(t, dir+"/semop", strings.Repeat("0:+1 ", 20000), 0); e != syscall.EINVAL {
		t.Errorf("a 100 KB write to semop: %v, want EINVAL", e)
	}
	unchanged("a 100 KB write")

	// EFBIG past the set, as semop says.
	semSetVals(t, twin, vals...)
	for _, c := range []struct {
		text string
		ops  []semBuf
	}{
		{"3:+1", []semBuf{{3, 1, 0}}},
		{"0:+1 3:-1 nowait", []semBuf{{0, 1, unix.IPC_NOWAIT}, {3, -1, unix.IPC_NOWAIT}}},
		{"65535:0", []semBuf{{65535, 0, 0}}},
		{"3:+1 undo", []semBuf{{3, 1, semUNDO}}},
	} {
		got, want := semWrite(t, dir+"/semop", c.text, 0), semRaw(twin, c.ops, 0)
		if got != want || want != syscall.EFBIG {
			t.Errorf("%q: %v through the mount, %v directly", c.text, got, want)
		}
		unchanged(c.text)
	}

	// E2BIG past SEMOPM operations; SEMOPM of them is fine.
	_, _, opm, _ := semLimits(t)
	for _, n := range []int{opm + 1, opm + 50} {
		ops := make([]semBuf, n)
		for i := range ops {
			ops[i] = semBuf{uint16(i % 3), 1, 0}
		}
		text := strings.TrimSpace(strings.Repeat("0:+1 1:+1 2:+1 ", n/3+1))
		words := strings.Fields(text)[:n]
		got, want := semWrite(t, dir+"/semop", strings.Join(words, " ")+"\n", 0), semRaw(twin, ops, 0)
		if got != want || want != syscall.E2BIG {
			t.Errorf("%d operations: %v through the mount, %v directly", n, got, want)
		}
		unchanged(fmt.Sprintf("%d operations", n))
		// Too many, one past the set too: E2BIG comes first.
		ops[n-1], words[n-1] = semBuf{3, 1, 0}, "3:+1"
		got, want = semWrite(t, dir+"/semop", strings.Join(words, " ")+"\n", 0), semRaw(twin, ops, 0)
		if got != want || want != syscall.E2BIG {
			t.Errorf("%d operations, one past the set: %v through the mount, %v directly", n, got, want)
		}
		unchanged(fmt.Sprintf("%d operations, one past the set", n))
	}
	ops := make([]semBuf, opm)
	words := make([]string, opm)
	for i := range ops {
		ops[i] = semBuf{uint16(i % 3), 1, 0}
		words[i] = fmt.Sprintf("%d:+1", i%3)
	}
	got, want := semWrite(t, dir+"/semop", strings.Join(words, " "), 0), semRaw(twin, ops, 0)
	if got != want || got != 0 {
		t.Errorf("SEMOPM (%d) operations: %v through the mount, %v directly", opm, got, want)
	}
	if g, w := semVals(t, id), semVals(t, twin); !slices.Equal(g, w) {
		t.Errorf("after SEMOPM operations: %v through the mount, %v directly", g, w)
	}
}

// --- waiting ---

// TestSemFilePast16Bits: in a set of more than 65536 semaphores (SEMMSL
// raised for the test), a file past 65535 is its own semaphore: =N sets
// it, as SETVAL (whose number is an int) does, and an operation, which
// semop's 16-bit sem_num cannot name, fails with EINVAL and changes no
// semaphore (not the one the number wraps to).
func TestSemFilePast16Bits(t *testing.T) {
	const nsems = 1<<16 + 3
	if msl, mns, opm, mni := semLimits(t); msl < nsems || mns < nsems {
		setSysctlText(t, "sem", fmt.Sprintf("%d %d %d %d", max(msl, nsems), max(mns, nsems), opm, mni))
	}
	m := mount(t)
	k := newKey()
	id := semNew(t, k, nsems, 0600)
	dir := m.Path("sem", keyName(k))

	semMustWrite(t, dir+"/65538", "=7")
	if v := semVal(t, id, 65538); v != 7 {
		t.Errorf("=7 to file 65538: semaphore 65538 is %d", v)
	}
	if got := semRead(t, dir+"/65538"); got != "7\n" {
		t.Errorf("file 65538 reads %q after =7", got)
	}
	semSetVals(t, id, 1) // semaphore 0, where 65536 wraps to
	for _, text := range []string{"+1", "-1 nowait", "0 nowait", "5", "+1 undo", "-1 timeout=10ms"} {
		if e := semWrite(t, dir+"/65536", text, 0); e != syscall.EINVAL {
			t.Errorf("%q to file 65536: %v, want EINVAL", text, e)
		}
	}
	if e := semWrite(t, dir+"/semop", "65536:+1", 0); e != syscall.EINVAL {
		t.Errorf("65536:+1 to semop: %v, want EINVAL", e)
	}
	for _, n := range []int{0, 2, 65536, 65538} {
		want := map[int]int{0: 1, 65538: 7}[n]
		if v := semVal(t, id, n); v != want {
			t.Errorf("semaphore %d is %d, want %d", n, v, want)
		}
	}
	if d := semStat(t, id); d.Otime != 0 {
		t.Errorf("a semop was made: otime %d", d.Otime)
	}
}

// TestSemBlockingWaitsAlone: a P on a zero semaphore waits for its writer
// only: the mount keeps answering everyone else, the same file included;
// a V through the mount, directly, or by the kernel's semop releases it.
func TestSemBlockingWaitsAlone(t *testing.T) {
	m := mount(t)
	kA, kB := newKey(), newKey()
	idA := semNew(t, kA, 2, 0600)
	idB := semNew(t, kB, 1, 0600)
	a0 := m.Path("sem", keyName(kA), "0")

	// A P through the mount, released by a V through the mount: the
	// shell's echo on both sides, on the same file.
	p := semBash(t, "echo -1 > "+a0)
	semWaitCounts(t, idA, 0, 1, 0)
	semAnswers(t, "stat of the set and its files", func() error {
		for _, path := range []string{m.Path("sem"), m.Path("sem", keyName(kA)), a0, m.Path("sem", keyName(kA), "semop")} {
			var st syscall.Stat_t
			if err := syscall.Stat(path, &st); err != nil {
				return err
			}
		}
		return nil
	})
	semAnswers(t, "reads", func() error {
		if got, err := semTryRead(a0); got != "0\n" || err != nil {
			return fmt.Errorf("read of the waited-on semaphore: %q %v", got, err)
		}
		rows, err := semTryStatus(m.Path("sem", keyName(kA), "status"))
		if err != nil {
			return err
		}
		if rows[0]["semncnt"] != "1" {
			return fmt.Errorf("status shows semncnt %q, want 1", rows[0]["semncnt"])
		}
		_, _, err = sh(t, "ls -l "+m.Path("sem")+" "+m.Path("sem", keyName(kA))+" > /dev/null && cat "+m.Path("sem", "status")+" > /dev/null")
		return err
	})
	semAnswers(t, "writes to another semaphore and another set", func() error {
		for _, w := range [][2]string{{m.Path("sem", keyName(kA), "1"), "+2"}, {m.Path("sem", keyName(kA), "semop"), "1:-1"}, {m.Path("sem", keyName(kB), "0"), "+1"}} {
			if err := semWriteErr(w[0], w[1]); err != nil {
				return err
			}
		}
		if _, e := semTryWrite(m.Path("sem", keyName(kB), "0"), "-2 nowait", 0); e != syscall.EAGAIN {
			return fmt.Errorf("-2 nowait on 1: %v", e)
		}
		_, _, err := sh(t, "echo -1 > "+m.Path("sem", keyName(kB), "0"))
		return err
	})
	semAnswers(t, "a nowait write to the same file", func() error {
		if _, e := semTryWrite(a0, "-1 nowait", 0); e != syscall.EAGAIN {
			return fmt.Errorf("-1 nowait on the waited-on semaphore: %v", e)
		}
		return nil
	})
	if p.exited() {
		t.Fatal("the P ended while the value was 0")
	}
	if v := semVals(t, idA); !slices.Equal(v, []int{0, 1}) || semVal(t, idB, 0) != 0 {
		t.Fatalf("values %v %d while the P waits", v, semVal(t, idB, 0))
	}
	semAnswers(t, "echo 1 > the same file", func() error {
		_, _, err := sh(t, "echo 1 > "+a0)
		return err
	})
	p.mustSucceed(t)
	semWaitCounts(t, idA, 0, 0, 0)
	if v := semVal(t, idA, 0); v != 0 {
		t.Errorf("after P and V: value %d", v)
	}

	// A P through the mount released by a semop made directly.
	p = semBash(t, "echo -1 > "+a0)
	semWaitCounts(t, idA, 0, 1, 0)
	semMustOp(t, idA, semBuf{0, 1, 0})
	p.mustSucceed(t)
	if v := semVal(t, idA, 0); v != 0 {
		t.Errorf("after a direct V: value %d", v)
	}

	// A semop made directly (by a C program) released through the mount.
	d := semTool(t, "op", strconv.Itoa(idA), "0:-2")
	semWaitCounts(t, idA, 0, 1, 0)
	semAnswers(t, "V through the mount", func() error { _, _, err := sh(t, "echo 1 > "+a0+"; echo 1 > "+a0); return err })
	if e := d.errnoLine(t); e != 0 {
		t.Errorf("the direct P ended with %v", e)
	}
	d.mustSucceed(t)

	// Waiting for zero, through the mount, released by P's through it.
	semMustWrite(t, a0, "2")
	z := semBash(t, "echo 0 > "+a0)
	semWaitCounts(t, idA, 0, 0, 1)
	semMustWrite(t, a0, "-1")
	if z.exited() {
		t.Fatal("the wait for zero ended at 1")
	}
	semMustWrite(t, a0, "-1")
	z.mustSucceed(t)
	semWaitCounts(t, idA, 0, 0, 0)
}

// TestSemFIFO: two P's waiting on one semaphore are released one per V,
// in the order they began to wait, as the kernel releases two direct
// waiters; a writer through the mount takes its place in the kernel's
// queue like a direct one.
func TestSemFIFO(t *testing.T) {
	m := mount(t)
	k, kt := newKey(), newKey()
	id := semNew(t, k, 1, 0600)
	twin := semNew(t, kt, 1, 0600)
	path := m.Path("sem", keyName(k), "0")

	order := func(first, second *semProc, id int, v func()) []string {
		t.Helper()
		v()
		var released []string
		semPoll(t, "one waiter is released", func() bool { return first.exited() || second.exited() })
		semWaitCounts(t, id, 0, 1, 0)
		if first.exited() {
			released = append(released, "first")
		}
		if second.exited() {
			released = append(released, "second")
		}
		v()
		first.mustSucceed(t)
		second.mustSucceed(t)
		return released
	}

	p1 := semBash(t, "echo -1 > "+path)
	semWaitCounts(t, id, 0, 1, 0)
	p2 := semBash(t, "echo -1 > "+path)
	semWaitCounts(t, id, 0, 2, 0)
	n := 0
	got := order(p1, p2, id, func() {
		if n++; n == 1 {
			semMustOp(t, id, semBuf{0, 1, 0})
		} else {
			semMustWrite(t, path, "1")
		}
	})

	d1 := semTool(t, "op", strconv.Itoa(twin), "0:-1")
	semWaitCounts(t, twin, 0, 1, 0)
	d2 := semTool(t, "op", strconv.Itoa(twin), "0:-1")
	semWaitCounts(t, twin, 0, 2, 0)
	want := order(d1, d2, twin, func() { semMustOp(t, twin, semBuf{0, 1, 0}) })
	if !slices.Equal(got, want) || !slices.Equal(want, []string{"first"}) {
		t.Errorf("released by the first V: %v through the mount, %v directly", got, want)
	}
	if v, vt := semVal(t, id, 0), semVal(t, twin, 0); v != 0 || vt != 0 {
		t.Errorf("values %d and %d after two P's and two V's", v, vt)
	}

	// Mixed: a writer through the mount queued before a direct waiter.
	pm := semBash(t, "echo -1 > "+path)
	semWaitCounts(t, id, 0, 1, 0)
	pd := semTool(t, "op", strconv.Itoa(id), "0:-1")
	semWaitCounts(t, id, 0, 2, 0)
	mixed := order(pm, pd, id, func() { semMustOp(t, id, semBuf{0, 1, 0}) })
	if !slices.Equal(mixed, []string{"first"}) {
		t.Errorf("a mount writer queued first, then a direct waiter: the first V released %v", mixed)
	}
}

// TestSemRemovedWhileWaiting: removing a set wakes its waiters with
// EIDRM, through the mount as directly.
func TestSemRemovedWhileWaiting(t *testing.T) {
	m := mount(t)
	k, kt := newKey(), newKey()
	id := semNew(t, k, 2, 0600)
	twin := semNew(t, kt, 2, 0600)
	semSetVals(t, id, 0, 1)
	semSetVals(t, twin, 0, 1)
	dir := m.Path("sem", keyName(k))
	mp := semTool(t, "write", dir+"/0", "-1")
	mz := semTool(t, "write", dir+"/1", "0")
	ms := semTool(t, "write", dir+"/semop", "0:-1 1:+1")
	dp := semTool(t, "op", strconv.Itoa(twin), "0:-1")
	dz := semTool(t, "op", strconv.Itoa(twin), "1:0")
	semWaitCounts(t, id, 0, 2, 0)
	semWaitCounts(t, id, 1, 0, 1)
	semWaitCounts(t, twin, 0, 1, 0)
	semWaitCounts(t, twin, 1, 0, 1)

	if err := syscall.Rmdir(dir); err != nil {
		t.Fatalf("rmdir of a set with waiters: %v", err)
	}
	semctlRaw(twin, 0, unix.IPC_RMID, 0)
	want := [2]syscall.Errno{dp.errnoLine(t), dz.errnoLine(t)}
	if want != [2]syscall.Errno{syscall.EIDRM, syscall.EIDRM} {
		t.Errorf("direct waiters of a removed set: %v", want)
	}
	for _, c := range []struct {
		what string
		p    *semProc
	}{{"P", mp}, {"wait for zero", mz}, {"semop", ms}} {
		if e := c.p.errnoLine(t); e != want[0] {
			t.Errorf("%s through the mount on a removed set: %v, directly %v", c.what, e, want[0])
		}
		c.p.mustSucceed(t)
	}
	if !semGone(id) {
		t.Error("the set is still there")
	}
}

// TestSemInterrupted: a writer that waits and is killed (SIGTERM, SIGINT,
// SIGKILL) ends, and leaves the semaphore as it was, with no waiter; a
// signal with a handler makes the write fail with EINTR, as it makes a
// direct semop fail.
func TestSemInterrupted(t *testing.T) {
	m := mount(t)
	k := newKey()
	id := semNew(t, k, 2, 0600)
	dir := m.Path("sem", keyName(k))
	afterwards := func(what string) {
		t.Helper()
		semWaitCounts(t, id, 0, 0, 0)
		semWaitCounts(t, id, 1, 0, 0)
		if v := semVals(t, id); !slices.Equal(v, []int{0, 1}) {
			t.Errorf("%s: values %v, want [0 1] untouched", what, v)
		}
		// No ghost waiter is left to take the next V.
		semMustWrite(t, dir+"/0", "+1")
		if v := semVal(t, id, 0); v != 1 {
			t.Errorf("%s: a V after it left %d, a ghost waiter took it", what, v)
		}
		semSetVals(t, id, 0, 1)
	}
	semSetVals(t, id, 0, 1)
	for _, c := range []struct {
		sig    syscall.Signal
		script string
		num    int
		ncnt   int
		zcnt   int
	}{
		{syscall.SIGTERM, "echo -1 > " + dir + "/0", 0, 1, 0},
		{syscall.SIGINT, "echo -1 > " + dir + "/0", 0, 1, 0},
		{syscall.SIGKILL, "echo -1 > " + dir + "/0", 0, 1, 0},
		{syscall.SIGKILL, "echo '-1 undo' > " + dir + "/0", 0, 1, 0},
		{syscall.SIGTERM, "echo 0 > " + dir + "/1", 1, 0, 1},
		{syscall.SIGKILL, "echo '0:-1 1:-1' > " + dir + "/semop", 0, 1, 0},
		{syscall.SIGHUP, "echo '-1 timeout=1h' > " + dir + "/0", 0, 1, 0},
	} {
		what := fmt.Sprintf("%q killed by %v", c.script, c.sig)
		p := semBash(t, c.script)
		semWaitCounts(t, id, c.num, c.ncnt, c.zcnt)
		if err := p.cmd.Process.Signal(c.sig); err != nil {
			t.Fatal(err)
		}
		_, err := p.wait(t)
		if err == nil {
			t.Errorf("%s: exited 0", what)
		}
		afterwards(what)
	}
	// The undo of a killed waiter has nothing to undo: it took nothing.
	time.Sleep(200 * time.Millisecond)
	if v := semVals(t, id); !slices.Equal(v, []int{0, 1}) {
		t.Errorf("after the killed undo waiter: values %v", v)
	}

	// EINTR: SIGALRM with a handler, no SA_RESTART, through the mount and
	// directly.
	for _, c := range []struct {
		file, text string
		ops        []string
	}{{"0", "-1", []string{"0:-1"}}, {"1", "0", []string{"1:0"}}, {"semop", "0:-1 1:+1", []string{"0:-1", "1:1"}}, {"0", "-1 undo", []string{"0:-1:u"}}} {
		got := semTool(t, "intr", dir+"/"+c.file, c.text)
		if e := got.errnoLine(t); e != syscall.EINTR {
			t.Errorf("write %q to %s interrupted by SIGALRM: %v, want EINTR", c.text, c.file, e)
		}
		got.mustSucceed(t)
		afterwards(fmt.Sprintf("%q interrupted", c.text))
		direct := semTool(t, append([]string{"op", strconv.Itoa(id)}, append(c.ops, "-alarm")...)...)
		if e := direct.errnoLine(t); e != syscall.EINTR {
			t.Errorf("semop %v interrupted by SIGALRM directly: %v", c.ops, e)
		}
		direct.mustSucceed(t)
		afterwards(fmt.Sprintf("semop %v interrupted", c.ops))
	}
}

// TestSemKilledWaiterTakesNothing: a V made right after a waiting writer
// is killed stays for the others, as for a process killed in a direct
// semop, whether or not it reached the daemon's waiting semop before the
// daemon heard of the kill: the test posts the V straight after the
// kill, ten times for each write.
func TestSemKilledWaiterTakesNothing(t *testing.T) {
	m := mount(t)
	k := newKey()
	id := semNew(t, k, 1, 0600)
	path := m.Path("sem", keyName(k), "0")
	for _, text := range []string{"-1", "-1 undo", "-1 timeout=1h"} {
		for i := 0; i < 10; i++ {
			semSetVals(t, id, 0)
			p := semBash(t, "echo '"+text+"' > "+path)
			semWaitCounts(t, id, 0, 1, 0)
			if err := p.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_, _, e := unix.Syscall(unix.SYS_SEMOP, uintptr(id), uintptr(unsafe.Pointer(&[3]int16{0, 1, 0})), 1)
			if e != 0 {
				t.Fatalf("semop +1: %v", e)
			}
			p.wait(t)
			semWaitCounts(t, id, 0, 0, 0)
			time.Sleep(20 * time.Millisecond) // an undo would be applied by now
			if v := semVal(t, id, 0); v != 1 {
				t.Errorf("%q, round %d: the V made right after the writer was killed left %d, want 1", text, i, v)
			}
		}
	}
}

// TestSemAtomic: a semop write changes every semaphore it names or none,
// whether it fails at once or waits.
func TestSemAtomic(t *testing.T) {
	m := mount(t)
	k, kt := newKey(), newKey()
	id := semNew(t, k, 3, 0600)
	twin := semNew(t, kt, 3, 0600)
	semop := m.Path("sem", keyName(k), "semop")
	for _, c := range []struct {
		init []int
		text string
		ops  []semBuf
	}{
		{[]int{1, 2, 0}, "0:-1 1:-5 nowait", []semBuf{{0, -1, unix.IPC_NOWAIT}, {1, -5, unix.IPC_NOWAIT}}},
		{[]int{1, 2, 0}, "0:-1 1:-2 nowait", []semBuf{{0, -1, unix.IPC_NOWAIT}, {1, -2, unix.IPC_NOWAIT}}},
		{[]int{5, 5, 5}, "0:+1 1:-1 2:+32767 nowait", []semBuf{{0, 1, unix.IPC_NOWAIT}, {1, -1, unix.IPC_NOWAIT}, {2, 32767, unix.IPC_NOWAIT}}},
		{[]int{5, 5, 0}, "0:+1 1:-1 2:0", []semBuf{{0, 1, 0}, {1, -1, 0}, {2, 0, 0}}},
		{[]int{5, 5, 1}, "0:+1 1:-1 2:0 timeout=50ms", []semBuf{{0, 1, 0}, {1, -1, 0}, {2, 0, 0}}},
	} {
		semSetVals(t, id, c.init...)
		semSetVals(t, twin, c.init...)
		var timeout time.Duration
		if strings.Contains(c.text, "timeout") {
			timeout = 50 * time.Millisecond
		}
		got, want := semWrite(t, semop, c.text, 0), semRaw(twin, c.ops, timeout)
		if got != want {
			t.Errorf("%q from %v: %v through the mount, %v directly", c.text, c.init, got, want)
		}
		if g, w := semVals(t, id), semVals(t, twin); !slices.Equal(g, w) {
			t.Errorf("%q from %v: values %v through the mount, %v directly", c.text, c.init, g, w)
		}
	}

	// Waiting: nothing is taken until all can be.
	semSetVals(t, id, 1, 0, 0)
	p := semBash(t, "echo '0:-1 1:-1' > "+semop)
	semWaitCounts(t, id, 1, 1, 0)
	if v := semVals(t, id); !slices.Equal(v, []int{1, 0, 0}) {
		t.Errorf("while the semop waits: values %v, want [1 0 0]", v)
	}
	if got := semRead(t, semop); got != "1 0 0\n" {
		t.Errorf("read semop while it waits: %q", got)
	}
	semMustOp(t, id, semBuf{1, 1, 0})
	p.mustSucceed(t)
	if v := semVals(t, id); !slices.Equal(v, []int{0, 0, 0}) {
		t.Errorf("after the semop: values %v, want [0 0 0]", v)
	}
}

// TestSemManyWaiters: a thousand writers wait on one semaphore at once;
// the mount keeps answering; one semop made directly releases them all.
func TestSemManyWaiters(t *testing.T) {
	m := mount(t)
	const n = 1000
	k, kOther := newKey(), newKey()
	id := semNew(t, k, 1, 0600)
	other := semNew(t, kOther, 1, 0600)
	path := m.Path("sem", keyName(k), "0")
	pid := m.cmd.Process.Pid
	th0, rss0 := semDaemonFigures(t, pid)

	w := semTool(t, "waiters", strconv.Itoa(n), path, "-1")
	if l := w.line(t); l != fmt.Sprintf("forked %d", n) {
		t.Fatalf("semtool waiters: %q", l)
	}
	semWaitCounts(t, id, 0, n, 0)
	th, rss := semDaemonFigures(t, pid)
	t.Logf("daemon with %d writers waiting: %d threads, VmRSS %d kB (before: %d threads, %d kB)", n, th, rss, th0, rss0)

	semAnswers(t, "stat, read and writes while a thousand wait", func() error {
		if got, err := semTryRead(path); got != "0\n" || err != nil {
			return fmt.Errorf("read: %q %v", got, err)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(m.Path("sem", keyName(k)), &st); err != nil {
			return err
		}
		rows, err := semTryStatus(m.Path("sem", keyName(k), "status"))
		if err != nil {
			return err
		}
		if rows[0]["semncnt"] != strconv.Itoa(n) {
			return fmt.Errorf("status semncnt %q, want %d", rows[0]["semncnt"], n)
		}
		if err := semWriteErr(m.Path("sem", keyName(kOther), "0"), "+1"); err != nil {
			return err
		}
		if _, e := semTryWrite(m.Path("sem", keyName(kOther), "0"), "-1 nowait", 0); e != 0 {
			return fmt.Errorf("-1 nowait on another set: %v", e)
		}
		_, _, err = sh(t, "ls "+m.Path("sem")+" > /dev/null")
		return err
	})
	if semVal(t, other, 0) != 0 || w.exited() {
		t.Fatal("the other set or the waiters changed")
	}

	semMustOp(t, id, semBuf{0, n, 0})
	if l := w.line(t); l != fmt.Sprintf("ok %d failed 0", n) {
		t.Errorf("the waiters: %q", l)
	}
	w.mustSucceed(t)
	semWaitCounts(t, id, 0, 0, 0)
	if v := semVal(t, id, 0); v != 0 {
		t.Errorf("value %d after %d P's and one V of %d", v, n, n)
	}
	th, rss = semDaemonFigures(t, pid)
	t.Logf("daemon after the release: %d threads, VmRSS %d kB", th, rss)
}

// TestSemSharedPathChurn: shells P and V one semaphore through one path at
// once, P's waiting while other shells open the same path to V or read
// it. The kernel holds a file's inode lock while a write waits, so every
// open must get an inode no waiting write holds (fs/open_slots.go): if
// one did not, a V would wait behind the P it was to release, and never
// end. All end, and the value is back where it began.
func TestSemSharedPathChurn(t *testing.T) {
	m := mount(t)
	k := newKey()
	id := semNew(t, k, 1, 0600)
	path := m.Path("sem", keyName(k), "0")
	const shells, rounds = 16, 25
	var ps []*semProc
	for i := 0; i < shells; i++ {
		op := "-1"
		if i%2 == 1 {
			op = "+1"
		}
		ps = append(ps, semBash(t, fmt.Sprintf("for ((i=0;i<%d;i++)); do echo %s > %s && cat %s > /dev/null || exit 1; done", rounds, op, path, path)))
	}
	for _, p := range ps {
		p.mustSucceed(t)
	}
	semWaitCounts(t, id, 0, 0, 0)
	if v := semVal(t, id, 0); v != 0 {
		t.Errorf("value %d after %d P's and as many V's", v, shells/2*rounds)
	}
}

// TestEchoLooksUpOnce: an `echo >` into an idle semaphore or queue file
// costs the kernel one lookup (the file's inode is handed out again once
// its last open is closed; see fs/open_slots.go), counted in the
// daemon's --debug log.
func TestEchoLooksUpOnce(t *testing.T) {
	m := mount(t, "--debug")
	k, kq := newKey(), newKey()
	semNew(t, k, 1, 0600)
	msgNewQueue(t, kq, 0600)
	for _, c := range []struct{ path, name, first, second string }{
		{m.Path("sem", keyName(k), "0"), `"0"`, "+1", "-1"},
		{m.Path("msg", keyName(kq)), `"` + keyName(kq) + `"`, "one", "two"},
	} {
		echoReleased(t, m, c.path, c.first) // the kernel's dentry and inode now exist
		from := len(m.Log())
		echoReleased(t, m, c.path, c.second)
		lookups := 0
		for _, l := range strings.Split(m.Log()[from:], "\n") {
			if strings.Contains(l, ": LOOKUP ") && strings.Contains(l, " "+c.name+" ") {
				lookups++
			}
		}
		if lookups != 1 {
			t.Errorf("echo %s > %s: %d lookups, want 1\n%s", c.second, c.path, lookups, m.Log()[from:])
		}
	}
}

// echoReleased runs `echo word > path` and waits until the daemon has
// answered the RELEASE of that open (the kernel sends it after close
// returns).
func echoReleased(t *testing.T, m *Mount, path, word string) {
	t.Helper()
	from := len(m.Log())
	mustSh(t, "echo "+word+" > "+path)
	semPollFor(t, 20*time.Second, "the RELEASE of "+path, func() bool {
		log := m.Log()[from:]
		i := strings.Index(log, ": RELEASE ")
		if i < 0 {
			return false
		}
		unique := log[strings.LastIndex(log[:i], "rx ")+3 : i]
		return strings.Contains(log[i:], "tx "+unique+":")
	})
}

// TestSemSetRefusesNewFiles: a set's files are its semaphores, semop and
// status: making another (touch, or a write to a semaphore number past the
// set) is EPERM, as in a kind's folder, and makes nothing.
func TestSemSetRefusesNewFiles(t *testing.T) {
	m := mount(t)
	k := newKey()
	id := semNew(t, k, 2, 0600)
	dir := m.Path("sem", keyName(k))
	for _, c := range []struct {
		name string
		want syscall.Errno
	}{{"new", syscall.EPERM}, {"02", syscall.EPERM}, {"2", syscall.EFBIG}, {"9", syscall.EFBIG}, {"99999999999999999999", syscall.EPERM}} {
		// A number past the set fails as semop fails for it.
		_, err := os.OpenFile(dir+"/"+c.name, os.O_WRONLY|os.O_CREATE, 0644)
		if errnoOf(err) != c.want {
			t.Errorf("creating %s in a set: %v, want %v", c.name, err, c.want)
		}
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 4 {
		t.Errorf("the set's folder after: %v %v, want 0 1 semop status", ents, err)
	}
	if s := semStat(t, id); s.Nsems != 2 {
		t.Errorf("the set has %d semaphores, want 2", s.Nsems)
	}

	// Removed by another program while the kernel still holds the
	// folder's entry: every name in it is unknown, as a lookup says.
	if _, err := os.ReadDir(dir); err != nil {
		t.Fatal(err)
	}
	mustSh(t, fmt.Sprintf("ipcrm -S %#x", k))
	if _, err := os.OpenFile(dir+"/0", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0644); errnoOf(err) != syscall.ENOENT {
		t.Errorf("echo > a semaphore of a removed set: %v, want ENOENT", err)
	}
}

// TestSemHandleAfterRemoval: reads and writes through handles opened
// before the set was removed fail as GETVAL, GETALL and semop on the
// removed id fail (EINVAL), not as a path lookup would (ENOENT).
func TestSemHandleAfterRemoval(t *testing.T) {
	m := mount(t)
	k := newKey()
	id := semNew(t, k, 1, 0600)
	var fds []int
	for _, name := range []string{"0", "semop"} {
		fd, err := unix.Open(m.Path("sem", keyName(k), name), unix.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		fds = append(fds, fd)
	}
	if err := os.Remove(m.Path("sem", keyName(k))); err != nil {
		t.Fatal(err)
	}
	_, getval := semctlRaw(id, 0, semGETVAL, 0)
	_, getall := semctlRaw(id, 0, semGETALL, 0)
	_, _, semop := unix.Syscall(unix.SYS_SEMOP, uintptr(id), uintptr(unsafe.Pointer(&[3]int16{0, 1, 0})), 1)
	for i, fd := range fds {
		want := []syscall.Errno{getval, getall}[i]
		if _, err := unix.Read(fd, make([]byte, 64)); errnoOf(err) != want {
			t.Errorf("read of a held file of a removed set (%d): %v, want %v as semctl gives", i, err, want)
		}
		op := []string{"+1", "0:+1"}[i]
		if _, err := unix.Write(fd, []byte(op)); errnoOf(err) != semop {
			t.Errorf("write %q to a held file of a removed set: %v, want %v as semop gives", op, err, semop)
		}
	}
}

// TestSemReadAfterWrite: one handle both written and read (`exec 3<>`)
// reads whole fresh values: after a write, and after the end of file
// that follows each value (it read the value's tail from the offset the
// writes had moved, then end of file for good).
func TestSemReadAfterWrite(t *testing.T) {
	m := mount(t)
	key := newKey()
	semNew(t, key, 1, 0600)
	p := m.Path("sem", keyName(key), "0")
	got := mustSh(t, fmt.Sprintf(`exec 3<>%[1]q; echo =12345 >&3; echo +1 >&3; read v <&3; echo "$v"
echo -1 >&3; read w <&3; echo "$w"
exec 4<%[1]q; cat <&4; cat <&4`, p))
	if want := "12346\n12345\n12345\n12345\n"; got != want {
		t.Errorf("reads of written handles: %q, want %q", got, want)
	}
}

// scatteredWritev writes text to path (opened write-only) with one
// writev whose every byte is on a page of its own, so that the kernel
// cuts it into requests of 256 pages.
func scatteredWritev(t *testing.T, path, text string) (int, error) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pages := pageBuffer(t, len(text)*4096, 0)
	iov := make([][]byte, len(text))
	for i := range iov {
		pages[i*4096] = text[i]
		iov[i] = pages[i*4096 : i*4096+1]
	}
	return unix.Writev(int(f.Fd()), iov)
}

// TestCommandScatteredWrite: a write(2) the kernel cuts into several
// requests is one command of what it reports written: its first piece,
// a short write; the later pieces are not carried out as commands of
// their own.
func TestCommandScatteredWrite(t *testing.T) {
	m := mount(t)
	spaced := func(a, b string, n int) string { return a + strings.Repeat(" ", n-len(a)-len(b)) + b }

	key := newKey()
	id := semNew(t, key, 2, 0600)
	if n, err := scatteredWritev(t, m.Path("sem", keyName(key), "0"), spaced("+1", "+1", 300)); err != nil || n != 256 {
		t.Errorf("semaphore file: writev %d, %v; want a short write of 256", n, err)
	}
	if v := semVal(t, id, 0); v != 1 {
		t.Errorf("semaphore file: value %d after the cut writev, want 1 (its first piece, once)", v)
	}
	if n, err := scatteredWritev(t, m.Path("sem", keyName(key), "semop"), spaced("1:+1", "0:-1 nowait", 300)); err != nil || n != 256 {
		t.Errorf("semop file: writev %d, %v; want a short write of 256", n, err)
	}
	if v0, v1 := semVal(t, id, 0), semVal(t, id, 1); v0 != 1 || v1 != 1 {
		t.Errorf("semop file: values %d %d after the cut writev, want 1 1 (its first piece alone)", v0, v1)
	}

	k1, k2 := newKey(), newKey()
	msgRemoveKeyLater(t, k1)
	msgRemoveKeyLater(t, k2)
	if n, err := scatteredWritev(t, m.Path("msg", "create"), spaced(fmt.Sprintf("%#x", k1), fmt.Sprintf("%#x", k2), 300)); err != nil || n != 256 {
		t.Errorf("msg/create: writev %d, %v; want a short write of 256", n, err)
	}
	if _, err := msgIDOf(k2); err == nil {
		t.Errorf("msg/create: the cut writev's second piece made %#x", k2)
	}
	if _, err := msgIDOf(k1); err != nil {
		t.Errorf("msg/create: the cut writev's first piece did not make %#x: %v", k1, err)
	}
}

// TestWaitersAfterListing: a listing hands out no inode of a file that
// takes waiting writes or reads, so two callers that wait on the same
// file just after `ls -l` each have their own (and its lock), for a
// semaphore as for a queue. (An inode handed out with the listing and
// kept would be shared, and the second caller would wait for the first
// one's lock, unseen by the kernel's semncnt or the daemon.)
func TestWaitersAfterListing(t *testing.T) {
	m := mount(t)
	k, qk := newKey(), newKey()
	id := semNew(t, k, 1, 0600)
	qid := msgNewQueue(t, qk, 0600)
	mustSh(t, "ls -l "+m.Path("sem", keyName(k))+" "+m.Path("msg")+" > /dev/null")
	// And stats, after which the inode a stat got is free again (see
	// openSlots.statted).
	statOf(t, m.Path("sem", keyName(k), "0"))
	statOf(t, m.Path("msg", keyName(qk)))

	w := semTool(t, "waiters", "2", m.Path("sem", keyName(k), "0"), "-1")
	if l := w.line(t); l != "forked 2" {
		t.Fatalf("semtool waiters: %q", l)
	}
	readers := semBash(t, "q="+m.Path("msg", keyName(qk))+"; cat $q & cat $q & wait")
	semPollFor(t, 20*time.Second, "both semaphore writers wait in semop", func() bool { return semNcnt(t, id, 0) == 2 })
	msgWaitDaemonWaiters(t, m, qid, 2, 0)

	semMustOp(t, id, semBuf{0, 2, 0})
	if l := w.line(t); l != "ok 2 failed 0" {
		t.Errorf("semaphore writers: %q", l)
	}
	msgSend(t, qid, 1, []byte("one\n"))
	msgSend(t, qid, 1, []byte("two\n"))
	if l1, l2 := readers.line(t), readers.line(t); l1+l2 != "onetwo" && l1+l2 != "twoone" {
		t.Errorf("queue readers: %q %q", l1, l2)
	}
}
