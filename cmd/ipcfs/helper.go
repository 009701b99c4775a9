package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// readyFdEnv names the pipe a background daemon reports its mount on.
const readyFdEnv = "IPCFS_READY_FD"

// runInBackground starts this program again in the foreground, detached
// from the terminal, and returns once it has mounted (0) or failed (1):
// what mount(8) expects of a helper.
func runInBackground() int {
	// Nothing of the caller's but the standard streams goes with the
	// daemon: a descriptor mount's caller left open (a pipe it reads to
	// its end) would otherwise stay open for the daemon's life.
	unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ipcfs:", err)
		return 1
	}
	// The binary by its own path, not /proc/self/exe, whose name would be
	// the daemon's ("exe") for ps, pidof and killall.
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	cmd := exec.Command(exe, append([]string{"-f"}, os.Args[1:]...)...)
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, os.Stderr
	cmd.ExtraFiles = []*os.File{w}
	cmd.Env = append(os.Environ(), readyFdEnv+"=3")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "ipcfs:", err)
		return 1
	}
	w.Close()
	var b [1]byte
	if n, _ := r.Read(b[:]); n == 1 {
		return 0
	}
	return 1 // the daemon exited without mounting; it said why on stderr
}

// notifyReady tells a waiting runInBackground that the mount is up. The
// daemon's stderr, mount's until then (to say why a mount failed), goes
// to /dev/null: whoever reads mount's output to its end ($(mount ...), a
// pipe, ssh) would otherwise wait for the daemon's, until the unmount.
func notifyReady() {
	if os.Getenv(readyFdEnv) == "" {
		return
	}
	// Before the byte, so that mount's caller never sees the daemon
	// still holding its stderr once mount has returned.
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		syscall.Dup3(int(null.Fd()), 2, 0)
		null.Close()
	}
	f := os.NewFile(3, "ready")
	f.Write([]byte{1})
	f.Close()
	os.Unsetenv(readyFdEnv)
}

// runFusermount runs fusermount3 (or fusermount) with args.
func runFusermount(args ...string) error {
	bin, err := exec.LookPath("fusermount3")
	if err != nil {
		if bin, err = exec.LookPath("fusermount"); err != nil {
			return err
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	return cmd.Run()
}
