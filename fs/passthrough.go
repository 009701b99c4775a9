package fs

import (
	"os"
	"sync"
	"sync/atomic"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// passthrough says whether segment opens may ask for FUSE passthrough
// (the kernel serving reads from the segment's own file). The kernel is
// asked once, at the first segment open: it can only answer once the
// mount's INIT is done, and a request being served is proof of that,
// where the daemon must not wait on its own mount (see NewRawFS). It is
// turned off for good if go-fuse ever leaves passthrough out of a reply.
type passthrough struct {
	server *fuse.Server // set by NewRawFS's Init, before any request
	once   sync.Once
	on     atomic.Bool
}

func (p *passthrough) enabled() bool {
	p.once.Do(func() { p.on.Store(p.server != nil && backingFilesWork(p.server)) })
	return p.on.Load()
}

func (p *passthrough) disable() {
	p.once.Do(func() {})
	p.on.Store(false)
}

// backingFilesWork asks the kernel whether it takes backing files from
// this daemon (Linux 6.9, CAP_SYS_ADMIN) by registering one and letting
// it go: a handle that asked for passthrough without getting it would be
// served from the page cache.
func backingFilesWork(server *fuse.Server) bool {
	if os.Geteuid() != 0 {
		return false // the segment's file is reachable only with CAP_SYS_ADMIN
	}
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return false
	}
	defer f.Close()
	id, errno := server.RegisterBackingFd(&fuse.BackingMap{Fd: int32(f.Fd())})
	if errno != 0 {
		return false
	}
	server.UnregisterBackingFd(id)
	return true
}
