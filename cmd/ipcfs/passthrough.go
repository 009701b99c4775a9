package main

import (
	"os"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// passthroughWorks asks the kernel once whether it takes backing files
// from this daemon (FUSE passthrough: Linux 6.9, and CAP_SYS_ADMIN), by
// registering one and letting it go. Segment files use passthrough only
// if so: a handle that asked for it without getting it would be served
// from the page cache.
func passthroughWorks(server *fuse.Server) bool {
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
