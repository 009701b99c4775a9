package sysv

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"unsafe"
)

// TestSegmentFileMapIsNoAttachment: a mapping of a segment's file shares
// the segment's pages, but shm_nattch does not count it and Attachments
// does not list this process for it; an attachment made at the same time
// is counted and listed.
func TestSegmentFileMapIsNoAttachment(t *testing.T) {
	const size = 1 << 20
	id, err := ShmGet(Private, size, Create|0600)
	if err != nil {
		t.Fatal(err)
	}
	defer ShmRemove(id)
	att, err := ShmAttach(id, false)
	if err != nil {
		t.Fatal(err)
	}
	start := uintptr(unsafe.Pointer(&att[0]))
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/map_files/%x-%x", start, start+size), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := ShmDetach(att); err != nil {
		t.Fatal(err)
	}

	m, err := MapSegmentFile(int(f.Fd()), size)
	if err != nil {
		t.Fatal(err)
	}
	mapped := true
	defer func() {
		if mapped {
			UnmapSegmentFile(m)
		}
	}()
	copy(m[size-5:], "hello")
	listed := func() bool {
		t.Helper()
		a, err := Attachments()
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(a[id], os.Getpid())
	}
	if s, _ := ShmStat(id); s.Nattch != 0 {
		t.Errorf("nattch %d with the file mapped, want 0", s.Nattch)
	}
	if listed() {
		t.Error("Attachments lists this process for a mapping of the segment's file")
	}

	att, err = ShmAttach(id, true)
	if err != nil {
		t.Fatal(err)
	}
	if string(att[size-5:]) != "hello" {
		t.Errorf("the attachment reads %q where the file mapping wrote hello", att[size-5:])
	}
	if !listed() {
		t.Error("Attachments does not list this process for its attachment")
	}
	ShmDetach(att)
	mapped = false
	if err := UnmapSegmentFile(m); err != nil {
		t.Fatal(err)
	}
	if listed() {
		t.Error("Attachments lists this process with neither attachment nor mapping")
	}
}
