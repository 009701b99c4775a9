package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// undoPath is where the daemon on mountpoint keeps its semop undo
// records: one file per mountpoint and IPC namespace, under /run/ipcfs
// for root (gone at reboot, as the semaphores are) or the user's runtime
// directory, so that a daemon started again on the same mountpoint takes
// them over.
func undoPath(mountpoint string) (string, error) {
	abs, err := filepath.Abs(mountpoint)
	if err != nil {
		return "", err
	}
	var ns unix.Stat_t
	if err := unix.Stat("/proc/self/ns/ipc", &ns); err != nil {
		return "", err
	}
	dir := "/run/ipcfs"
	if os.Geteuid() != 0 {
		dir = os.Getenv("XDG_RUNTIME_DIR")
		if dir == "" {
			dir = os.TempDir()
		}
		dir = filepath.Join(dir, "ipcfs")
	}
	if err := os.MkdirAll(dir, 0700); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d", abs, ns.Ino)))
	return filepath.Join(dir, "undo-"+hex.EncodeToString(sum[:8])+".json"), nil
}
