package integration

import (
	"fmt"
	"os"
	"testing"

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
