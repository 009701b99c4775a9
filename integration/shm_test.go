package integration

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Helpers for the shm/ tests. Each object they make is removed when the
// test ends, whatever happens.

// shmPollUntil waits for an eventual condition (a release that the kernel
// sends after close returns, a process that exits), failing the test if
// it does not hold within a generous deadline.
func shmPollUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// procShm reads /proc/sysvipc/shm, the kernel's own list of segments:
// id -> key.
func procShm(t testing.TB) map[int]int32 {
	t.Helper()
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		t.Fatal(err)
	}
	segs := map[int]int32{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		key, err1 := strconv.ParseInt(f[0], 10, 32)
		id, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			t.Fatalf("bad line in /proc/sysvipc/shm: %q", sc.Text())
		}
		segs[id] = int32(key)
	}
	return segs
}

// madeBy returns the segments (id -> key) whose creator is process pid:
// for a daemon, what it made itself, whatever else runs meanwhile.
func madeBy(t testing.TB, pid int) map[int]int32 {
	t.Helper()
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		t.Fatal(err)
	}
	segs := map[int]int32{}
	lines := strings.Split(string(b), "\n")
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		key, _ := strconv.ParseInt(f[0], 10, 32)
		id, _ := strconv.Atoi(f[1])
		if f[4] == strconv.Itoa(pid) {
			segs[id] = int32(key)
		}
	}
	return segs
}

// checkMadeNothing fails the test if the daemon of m made any segment,
// and removes what it made.
func checkMadeNothing(t testing.TB, m *Mount, what string) {
	t.Helper()
	if made := madeBy(t, m.cmd.Process.Pid); len(made) != 0 {
		t.Errorf("%s made segments: %v", what, made)
		for id := range made {
			removeShmIDLater(t, id)
		}
	}
}

// shmCanonical is the name `ls shm` must show for a segment.
func shmCanonical(key int32, id int) string {
	if key == 0 {
		return fmt.Sprintf("id-%d", id)
	}
	return keyName(uint32(key))
}

// rmid is IPC_RMID made directly.
func rmid(t testing.TB, id int) {
	t.Helper()
	if _, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil); err != nil {
		t.Fatalf("IPC_RMID %d: %v", id, err)
	}
}

// privateSegment makes an IPC_PRIVATE segment directly.
func privateSegment(t testing.TB, size, mode int) int {
	t.Helper()
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, size, unix.IPC_CREAT|mode)
	if err != nil {
		t.Fatalf("shmget(IPC_PRIVATE, %d): %v", size, err)
	}
	removeShmIDLater(t, id)
	return id
}

// removeShmIDLater removes a segment by id when the test ends.
func removeShmIDLater(t testing.TB, id int) {
	t.Cleanup(func() { unix.SysvShmCtl(id, unix.IPC_RMID, nil) })
}

// shmIDOf is shmget(key, 0, 0): the id that holds key now.
func shmIDOf(key uint32) (int, error) {
	return unix.SysvShmGet(int(int32(key)), 0, 0)
}

// shmGone reports whether IPC_STAT says the id no longer exists.
func shmGone(id int) bool {
	var d unix.SysvShmDesc
	_, err := unix.SysvShmCtl(id, unix.IPC_STAT, &d)
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EIDRM)
}

// patternBytes is what `shmtool pattern ID SEED` writes into n bytes.
func patternBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	for i := range b {
		u := uint64(i)
		b[i] = byte(u*31 + (u>>8)*7 + (u>>16)*13 + seed)
	}
	return b
}

// segmentBytes reads a whole segment directly, through a read-only shmat.
func segmentBytes(t testing.TB, id int) []byte {
	t.Helper()
	b, err := unix.SysvShmAttach(id, 0, unix.SHM_RDONLY)
	if err != nil {
		t.Fatalf("shmat %d: %v", id, err)
	}
	defer unix.SysvShmDetach(b)
	return bytes.Clone(b)
}

// runC runs a compiled C helper and returns its stdout; it must succeed.
func runC(t testing.TB, prog string, args ...string) string {
	t.Helper()
	cmd := exec.Command(cProgram(t, prog), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", prog, args, err, stderr.String())
	}
	return string(out)
}

// runCErrno runs a C helper that prints an errno (shmtool create, attach,
// set, rmid; fsop) and returns that errno. asUser runs it as uid and gid
// 1000 with no supplementary groups (setpriv).
func runCErrno(t testing.TB, asUser bool, prog string, args ...string) syscall.Errno {
	t.Helper()
	bin := cProgram(t, prog)
	var cmd *exec.Cmd
	if asUser {
		openToOthers(t, bin)
		cmd = exec.Command("setpriv", append([]string{"--reuid=1000", "--regid=1000", "--clear-groups", bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", prog, args, err, stderr.String())
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		t.Fatalf("%s %v printed nothing", prog, args)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatalf("%s %v printed %q", prog, args, out)
	}
	return syscall.Errno(n)
}

// asUser runs a bash script as uid and gid 1000 with no supplementary
// groups.
func asUser(t testing.TB, script string) (string, string, error) {
	t.Helper()
	return sh(t, "setpriv --reuid=1000 --regid=1000 --clear-groups bash -c "+shQuote(script))
}

// shQuote quotes s for bash.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// openToOthers makes the directories of path reachable by other users,
// from the test's temporary directory down.
func openToOthers(t testing.TB, path string) {
	t.Helper()
	tmp := filepath.Clean(os.TempDir())
	for dir := filepath.Dir(path); strings.HasPrefix(dir, tmp+"/"); dir = filepath.Dir(dir) {
		if err := os.Chmod(dir, 0755); err != nil {
			t.Fatal(err)
		}
	}
}

// statOf is stat(2) of a path through the mount.
func statOf(t testing.TB, path string) syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	return st
}

// statErrno is the errno of stat(2) of path, 0 when it succeeds.
func statErrno(path string) syscall.Errno {
	var st syscall.Stat_t
	return errnoOf(syscall.Stat(path, &st))
}

// direntInos reads a directory with getdents64 and returns name -> d_ino.
func direntInos(t testing.TB, dir string) map[string]uint64 {
	t.Helper()
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	inos := map[string]uint64{}
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.ReadDirent(fd, buf)
		if err != nil {
			t.Fatalf("getdents %s: %v", dir, err)
		}
		if n == 0 {
			return inos
		}
		for b := buf[:n]; len(b) > 0; {
			ino := binary.NativeEndian.Uint64(b[0:8])
			reclen := binary.NativeEndian.Uint16(b[16:18])
			name := b[19:reclen]
			name = name[:bytes.IndexByte(name, 0)]
			if s := string(name); s != "." && s != ".." {
				inos[s] = ino
			}
			b = b[reclen:]
		}
	}
}

// checkStatMatches compares stat through the mount with IPC_STAT.
func checkStatMatches(t testing.TB, path string, id int) syscall.Stat_t {
	t.Helper()
	st := statOf(t, path)
	d := shmStat(t, id)
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		t.Errorf("%s: mode %o, want a regular file", path, st.Mode)
	}
	if uint64(st.Size) != d.Segsz {
		t.Errorf("%s: size %d, IPC_STAT says %d", path, st.Size, d.Segsz)
	}
	if st.Mode&0777 != d.Perm.Mode&0777 {
		t.Errorf("%s: mode %o, IPC_STAT says %o", path, st.Mode&0777, d.Perm.Mode&0777)
	}
	if st.Uid != d.Perm.Uid || st.Gid != d.Perm.Gid {
		t.Errorf("%s: owner %d:%d, IPC_STAT says %d:%d", path, st.Uid, st.Gid, d.Perm.Uid, d.Perm.Gid)
	}
	if st.Ctim.Sec != d.Ctime {
		t.Errorf("%s: ctime %d, IPC_STAT says %d", path, st.Ctim.Sec, d.Ctime)
	}
	wantAtime, wantMtime := d.Atime, d.Dtime
	if wantAtime == 0 {
		wantAtime = d.Ctime
	}
	if wantMtime == 0 {
		wantMtime = d.Ctime
	}
	if st.Atim.Sec != wantAtime || st.Mtim.Sec != wantMtime {
		t.Errorf("%s: atime %d mtime %d, IPC_STAT says atime %d dtime %d ctime %d",
			path, st.Atim.Sec, st.Mtim.Sec, d.Atime, d.Dtime, d.Ctime)
	}
	return st
}

// daemonMapsOf returns the permissions ("r--s", "rw-s") of each of the
// daemon's attachments of segment id, as /proc/PID/maps shows them: the
// kernel names an attachment /SYSV<key> with the shmid as its inode.
func daemonMapsOf(t testing.TB, pid, id int) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	var perms []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && strings.HasPrefix(f[5], "/SYSV") && f[4] == strconv.Itoa(id) {
			perms = append(perms, f[1])
		}
	}
	return perms
}

// nattch is shm_nattch from IPC_STAT.
func nattch(t testing.TB, id int) uint64 {
	t.Helper()
	return shmStat(t, id).Nattch
}

// holder is another process (shmtool hold) with a segment attached.
type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  bool
}

// holdSegment starts a process that keeps segment id attached until
// release, or the end of the test.
func holdSegment(t testing.TB, id int) *holder {
	t.Helper()
	cmd := exec.Command(cProgram(t, "shmtool"), "hold", strconv.Itoa(id))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, stdin: stdin}
	t.Cleanup(h.release)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "attached\n" {
		t.Fatalf("shmtool hold %d: %q %v", id, line, err)
	}
	return h
}

// release makes the holder detach and exit, and waits for it.
func (h *holder) release() {
	if h.done {
		return
	}
	h.done = true
	h.stdin.Close()
	h.cmd.Wait()
}

// --- listing and lookup ---

// TestShmListing: `ls shm` shows every segment the kernel has, under its
// canonical name, and nothing else; stat matches IPC_STAT; the inode
// number is the same for every spelling and stays the same.
func TestShmListing(t *testing.T) {
	m := mount(t)

	kKeyed := newKey()
	idKeyed := newSegment(t, kKeyed, 5000, 0640)
	idPriv := privateSegment(t, 8192, 0600)

	// Removed while the test still has it attached: the kernel resets
	// its key, so it is listed as id-N.
	kRemoved := newKey()
	idRemoved := newSegment(t, kRemoved, 3*4096, 0604)
	attach(t, idRemoved, 0)
	rmid(t, idRemoved)
	if d := shmStat(t, idRemoved); d.Perm.Key != 0 || d.Perm.Mode&01000 == 0 {
		t.Fatalf("removed attached segment: key %#x mode %o; want key 0 and SHM_DEST", d.Perm.Key, d.Perm.Mode)
	}

	// Made and removed with nothing attached: gone.
	kGone := newKey()
	idGone := newSegment(t, kGone, 4096, 0600)
	rmid(t, idGone)

	want := map[int]string{
		idKeyed:   keyName(kKeyed),
		idPriv:    fmt.Sprintf("id-%d", idPriv),
		idRemoved: fmt.Sprintf("id-%d", idRemoved),
	}

	// ls shows exactly what the kernel holds: every segment there before
	// and after the ls, nothing that was there neither before nor after
	// (other programs may make and remove segments meanwhile).
	before := procShm(t)
	listed := strings.Fields(mustSh(t, "ls -1 "+m.Path("shm")))
	after := procShm(t)
	may := map[string]bool{"create": true, "remove": true, "status": true}
	must := []string{"create", "remove", "status"}
	for id, key := range before {
		may[shmCanonical(key, id)] = true
		if k, ok := after[id]; ok && k == key {
			must = append(must, shmCanonical(key, id))
		}
	}
	for id, key := range after {
		may[shmCanonical(key, id)] = true
	}
	for _, name := range must {
		if !slices.Contains(listed, name) {
			t.Errorf("ls shm does not list %s, which the kernel has", name)
		}
	}
	seen := map[string]bool{}
	for _, name := range listed {
		if !may[name] {
			t.Errorf("ls shm lists %s, which the kernel does not have", name)
		}
		if seen[name] {
			t.Errorf("ls shm lists %s twice", name)
		}
		seen[name] = true
	}
	for id, name := range want {
		if !slices.Contains(listed, name) {
			t.Errorf("ls shm does not list %s (segment %d)", name, id)
		}
	}
	for _, name := range []string{keyName(kRemoved), keyName(kGone), fmt.Sprintf("id-%d", idGone), fmt.Sprintf("id-%d", idKeyed)} {
		if slices.Contains(listed, name) {
			t.Errorf("ls shm lists %s", name)
		}
	}

	// stat of each listed name matches IPC_STAT, and so does what the
	// shell's stat shows for the names the glob found in the listing.
	inos := map[int]uint64{}
	for id, name := range want {
		st := checkStatMatches(t, m.Path("shm", name), id)
		inos[id] = st.Ino
	}
	out := mustSh(t, "cd "+m.Path("shm")+" && stat -c '%n %s %a %u %g %i' 0x* id-*")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var name string
		var size int64
		var mode string
		var uid, gid uint32
		var ino uint64
		if _, err := fmt.Sscan(line, &name, &size, &mode, &uid, &gid, &ino); err != nil {
			t.Fatalf("stat line %q: %v", line, err)
		}
		for id, n := range want {
			if n != name {
				continue
			}
			d := shmStat(t, id)
			if uint64(size) != d.Segsz || mode != strconv.FormatUint(uint64(d.Perm.Mode&0777), 8) ||
				uid != d.Perm.Uid || gid != d.Perm.Gid || ino != inos[id] {
				t.Errorf("stat(1) of %s: %q; IPC_STAT: size %d mode %o uid %d gid %d; stat(2) ino %d",
					name, line, d.Segsz, d.Perm.Mode&0777, d.Perm.Uid, d.Perm.Gid, inos[id])
			}
		}
	}

	// Inode numbers: distinct per object, the same in the listing, for
	// every spelling, and stable over time and changes.
	if inos[idKeyed] == inos[idPriv] || inos[idKeyed] == inos[idRemoved] || inos[idPriv] == inos[idRemoved] {
		t.Errorf("inode numbers not distinct: %v", inos)
	}
	dirInos := direntInos(t, m.Path("shm"))
	for id, name := range want {
		if dirInos[name] != inos[id] {
			t.Errorf("%s: readdir ino %d, stat ino %d", name, dirInos[name], inos[id])
		}
	}
	hexKey := strings.ToUpper(fmt.Sprintf("%x", kKeyed))
	for _, spelling := range []string{"0X" + hexKey, "0x" + hexKey, "0x00" + fmt.Sprintf("%x", kKeyed), fmt.Sprintf("id-%d", idKeyed)} {
		if st := statOf(t, m.Path("shm", spelling)); st.Ino != inos[idKeyed] {
			t.Errorf("%s: ino %d, %s has %d", spelling, st.Ino, keyName(kKeyed), inos[idKeyed])
		}
	}
	var ds unix.SysvShmDesc
	ds.Perm.Uid, ds.Perm.Gid, ds.Perm.Mode = 0, 0, 0660
	if _, err := unix.SysvShmCtl(idKeyed, unix.IPC_SET, &ds); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 10)
	f, err := os.OpenFile(m.Path("shm", keyName(kKeyed)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.ReadAt(b, 0)
	f.Close()
	for id, name := range want {
		if st := statOf(t, m.Path("shm", name)); st.Ino != inos[id] {
			t.Errorf("%s: ino changed from %d to %d", name, inos[id], st.Ino)
		}
	}

	// Names of objects that are gone do not resolve.
	for _, name := range []string{keyName(kRemoved), keyName(kGone), fmt.Sprintf("id-%d", idGone)} {
		if e := statErrno(m.Path("shm", name)); e != syscall.ENOENT {
			t.Errorf("stat %s: %v, want ENOENT", name, e)
		}
	}
}

// TestShmListingMany: a listing longer than one readdir reply shows each
// segment once, with the attributes IPC_STAT gives (ls -l, stat(1) on
// the names the glob read).
func TestShmListingMany(t *testing.T) {
	m := mount(t)
	const n = 300
	want := map[string]int{}
	for i := range n {
		key := newKey()
		id := newSegment(t, key, 4096+i, 0600|i%8<<3)
		want[keyName(key)] = id
	}
	for _, script := range []string{"ls -1 ", "ls -1 -f ", "ls -l "} {
		out := mustSh(t, script+m.Path("shm"))
		seen := map[string]int{}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 0 {
				seen[f[len(f)-1]]++
			}
		}
		for name := range want {
			if seen[name] != 1 {
				t.Errorf("%s: %s listed %d times", script, name, seen[name])
			}
		}
	}
	out := mustSh(t, "cd "+m.Path("shm")+" && stat -c '%n %s %a %i' 0x*")
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var name, mode string
		var size int64
		var ino uint64
		if _, err := fmt.Sscan(line, &name, &size, &mode, &ino); err != nil {
			t.Fatalf("stat line %q: %v", line, err)
		}
		id, ok := want[name]
		if !ok {
			continue
		}
		d := shmStat(t, id)
		if uint64(size) != d.Segsz || mode != strconv.FormatUint(uint64(d.Perm.Mode&0777), 8) {
			t.Errorf("stat(1) %q; IPC_STAT: size %d mode %o", line, d.Segsz, d.Perm.Mode&0777)
		}
		if st := statOf(t, m.Path("shm", name)); st.Ino != ino {
			t.Errorf("%s: ino %d in the listing's stat, %d now", name, ino, st.Ino)
		}
		checked++
	}
	if checked != n {
		t.Errorf("stat(1) showed %d of the %d segments", checked, n)
	}
}

// shortKey returns a free key with leading zeros (so it has a shorter
// spelling), different in each run.
func shortKey(t testing.TB) uint32 {
	t.Helper()
	for i := uint32(0); i < 64; i++ {
		k := (keyBase>>16)&0xffff ^ i
		if k == 0 {
			continue
		}
		if _, err := shmIDOf(k); errors.Is(err, unix.ENOENT) {
			return k
		}
	}
	t.Fatal("no free key with leading zeros")
	return 0
}

// TestShmLookupSpellings: a key spelled short, in upper case or with more
// zeros, and id-N of a keyed segment all find it; ls lists only the
// canonical name; names that cannot exist are ENOENT.
func TestShmLookupSpellings(t *testing.T) {
	m := mount(t)
	k := shortKey(t)
	id := newSegment(t, k, 777, 0600)
	runC(t, "shmtool", "pattern", strconv.Itoa(id), "5")
	canonical := keyName(k)
	if !strings.HasPrefix(canonical, "0x0000") {
		t.Fatalf("key %s has no leading zeros", canonical)
	}
	short := fmt.Sprintf("0x%x", k)
	spellings := []string{canonical, short, strings.ToUpper(short), "0X" + strings.ToUpper(short[2:]),
		"0x" + strings.ToUpper(short[2:]), "0x000000" + short[2:], fmt.Sprintf("id-%d", id)}
	want := checkStatMatches(t, m.Path("shm", canonical), id)
	for _, s := range spellings {
		st := checkStatMatches(t, m.Path("shm", s), id)
		if st.Ino != want.Ino {
			t.Errorf("%s: ino %d, %s has %d", s, st.Ino, canonical, want.Ino)
		}
		// Reading through any spelling reads the segment.
		b, err := os.ReadFile(m.Path("shm", s))
		if err != nil {
			t.Errorf("read %s: %v", s, err)
		} else if !bytes.Equal(b, patternBytes(777, 5)) {
			t.Errorf("read %s: wrong bytes", s)
		}
	}

	listed := strings.Fields(mustSh(t, "ls -1 "+m.Path("shm")))
	if !slices.Contains(listed, canonical) {
		t.Errorf("ls does not list %s: %q", canonical, listed)
	}
	for _, s := range spellings[1:] {
		if slices.Contains(listed, s) {
			t.Errorf("ls lists the spelling %s: %q", s, listed)
		}
	}
	for _, name := range listed {
		if name != "create" && name != "remove" && name != "status" && !strings.HasPrefix(name, "id-") &&
			(len(name) != 10 || name != strings.ToLower(name) || !strings.HasPrefix(name, "0x")) {
			t.Errorf("ls lists a name that is not canonical: %q", name)
		}
	}

	// Names that never name a segment.
	unused := newKey()
	for _, name := range []string{keyName(unused), "0x00000000", "0x0", "0x", "0xZZ", "0x1ffffffff", "id-", "id-x",
		"id-01", "id--1", "id-99999999999", "x0x1", "foo", "0x" + strings.Repeat("0", 40) + "g"} {
		if e := statErrno(m.Path("shm", name)); e != syscall.ENOENT {
			t.Errorf("stat %q: %v, want ENOENT", name, e)
		}
	}
}

// TestShmListingLeavesNothingStale: `ls -l` is answered from what the
// listing handed out (READDIRPLUS), and right and whole; once the listing
// is read to its end, nothing of it stays cached: a segment removed or
// re-made behind the mount's back is seen as it is now.
func TestShmListingLeavesNothingStale(t *testing.T) {
	m := mount(t)
	gone, remade, changed := newKey(), newKey(), newKey()
	idGone := newSegment(t, gone, 4096, 0600)
	idRemade := newSegment(t, remade, 4096, 0600)
	idChanged := newSegment(t, changed, 8192, 0600)

	out := mustSh(t, "ls -ln "+m.Path("shm"))
	for _, c := range []struct {
		key  uint32
		id   int
		want string
	}{{gone, idGone, "4096"}, {remade, idRemade, "4096"}, {changed, idChanged, "8192"}} {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasSuffix(l, " "+keyName(c.key)) {
				line = l
			}
		}
		f := strings.Fields(line)
		if len(f) < 9 || f[0] != "-rw-------" || f[4] != c.want {
			t.Errorf("ls -ln shows %s as %q, want mode -rw------- and size %s", keyName(c.key), line, c.want)
		}
	}

	rmid(t, idGone)
	rmid(t, idRemade)
	idNew := newSegment(t, remade, 3*4096, 0644)
	var ds unix.SysvShmDesc
	ds.Perm.Mode = 0640
	if _, err := unix.SysvShmCtl(idChanged, unix.IPC_SET, &ds); err != nil {
		t.Fatal(err)
	}
	if e := statErrno(m.Path("shm", keyName(gone))); e != syscall.ENOENT {
		t.Errorf("stat of a segment removed after ls -l: %v, want ENOENT", e)
	}
	checkStatMatches(t, m.Path("shm", keyName(remade)), idNew)
	if st := checkStatMatches(t, m.Path("shm", keyName(changed)), idChanged); st.Mode&0777 != 0640 {
		t.Errorf("stat after a chmod made directly after ls -l: mode %o, want 640", st.Mode&0777)
	}
	if b, err := os.ReadFile(m.Path("shm", keyName(remade))); err != nil || len(b) != 3*4096 {
		t.Errorf("read of the re-made segment after ls -l: %d bytes, %v", len(b), err)
	}
}

// TestShmNoStaleEntries: segments made and removed behind the mount's back
// (ipcmk, ipcrm, shmget) show at once, and vanish at once.
func TestShmNoStaleEntries(t *testing.T) {
	m := mount(t)
	out := mustSh(t, "ipcmk -M 12345 -p 0600")
	f := strings.Fields(out)
	id, err := strconv.Atoi(f[len(f)-1])
	if err != nil {
		t.Fatalf("ipcmk said %q", out)
	}
	removeShmIDLater(t, id)
	d := shmStat(t, id)
	name := shmCanonical(d.Perm.Key, id)

	checkStatMatches(t, m.Path("shm", name), id)
	if listed := mustSh(t, "ls -1 "+m.Path("shm")); !slices.Contains(strings.Fields(listed), name) {
		t.Errorf("ls does not list %s, just made by ipcmk:\n%s", name, listed)
	}
	mustSh(t, "ipcrm -m "+strconv.Itoa(id))
	if e := statErrno(m.Path("shm", name)); e != syscall.ENOENT {
		t.Errorf("stat %s just after ipcrm: %v, want ENOENT", name, e)
	}
	if e := statErrno(m.Path("shm", fmt.Sprintf("id-%d", id))); e != syscall.ENOENT {
		t.Errorf("stat id-%d just after ipcrm: %v, want ENOENT", id, e)
	}
	if listed := mustSh(t, "ls -1 "+m.Path("shm")); slices.Contains(strings.Fields(listed), name) {
		t.Errorf("ls still lists %s after ipcrm:\n%s", name, listed)
	}

	// The same key made again with another size: the mount shows the new
	// segment at once; removed by key with ipcrm -M: gone at once.
	key := newKey()
	id1 := newSegment(t, key, 4096, 0600)
	st1 := checkStatMatches(t, m.Path("shm", keyName(key)), id1)
	rmid(t, id1)
	id2 := newSegment(t, key, 3*4096+1, 0644)
	st2 := checkStatMatches(t, m.Path("shm", keyName(key)), id2)
	if st1.Ino == st2.Ino {
		t.Errorf("a new segment under the same key kept inode %d", st1.Ino)
	}
	mustSh(t, fmt.Sprintf("ipcrm -M %#x", key))
	if e := statErrno(m.Path("shm", keyName(key))); e != syscall.ENOENT {
		t.Errorf("stat %s just after ipcrm -M: %v, want ENOENT", keyName(key), e)
	}

	// A chmod made directly shows through the mount within the attribute
	// lifetime (a second).
	key3 := newKey()
	id3 := newSegment(t, key3, 4096, 0600)
	p := m.Path("shm", keyName(key3))
	checkStatMatches(t, p, id3)
	var ds unix.SysvShmDesc
	ds.Perm.Uid, ds.Perm.Gid, ds.Perm.Mode = 1000, 1000, 0664
	if _, err := unix.SysvShmCtl(id3, unix.IPC_SET, &ds); err != nil {
		t.Fatal(err)
	}
	shmPollUntil(t, "the mount shows the new mode and owner", func() bool {
		st := statOf(t, p)
		return st.Mode&0777 == 0664 && st.Uid == 1000 && st.Gid == 1000
	})
	checkStatMatches(t, p, id3)
}

// --- data ---

// TestShmRead: what a program wrote through shmat reads back through the
// mount with cat, dd and pread; reading at or past the end is EOF.
func TestShmRead(t *testing.T) {
	m := mount(t)
	key := newKey()
	const size = 3*4096 + 123
	id := newSegment(t, key, size, 0600)
	runC(t, "shmtool", "pattern", strconv.Itoa(id), "17")
	want := patternBytes(size, 17)
	if !bytes.Equal(segmentBytes(t, id), want) {
		t.Fatal("shmtool and the test disagree on the pattern")
	}
	p := m.Path("shm", keyName(key))

	if got := mustSh(t, "cat "+p); got != string(want) {
		t.Errorf("cat: %d bytes differ from the segment's %d", len(got), size)
	}
	if got := mustSh(t, "dd if="+p+" bs=1000 skip=3 count=2 status=none"); got != string(want[3000:5000]) {
		t.Errorf("dd skip=3 count=2: got %d bytes, not the segment's", len(got))
	}
	if got := mustSh(t, "dd if="+p+" bs=4096 skip=3 status=none"); got != string(want[3*4096:]) {
		t.Errorf("dd of the last partial block: got %d bytes, want %d", len(got), size-3*4096)
	}
	if got := mustSh(t, "head -c 10 "+p+" | od -An -tx1"); got != mustSh(t, cProgram(t, "shmtool")+" read "+strconv.Itoa(id)+" 0 10 | od -An -tx1") {
		t.Errorf("head -c 10 and shmat disagree: %q", got)
	}

	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 100)
	if n, err := f.ReadAt(buf, size-10); n != 10 || err != io.EOF || !bytes.Equal(buf[:n], want[size-10:]) {
		t.Errorf("ReadAt(100 bytes, size-10) = %d, %v; want 10, EOF and the last bytes", n, err)
	}
	for _, off := range []int64{size, size + 1, size + 4096, 1 << 40} {
		if n, err := f.ReadAt(buf, off); n != 0 || err != io.EOF {
			t.Errorf("ReadAt(off %d) = %d, %v; want 0, EOF", off, n, err)
		}
		if n, err := syscall.Pread(int(f.Fd()), buf, off); n != 0 || err != nil {
			t.Errorf("pread(off %d) = %d, %v; want 0 (end of file)", off, n, err)
		}
	}
	if n, err := syscall.Pread(int(f.Fd()), buf, 4090); n != 100 || err != nil || !bytes.Equal(buf, want[4090:4190]) {
		t.Errorf("pread across a page boundary = %d, %v", n, err)
	}
	// A change made directly shows in the next read: no page cache.
	seg := attach(t, id, 0)
	copy(seg[4000:], "fresh")
	if n, err := syscall.Pread(int(f.Fd()), buf[:5], 4000); n != 5 || err != nil || string(buf[:5]) != "fresh" {
		t.Errorf("pread after a direct write = %d, %v, %q; want \"fresh\"", n, err, buf[:5])
	}
}

// TestShmWrite: dd writes at offsets land in the segment; a write running
// past the end is short, and one starting at the end fails with ENOSPC.
func TestShmWrite(t *testing.T) {
	m := mount(t)
	key := newKey()
	const size = 4*4096 + 100
	id := newSegment(t, key, size, 0600)
	runC(t, "shmtool", "pattern", strconv.Itoa(id), "3")
	want := patternBytes(size, 3)
	p := m.Path("shm", keyName(key))

	mustSh(t, "printf XYZ | dd of="+p+" bs=1 seek=5000 conv=notrunc status=none")
	copy(want[5000:], "XYZ")
	if got := runC(t, "shmtool", "read", strconv.Itoa(id), "4999", "5"); got != string(want[4999:5004]) {
		t.Errorf("shmtool read after dd: %q, want %q", got, want[4999:5004])
	}

	block := randomBytes(8192, 1)
	src := filepath.Join(t.TempDir(), "block")
	if err := os.WriteFile(src, block, 0644); err != nil {
		t.Fatal(err)
	}
	mustSh(t, "dd if="+src+" of="+p+" bs=4096 seek=1 conv=notrunc status=none")
	copy(want[4096:], block)
	if got := segmentBytes(t, id); !bytes.Equal(got, want) {
		t.Errorf("segment after dd bs=4096 seek=1: differs at %d", firstDiff(got, want))
	}

	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())

	// Short write at the end; ENOSPC from the end on.
	if n, err := syscall.Pwrite(fd, []byte("0123456789"), size-4); n != 4 || err != nil {
		t.Errorf("pwrite(10 bytes, size-4) = %d, %v; want 4, nil", n, err)
	}
	copy(want[size-4:], "0123")
	// os.File.WriteAt goes on after the short write, meets the end and
	// reports ENOSPC (dropping the count of the bytes it did write).
	if _, err := f.WriteAt([]byte("abcdefgh"), size-2); errnoOf(err) != syscall.ENOSPC {
		t.Errorf("WriteAt(8 bytes, size-2): %v; want ENOSPC", err)
	}
	copy(want[size-2:], "ab")
	for _, off := range []int64{size, size + 1, size + 4096} {
		if n, err := syscall.Pwrite(fd, []byte("x"), off); errnoOf(err) != syscall.ENOSPC {
			t.Errorf("pwrite at %d = %d, %v; want ENOSPC", off, n, err)
		}
	}
	if got := segmentBytes(t, id); !bytes.Equal(got, want) {
		t.Errorf("segment after the writes at the end: differs at %d", firstDiff(got, want))
	}
	if _, _, err := sh(t, "printf x | dd of="+p+" bs=1 seek="+strconv.Itoa(size)+" conv=notrunc status=none"); err == nil {
		t.Error("dd at the end of the segment succeeded")
	}
	if d := shmStat(t, id); d.Segsz != size {
		t.Errorf("segment size changed to %d", d.Segsz)
	}
	if st := statOf(t, p); st.Size != size {
		t.Errorf("stat size %d after writes, want %d", st.Size, size)
	}
	// A write into a segment shows at once to a direct attachment.
	seg := attach(t, id, unix.SHM_RDONLY)
	if _, err := f.WriteAt([]byte("now"), 10); err != nil {
		t.Fatal(err)
	}
	if string(seg[10:13]) != "now" {
		t.Errorf("direct attachment sees %q after a write, want \"now\"", seg[10:13])
	}
}

// randomBytes is n reproducible random bytes.
func randomBytes(n int, seed byte) []byte {
	var s [32]byte
	s[0] = seed
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

// firstDiff is the first offset where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestShmBinaryRoundTrip: more than a MiB of random bytes goes in through
// the mount and out through shmat, and the other way round.
func TestShmBinaryRoundTrip(t *testing.T) {
	m := mount(t)
	key := newKey()
	const size = 1<<20 + 3*4096 + 77
	id := newSegment(t, key, size, 0600)
	p := m.Path("shm", keyName(key))
	data := randomBytes(size, 7)
	dir := t.TempDir()
	src := filepath.Join(dir, "in")
	if err := os.WriteFile(src, data, 0644); err != nil {
		t.Fatal(err)
	}

	mustSh(t, "cat "+src+" > "+p)
	if got := segmentBytes(t, id); !bytes.Equal(got, data) {
		t.Fatalf("segment after cat > mount: differs at %d", firstDiff(got, data))
	}
	if got := runC(t, "shmtool", "read", strconv.Itoa(id), "0", strconv.Itoa(size)); got != string(data) {
		t.Errorf("shmtool read differs at %d", firstDiff([]byte(got), data))
	}
	mustSh(t, "cat "+p+" > "+filepath.Join(dir, "out"))
	if got, _ := os.ReadFile(filepath.Join(dir, "out")); !bytes.Equal(got, data) {
		t.Errorf("cat from the mount: %d bytes, differs at %d", len(got), firstDiff(got, data))
	}

	runC(t, "shmtool", "pattern", strconv.Itoa(id), "99")
	want := patternBytes(size, 99)
	if got := mustSh(t, "dd if="+p+" bs=1M status=none"); got != string(want) {
		t.Errorf("dd bs=1M after shmtool pattern: differs at %d", firstDiff([]byte(got), want))
	}
	// One write of the whole buffer (the kernel splits it into requests).
	if err := os.WriteFile(p, data, 0); err != nil {
		t.Fatal(err)
	}
	if got := segmentBytes(t, id); !bytes.Equal(got, data) {
		t.Errorf("segment after os.WriteFile: differs at %d", firstDiff(got, data))
	}
	if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, data) {
		t.Errorf("os.ReadFile: %d bytes, %v", len(got), err)
	}
}

// TestShmTruncate: O_TRUNC zeroes the whole segment, truncate -s N zeroes
// from N, a size past the end is EFBIG, and the size never changes.
func TestShmTruncate(t *testing.T) {
	m := mount(t)
	key := newKey()
	const size = 3*4096 + 100
	id := newSegment(t, key, size, 0600)
	p := m.Path("shm", keyName(key))
	sid := strconv.Itoa(id)
	checkSize := func(when string) {
		t.Helper()
		if d := shmStat(t, id); d.Segsz != size {
			t.Errorf("%s: IPC_STAT size %d, want %d", when, d.Segsz, size)
		}
		if st := statOf(t, p); st.Size != size {
			t.Errorf("%s: stat size %d, want %d", when, st.Size, size)
		}
	}

	runC(t, "shmtool", "pattern", sid, "1")
	mustSh(t, "echo hello > "+p)
	want := make([]byte, size)
	copy(want, "hello\n")
	if got := segmentBytes(t, id); !bytes.Equal(got, want) {
		t.Errorf("after echo hello >: differs at %d", firstDiff(got, want))
	}
	if got := mustSh(t, "cat "+p); got != string(want) {
		t.Errorf("cat after echo hello >: differs at %d", firstDiff([]byte(got), want))
	}
	checkSize("after echo >")

	for _, n := range []int{5000, 4096, 10, 0, size - 1, size} {
		runC(t, "shmtool", "pattern", sid, "2")
		mustSh(t, fmt.Sprintf("truncate -s %d %s", n, p))
		want := patternBytes(size, 2)
		clear(want[n:])
		if got := segmentBytes(t, id); !bytes.Equal(got, want) {
			t.Errorf("truncate -s %d: differs at %d", n, firstDiff(got, want))
		}
		checkSize(fmt.Sprintf("after truncate -s %d", n))
	}

	// ftruncate of an open handle.
	runC(t, "shmtool", "pattern", sid, "4")
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4097); err != nil {
		t.Errorf("ftruncate 4097: %v", err)
	}
	want = patternBytes(size, 4)
	clear(want[4097:])
	if got := segmentBytes(t, id); !bytes.Equal(got, want) {
		t.Errorf("ftruncate 4097: differs at %d", firstDiff(got, want))
	}
	if err := f.Truncate(size + 1); errnoOf(err) != syscall.EFBIG {
		t.Errorf("ftruncate past the end: %v, want EFBIG", err)
	}
	f.Close()

	// Larger than the segment: EFBIG, nothing changes.
	runC(t, "shmtool", "pattern", sid, "5")
	before := shmStat(t, id)
	for _, n := range []int64{size + 1, size + 4096, 1 << 30} {
		if err := syscall.Truncate(p, n); err != syscall.EFBIG {
			t.Errorf("truncate(%d): %v, want EFBIG", n, err)
		}
	}
	if _, _, err := sh(t, fmt.Sprintf("truncate -s %d %s", size+1, p)); err == nil {
		t.Errorf("truncate -s %d succeeded", size+1)
	}
	if got := segmentBytes(t, id); !bytes.Equal(got, patternBytes(size, 5)) {
		t.Errorf("a failed truncate changed the bytes at %d", firstDiff(got, patternBytes(size, 5)))
	}
	if after := shmStat(t, id); after.Perm != before.Perm || after.Ctime != before.Ctime {
		t.Errorf("a failed truncate changed the segment: %+v -> %+v", before, after)
	}
	checkSize("after a failed truncate")
	// Truncating by path holds no attachment afterwards.
	shmPollUntil(t, "nattch is 0 after the truncates", func() bool { return nattch(t, id) == 0 })
	if maps := daemonMapsOf(t, m.cmd.Process.Pid, id); len(maps) != 0 {
		t.Errorf("the daemon still maps the segment: %v", maps)
	}
}

// TestShmNattch: a handle open through the mount is one attachment, made
// read-only for O_RDONLY, and dropped at its close.
func TestShmNattch(t *testing.T) {
	m := mount(t)
	pid := m.cmd.Process.Pid
	key := newKey()
	id := newSegment(t, key, 8192, 0600)
	p := m.Path("shm", keyName(key))
	attach(t, id, 0) // the test's own attachment
	if n := nattch(t, id); n != 1 {
		t.Fatalf("nattch %d with one attachment", n)
	}

	mustSh(t, "cat "+p+" > /dev/null")
	shmPollUntil(t, "nattch is 1 again after cat", func() bool { return nattch(t, id) == 1 })
	if maps := daemonMapsOf(t, pid, id); len(maps) != 0 {
		t.Errorf("the daemon still maps the segment after cat: %v", maps)
	}

	for _, c := range []struct {
		flag  int
		perms string
	}{{os.O_RDONLY, "r--s"}, {os.O_RDWR, "rw-s"}, {os.O_WRONLY, "rw-s"}} {
		f, err := os.OpenFile(p, c.flag, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n := nattch(t, id); n != 2 {
			t.Errorf("open flags %#x: nattch %d, want 2", c.flag, n)
		}
		if maps := daemonMapsOf(t, pid, id); len(maps) != 1 || maps[0] != c.perms {
			t.Errorf("open flags %#x: daemon maps %v, want [%s]", c.flag, maps, c.perms)
		}
		f.Close()
		shmPollUntil(t, "nattch is 1 again after close", func() bool { return nattch(t, id) == 1 })
		shmPollUntil(t, "the daemon unmaps the segment", func() bool { return len(daemonMapsOf(t, pid, id)) == 0 })
	}

	// Two handles, two attachments.
	f1, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := nattch(t, id); n != 3 {
		t.Errorf("two handles open: nattch %d, want 3", n)
	}
	maps := daemonMapsOf(t, pid, id)
	sort.Strings(maps)
	if !slices.Equal(maps, []string{"r--s", "rw-s"}) {
		t.Errorf("two handles: daemon maps %v, want r--s and rw-s", maps)
	}
	f1.Close()
	f2.Close()
	shmPollUntil(t, "nattch is 1 again after both closes", func() bool { return nattch(t, id) == 1 })

	// A read-only handle cannot write.
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.Pwrite(int(f.Fd()), []byte("x"), 0); errnoOf(err) != syscall.EBADF {
		t.Errorf("pwrite on an O_RDONLY handle: %v, want EBADF", err)
	}
	f.Close()
	shmPollUntil(t, "nattch is 1 again", func() bool { return nattch(t, id) == 1 })
}

// TestShmMmapNeverStale: a shared mapping of a segment file is refused
// or coherent with the segment; a private one starts from the segment's
// current bytes.
func TestShmMmapNeverStale(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := newSegment(t, key, 8192, 0600)
	seg := attach(t, id, 0)
	p := m.Path("shm", keyName(key))
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	copy(seg, "first")
	mem, err := unix.Mmap(int(f.Fd()), 0, 8192, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err == nil {
		if string(mem[:5]) != "first" {
			t.Errorf("shared mapping shows %q, the segment has \"first\"", mem[:5])
		}
		copy(seg, "again")
		if string(mem[:5]) != "again" {
			t.Errorf("shared mapping shows %q after a direct write of \"again\"", mem[:5])
		}
		copy(mem[100:], "back")
		if string(seg[100:104]) != "back" {
			t.Errorf("a write to the shared mapping is not in the segment: %q", seg[100:104])
		}
		unix.Munmap(mem)
	} else {
		t.Logf("shared mmap refused: %v", err)
	}

	copy(seg, "one")
	mem, err = unix.Mmap(int(f.Fd()), 0, 8192, unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		t.Logf("private mmap refused: %v", err)
		return
	}
	if string(mem[:3]) != "one" {
		t.Errorf("private mapping shows %q, the segment has \"one\"", mem[:3])
	}
	unix.Munmap(mem)
	copy(seg, "two")
	mem, err = unix.Mmap(int(f.Fd()), 0, 8192, unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("second private mmap: %v", err)
	}
	if string(mem[:3]) != "two" {
		t.Errorf("a new private mapping shows %q, the segment has \"two\": a stale copy", mem[:3])
	}
	unix.Munmap(mem)
}

// --- changes to the object ---

// TestShmChmodChown: chmod and chown through the mount are IPC_SET, with
// the same outcome as IPC_SET made directly on a twin segment.
func TestShmChmodChown(t *testing.T) {
	m := mount(t)
	key, twinKey := newKey(), newKey()
	id := newSegment(t, key, 4096, 0600)
	twin := newSegment(t, twinKey, 4096, 0600)
	p := m.Path("shm", keyName(key))

	directSet := func(uid, gid, mode uint32) {
		t.Helper()
		var d unix.SysvShmDesc
		d.Perm.Uid, d.Perm.Gid, d.Perm.Mode = uid, gid, mode
		if _, err := unix.SysvShmCtl(twin, unix.IPC_SET, &d); err != nil {
			t.Fatal(err)
		}
	}
	compare := func(what string) {
		t.Helper()
		got, want := shmStat(t, id).Perm, shmStat(t, twin).Perm
		if got.Uid != want.Uid || got.Gid != want.Gid || got.Cuid != want.Cuid || got.Cgid != want.Cgid || got.Mode != want.Mode {
			t.Errorf("%s: through the mount uid %d gid %d cuid %d cgid %d mode %o; directly uid %d gid %d cuid %d cgid %d mode %o",
				what, got.Uid, got.Gid, got.Cuid, got.Cgid, got.Mode, want.Uid, want.Gid, want.Cuid, want.Cgid, want.Mode)
		}
		checkStatMatches(t, p, id)
	}

	mustSh(t, "chmod 0640 "+p)
	directSet(0, 0, 0640)
	compare("chmod 0640")

	mustSh(t, "chown 1000:1000 "+p)
	directSet(1000, 1000, 0640)
	compare("chown 1000:1000")

	if err := os.Chown(p, 1234, -1); err != nil {
		t.Fatal(err)
	}
	directSet(1234, 1000, 0640)
	compare("chown 1234")

	mustSh(t, "chgrp 55 "+p)
	directSet(1234, 55, 0640)
	compare("chgrp 55")

	// Bits above 0777 are dropped, as IPC_SET drops them.
	if err := syscall.Chmod(p, 04755); err != nil {
		t.Fatal(err)
	}
	directSet(1234, 55, 04755)
	compare("chmod 4755")

	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	directSet(1234, 55, 0)
	compare("chmod 0")

	// Both at once (one setattr).
	if err := os.Chown(p, 0, 0); err != nil {
		t.Fatal(err)
	}
	directSet(0, 0, 0)
	compare("chown 0:0")
	if d := shmStat(t, id); d.Segsz != 4096 {
		t.Errorf("size changed to %d", d.Segsz)
	}
}

// TestShmRm: rm is IPC_RMID; a segment still attached elsewhere stays as
// id-N, marked for destruction, until its last detach.
func TestShmRm(t *testing.T) {
	m := mount(t)

	key := newKey()
	id := newSegment(t, key, 4096, 0600)
	mustSh(t, "rm "+m.Path("shm", keyName(key)))
	if !shmGone(id) {
		t.Errorf("segment %d still exists after rm", id)
	}
	if _, err := shmIDOf(key); !errors.Is(err, unix.ENOENT) {
		t.Errorf("shmget(%s) after rm: %v, want ENOENT", keyName(key), err)
	}
	if e := statErrno(m.Path("shm", keyName(key))); e != syscall.ENOENT {
		t.Errorf("stat after rm: %v", e)
	}

	// Another spelling, and id-N of a private segment.
	key2 := newKey()
	id2 := newSegment(t, key2, 4096, 0600)
	if err := syscall.Unlink(m.Path("shm", strings.ToUpper(fmt.Sprintf("0x%x", key2)))); err != nil {
		t.Errorf("unlink of the upper-case spelling: %v", err)
	}
	if !shmGone(id2) {
		t.Errorf("segment %d still exists after unlink", id2)
	}
	idp := privateSegment(t, 4096, 0600)
	if err := syscall.Unlink(m.Path("shm", fmt.Sprintf("id-%d", idp))); err != nil {
		t.Errorf("unlink id-%d: %v", idp, err)
	}
	if !shmGone(idp) {
		t.Errorf("private segment %d still exists after unlink", idp)
	}

	// Attached elsewhere: stays, dest, as id-N; gone after the detach.
	key3 := newKey()
	id3 := newSegment(t, key3, 4096, 0600)
	h := holdSegment(t, id3)
	mustSh(t, "rm "+m.Path("shm", keyName(key3)))
	d := shmStat(t, id3)
	if d.Perm.Mode&01000 == 0 || d.Perm.Key != 0 {
		t.Errorf("after rm of an attached segment: mode %o key %#x; want SHM_DEST (01000) and key 0", d.Perm.Mode, d.Perm.Key)
	}
	idName := fmt.Sprintf("id-%d", id3)
	checkStatMatches(t, m.Path("shm", idName), id3)
	if listed := strings.Fields(mustSh(t, "ls -1 "+m.Path("shm"))); !slices.Contains(listed, idName) || slices.Contains(listed, keyName(key3)) {
		t.Errorf("ls after rm of an attached segment: %q; want %s, not %s", listed, idName, keyName(key3))
	}
	if e := statErrno(m.Path("shm", keyName(key3))); e != syscall.ENOENT {
		t.Errorf("stat %s after rm: %v, want ENOENT", keyName(key3), e)
	}
	// Its bytes stay readable through id-N while it lives.
	if err := os.WriteFile(m.Path("shm", idName), []byte("still here"), 0); err != nil {
		t.Errorf("write to %s: %v", idName, err)
	}
	if got := runC(t, "shmtool", "read", strconv.Itoa(id3), "0", "10"); got != "still here" {
		t.Errorf("segment %d holds %q", id3, got)
	}
	h.release()
	shmPollUntil(t, "the removed segment is destroyed at its last detach", func() bool { return shmGone(id3) })
	if e := statErrno(m.Path("shm", idName)); e != syscall.ENOENT {
		t.Errorf("stat %s after the last detach: %v, want ENOENT", idName, e)
	}

	// rm of a name held open through the mount itself.
	key4 := newKey()
	id4 := newSegment(t, key4, 4096, 0600)
	f, err := os.OpenFile(m.Path("shm", keyName(key4)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(m.Path("shm", keyName(key4))); err != nil {
		t.Errorf("rm of a segment held open: %v", err)
	}
	if d := shmStat(t, id4); d.Perm.Mode&01000 == 0 {
		t.Errorf("segment held open through the mount and removed: mode %o, want SHM_DEST", d.Perm.Mode)
	}
	if _, err := f.WriteAt([]byte("ok"), 0); err != nil {
		t.Errorf("write to an open handle after rm: %v", err)
	}
	f.Close()
	shmPollUntil(t, "the removed segment goes at the close", func() bool { return shmGone(id4) })

	// Control files cannot be removed.
	for _, name := range []string{"create", "remove", "status"} {
		if err := syscall.Unlink(m.Path("shm", name)); err == nil {
			t.Errorf("unlink %s succeeded", name)
		}
		if e := statErrno(m.Path("shm", name)); e != 0 {
			t.Errorf("stat %s after unlink: %v", name, e)
		}
	}
}

// TestShmErrors: unknown names are ENOENT, no file can be made in shm/,
// and the errno of a refused operation is what the syscalls say.
func TestShmErrors(t *testing.T) {
	m := mount(t)
	unused := newKey()
	for _, name := range []string{keyName(unused), "id-2147483646", "nosuch"} {
		p := m.Path("shm", name)
		if e := statErrno(p); e != syscall.ENOENT {
			t.Errorf("stat %s: %v, want ENOENT", name, e)
		}
		if _, err := syscall.Open(p, syscall.O_RDONLY, 0); errnoOf(err) != syscall.ENOENT {
			t.Errorf("open %s: %v, want ENOENT", name, err)
		}
		if err := syscall.Unlink(p); errnoOf(err) != syscall.ENOENT {
			t.Errorf("unlink %s: %v, want ENOENT", name, err)
		}
		if err := syscall.Truncate(p, 0); errnoOf(err) != syscall.ENOENT {
			t.Errorf("truncate %s: %v, want ENOENT", name, err)
		}
		if err := syscall.Chmod(p, 0600); errnoOf(err) != syscall.ENOENT {
			t.Errorf("chmod %s: %v, want ENOENT", name, err)
		}
	}
	// The shell sees the failure too.
	if _, _, err := sh(t, "cat "+m.Path("shm", keyName(unused))); err == nil {
		t.Error("cat of an unknown name succeeded")
	}

	// No regular file, directory, link or node can be made in shm/.
	for _, name := range []string{keyName(unused), "0x1", "plain"} {
		p := m.Path("shm", name)
		if fd, err := syscall.Open(p, syscall.O_CREAT|syscall.O_WRONLY|syscall.O_EXCL, 0644); err == nil {
			syscall.Close(fd)
			t.Errorf("creating %s succeeded", name)
		}
		if err := syscall.Mkdir(p, 0755); err == nil {
			t.Errorf("mkdir %s succeeded", name)
		}
		if err := syscall.Symlink("/", p); err == nil {
			t.Errorf("symlink %s succeeded", name)
		}
		if err := syscall.Mknod(p, syscall.S_IFIFO|0644, 0); err == nil {
			t.Errorf("mknod %s succeeded", name)
		}
	}
	if _, _, err := sh(t, "touch "+m.Path("shm", "0x1")); err == nil {
		t.Error("touch shm/0x1 succeeded")
	}
	if _, err := shmIDOf(unused); !errors.Is(err, unix.ENOENT) {
		t.Errorf("a segment with key %s exists: %v", keyName(unused), err)
	}
	if _, err := shmIDOf(1); err == nil {
		t.Error("a segment with key 0x1 exists")
	}
	checkMadeNothing(t, m, "failed creations")

	// O_CREAT|O_EXCL of an existing segment: EEXIST, as for any file.
	key := newKey()
	id := newSegment(t, key, 4096, 0600)
	if _, err := syscall.Open(m.Path("shm", keyName(key)), syscall.O_CREAT|syscall.O_EXCL|syscall.O_RDWR, 0644); errnoOf(err) != syscall.EEXIST {
		t.Errorf("O_CREAT|O_EXCL of an existing segment: %v, want EEXIST", err)
	}
	// O_CREAT without O_EXCL opens it.
	fd, err := syscall.Open(m.Path("shm", keyName(key)), syscall.O_CREAT|syscall.O_RDWR, 0644)
	if err != nil {
		t.Errorf("O_CREAT of an existing segment: %v", err)
	} else {
		syscall.Close(fd)
	}
	// Renames and links are refused, and change nothing.
	if err := syscall.Rename(m.Path("shm", keyName(key)), m.Path("shm", keyName(unused))); err == nil {
		t.Error("rename succeeded")
	}
	if err := syscall.Link(m.Path("shm", keyName(key)), m.Path("shm", keyName(unused))); err == nil {
		t.Error("link succeeded")
	}
	if got, err := shmIDOf(key); err != nil || got != id {
		t.Errorf("after rename/link: shmget(%s) = %d, %v; want %d", keyName(key), got, err, id)
	}
}

// TestShmAsOtherUser: with --allow-other, another user gets through the
// mount what the syscalls give that user directly, errno for errno.
func TestShmAsOtherUser(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	key := newKey()
	id := newSegment(t, key, 4096, 0600) // root's, private to root
	keyR := newKey()
	idR := newSegment(t, keyR, 4096, 0644) // root's, readable by all
	sid, sidR := strconv.Itoa(id), strconv.Itoa(idR)
	p, pR := m.Path("shm", keyName(key)), m.Path("shm", keyName(keyR))
	before, beforeR := shmStat(t, id), shmStat(t, idR)

	for _, c := range []struct {
		what         string
		mount        []string
		direct       []string
		wantNonZeroE bool
	}{
		{"read a 0600 segment", []string{"read", p}, []string{"attach", sid, "ro"}, true},
		{"write a 0600 segment", []string{"write", p, "x"}, []string{"attach", sid, "rw"}, true},
		{"read a 0644 segment", []string{"read", pR}, []string{"attach", sidR, "ro"}, false},
		{"write a 0644 segment", []string{"write", pR, "x"}, []string{"attach", sidR, "rw"}, true},
		{"chmod", []string{"chmod", pR, "0666"}, []string{"set", sidR, "0", "0", "0666"}, true},
		{"chown", []string{"chown", pR, "1000", "1000"}, []string{"set", sidR, "1000", "1000", "0644"}, true},
		{"truncate a 0644 segment", []string{"truncate", pR, "0"}, []string{"attach", sidR, "rw"}, true},
		{"rm", []string{"unlink", p}, []string{"rmid", sid}, true},
	} {
		got := runCErrno(t, true, "fsop", c.mount...)
		want := runCErrno(t, true, "shmtool", c.direct...)
		if got != want {
			t.Errorf("%s as uid 1000: through the mount %v (%d), directly %v (%d)", c.what, got, got, want, want)
		}
		if c.wantNonZeroE && want == 0 {
			t.Errorf("%s as uid 1000 succeeded directly: the test is wrong", c.what)
		}
	}
	if _, _, err := asUser(t, "cat "+p+" > /dev/null"); err == nil {
		t.Error("cat of a 0600 segment as uid 1000 succeeded")
	}
	if out, errs, err := asUser(t, "od -An -c -N 4 "+pR); err != nil {
		t.Errorf("od of a 0644 segment as uid 1000: %v %s", err, errs)
	} else if strings.Fields(out)[0] != `\0` {
		t.Errorf("od of a 0644 segment as uid 1000: %q", out)
	}
	after, afterR := shmStat(t, id), shmStat(t, idR)
	if after.Perm != before.Perm || afterR.Perm != beforeR.Perm || after.Ctime != before.Ctime {
		t.Errorf("refused operations changed the segments: %+v -> %+v, %+v -> %+v", before.Perm, after.Perm, beforeR.Perm, afterR.Perm)
	}
	if !bytes.Equal(segmentBytes(t, idR), make([]byte, 4096)) {
		t.Error("a refused write changed the bytes")
	}

	// The user's own segment: everything is allowed, as directly.
	keyU := newKey()
	removeShmLater(t, keyU)
	if e := runCErrno(t, true, "shmtool", "create", fmt.Sprint(keyU), "4096", "0600"); e != 0 {
		t.Fatalf("shmget as uid 1000: %v", e)
	}
	pU := m.Path("shm", keyName(keyU))
	for _, op := range [][]string{{"write", pU, "mine"}, {"read", pU}, {"chmod", pU, "0640"}, {"truncate", pU, "2"}} {
		if e := runCErrno(t, true, "fsop", op...); e != 0 {
			t.Errorf("fsop %v as the owner: %v", op, e)
		}
	}
	idU, err := shmIDOf(keyU)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(segmentBytes(t, idU)[:4]); got != "mi\x00\x00" {
		t.Errorf("owner's segment holds %q, want \"mi\\0\\0\"", got)
	}
	if d := shmStat(t, idU); d.Perm.Mode&0777 != 0640 {
		t.Errorf("owner's chmod: mode %o", d.Perm.Mode&0777)
	}
	if e := runCErrno(t, true, "fsop", "unlink", pU); e != 0 {
		t.Errorf("rm of the owner's segment as the owner: %v", e)
	}
	if !shmGone(idU) {
		t.Error("the owner's rm left the segment")
	}
}
