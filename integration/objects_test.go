package integration

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// keyName is how ipcfs and ipcs spell a key.
func keyName(key uint32) string { return fmt.Sprintf("0x%08x", key) }

// newSegment makes a segment directly with shmget and removes it when the
// test ends, whatever happens.
func newSegment(t testing.TB, key uint32, size int, mode int) int {
	t.Helper()
	id, err := unix.SysvShmGet(int(int32(key)), size, unix.IPC_CREAT|unix.IPC_EXCL|mode)
	if err != nil {
		t.Fatalf("shmget(%#x, %d): %v", key, size, err)
	}
	t.Cleanup(func() { unix.SysvShmCtl(id, unix.IPC_RMID, nil) })
	return id
}

// shmStat is IPC_STAT of a segment, made directly.
func shmStat(t testing.TB, id int) unix.SysvShmDesc {
	t.Helper()
	var d unix.SysvShmDesc
	if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &d); err != nil {
		t.Fatalf("IPC_STAT %d: %v", id, err)
	}
	return d
}

// attach is shmat made directly; the attachment is dropped at the end.
func attach(t testing.TB, id int, flag int) []byte {
	t.Helper()
	b, err := unix.SysvShmAttach(id, 0, flag)
	if err != nil {
		t.Fatalf("shmat %d: %v", id, err)
	}
	t.Cleanup(func() { unix.SysvShmDetach(b) })
	return b
}

// removeLater makes sure an object that the mount made is removed.
func removeShmLater(t testing.TB, key uint32) {
	t.Cleanup(func() {
		if id, err := unix.SysvShmGet(int(int32(key)), 0, 0); err == nil {
			unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		}
	})
}
