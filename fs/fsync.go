package fs

import "github.com/hanwen/go-fuse/v2/fuse"

// Fsync and FsyncDir have nothing to do: every write has reached the
// object by the time it returns, and nothing is cached. ENOSYS says so
// once: the kernel then answers every fsync and fdatasync of the mount
// itself, with success, as tmpfs does (go-fuse's default, ENOTSUP, made
// `dd conv=fsync` and `sync FILE` fail).
func (n *rawFS) Fsync(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status { return fuse.ENOSYS }

func (n *rawFS) FsyncDir(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	return fuse.ENOSYS
}
