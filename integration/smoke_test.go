package integration

import (
	"os"
	"testing"
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
