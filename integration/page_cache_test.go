package integration

import (
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestNoPageCacheReads: a read that would go through the kernel's page
// cache (sendfile, splice) gets EINVAL on every file kept in direct I/O,
// and changes nothing, where it used to keep serving what it read first
// (a segment's old bytes) and, on a queue, received a message by
// readahead. (A semaphore file has size 0: the kernel reads none of it
// into its cache, and a splice ends at once.) read(2) on the same open is the
// segment's; a read-only open of a segment, in passthrough, splices the
// segment's own pages.
func TestNoPageCacheReads(t *testing.T) {
	m := mount(t)
	pipe := func() (r, w int) {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
		return p[0], p[1]
	}
	open := func(path string, flag int) int {
		fd, err := unix.Open(path, flag|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}

	key := newKey()
	id := newSegment(t, key, 8192, 0600)
	seg := attach(t, id, 0)
	path := m.Path("shm", keyName(key))
	rw := open(path, unix.O_RDWR)
	_, w := pipe()
	for _, s := range []string{"AAAA", "BBBB"} {
		copy(seg, s)
		var off int64
		if n, err := unix.Sendfile(w, rw, &off, 4); err != syscall.EINVAL {
			t.Errorf("sendfile of a read-write open: %d, %v; want EINVAL", n, err)
		}
		b := make([]byte, 4)
		if n, err := unix.Pread(rw, b, 0); n != 4 || err != nil || string(b) != s {
			t.Errorf("pread of the same open: %q, %v; want %q", b[:max(n, 0)], err, s)
		}
	}
	// In passthrough (root, Linux 6.9 on) the segment's own pages; EINVAL
	// without: never a stale copy.
	ro := open(path, unix.O_RDONLY)
	r, w2 := pipe()
	for _, s := range []string{"CCCC", "DDDD"} {
		copy(seg, s)
		var off int64
		n, err := unix.Sendfile(w2, ro, &off, 4)
		if err == syscall.EINVAL {
			continue
		}
		b := make([]byte, 4)
		if n != 4 || err != nil {
			t.Errorf("sendfile of a read-only open: %d, %v", n, err)
		} else if n, _ := unix.Read(r, b); string(b[:n]) != s {
			t.Errorf("sendfile of a read-only open gave %q; the segment has %q", b[:n], s)
		}
	}

	qkey := newKey()
	qid := msgNewQueue(t, qkey, 0600)
	qpath := m.Path("msg", keyName(qkey))
	for _, s := range []string{"one\n", "two\n"} {
		if err := os.WriteFile(qpath, []byte(s), 0); err != nil {
			t.Fatal(err)
		}
	}
	q := open(qpath, unix.O_RDONLY|unix.O_NONBLOCK)
	if n, err := unix.Splice(q, nil, w, nil, 100, 0); err != syscall.EINVAL {
		t.Errorf("splice of a queue: %d, %v; want EINVAL", n, err)
	}
	if ds := msgStat(t, qid); ds.Qnum != 2 {
		t.Errorf("after the splice the queue holds %d messages, want 2", ds.Qnum)
	}
	b := make([]byte, 100)
	if n, err := unix.Read(q, b); err != nil || string(b[:n]) != "one\n" {
		t.Errorf("read(2) after the splice: %q, %v; want the first message", b[:max(n, 0)], err)
	}
}

// TestViewsRefuseSendfile: sendfile of a view is refused (EINVAL), never
// a false end of file, so a copy made with it (Python's shutil) falls
// back to read(2) and gets the whole text; tail -c reads the end.
func TestViewsRefuseSendfile(t *testing.T) {
	m := mount(t)
	key := newKey()
	semNew(t, key, 2, 0600)
	kq := newKey()
	msgNewQueue(t, kq, 0600)
	dst, err := os.CreateTemp(t.TempDir(), "copy")
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	for _, p := range []string{m.Path("limits"), m.Path("usage"), m.Path("shm", "status"),
		m.Path("sem", keyName(key), "status"), m.Path("msg", keyName(kq)+":peek")} {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var off int64
		n, err := unix.Sendfile(int(dst.Fd()), int(f.Fd()), &off, 1<<20)
		f.Close()
		if err != syscall.EINVAL {
			t.Errorf("sendfile of %s: %d, %v; want EINVAL", p, n, err)
		}
	}
	text, err := os.ReadFile(m.Path("limits"))
	if err != nil {
		t.Fatal(err)
	}
	if got := mustSh(t, "tail -c 24 "+m.Path("limits")); got != string(text[len(text)-24:]) {
		t.Errorf("tail -c 24 limits: %q, want %q", got, text[len(text)-24:])
	}
}
