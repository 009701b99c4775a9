package sysv

import (
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ipcCaps are the capabilities the kernel consults for SysV IPC: any
// access (CAP_IPC_OWNER, in ipcperms), IPC_SET and IPC_RMID by others
// than owner and creator (CAP_SYS_ADMIN), msg_qbytes past msgmnb
// (CAP_SYS_RESOURCE), SHM_LOCK past RLIMIT_MEMLOCK (CAP_IPC_LOCK).
const ipcCaps = 1<<unix.CAP_IPC_OWNER | 1<<unix.CAP_SYS_ADMIN | 1<<unix.CAP_SYS_RESOURCE | 1<<unix.CAP_IPC_LOCK

// capSet is a thread's effective, permitted and inheritable sets.
type capSet struct{ eff, prm, inh uint64 }

// daemonCaps are the daemon's own, which every thread has outside Do.
var daemonCaps, _ = capsOf(0)

// daemonUserNS names the daemon's user namespace ("user:[N]"; empty if
// unknown).
var daemonUserNS, _ = userNSOf("self")

// capsOf reads the capabilities of thread tid (0: the calling thread).
func capsOf(tid int) (capSet, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3, Pid: int32(tid)}
	var d [2]unix.CapUserData
	if err := unix.Capget(&hdr, &d[0]); err != nil {
		return capSet{}, err
	}
	join := func(lo, hi uint32) uint64 { return uint64(lo) | uint64(hi)<<32 }
	return capSet{
		eff: join(d[0].Effective, d[1].Effective),
		prm: join(d[0].Permitted, d[1].Permitted),
		inh: join(d[0].Inheritable, d[1].Inheritable),
	}, nil
}

// setCaps sets the calling thread's capabilities; raw, as it runs
// between the identity switches of a locked thread.
func setCaps(c capSet) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	d := [2]unix.CapUserData{
		{Effective: uint32(c.eff), Permitted: uint32(c.prm), Inheritable: uint32(c.inh)},
		{Effective: uint32(c.eff >> 32), Permitted: uint32(c.prm >> 32), Inheritable: uint32(c.inh >> 32)},
	}
	if _, _, e := unix.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&d[0])), 0); e != 0 {
		return e
	}
	return nil
}

// userNSOf names the user namespace of /proc/PID. The link's name, not
// its target: a readlink costs half a stat, which makes the nsfs inode.
func userNSOf(pid string) (string, error) {
	return os.Readlink("/proc/" + pid + "/ns/user")
}

// callerCaps is the effective set of thread tid, as far as it counts
// here. Capabilities are held over a user namespace (and those below
// it): a container's root has a full set, over its own namespace alone.
// So a caller's are taken only if it is in the daemon's namespace,
// whatever its uid: any process may make a namespace of its own, where
// it holds every capability, and a root that has given up its own (an
// empty bounding set) would get them back so. The readlink this costs
// (3 us, where capget costs 0.4) is asked only of a caller holding some.
// One gone has none.
func callerCaps(tid uint32) uint64 {
	c, err := capsOf(int(tid))
	if err != nil || c.eff == 0 {
		return 0
	}
	if ns, err := userNSOf(strconv.FormatUint(uint64(tid), 10)); err != nil || ns != daemonUserNS || ns == "" {
		return 0
	}
	return c.eff
}

// hasCap reports whether c holds capability n (unix.CAP_*).
func (c *Cred) hasCap(n int) bool { return c.Caps&(1<<n) != 0 }

// keepsDaemonCaps reports whether c holds every IPC capability the
// daemon does, so calls made with the daemon's set decide as c's would.
func (c *Cred) keepsDaemonCaps() bool {
	want := daemonCaps.eff & ipcCaps
	return c.Caps&want == want
}
