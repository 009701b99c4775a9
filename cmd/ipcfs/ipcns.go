package main

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ipcNSEnv carries --ipc-ns across the re-exec to the C constructor in
// ipcns_cgo.go, which enters the namespace before the runtime starts.
const ipcNSEnv = "IPCFS_IPC_NS"

// enterIPCNamespace moves the whole daemon into the IPC namespace at path
// (/proc/PID/ns/ipc). Namespaces are per thread and the Go runtime runs
// on many, so every thread must make the setns: AllThreadsSyscall does
// that in a program without cgo; with cgo linked (go-fuse pulls in net
// and os/user) it refuses, and the program starts itself again with the
// path in the environment for the constructor. The mount itself stays in
// the caller's mount namespace.
func enterIPCNamespace(path string) error {
	if os.Getenv(ipcNSEnv) == path {
		return checkInNamespace(path) // the constructor has done it
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("--ipc-ns %s: %w", path, err)
	}
	defer unix.Close(fd)
	_, _, e := syscall.AllThreadsSyscall(unix.SYS_SETNS, uintptr(fd), unix.CLONE_NEWIPC, 0)
	if e == syscall.ENOTSUP {
		env := append(os.Environ(), ipcNSEnv+"="+path)
		return syscall.Exec("/proc/self/exe", os.Args, env)
	}
	if e != 0 {
		return fmt.Errorf("--ipc-ns %s: setns: %w", path, e)
	}
	return nil
}

// checkInNamespace confirms that the daemon's IPC namespace is path's.
func checkInNamespace(path string) error {
	var want, have unix.Stat_t
	if err := unix.Stat(path, &want); err != nil {
		return fmt.Errorf("--ipc-ns %s: %w", path, err)
	}
	if err := unix.Stat("/proc/self/ns/ipc", &have); err != nil {
		return err
	}
	if want.Ino != have.Ino || want.Dev != have.Dev {
		return fmt.Errorf("--ipc-ns %s: not in that namespace", path)
	}
	return nil
}
