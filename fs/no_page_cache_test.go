package fs

import (
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// openReply is a file system whose every open answers with flags.
type openReply struct {
	fuse.RawFileSystem
	flags uint32
}

func (o openReply) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	out.OpenFlags = o.flags
	return fuse.OK
}

// An open that go-fuse left without passthrough (the kernel refused the
// backing file) gets direct I/O, and segments stop asking; the others
// pass as they are.
func TestNoPageCache(t *testing.T) {
	for _, c := range []struct {
		reply, want uint32
		passthrough bool
	}{
		{0, fuse.FOPEN_DIRECT_IO, false},
		{fuse.FOPEN_PASSTHROUGH, fuse.FOPEN_PASSTHROUGH, true},
		{fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, true},
		{fuse.FOPEN_DIRECT_IO | fuse.FOPEN_PASSTHROUGH, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_PASSTHROUGH, true},
	} {
		root := &Root{}
		root.passthrough.once.Do(func() {}) // as if the kernel had said yes
		root.passthrough.on.Store(true)
		n := &rawFS{RawFileSystem: openReply{flags: c.reply}, root: root}
		var out fuse.OpenOut
		if st := n.Open(nil, &fuse.OpenIn{}, &out); st != fuse.OK {
			t.Fatalf("reply %#x: %v", c.reply, st)
		}
		if out.OpenFlags != c.want || root.passthrough.on.Load() != c.passthrough {
			t.Errorf("reply %#x: flags %#x, passthrough %v; want %#x, %v", c.reply, out.OpenFlags, root.passthrough.on.Load(), c.want, c.passthrough)
		}
	}
}
