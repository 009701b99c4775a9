package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// undoPath is where the daemon on mountpoint keeps its semop undo
// records: one file per mountpoint and IPC namespace, under /run/ipcfs
// for root (gone at reboot, as the semaphores are) or the user's runtime
// directory, so that a daemon started again on the same mountpoint takes
// them over. It also makes sure this daemon is the only one using them
// (see claim); release ends that when the daemon is done.
func undoPath(mountpoint string) (path string, release func(), err error) {
	abs, err := filepath.Abs(mountpoint)
	if err != nil {
		return "", nil, err
	}
	var ns unix.Stat_t
	if err := unix.Stat("/proc/self/ns/ipc", &ns); err != nil {
		return "", nil, err
	}
	dir, err := stateDir()
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d", abs, ns.Ino)))
	path = filepath.Join(dir, "undo-"+hex.EncodeToString(sum[:8])+".json")
	release, err = claim(path + ".lock")
	if err != nil {
		return "", nil, fmt.Errorf("another ipcfs daemon serves %s in this IPC namespace (%w)", abs, err)
	}
	return path, release, nil
}

// stateDir is the directory of the undo records, made if missing. The
// records are semop adjustments the daemon applies, as its own user, for
// processes that exited; so the directory must be this user's alone, or
// another user could plant records there. Without XDG_RUNTIME_DIR an
// ordinary user's is under the shared temporary directory, named by uid.
func stateDir() (string, error) {
	dir := "/run/ipcfs"
	// Root of a user namespace (a rootless container, `unshare -r`) is an
	// ordinary user outside it, with no say over /run/ipcfs.
	if uid := os.Geteuid(); uid != 0 || !inInitialUserNS() {
		if run := os.Getenv("XDG_RUNTIME_DIR"); run != "" {
			dir = filepath.Join(run, "ipcfs")
		} else {
			dir = filepath.Join(os.TempDir(), "ipcfs-"+strconv.Itoa(uid))
		}
	}
	if err := os.MkdirAll(dir, 0700); err != nil {
		return "", err
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return "", err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Geteuid() || st.Mode&0022 != 0 {
		return "", fmt.Errorf("%s, which keeps the semop undo records, is not a directory of this user's that only it may write: remove it, or set XDG_RUNTIME_DIR", dir)
	}
	return dir, nil
}

// claim takes an exclusive lock on path for as long as the daemon lives
// (the kernel drops it when the process ends, however it ends). Two
// daemons on one mountpoint would both apply the same undo records.
// release removes the file, so that lock files do not pile up, one per
// mountpoint ever used: removed under the lock, a file another daemon
// opened just before is no longer the path's, which that daemon sees
// once it has the lock, and it opens the path again.
func claim(path string) (release func(), err error) {
	for {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0600)
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			unix.Close(fd)
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, errors.New("its lock " + path + " is held")
			}
			return nil, err
		}
		var locked, now unix.Stat_t
		if unix.Fstat(fd, &locked) == nil && unix.Stat(path, &now) == nil && locked.Ino == now.Ino && locked.Dev == now.Dev {
			// fd stays open: the lock lives with the process.
			var once sync.Once
			return func() { once.Do(func() { os.Remove(path); unix.Close(fd) }) }, nil
		}
		unix.Close(fd) // removed by the daemon that held it: again
	}
}

// inInitialUserNS reports whether the daemon runs in the host's user
// namespace, where uid 0 maps to itself and every uid is mapped.
func inInitialUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	return err == nil && strings.Join(strings.Fields(string(b)), " ") == "0 0 4294967295"
}
