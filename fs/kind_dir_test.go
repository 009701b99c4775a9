package fs

import (
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/ipcfs/ipcfs/sysv"
)

// TestListingNamesOnce: a key met twice in one pass over the kernel (its
// object removed and made again meanwhile) is listed once, as the object
// met last, which is the one made later.
func TestListingNamesOnce(t *testing.T) {
	obj := func(id int, key sysv.Key) object {
		return object{id: id, key: key, attr: fuse.Attr{Ino: uint64(id), Mode: fuse.S_IFREG}}
	}
	h := &kindDirHandle{objects: map[string]*object{}}
	h.addObjects([]object{obj(1, 0x10), obj(2, 0), obj(3, 0x20), obj(4, 0x10), obj(5, 0)})
	var names []string
	for _, e := range h.entries {
		names = append(names, e.Name)
	}
	want := []string{"0x00000010", "id-2", "0x00000020", "id-5"}
	if len(names) != len(want) {
		t.Fatalf("listed %q, want %q", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("listed %q, want %q", names, want)
		}
	}
	if h.entries[0].Ino != 4 || h.objects["0x00000010"].id != 4 {
		t.Errorf("0x00000010 listed as inode %d, id %d; want the later object, 4", h.entries[0].Ino, h.objects["0x00000010"].id)
	}
}
