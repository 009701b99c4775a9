package sysv

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Cred is the identity a syscall is made with: effective uid and gid and
// the supplementary groups. The kernel checks SysV permissions (ipcperms)
// and records owner and creator from exactly these.
type Cred struct {
	Uid    uint32
	Gid    uint32
	Groups []uint32
}

var daemonEuid, daemonEgid = uint32(os.Geteuid()), uint32(os.Getegid())

// CredOf returns the identity of a caller known by pid, uid and gid (as
// FUSE reports them), reading its supplementary groups from
// /proc/PID/status. A process already gone keeps no groups.
func CredOf(pid, uid, gid uint32) *Cred {
	c := &Cred{Uid: uid, Gid: gid}
	if pid == 0 || uid == 0 {
		return c // the kernel itself, or root: groups change nothing
	}
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/status")
	if err != nil {
		return c
	}
	_, rest, ok := bytes.Cut(b, []byte("\nGroups:"))
	if !ok {
		return c
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	for _, f := range bytes.Fields(line) {
		if g, err := strconv.ParseUint(string(f), 10, 32); err == nil {
			c.Groups = append(c.Groups, uint32(g))
		}
	}
	return c
}

// needsSwitch reports whether calls for c must run under c's identity.
// Only a root daemon can take on another identity; an unprivileged one
// serves only its own user, whose identity it already has.
func (c *Cred) needsSwitch() bool {
	return c != nil && daemonEuid == 0 && (c.Uid != daemonEuid || c.Gid != daemonEgid)
}

// Do runs fn with c's identity. Linux keeps credentials per thread at the
// syscall level, so fn runs on a locked OS thread whose effective ids and
// groups are c's for the duration: the kernel then decides permissions
// and ownership exactly as if the caller had made the call itself.
func (c *Cred) Do(fn func() error) error {
	if !c.needsSwitch() {
		return fn()
	}
	runtime.LockOSThread()
	if err := c.enter(); err != nil {
		leave() // best effort; the thread is discarded below
		return err
	}
	err := fn()
	if leave() == nil {
		runtime.UnlockOSThread()
	}
	// Otherwise the thread stays locked and dies with this goroutine,
	// so no other goroutine ever runs with the caller's identity.
	return err
}

func (c *Cred) enter() error {
	var gp unsafe.Pointer
	if len(c.Groups) > 0 {
		gp = unsafe.Pointer(&c.Groups[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(c.Groups)), uintptr(gp), 0); e != 0 {
		return fmt.Errorf("setgroups: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, ^uintptr(0), uintptr(c.Gid), ^uintptr(0)); e != 0 {
		return fmt.Errorf("setresgid: %w", e)
	}
	// The real and saved uid stay the daemon's, so leave can go back.
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), uintptr(c.Uid), ^uintptr(0)); e != 0 {
		return fmt.Errorf("setresuid: %w", e)
	}
	return nil
}

// leave restores the daemon's identity on the current thread. Going back
// to euid 0 restores the effective capabilities too.
func leave() error {
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), uintptr(daemonEuid), ^uintptr(0)); e != 0 {
		return e
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, ^uintptr(0), uintptr(daemonEgid), ^uintptr(0)); e != 0 {
		return e
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
		return e
	}
	return nil
}
