package fs

import (
	"context"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fs"
)

// TestViewBudget: the open views hold at most viewBudget bytes together;
// an open past it fails with ENOMEM and holds nothing, and a release makes
// room again.
func TestViewBudget(t *testing.T) {
	text := make([]byte, viewBudget/4)
	var held []fs.FileHandle
	for i := 0; i < 4; i++ {
		h, _, errno := openText(text)
		if errno != 0 {
			t.Fatalf("open %d of 4 quarters of the budget: %v", i, errno)
		}
		held = append(held, h)
	}
	if _, _, errno := openText([]byte("x")); errno != syscall.ENOMEM {
		t.Errorf("an open past the budget: %v, want ENOMEM", errno)
	}
	held[0].(*textHandle).Release(context.Background())
	h, _, errno := openText([]byte("x"))
	if errno != 0 {
		t.Errorf("an open after a release: %v", errno)
	}
	h.(*textHandle).Release(context.Background())
	for _, h := range held[1:] {
		h.(*textHandle).Release(context.Background())
	}
	if n := viewBytes.Load(); n != 0 {
		t.Errorf("%d bytes counted after every release", n)
	}
}
