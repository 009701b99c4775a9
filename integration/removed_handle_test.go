package integration

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFstatAfterRemoval: a handle open on a queue or semaphore file
// across the object's removal answers fstat as a handle on a file
// unlinked while open does (the reference: a /dev/shm file): the
// attributes it had, with no links, also once a new object has the old
// key. Its reads and writes fail as before (TestMsgRm, TestSemRm).
func TestFstatAfterRemoval(t *testing.T) {
	m := mount(t)

	// The reference: the kernel's own file system.
	ref, err := os.CreateTemp("/dev/shm", "ipcfs-unlinked-")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	os.Remove(ref.Name())
	var refSt syscall.Stat_t
	if err := syscall.Fstat(int(ref.Fd()), &refSt); err != nil || refSt.Nlink != 0 {
		t.Fatalf("fstat of an unlinked /dev/shm file: nlink %d, %v", refSt.Nlink, err)
	}

	qkey, skey := newKey(), newKey()
	qid := msgNewQueue(t, qkey, 0640)
	sid := semNew(t, skey, 2, 0640)
	files := []struct {
		path   string
		remove func()
		remake func()
	}{
		{m.Path("msg", keyName(qkey)), func() { msgRmid(t, qid) }, func() { msgNewQueue(t, qkey, 0600) }},
		{m.Path("msg", keyName(qkey)+":3"), nil, nil},
		{m.Path("sem", keyName(skey), "1"), func() { semctlRaw(sid, 0, unix.IPC_RMID, 0) }, func() { semNew(t, skey, 2, 0600) }},
		{m.Path("sem", keyName(skey), "semop"), nil, nil},
	}
	fds := make([]int, len(files))
	before := make([]syscall.Stat_t, len(files))
	for i, f := range files {
		fd, err := syscall.Open(f.path, syscall.O_RDWR|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatalf("open %s: %v", f.path, err)
		}
		defer syscall.Close(fd)
		fds[i] = fd
		if err := syscall.Fstat(fd, &before[i]); err != nil || before[i].Nlink != 1 {
			t.Fatalf("fstat of %s: nlink %d, %v", f.path, before[i].Nlink, err)
		}
	}
	// An open never fstat'ed before the removal answers the same.
	fresh := make([]int, len(files))
	for i, f := range files {
		fd, err := syscall.Open(f.path, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(fd)
		fresh[i] = fd
	}
	check := func(when string) {
		t.Helper()
		for i, f := range files {
			var st syscall.Stat_t
			if err := syscall.Fstat(fds[i], &st); err != nil {
				t.Errorf("fstat of %s %s: %v; an unlinked file's gives nlink 0", filepath.Base(f.path), when, err)
				continue
			}
			b := before[i]
			if st.Nlink != refSt.Nlink || st.Ino != b.Ino || st.Mode != b.Mode || st.Uid != b.Uid || st.Gid != b.Gid || st.Size != b.Size {
				t.Errorf("fstat of %s %s: nlink %d ino %d mode %o uid %d gid %d size %d; want nlink %d and ino %d mode %o uid %d gid %d size %d as before",
					filepath.Base(f.path), when, st.Nlink, st.Ino, st.Mode, st.Uid, st.Gid, st.Size,
					refSt.Nlink, b.Ino, b.Mode, b.Uid, b.Gid, b.Size)
			}
		}
	}
	for _, f := range files {
		if f.remove != nil {
			f.remove()
		}
	}
	check("after the removal")
	for i, f := range files {
		var st syscall.Stat_t
		if err := syscall.Fstat(fresh[i], &st); err != nil || st.Nlink != 0 || st.Ino != before[i].Ino {
			t.Errorf("fstat of an open of %s not fstat'ed before the removal: nlink %d ino %d, %v; want nlink 0, ino %d", filepath.Base(f.path), st.Nlink, st.Ino, err, before[i].Ino)
		}
	}
	for _, f := range files {
		if f.remake != nil {
			f.remake()
		}
	}
	check("once a new object has the key")

	// The path is the new object's, with its own mode.
	var st syscall.Stat_t
	if err := syscall.Stat(files[0].path, &st); err != nil || st.Nlink != 1 || st.Mode&0777 != 0600 {
		t.Errorf("stat of the new queue's path: nlink %d mode %o, %v; want 1 and 600", st.Nlink, st.Mode&0777, err)
	}
}
