package integration

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestShmRepeatedLargeWrites: passes of 1 MiB writes over a segment land
// exactly where a direct attachment sees them. The daemon writes a chunk's
// first pass with pwrite and the later ones through its own mapping of
// the segment's file, so the passes cover both, at an offset that is not
// page aligned (every write spans two chunks), with the last write cut at
// the end, and after an O_TRUNC open has zeroed the segment under the
// mapping.
func TestShmRepeatedLargeWrites(t *testing.T) {
	m := mount(t)
	pid := m.cmd.Process.Pid
	key := newKey()
	const size = 3<<20 + 4096 + 77
	const start = 12345
	id := newSegment(t, key, size, 0600)
	p := m.Path("shm", keyName(key))
	want := make([]byte, size)

	pass := func(seed byte, flags int) {
		t.Helper()
		f, err := os.OpenFile(p, os.O_WRONLY|flags, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if flags&os.O_TRUNC != 0 {
			clear(want)
		}
		for off := start; off < size; off += 1 << 20 {
			data := randomBytes(1<<20, seed+byte(off>>20))
			n, err := syscall.Pwrite(int(f.Fd()), data, int64(off))
			if wantN := min(len(data), size-off); n != wantN || err != nil {
				t.Fatalf("pass %d: pwrite at %d = %d, %v; want %d", seed, off, n, err, wantN)
			}
			copy(want[off:], data)
		}
		if got := segmentBytes(t, id); !bytes.Equal(got, want) {
			t.Fatalf("pass %d: the segment differs at %d from what was written", seed, firstDiff(got, want))
		}
		if n, err := syscall.Pwrite(int(f.Fd()), make([]byte, 1<<20), size); errnoOf(err) != syscall.ENOSPC {
			t.Errorf("pass %d: pwrite of 1 MiB at the end = %d, %v; want ENOSPC", seed, n, err)
		}
	}
	for seed := byte(1); seed <= 4; seed++ {
		pass(seed*16, 0)
	}
	pass(5*16, os.O_TRUNC)
	pass(6*16, 0)
	pass(7*16, 0)

	if d := shmStat(t, id); d.Segsz != size {
		t.Errorf("segment size %d after the passes, want %d", d.Segsz, size)
	}
	shmPollUntil(t, "nattch is 0 after the passes", func() bool { return nattch(t, id) == 0 })
	shmPollUntil(t, "the daemon unmaps the segment", func() bool { return len(daemonMapsOf(t, pid, id)) == 0 })
}

// TestShmWindowNotAnAttachment: the daemon's own mapping of a segment
// written more than once is no attachment: shm_nattch counts the open
// handle's alone, and once the handle closes user.ipc.attached does not
// show the daemon. A segment removed while written is freed once the
// handle closes.
func TestShmWindowNotAnAttachment(t *testing.T) {
	m := mount(t)
	pid := m.cmd.Process.Pid
	key := newKey()
	const size = 2 << 20
	id := newSegment(t, key, size, 0600)
	p := m.Path("shm", keyName(key))
	writes := func(f *os.File, seeds ...byte) {
		t.Helper()
		for _, seed := range seeds {
			want := randomBytes(size, seed)
			if _, err := f.WriteAt(want, 0); err != nil {
				t.Fatal(err)
			}
			if got := segmentBytes(t, id); !bytes.Equal(got, want) {
				t.Fatalf("the segment differs at %d from write %d", firstDiff(got, want), seed)
			}
		}
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	writes(f, 1, 2, 3)
	if maps := daemonMapsOf(t, pid, id); len(maps) != 2 {
		t.Errorf("the daemon maps the segment %v, want twice: the handle's attachment and the window", maps)
	}
	if n := nattch(t, id); n != 1 {
		t.Errorf("nattch %d with one handle open, want 1", n)
	}
	if att, _ := viewGetxattr(p, "user.ipc.attached"); att != strconv.Itoa(pid) {
		t.Errorf("user.ipc.attached %q with one handle open, want the daemon's pid %d", att, pid)
	}
	f.Close()
	shmPollUntil(t, "nattch is 0 after the close", func() bool { return nattch(t, id) == 0 })
	if att, err := viewGetxattr(p, "user.ipc.attached"); att != "" || err != 0 {
		t.Errorf("user.ipc.attached %q, %v with no handle open, want empty", att, err)
	}

	f, err = os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	writes(f, 4, 5)
	if _, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	shmPollUntil(t, "the removed segment is gone", func() bool {
		_, err := unix.SysvShmCtl(id, unix.IPC_STAT, &unix.SysvShmDesc{})
		return err != nil
	})
	shmPollUntil(t, "the daemon unmaps the removed segment", func() bool { return len(daemonMapsOf(t, pid, id)) == 0 })
}
