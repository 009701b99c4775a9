package sysv

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Cred is the identity a syscall is made with: effective uid and gid,
// the supplementary groups and the effective capabilities. The kernel
// checks SysV permissions (ipcperms, and CAP_IPC_OWNER or CAP_SYS_ADMIN
// past them) and records owner and creator from exactly these.
type Cred struct {
	Uid    uint32
	Gid    uint32
	Groups []uint32
	Caps   uint64 // bit n: capability n (see callerCaps)
	Pid    uint32 // the calling thread, as FUSE reports it; 0: unknown
}

var daemonEuid, daemonEgid = uint32(os.Geteuid()), uint32(os.Getegid())

// CredOf returns the identity of a caller known by pid, uid and gid (as
// FUSE reports them), reading its capabilities (capget) and supplementary
// groups (/proc/PID/status). A process already gone, or outside the
// daemon's pid namespace (pid 0), keeps neither: powers are not
// presumed from a uid of 0, which a container's or a service's root
// without capabilities also has.
func CredOf(pid, uid, gid uint32) *Cred {
	c := &Cred{Uid: uid, Gid: gid, Pid: pid}
	if pid == 0 {
		return c
	}
	c.Caps = callerCaps(pid)
	if uid == 0 && c.keepsDaemonCaps() {
		return c // root with its powers: groups change nothing
	}
	line, err := statusField(pid, "Groups")
	if err != nil {
		return c
	}
	for _, f := range bytes.Fields(line) {
		if g, err := strconv.ParseUint(string(f), 10, 32); err == nil {
			c.Groups = append(c.Groups, uint32(g))
		}
	}
	return c
}

// statusField is the value of field name in /proc/PID/status (PID a
// process or a thread); empty when the kernel shows no such field.
func statusField(pid uint32, name string) ([]byte, error) {
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/status")
	if err != nil {
		return nil, err
	}
	_, rest, ok := bytes.Cut(b, []byte("\n"+name+":"))
	if !ok {
		return nil, nil
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	return line, nil
}

// needsSwitch reports whether calls for c must run under c's identity.
// Only a root daemon can take on another identity; an unprivileged one
// serves only its own user, whose identity it already has.
func (c *Cred) needsSwitch() bool {
	return c != nil && daemonEuid == 0 && (c.Uid != daemonEuid || c.Gid != daemonEgid || !c.keepsDaemonCaps())
}

// Permits reports whether c has the access bits (4 read, 2 write or
// alter, 1 execute) to an object with perm p, as the kernel's ipcperms
// decides: by the owner's class for owner and creator, the group's for
// a member of the owning or the creating group, or CAP_IPC_OWNER.
func (c *Cred) Permits(p *Perm, bits uint32) bool {
	if c == nil {
		return true
	}
	granted := p.Mode
	switch {
	case c.Uid == p.Uid || c.Uid == p.Cuid:
		granted >>= 6
	case c.inGroup(p.Gid) || c.inGroup(p.Cgid):
		granted >>= 3
	}
	return bits&^granted&7 == 0 || c.hasCap(unix.CAP_IPC_OWNER)
}

func (c *Cred) inGroup(gid uint32) bool { return gid == c.Gid || slices.Contains(c.Groups, gid) }

// Do runs fn with c's identity. Linux keeps credentials per thread at the
// syscall level, so fn runs on a locked OS thread whose effective ids,
// groups and capabilities are c's for the duration: the kernel then decides permissions
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
	// The caller's capabilities, as far as the daemon has them: leaving
	// euid 0 cleared the effective set, and a root caller may have fewer.
	// The permitted set stays the daemon's (the real uid is still 0), so
	// leave can raise them again.
	own := daemonCaps
	own.eff &= c.Caps
	if err := setCaps(own); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// leave restores the daemon's identity on the current thread: its
// capabilities first, as the caller's set may lack those the rest needs.
func leave() error {
	if err := setCaps(daemonCaps); err != nil {
		return err
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), uintptr(daemonEuid), ^uintptr(0)); e != 0 {
		return e
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, ^uintptr(0), uintptr(daemonEgid), ^uintptr(0)); e != 0 {
		return e
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
		return e
	}
	// Going back to euid 0 set the effective set to the permitted one,
	// which is the daemon's own unless it started with less.
	if daemonCaps.eff != daemonCaps.prm {
		return setCaps(daemonCaps)
	}
	return nil
}
