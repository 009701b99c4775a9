package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMountShowsLayout is the first thing to pass: the mount comes up with
// its folders and a segment made directly appears at once.
func TestMountShowsLayout(t *testing.T) {
	m := mount(t)
	key := newKey()
	newSegment(t, key, 4096, 0600)
	for _, p := range []string{"shm", "shm/create", "shm/remove", "shm/status", "shm/" + keyName(key)} {
		if _, err := os.Stat(m.Path(p)); err != nil {
			t.Errorf("stat %s: %v", p, err)
		}
	}
}

// TestRemoveTakesKeysAsCreateDoes: remove takes a key in every spelling
// create takes, decimal included, beside the names as listed.
func TestRemoveTakesKeysAsCreateDoes(t *testing.T) {
	m := mount(t)
	dec, hex := newKey(), newKey()
	newSegment(t, dec, 4096, 0600)
	newSegment(t, hex, 4096, 0600)
	if err := os.WriteFile(m.Path("shm", "remove"), []byte(fmt.Sprintf("%d %#x\n", dec, hex)), 0); err != nil {
		t.Fatalf("remove by decimal and short hex key: %v", err)
	}
	for _, k := range []uint32{dec, hex} {
		if _, err := unix.SysvShmGet(int(int32(k)), 0, 0); err != unix.ENOENT {
			t.Errorf("key %#x: shmget after remove: %v, want ENOENT", k, err)
		}
	}
}

// TestFixedNodesAttributes: the nodes that are no IPC object show the
// daemon's start as their times, not 1970; the root is inode 1 and links
// its three folders.
func TestFixedNodesAttributes(t *testing.T) {
	before := time.Now().Add(-time.Second) // times are whole seconds
	m := mount(t)
	key := newKey()
	semNew(t, key, 1, 0600)
	var st unix.Stat_t
	if err := unix.Stat(m.Dir, &st); err != nil || st.Ino != 1 || st.Nlink != 5 {
		t.Errorf("stat of the root: ino %d, nlink %d (%v); want 1 and 5", st.Ino, st.Nlink, err)
	}
	for _, p := range []string{"", "shm", "sem", "msg", "limits", "usage", "shm/create", "msg/remove", "sem/status", "sem/" + keyName(key) + "/status"} {
		if err := unix.Stat(m.Path(p), &st); err != nil {
			t.Errorf("stat %s: %v", p, err)
			continue
		}
		for _, ts := range []unix.Timespec{st.Atim, st.Mtim, st.Ctim} {
			if at := time.Unix(ts.Unix()); at.Before(before) || at.After(time.Now()) {
				t.Errorf("%s: time %v, want the mount's (after %v)", p, at, before)
			}
		}
	}
}

// TestFixedEntriesStay: rm and rmdir of the top-level entries, and making
// a new one, fail with EPERM, for root and for another user of an allow_other mount, and every
// entry is still there afterwards.
func TestFixedEntriesStay(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	top := []string{"limits", "msg", "sem", "shm", "usage"}
	for _, user := range []bool{false, true} {
		for _, name := range top {
			cmd := "rm"
			if !strings.Contains("limits usage", name) {
				cmd = "rmdir"
			}
			script := cmd + " " + m.Path(name)
			run := sh
			if user {
				run = asUser
			}
			if _, stderr, err := run(t, script); err == nil || !strings.Contains(stderr, "Operation not permitted") {
				t.Errorf("%s (as another user: %v): %v %q, want EPERM", script, user, err, stderr)
			}
		}
	}
	for _, run := range []func(testing.TB, string) (string, string, error){sh, asUser} {
		if _, stderr, err := run(t, "touch "+m.Path("new")); err == nil || !strings.Contains(stderr, "Operation not permitted") {
			t.Errorf("touch of a new name at the top: %v %q, want EPERM", err, stderr)
		}
	}
	ents, err := os.ReadDir(m.Dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if err != nil || !slices.Equal(names, top) {
		t.Errorf("the root after: %v %v, want %v", names, err, top)
	}
}

// TestFsyncSucceeds: fsync and fdatasync of every kind of file and folder
// succeed, as on tmpfs (there is nothing to write back), and `dd
// conv=fsync` into a segment works.
func TestFsyncSucceeds(t *testing.T) {
	m := mount(t)
	k, ks, kq := newKey(), newKey(), newKey()
	semNew(t, k, 1, 0600)
	newSegment(t, ks, 4096, 0600)
	msgNewQueue(t, kq, 0600)
	for _, c := range []struct {
		path string
		flag int
	}{
		{"", unix.O_RDONLY}, {"shm", unix.O_RDONLY}, {"limits", unix.O_RDONLY},
		{"shm/create", unix.O_WRONLY}, {"shm/status", unix.O_RDONLY},
		{"shm/" + keyName(ks), unix.O_RDWR}, {"shm/" + keyName(ks), unix.O_RDONLY},
		{"sem/" + keyName(k), unix.O_RDONLY}, {"sem/" + keyName(k) + "/0", unix.O_WRONLY},
		{"msg/" + keyName(kq), unix.O_WRONLY},
	} {
		fd, err := unix.Open(m.Path(c.path), c.flag, 0)
		if err != nil {
			t.Errorf("open %s: %v", c.path, err)
			continue
		}
		if err := unix.Fsync(fd); err != nil {
			t.Errorf("fsync %s: %v", c.path, err)
		}
		if err := unix.Fdatasync(fd); err != nil {
			t.Errorf("fdatasync %s: %v", c.path, err)
		}
		unix.Close(fd)
	}
	if _, stderr, err := sh(t, "echo hi | dd of="+m.Path("shm", keyName(ks))+" conv=notrunc,fsync status=none"); err != nil {
		t.Errorf("dd conv=fsync: %v %s", err, stderr)
	}
}

// TestFixedNodesRefuseChanges: the folders, control files and views have
// fixed attributes: chmod, chown, a touch to a given time and a
// truncation fail with EPERM, as they do on an object (but an open with
// O_TRUNC of a control file succeeds: `echo > create`), and a touch to
// now succeeds and changes nothing.
func TestFixedNodesRefuseChanges(t *testing.T) {
	m := mount(t)
	for _, p := range []string{"", "shm", "sem", "limits", "usage", "shm/create", "msg/remove", "sem/status"} {
		path := m.Path(p)
		var before unix.Stat_t
		if err := unix.Stat(path, &before); err != nil {
			t.Fatal(err)
		}
		if err := unix.Chmod(path, 0700); errnoOf(err) != syscall.EPERM {
			t.Errorf("chmod %s: %v, want EPERM", p, err)
		}
		if err := unix.Chown(path, 0, 0); errnoOf(err) != syscall.EPERM {
			t.Errorf("chown %s: %v, want EPERM", p, err)
		}
		ts := []unix.Timespec{{Sec: 1000}, {Sec: 1000}}
		if err := unix.UtimesNano(path, ts); errnoOf(err) != syscall.EPERM {
			t.Errorf("touch -d of %s: %v, want EPERM", p, err)
		}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, nil, 0); err != nil {
			t.Errorf("touch of %s: %v, want success", p, err)
		}
		if err := unix.Setxattr(path, "user.x", []byte("1"), 0); errnoOf(err) != syscall.EOPNOTSUPP {
			t.Errorf("setxattr user.x on %s: %v, want EOPNOTSUPP", p, err)
		}
		if err := unix.Truncate(path, 0); errnoOf(err) != syscall.EPERM && errnoOf(err) != syscall.EISDIR {
			t.Errorf("truncate %s: %v, want EPERM (EISDIR for a folder)", p, err)
		}
		if strings.HasSuffix(p, "create") || strings.HasSuffix(p, "remove") {
			// The O_TRUNC of `echo > create` comes with its open, so
			// no truncation of a control file is one.
			if err := unix.Truncate(path, 5); errnoOf(err) != syscall.EPERM {
				t.Errorf("truncate -s 5 %s: %v, want EPERM", p, err)
			}
			fd, err := unix.Open(path, unix.O_WRONLY|unix.O_TRUNC, 0)
			if err != nil {
				t.Fatalf("open %s O_TRUNC: %v", p, err)
			}
			if err := unix.Ftruncate(fd, 0); errnoOf(err) != syscall.EPERM {
				t.Errorf("ftruncate of %s: %v, want EPERM", p, err)
			}
			unix.Close(fd)
		}
		var after unix.Stat_t
		if err := unix.Stat(path, &after); err != nil || after.Mode != before.Mode || after.Uid != before.Uid || after.Mtim != before.Mtim {
			t.Errorf("%s changed: %+v -> %+v (%v)", p, before, after, err)
		}
	}
}

// TestNamesCannotBeMade: mkdir, mknod, ln -s, ln and mv fail with EPERM in
// every folder, as touch of a new name does (objects are made through
// create, and an object's name is its key), and EROFS on a read-only
// mount; no name is made or moved.
func TestNamesCannotBeMade(t *testing.T) {
	for _, ro := range []bool{false, true} {
		var flags []string
		want := syscall.EPERM
		if ro {
			flags, want = []string{"--ro"}, syscall.EROFS
		}
		m := mount(t, flags...)
		seg, set, queue := newKey(), newKey(), newKey()
		newSegment(t, seg, 4096, 0644)
		semNew(t, set, 2, 0644)
		msgNewQueue(t, queue, 0644)
		segP, setP := m.Path("shm", keyName(seg)), m.Path("sem", keyName(set))
		for _, dir := range []string{m.Dir, m.Path("shm"), m.Path("sem"), m.Path("msg"), setP} {
			for what, err := range map[string]error{
				"mkdir":   unix.Mkdir(filepath.Join(dir, "new"), 0755),
				"mkfifo":  unix.Mkfifo(filepath.Join(dir, "new"), 0644),
				"mknod":   unix.Mknod(filepath.Join(dir, "new"), unix.S_IFREG|0644, 0),
				"symlink": unix.Symlink("target", filepath.Join(dir, "new")),
				"link":    unix.Link(segP, filepath.Join(dir, "new")),
			} {
				if err != want {
					t.Errorf("ro %v: %s in %s: %v, want %v", ro, what, dir, err, want)
				}
			}
			if _, err := os.Lstat(filepath.Join(dir, "new")); !os.IsNotExist(err) {
				t.Errorf("ro %v: %s/new after the tries: %v, want ENOENT", ro, dir, err)
			}
		}
		for _, mv := range [][2]string{
			{segP, m.Path("shm", keyName(newKey()))},
			{m.Path("msg", keyName(queue)), m.Path("msg", "0x1")},
			{setP, m.Path("sem", "other")},
			{filepath.Join(setP, "0"), filepath.Join(setP, "2")},
			{m.Path("limits"), m.Path("limits2")},
			{m.Path("shm", "status"), m.Path("shm", "status2")},
		} {
			if err := unix.Rename(mv[0], mv[1]); err != want {
				t.Errorf("ro %v: mv %s %s: %v, want %v", ro, mv[0], mv[1], err, want)
			}
			if _, err := os.Lstat(mv[0]); err != nil {
				t.Errorf("ro %v: %s after mv: %v", ro, mv[0], err)
			}
			if _, err := os.Lstat(mv[1]); !os.IsNotExist(err) {
				t.Errorf("ro %v: %s after mv: %v, want ENOENT", ro, mv[1], err)
			}
		}
	}
}
