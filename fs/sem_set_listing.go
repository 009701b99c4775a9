package fs

import (
	"context"
	"strconv"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// OpendirHandle lists the set: its semaphores, semop and status. A set
// gone or replaced under its key answers ESTALE, as every use of the set
// does, so that the kernel looks the path up again rather than open a
// folder that fails each later call.
func (n *semSetNode) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	s, errno := n.stat()
	if errno != 0 {
		return nil, 0, errno
	}
	l := &semSetListing{set: n, entries: make([]fuse.DirEntry, 0, s.Nsems+2)}
	for i := 0; i < s.Nsems; i++ {
		l.entries = append(l.entries, fuse.DirEntry{Name: strconv.Itoa(i), Mode: fuse.S_IFREG, Ino: inoSemBase | uint64(n.id)<<16 | uint64(i)})
	}
	l.entries = append(l.entries,
		fuse.DirEntry{Name: "semop", Mode: fuse.S_IFREG, Ino: inoSemOpBase | uint64(n.id)<<16},
		fuse.DirEntry{Name: "status", Mode: fuse.S_IFREG, Ino: inoSemStatBase | uint64(n.id)<<16})
	for i := range l.entries {
		l.entries[i].Off = uint64(i + 1)
	}
	return l, 0, 0
}

// semSetListing is one listing of a set's folder. It hands out the names
// of the files that take writes without inodes (see nameOnly).
type semSetListing struct {
	set     *semSetNode
	entries []fuse.DirEntry
	pos     int
}

var (
	_ fs.FileReaddirenter = (*semSetListing)(nil)
	_ fs.FileLookuper     = (*semSetListing)(nil)
	_ fs.FileSeekdirer    = (*semSetListing)(nil)
	_ fs.FileReleasedirer = (*semSetListing)(nil)
)

func (l *semSetListing) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if l.pos >= len(l.entries) {
		return nil, 0
	}
	l.pos++
	return &l.entries[l.pos-1], 0
}

func (l *semSetListing) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	l.pos = int(min(off, uint64(len(l.entries))))
	return 0
}

func (l *semSetListing) Releasedir(ctx context.Context, flags uint32) {}

// Lookup gives status its inode with its name (READDIRPLUS), and the
// other files, whose inodes are one per open, none.
func (l *semSetListing) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if name == "status" {
		return l.set.Lookup(ctx, name, out)
	}
	return nameOnly()
}
