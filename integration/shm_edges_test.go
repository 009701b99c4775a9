package integration

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The corners of shm/ that a first QA pass found wrong: huge-page
// segments, a key made again while a handle holds the old segment,
// O_RDONLY|O_TRUNC, and the times (touch).

const (
	hugePagesFile = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
	shmHugeTLB    = 04000 // SHM_HUGETLB, which x/sys/unix does not name
)

// reserveHugePages adds n 2 MiB huge pages to the kernel's pool for the
// test, and gives them back when it ends.
func reserveHugePages(t testing.TB, n int) {
	t.Helper()
	b, err := os.ReadFile(hugePagesFile)
	if err != nil {
		t.Skipf("no 2 MiB huge pages on this kernel: %v", err)
	}
	old, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %q", hugePagesFile, b)
	}
	set := func(v int) error { return os.WriteFile(hugePagesFile, []byte(strconv.Itoa(v)), 0) }
	t.Cleanup(func() {
		if err := set(old); err != nil {
			t.Errorf("putting %s back to %d: %v", hugePagesFile, old, err)
		}
	})
	if err := set(old + n); err != nil {
		t.Fatalf("reserving huge pages: %v", err)
	}
	b, _ = os.ReadFile(hugePagesFile)
	if got, _ := strconv.Atoi(strings.TrimSpace(string(b))); got < old+n {
		t.Skipf("the kernel found memory for %d huge pages of the %d asked", got-old, n)
	}
}

// TestShmHugePages: a SHM_HUGETLB segment reads and writes through the
// mount as any other (its file, in hugetlbfs, has no read or write
// calls and is no backing file for passthrough), and opening it leaves
// every other segment's opens as they were: never stale, never EIO.
func TestShmHugePages(t *testing.T) {
	reserveHugePages(t, 2)
	m := mount(t)
	const hsize = 2 << 20
	hkey, key := newKey(), newKey()
	hid := newSegment(t, hkey, hsize, shmHugeTLB|0600)
	id := newSegment(t, key, 4096, 0600)
	hp, p := m.Path("shm", keyName(hkey)), m.Path("shm", keyName(key))
	seg := attach(t, id, 0)

	// A read-only open of the ordinary segment, before and after.
	ro, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	checkRO := func(when string) {
		t.Helper()
		for _, s := range []string{"AAAA", "BBBB"} {
			copy(seg, s)
			b := make([]byte, 4)
			if _, err := ro.ReadAt(b, 0); err != nil || string(b) != s {
				t.Errorf("%s: read-only handle reads %q, %v; the segment has %q", when, b, err, s)
			}
			f, err := os.Open(p)
			if err != nil {
				t.Errorf("%s: a new read-only open: %v", when, err)
				continue
			}
			if _, err := f.ReadAt(b, 0); err != nil || string(b) != s {
				t.Errorf("%s: a new read-only open reads %q, %v; the segment has %q", when, b, err, s)
			}
			f.Close()
		}
	}
	checkRO("before the huge-page segment is opened")

	// The huge-page segment, against shmat made directly.
	runC(t, "shmtool", "pattern", strconv.Itoa(hid), "3")
	mustSh(t, "echo hello > "+hp)
	want := make([]byte, hsize)
	copy(want, "hello\n")
	if got := segmentBytes(t, hid); !bytes.Equal(got, want) {
		t.Errorf("after echo hello >: differs at %d", firstDiff(got, want))
	}
	mustSh(t, "printf abc | dd of="+hp+" bs=3 seek=1 conv=notrunc status=none")
	copy(want[3:], "abc")
	if got := segmentBytes(t, hid); !bytes.Equal(got, want) {
		t.Errorf("after dd seek=1: differs at %d", firstDiff(got, want))
	}
	if got := mustSh(t, "cat "+hp); got != string(want) {
		t.Errorf("cat differs from the segment at %d", firstDiff([]byte(got), want))
	}
	f, err := os.OpenFile(hp, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// pwrite(2) itself: os.File.WriteAt retries a short write.
	if n, err := unix.Pwrite(int(f.Fd()), []byte("tail!"), hsize-2); n != 2 || err != nil {
		t.Errorf("write running past the end: %d, %v; want a short write of 2", n, err)
	}
	if _, err := unix.Pwrite(int(f.Fd()), []byte("x"), hsize); err != syscall.ENOSPC {
		t.Errorf("write at the end: %v, want ENOSPC", err)
	}
	f.Close()
	if got := segmentBytes(t, hid)[hsize-2:]; string(got) != "ta" {
		t.Errorf("the segment's last bytes: %q, want \"ta\"", got)
	}
	mustSh(t, "truncate -s 10 "+hp)
	clear(want[10:])
	copy(want[hsize-2:], "\x00\x00")
	if got := segmentBytes(t, hid); !bytes.Equal(got, want) {
		t.Errorf("after truncate -s 10: differs at %d", firstDiff(got, want))
	}

	checkRO("after the huge-page segment was opened")
	mem, err := unix.Mmap(int(ro.Fd()), 0, 4096, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Logf("shared read-only mmap refused: %v", err)
		return
	}
	defer unix.Munmap(mem)
	copy(seg, "CCCC")
	if string(mem[:4]) != "CCCC" {
		t.Errorf("a shared read-only mapping shows %q, the segment has \"CCCC\"", mem[:4])
	}
}

// heldThenRemade makes a 4096-byte segment, holds it open with "OLD"
// written, removes it, and makes an 8192-byte one under the same key: the
// path, the held handle (closed at the test's end) and both ids.
func heldThenRemade(t *testing.T) (path string, held *os.File, oldID, newID int) {
	t.Helper()
	m := mount(t)
	key := newKey()
	oldID = newSegment(t, key, 4096, 0600)
	path = m.Path("shm", keyName(key))
	held, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() })
	if _, err := held.WriteAt([]byte("OLD"), 0); err != nil {
		t.Fatal(err)
	}
	rmid(t, oldID)
	return path, held, oldID, newSegment(t, key, 8192, 0600)
}

// TestShmOpenAfterKeyRemade: while a handle holds a removed segment, its
// key made again names the new segment at once: an open of the path
// reaches the new one, and the held handle keeps the old.
func TestShmOpenAfterKeyRemade(t *testing.T) {
	p, held, oldID, newID := heldThenRemade(t)

	if err := os.WriteFile(p, []byte("NEW"), 0); err != nil {
		t.Fatalf("write to the re-made key: %v", err)
	}
	if got := segmentBytes(t, newID)[:3]; string(got) != "NEW" {
		t.Errorf("the new segment has %q, want NEW", got)
	}
	if got := segmentBytes(t, oldID)[:3]; string(got) != "OLD" {
		t.Errorf("the removed segment has %q, want OLD: the write went to it", got)
	}
	if st := statOf(t, p); st.Size != 8192 {
		t.Errorf("stat of the path: size %d, want the new segment's 8192", st.Size)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(held.Fd()), &st); err != nil || st.Size != 4096 {
		t.Errorf("fstat of the held handle: size %d, %v; want the old segment's 4096", st.Size, err)
	}
	b := make([]byte, 3)
	if _, err := held.ReadAt(b, 0); err != nil || string(b) != "OLD" {
		t.Errorf("the held handle reads %q, %v; want OLD", b, err)
	}

	// Removed with nothing in its place: ENOENT, never ESTALE.
	held.Close()
	shmPollUntil(t, "the old segment is gone", func() bool { return shmGone(oldID) })
	statOf(t, p)
	rmid(t, newID)
	for _, flag := range []int{os.O_RDONLY, os.O_WRONLY} {
		if _, err := os.OpenFile(p, flag, 0); errnoOf(err) != syscall.ENOENT {
			t.Errorf("open(%#x) of a removed segment's cached name: %v, want ENOENT", flag, err)
		}
	}
}

// TestShmChangeAfterKeyRemade: while a handle holds a removed segment and
// its key names a new one, a change made through the path (chmod, chown,
// truncate) reaches the new segment, never the removed one, even before
// any open walked the path again; ftruncate on the held handle zeroes its
// own segment. fchmod on the held handle fails, as the daemon cannot tell
// it from a chmod of the path.
func TestShmChangeAfterKeyRemade(t *testing.T) {
	p, held, oldID, newID := heldThenRemade(t)
	copy(attach(t, newID, 0), "NEW")

	if err := os.Chmod(p, 0640); err != nil {
		t.Fatalf("chmod of the path: %v", err)
	}
	if err := os.Chown(p, 1, 1); err != nil {
		t.Fatalf("chown of the path: %v", err)
	}
	if err := os.Truncate(p, 0); err != nil {
		t.Fatalf("truncate of the path: %v", err)
	}
	if ds := shmStat(t, newID); ds.Perm.Mode&0777 != 0640 || ds.Perm.Uid != 1 || ds.Perm.Gid != 1 {
		t.Errorf("the new segment: mode %#o, owner %d:%d; want 0640, 1:1", ds.Perm.Mode&0777, ds.Perm.Uid, ds.Perm.Gid)
	}
	if got := segmentBytes(t, newID)[:3]; string(got) != "\x00\x00\x00" {
		t.Errorf("the new segment after truncate of the path has %q, want zeros", got)
	}
	if ds := shmStat(t, oldID); ds.Perm.Mode&0777 != 0600 || ds.Perm.Uid != 0 {
		t.Errorf("the removed segment was changed: mode %#o, uid %d", ds.Perm.Mode&0777, ds.Perm.Uid)
	}
	if got := segmentBytes(t, oldID)[:3]; string(got) != "OLD" {
		t.Errorf("the removed segment has %q, want OLD", got)
	}

	copy(attach(t, newID, 0), "NEW")
	if err := held.Truncate(1); err != nil {
		t.Fatalf("ftruncate of the held handle: %v", err)
	}
	if got := segmentBytes(t, oldID)[:3]; string(got) != "O\x00\x00" {
		t.Errorf("the removed segment after ftruncate of its handle has %q", got)
	}
	if got := segmentBytes(t, newID)[:3]; string(got) != "NEW" {
		t.Errorf("ftruncate of the held handle reached the new segment: %q", got)
	}
	if err := held.Chmod(0604); err == nil {
		t.Errorf("fchmod of the held handle succeeded")
	}
	if ds := shmStat(t, newID); ds.Perm.Mode&0777 != 0640 {
		t.Errorf("fchmod of the held handle changed the new segment: mode %#o", ds.Perm.Mode&0777)
	}
}

// TestShmMappingIsNoAttachment: a mapping of a segment's file is of the
// segment's own shmem file (passthrough), not of the FUSE file: once the
// file is closed the daemon's attachment goes, nattch no longer counts the
// mapping, and the mapping still reads and writes the segment.
func TestShmMappingIsNoAttachment(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := newSegment(t, key, 4096, 0600)
	p := m.Path("shm", keyName(key))
	seg := attach(t, id, 0)
	base := nattch(t, id) // the test's own attachment
	for _, c := range []struct {
		name       string
		flag, prot int
		share      int
	}{
		{"O_RDWR MAP_SHARED", os.O_RDWR, unix.PROT_READ | unix.PROT_WRITE, unix.MAP_SHARED},
		{"O_RDONLY MAP_SHARED", os.O_RDONLY, unix.PROT_READ, unix.MAP_SHARED},
		{"O_RDONLY MAP_PRIVATE", os.O_RDONLY, unix.PROT_READ, unix.MAP_PRIVATE},
	} {
		f, err := os.OpenFile(p, c.flag, 0)
		if err != nil {
			t.Fatal(err)
		}
		mem, err := unix.Mmap(int(f.Fd()), 0, 4096, c.prot, c.share)
		if n := nattch(t, id); n != base+1 {
			t.Errorf("%s: nattch %d with the file open, want %d", c.name, n, base+1)
		}
		f.Close()
		if err != nil {
			t.Fatalf("%s: mmap: %v", c.name, err)
		}
		shmPollUntil(t, c.name+": nattch drops at close though mapped", func() bool { return nattch(t, id) == base })
		if c.prot&unix.PROT_WRITE != 0 {
			copy(mem, "MAP")
			if string(seg[:3]) != "MAP" {
				t.Errorf("%s: the segment has %q after a store through the mapping", c.name, seg[:3])
			}
		}
		if c.share == unix.MAP_SHARED {
			copy(seg, "SEG")
			if string(mem[:3]) != "SEG" {
				t.Errorf("%s: the mapping shows %q after a store into the segment", c.name, mem[:3])
			}
		}
		unix.Munmap(mem)
	}
}

// TestShmReadOnlyTrunc: open(O_RDONLY|O_TRUNC) truncates, as on any file
// system (and needs write permission: see TestPermDifferential).
func TestShmReadOnlyTrunc(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := newSegment(t, key, 3*4096, 0600)
	runC(t, "shmtool", "pattern", strconv.Itoa(id), "6")
	f, err := os.OpenFile(m.Path("shm", keyName(key)), os.O_RDONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got := segmentBytes(t, id); !bytes.Equal(got, make([]byte, 3*4096)) {
		t.Errorf("after open(O_RDONLY|O_TRUNC): byte %d is not zero", firstDiff(got, make([]byte, 3*4096)))
	}
}

// TestShmTouch: a segment's times are the kernel's. touch (both to now)
// is an IPC_SET of the current values: allowed to the owner, it moves
// ctime as IPC_SET does and changes nothing else; a given time is EPERM.
// The times ftruncate sends along are no touch: a writer who is not the
// owner may still truncate.
func TestShmTouch(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	key := newKey()
	id := newSegment(t, key, 8192, 0666)
	p := m.Path("shm", keyName(key))
	copy(attach(t, id, 0), "data")
	before := shmStat(t, id)

	// Wait for the clock's second to move past ctime, so a new ctime shows
	// (by a margin: the kernel's seconds follow the tick, a little late).
	shmPollUntil(t, "the clock passes the segment's ctime", func() bool {
		return time.Now().Add(-50*time.Millisecond).Unix() > before.Ctime
	})
	// utimensat alone: touch(1) opens the file first, which attaches.
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, nil, 0); err != nil {
		t.Fatalf("utimensat(NULL): %v", err)
	}
	after := shmStat(t, id)
	if after.Ctime <= before.Ctime {
		t.Errorf("touch: ctime %d, want later than %d", after.Ctime, before.Ctime)
	}
	if after.Perm != before.Perm || after.Atime != before.Atime || after.Dtime != before.Dtime {
		t.Errorf("touch changed more than ctime: %+v -> %+v", before, after)
	}

	for _, script := range []string{"touch -d 2000-01-01 " + p, "touch -m -d @1 " + p} {
		_, stderr, err := sh(t, script)
		if err == nil || !strings.Contains(stderr, "Operation not permitted") {
			t.Errorf("%s: %v %q, want EPERM", script, err, stderr)
		}
	}
	if now := shmStat(t, id); now.Perm != after.Perm || now.Ctime != after.Ctime {
		t.Errorf("a refused touch changed the segment: %+v -> %+v", after, now)
	}

	// A writer who is not the owner truncates (open + ftruncate).
	if _, stderr, err := asUser(t, fmt.Sprintf("truncate -s 2 %s && truncate -s 1 %s", p, p)); err != nil {
		t.Errorf("truncate as a writer who is not the owner: %v %s", err, stderr)
	}
	if got := segmentBytes(t, id)[:4]; string(got) != "d\x00\x00\x00" {
		t.Errorf("after truncate -s 1: %q", got)
	}
	if _, stderr, err := asUser(t, "touch "+p); err == nil || !strings.Contains(stderr, "Operation not permitted") {
		t.Errorf("touch as a writer who is not the owner: %v %q, want EPERM as IPC_SET gives", err, stderr)
	}
}

// TestShmDaemonOutOfDescriptors: when the daemon has no file descriptor
// left for a segment's file, an open fails with EMFILE, which names what
// ran out, not EIO; and opens work again once handles are closed.
func TestShmDaemonOutOfDescriptors(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := newSegment(t, key, 4096, 0600)
	p := m.Path("shm", keyName(key))
	lim := unix.Rlimit{Cur: 64, Max: 64}
	if err := unix.Prlimit(m.cmd.Process.Pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Fatal(err)
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	var err error
	for len(files) < 200 {
		var f *os.File
		if f, err = os.Open(p); err != nil {
			break
		}
		files = append(files, f)
	}
	if errnoOf(err) != syscall.EMFILE {
		t.Errorf("open %d with the daemon's descriptors used up: %v, want EMFILE", len(files)+1, err)
	}
	for _, f := range files {
		f.Close()
	}
	files = nil
	shmPollUntil(t, "every handle is released", func() bool { return nattch(t, id) == 0 })
	if b, err := os.ReadFile(p); err != nil || len(b) != 4096 {
		t.Errorf("open after the handles were closed: %d bytes, %v", len(b), err)
	}
}

// TestShmAppendFails: a write to a segment opened O_APPEND starts at the
// end, so fails with ENOSPC and stores nothing, also right after an
// O_TRUNC open, when the kernel's idea of the size is the bytes written
// since (it appended at 2 after writing "X\n" through an O_TRUNC open).
func TestShmAppendFails(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := newSegment(t, key, 10000, 0600)
	p := m.Path("shm", keyName(key))
	seg := attach(t, id, 0)
	for i := 0; i < 3; i++ {
		if err := os.WriteFile(p, []byte("X\n"), 0); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Write([]byte("more"))
		f.Close()
		if errnoOf(err) != syscall.ENOSPC {
			t.Errorf("write with O_APPEND after one with O_TRUNC: %v, want ENOSPC", err)
		}
		if !bytes.Equal(seg[:8], []byte("X\n\x00\x00\x00\x00\x00\x00")) || seg[10000-1] != 0 {
			t.Fatalf("the segment starts %q, want X and a newline, then zeros", seg[:8])
		}
	}
}

// TestShmIDNameAfterRemoval: a keyed segment removed while attached stays
// as id-N, and id-N finds it at once, even where the kernel still holds
// the id-N entry it looked up while the segment had its key (it did: an
// open, a getxattr and a stat failed with ENOENT for a second).
func TestShmIDNameAfterRemoval(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := newSegment(t, key, 4096, 0600)
	seg := attach(t, id, 0)
	copy(seg, "still here")
	p := m.Path("shm", fmt.Sprintf("id-%d", id))
	if e := statErrno(p); e != 0 {
		t.Fatalf("stat %s while keyed: %v", p, e)
	}
	if _, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || !bytes.HasPrefix(b, []byte("still here")) {
		t.Errorf("reading %s after IPC_RMID: %q, %v", p, b[:min(len(b), 10)], err)
	}
	if v, e := viewGetxattr(p, "user.ipc.nattch"); e != 0 || v != "1" {
		t.Errorf("user.ipc.nattch of %s after IPC_RMID: %q, %v; want 1", p, v, e)
	}
	if e := statErrno(p); e != 0 {
		t.Errorf("stat %s after IPC_RMID: %v", p, e)
	}
	if e := statErrno(m.Path("shm", keyName(key))); e != syscall.ENOENT {
		t.Errorf("stat of its old key name: %v, want ENOENT", e)
	}
}

// TestShmExecMapping: mmap checks no execute permission, only the mount,
// where shmat(SHM_EXEC) needs the x bit: the mount is noexec, so a
// PROT_EXEC mapping is refused (EPERM) whatever the mode, as shmat
// refuses SHM_EXEC to a 0644 segment; -o exec lifts it.
func TestShmExecMapping(t *testing.T) {
	key := newKey()
	newSegment(t, key, 4096, 0644)
	mapExec := func(m *Mount) error {
		f, err := os.Open(m.Path("shm", keyName(key)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b, err := unix.Mmap(int(f.Fd()), 0, 4096, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_SHARED)
		if err == nil {
			unix.Munmap(b)
		}
		return err
	}
	if err := mapExec(mount(t)); err != syscall.EPERM {
		t.Errorf("PROT_EXEC mapping on a default mount: %v, want EPERM", err)
	}
	if err := mapExec(mount(t, "-o", "exec")); err != nil {
		t.Errorf("PROT_EXEC mapping with -o exec: %v", err)
	}
}

// TestShmHugePagesOddSize: a SHM_HUGETLB segment whose size is not a
// whole number of huge pages opens too (its attachment spans whole huge
// pages, and the open looked for one of the size rounded to 4 KiB: ENOENT).
func TestShmHugePagesOddSize(t *testing.T) {
	reserveHugePages(t, 1)
	m := mount(t)
	const size = 1<<20 + 1
	key := newKey()
	id := newSegment(t, key, size, shmHugeTLB|0600)
	p := m.Path("shm", keyName(key))
	mustSh(t, "printf hello > "+p)
	want := make([]byte, size)
	copy(want, "hello")
	if got := segmentBytes(t, id); !bytes.Equal(got, want) {
		t.Errorf("after printf hello >: differs at %d", firstDiff(got, want))
	}
	if fi, err := os.Stat(p); err != nil || fi.Size() != size {
		t.Errorf("stat: %v, %v; want size %d", fi, err, size)
	}
	if got := mustSh(t, "cat "+p); got != string(want) {
		t.Errorf("cat differs from the segment at %d", firstDiff([]byte(got), want))
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n, err := unix.Pwrite(int(f.Fd()), []byte("xy"), size-1); n != 1 || err != nil {
		t.Errorf("write running past the end: %d, %v; want a short write of 1", n, err)
	}
	if _, err := unix.Pwrite(int(f.Fd()), []byte("x"), size); err != syscall.ENOSPC {
		t.Errorf("write at the end: %v, want ENOSPC", err)
	}
}
