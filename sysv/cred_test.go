package sysv

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPermits: the classes of ipcperms. Owner or creator take the owner's
// bits, a member of the owning or the creating group (primary or
// supplementary) the group's, anyone else the others'; CAP_IPC_OWNER
// passes every check.
func TestPermits(t *testing.T) {
	p := &Perm{Uid: 10, Gid: 20, Cuid: 11, Cgid: 21, Mode: 0640}
	for _, c := range []struct {
		name string
		cred Cred
		bits uint32
		want bool
	}{
		{"owner reads", Cred{Uid: 10, Gid: 99}, 4, true},
		{"owner writes", Cred{Uid: 10, Gid: 99}, 2, true},
		{"creator writes", Cred{Uid: 11, Gid: 99}, 6, true},
		{"owner, group member too, gets the owner's bits only", Cred{Uid: 10, Gid: 20}, 1, false},
		{"group reads", Cred{Uid: 30, Gid: 20}, 4, true},
		{"group may not write", Cred{Uid: 30, Gid: 20}, 2, false},
		{"creating group reads", Cred{Uid: 30, Gid: 21}, 4, true},
		{"supplementary group reads", Cred{Uid: 30, Gid: 99, Groups: []uint32{5, 21}}, 4, true},
		{"other may not read", Cred{Uid: 30, Gid: 99, Groups: []uint32{5}}, 4, false},
		{"uid 0 without capabilities is other", Cred{Uid: 0, Gid: 0}, 4, false},
		{"CAP_IPC_OWNER passes", Cred{Uid: 30, Gid: 99, Caps: 1 << unix.CAP_IPC_OWNER}, 6, true},
		{"CAP_SYS_ADMIN does not", Cred{Uid: 30, Gid: 99, Caps: 1 << unix.CAP_SYS_ADMIN}, 4, false},
	} {
		if got := c.cred.Permits(p, c.bits); got != c.want {
			t.Errorf("%s: Permits(%+v, %o) = %v, want %v", c.name, c.cred, c.bits, got, c.want)
		}
	}
	// The flags above the permission bits (SHM_DEST) grant nothing.
	if (&Cred{Uid: 30, Gid: 99}).Permits(&Perm{Mode: 01000 | 0600}, 1) {
		t.Error("SHM_DEST in the mode granted x to others")
	}
}

// TestCredOfCapabilities: a caller's capabilities count in the daemon's
// user namespace, and not from another, where a user's process has a
// full set over that namespace alone.
func TestCredOfCapabilities(t *testing.T) {
	own := CredOf(uint32(unix.Gettid()), uint32(os.Geteuid()), uint32(os.Getegid()))
	if own.Caps != daemonCaps.eff {
		t.Errorf("CredOf(this thread).Caps = %#x, want the daemon's %#x", own.Caps, daemonCaps.eff)
	}
	if c := CredOf(0, 0, 0); c.Caps != 0 {
		t.Errorf("CredOf(pid 0).Caps = %#x, want none", c.Caps)
	}

	// A user's root in a namespace of its own: uid 65534 to the daemon.
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"unshare", "--user", "--map-root-user", "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatalf("unshare: %v", err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	pid := uint32(cmd.Process.Pid)
	// Wait until it runs sleep in its namespace, with its full set there.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/comm")
		if strings.TrimSpace(string(b)) == "sleep" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare did not start sleep")
		}
	}
	inner, err := capsOf(int(pid))
	if err != nil || inner.eff&(1<<unix.CAP_IPC_OWNER) == 0 {
		t.Fatalf("the namespaced process's own set: %#x, %v; want CAP_IPC_OWNER in it", inner.eff, err)
	}
	if c := CredOf(pid, 65534, 65534); c.Caps != 0 || !c.needsSwitch() {
		t.Errorf("CredOf(a process in another user namespace).Caps = %#x (switch %v), want none", c.Caps, c.needsSwitch())
	}
}
