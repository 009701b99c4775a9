package integration

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The permission tests: with --allow-other, every caller gets through the
// mount exactly what the syscalls give it directly (DESIGN.md,
// "Permissions"), and hostile input never hurts the daemon ("Errors").
// They act as numeric test users (no passwd entries needed) through
// setpriv and integration/c/permtool.c, which makes both the syscalls and
// the file operations and prints the errno of each.

// permCaller is an identity a permission test acts as.
type permCaller struct {
	name     string
	uid, gid int
	groups   []int // supplementary groups; none when empty
	// caps is one capability the caller holds ("ipc_owner",
	// "sys_admin"), or "none": a uid 0 without any, as a container's or
	// a confined service's root; or "userns": such a root that has made
	// a user namespace of its own (permtool's userns), where it holds
	// every capability, over that namespace alone. "": a root's or a
	// user's usual set.
	caps string
}

func (c permCaller) String() string {
	s := fmt.Sprintf("%s(%d:%d", c.name, c.uid, c.gid)
	for i, g := range c.groups {
		if i == 0 {
			s += " +"
		} else {
			s += ","
		}
		s += strconv.Itoa(g)
	}
	return s + ")"
}

func (c permCaller) isRoot() bool {
	return c.uid == 0 && c.gid == 0 && len(c.groups) == 0 && c.caps == ""
}

// hasCap reports whether c holds capability name (as ipcperms and IPC_SET
// ask for it).
func (c permCaller) hasCap(name string) bool { return c.isRoot() || c.caps == name }

func (c permCaller) inGroup(gid int) bool {
	if c.gid == gid {
		return true
	}
	for _, g := range c.groups {
		if g == gid {
			return true
		}
	}
	return false
}

// The objects of the differential test are created by permCreator and
// then given to permOwner (IPC_SET), so that owner and creator differ.
var (
	permOwner   = permCaller{"owner", 2001, 3001, nil, ""}
	permCreator = permCaller{"creator", 2002, 3002, nil, ""}
	permRoot    = permCaller{"root", 0, 0, nil, ""}
	permCallers = []permCaller{
		permOwner,
		permCreator,
		{"group", 2003, 3001, nil, ""}, // the owner's group, as primary group
		{"supgroup", 2004, 4000, []int{3001}, ""},        // the owner's group, only as a supplementary group
		{"cgroup", 2005, 3002, nil, ""},                  // the creator's group
		{"supcgroup", 2009, 4000, []int{4001, 3002}, ""}, // the creator's group, supplementary
		{"other", 2006, 4006, nil, ""},
		permRoot,
		// Capabilities, not uids, give the powers (ipcperms, IPC_SET).
		{"rootnocaps", 0, 0, nil, "none"},
		{"rootnocapsns", 0, 0, nil, "userns"},
		{"ipcowner", 2014, 4014, nil, "ipc_owner"},
		{"sysadmin", 2015, 4015, nil, "sys_admin"},
	}
	permModes = []uint32{0600, 0640, 0604, 0660, 0606, 0644, 0400, 0200, 0000}
)

// permResult is one line permtool printed: the errno a command ended
// with and the values it read.
type permResult struct {
	errno syscall.Errno
	vals  []string
}

// permCmd builds one permtool command from words and numbers.
func permCmd(words ...any) []string {
	c := make([]string, len(words))
	for i, w := range words {
		c[i] = fmt.Sprint(w)
	}
	return c
}

// permRun runs permtool as c with the commands given and returns one
// result per command.
func permRun(t testing.TB, c permCaller, cmds ...[]string) []permResult {
	t.Helper()
	bin := cProgram(t, "permtool")
	var args []string
	for _, cmd := range cmds {
		args = append(args, cmd...)
	}
	return permParse(t, c, permExec(t, c, bin, args...), len(cmds))
}

// permExec returns the command running bin with args as c.
func permExec(t testing.TB, c permCaller, bin string, args ...string) *exec.Cmd {
	t.Helper()
	if c.isRoot() {
		return exec.Command(bin, args...)
	}
	openToOthers(t, bin)
	pre := []string{"--reuid=" + strconv.Itoa(c.uid), "--regid=" + strconv.Itoa(c.gid)}
	if len(c.groups) == 0 {
		pre = append(pre, "--clear-groups")
	} else {
		gs := make([]string, len(c.groups))
		for i, g := range c.groups {
			gs[i] = strconv.Itoa(g)
		}
		pre = append(pre, "--groups="+strings.Join(gs, ","))
	}
	switch c.caps {
	case "":
	case "none":
		pre = append(pre, "--bounding-set=-all", "--inh-caps=-all")
	case "userns":
		pre = append(pre, "--bounding-set=-all", "--inh-caps=-all")
		args = append([]string{"userns"}, args...)
	default:
		pre = append(pre, "--inh-caps=+"+c.caps, "--ambient-caps=+"+c.caps)
	}
	return exec.Command("setpriv", append(append(pre, bin), args...)...)
}

func permParse(t testing.TB, c permCaller, cmd *exec.Cmd, n int) []permResult {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("permtool as %v %q: %v\n%s", c, cmd.Args, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("permtool as %v printed %d lines for %d commands:\n%s", c, len(lines), n, out)
	}
	res := make([]permResult, n)
	for i, l := range lines {
		f := strings.Fields(l)
		e, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatalf("permtool as %v printed %q", c, l)
		}
		res[i] = permResult{errno: syscall.Errno(e), vals: f[1:]}
	}
	return res
}

// permMustAll fails the test unless every command succeeded.
func permMustAll(t testing.TB, what string, res []permResult) {
	t.Helper()
	for i, r := range res {
		if r.errno != 0 {
			t.Fatalf("%s: command %d: %v", what, i, r.errno)
		}
	}
}

// permShell runs a bash script as c.
func permShell(t testing.TB, c permCaller, script string) (string, string, error) {
	t.Helper()
	cmd := permExec(t, c, "bash", "-c", script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// permErrnoName spells an errno as C does ("EACCES"), 0 as "0".
func permErrnoName(e syscall.Errno) string {
	if e == 0 {
		return "0"
	}
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return strconv.Itoa(int(e))
}

// permObject is one object made for a permission test.
type permObject struct {
	kind string // shm, sem or msg
	key  uint32
	id   int
}

func (o permObject) name() string { return keyName(o.key) }

// permGet finds the id of the object of kind holding key.
func permGet(kind string, key uint32) (int, error) {
	var r uintptr
	var e syscall.Errno
	switch kind {
	case "shm":
		return unix.SysvShmGet(int(int32(key)), 0, 0)
	case "sem":
		r, _, e = unix.Syscall(unix.SYS_SEMGET, uintptr(int32(key)), 0, 0)
	case "msg":
		r, _, e = unix.Syscall(unix.SYS_MSGGET, uintptr(int32(key)), 0, 0)
	}
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// permRemoveID is IPC_RMID of an object, made directly as root.
func permRemoveID(kind string, id int) error {
	var e syscall.Errno
	switch kind {
	case "shm":
		_, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		return err
	case "sem":
		_, _, e = unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), 0, unix.IPC_RMID, 0, 0, 0)
	case "msg":
		_, _, e = unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_RMID, 0)
	}
	if e != 0 {
		return e
	}
	return nil
}

// permRemoveKeyLater removes, when the test ends, whatever object of kind
// then holds key.
func permRemoveKeyLater(t testing.TB, kind string, key uint32) {
	t.Cleanup(func() {
		if id, err := permGet(kind, key); err == nil {
			permRemoveID(kind, id)
		}
	})
}

// permMake has creator make n objects of kind with mode (shm: 4096
// bytes; sem: one semaphore), each with a key of its own, in one run.
// They are removed when the test ends.
func permMake(t testing.TB, creator permCaller, kind string, mode uint32, n int) []permObject {
	t.Helper()
	objs := make([]permObject, n)
	cmds := make([][]string, n)
	m := fmt.Sprintf("%o", mode)
	for i := range objs {
		key := newKey()
		permRemoveKeyLater(t, kind, key)
		objs[i] = permObject{kind: kind, key: key, id: -1}
		k := fmt.Sprintf("%#x", key)
		switch kind {
		case "shm":
			cmds[i] = permCmd("mkshm", k, 4096, m)
		case "sem":
			cmds[i] = permCmd("mksem", k, 1, m)
		case "msg":
			cmds[i] = permCmd("mkmsg", k, m)
		}
	}
	for i, r := range permRun(t, creator, cmds...) {
		if r.errno != 0 {
			t.Fatalf("%v making %s %s: %v", creator, kind, objs[i].name(), r.errno)
		}
		objs[i].id, _ = strconv.Atoi(r.vals[0])
	}
	return objs
}

// permSetCmd is IPC_SET of o's owner, group and mode; qbytes is the
// msg_qbytes a queue keeps ("-1": the current one, read first).
func permSetCmd(o permObject, uid, gid int, mode uint32, qbytes string) []string {
	c := permCmd(o.kind+"set", o.id, uid, gid, fmt.Sprintf("%o", mode))
	if o.kind == "msg" {
		c = append(c, qbytes)
	}
	return c
}

func permInfoCmd(o permObject) []string { return permCmd("info", o.kind, o.id) }

// permResetCmds bring a twin of the differential test back to where every
// try starts: owner's, with mode, semaphore 0 at 0, one message queued.
func permResetCmds(o permObject, mode uint32) [][]string {
	cmds := [][]string{permSetCmd(o, permOwner.uid, permOwner.gid, mode, "-1")}
	switch o.kind {
	case "sem":
		cmds = append(cmds, permCmd("setval", o.id, 0, 0))
	case "msg":
		cmds = append(cmds, permCmd("drain", o.id), permCmd("msgsnd", o.id, "m"))
	}
	return cmds
}

// permState is what the differential test compares of an object after a
// try: gone, or owner, group, mode and the kind's figures (shm: size;
// sem: nsems and the value; msg: messages queued and qbytes).
func permState(kind string, r permResult) string {
	if r.errno != 0 {
		return "gone"
	}
	n := 6 // uid gid cuid cgid mode segsz (nattch moves with releases the kernel sends late)
	if kind != "shm" {
		n = 7
	}
	return strings.Join(r.vals[:n], " ")
}

// permOp is one operation of the differential test: a syscall made
// directly on one twin, and the file operation that should be the same
// through the mount on the other.
type permOp struct {
	name string
	// need is the access ipcperms checks (4 read, 2 write); 0 marks an
	// owner's operation (IPC_SET, IPC_RMID: owner, creator or root).
	need uint32
	// fresh: the try removes the object, so each try gets twins of its own.
	fresh bool
	// stateless: the mount try only asks (access), where the direct one
	// acts: their errnos are compared, not the objects afterwards.
	stateless bool
	direct    func(o permObject, mode uint32, qbytes string) []string
	mount     func(p string, mode uint32) []string
}

// permNewMode is the mode a chmod try sets: another than mode.
func permNewMode(mode uint32) uint32 {
	if mode == 0660 {
		return 0606
	}
	return 0660
}

// permOps lists the operations of kind.
func permOps(kind string) []permOp {
	var ops []permOp
	switch kind {
	case "shm":
		ops = []permOp{
			{name: "attach-ro", need: 4,
				direct: func(o permObject, _ uint32, _ string) []string { return permCmd("shmat", o.id, "ro") },
				mount:  func(p string, _ uint32) []string { return permCmd("fread", p) }},
			{name: "attach-rw", need: 6,
				direct: func(o permObject, _ uint32, _ string) []string { return permCmd("shmat", o.id, "rw") },
				mount:  func(p string, _ uint32) []string { return permCmd("fopenrw", p) }},
			// O_TRUNC truncates whatever the access mode: it needs write.
			{name: "trunc-ro", need: 6,
				direct: func(o permObject, _ uint32, _ string) []string { return permCmd("shmat", o.id, "rw") },
				mount:  func(p string, _ uint32) []string { return permCmd("fopenrotrunc", p) }},
			// test -w asks whether an open for writing would do: that
			// attaches read-write.
			{name: "access-w", need: 6, stateless: true,
				direct: func(o permObject, _ uint32, _ string) []string { return permCmd("shmat", o.id, "rw") },
				mount:  func(p string, _ uint32) []string { return permCmd("access", p, 2) }},
		}
	case "sem":
		ops = []permOp{
			{name: "getval", need: 4,
				direct: func(o permObject, _ uint32, _ string) []string { return permCmd("getval", o.id, 0) },
				mount:  func(p string, _ uint32) []string { return permCmd("fread", p+"/0") }},
			// The values, in the set's status and a semaphore's xattrs,
			// need read permission, as GETALL and GETVAL do.
			{name: "status", need: 4,
				direct: func(o permObject, _ uint32, _ string) []string { return permCmd("getval", o.id, 0) },
				mount:  func(p string, _ uint32) []string { return permCmd("fread", p+"/status") }},
			{name: "semval", need: 4,
				direct: func(o permObject, _ uint32, _ string) []string { return permCmd("getval", o.id, 0) },
				mount:  func(p string, _ uint32) []string { return permCmd("getxattr", p+"/0", "user.ipc.semval") }},
			{name: "semop+1", need: 2,
				direct: func(o permObject, _ uint32, _ string) []string { return permCmd("semop", o.id, 0, 1) },
				mount:  func(p string, _ uint32) []string { return permCmd("fwrite", p+"/0", "+1 nowait") }},
			{name: "access-w", need: 2, stateless: true,
				direct: func(o permObject, _ uint32, _ string) []string { return permCmd("semop", o.id, 0, 1) },
				mount:  func(p string, _ uint32) []string { return permCmd("access", p+"/0", 2) }},
			{name: "access-r0", need: 4, stateless: true,
				direct: func(o permObject, _ uint32, _ string) []string { return permCmd("getval", o.id, 0) },
				mount:  func(p string, _ uint32) []string { return permCmd("access", p+"/0", 4) }},
			{name: "chmod-0", // chmod of a semaphore's file is chmod of its set
				direct: func(o permObject, mode uint32, q string) []string {
					return permSetCmd(o, permOwner.uid, permOwner.gid, permNewMode(mode), q)
				},
				mount: func(p string, mode uint32) []string {
					return permCmd("chmod", p+"/0", fmt.Sprintf("%o", permNewMode(mode)))
				}},
		}
	case "msg":
		ops = []permOp{
			{name: "send", need: 2,
				direct: func(o permObject, _ uint32, _ string) []string { return permCmd("msgsnd", o.id, "x") },
				mount:  func(p string, _ uint32) []string { return permCmd("fwritenb", p, "x") }},
			{name: "receive", need: 4,
				direct: func(o permObject, _ uint32, _ string) []string { return permCmd("msgrcv", o.id) },
				mount:  func(p string, _ uint32) []string { return permCmd("freadnb", p) }},
			{name: "access-w", need: 2, stateless: true,
				direct: func(o permObject, _ uint32, _ string) []string { return permCmd("msgsnd", o.id, "x") },
				mount:  func(p string, _ uint32) []string { return permCmd("access", p, 2) }},
		}
	}
	rm := "unlink"
	if kind == "sem" {
		rm = "rmdir"
	}
	return append(ops,
		// IPC_STAT needs read permission, whatever the kind.
		permOp{name: "access-r", need: 4, stateless: true,
			direct: func(o permObject, _ uint32, _ string) []string { return permInfoCmd(o) },
			mount:  func(p string, _ uint32) []string { return permCmd("access", p, 4) }},
		permOp{name: "chmod",
			direct: func(o permObject, mode uint32, q string) []string {
				return permSetCmd(o, permOwner.uid, permOwner.gid, permNewMode(mode), q)
			},
			mount: func(p string, mode uint32) []string { return permCmd("chmod", p, fmt.Sprintf("%o", permNewMode(mode))) }},
		permOp{name: "chown",
			direct: func(o permObject, mode uint32, q string) []string { return permSetCmd(o, 2006, 4006, mode, q) },
			mount:  func(p string, _ uint32) []string { return permCmd("chown", p, 2006, 4006) }},
		permOp{name: "chgrp",
			direct: func(o permObject, mode uint32, q string) []string { return permSetCmd(o, permOwner.uid, 3002, mode, q) },
			mount:  func(p string, _ uint32) []string { return permCmd("chown", p, -1, 3002) }},
		// A touch is an IPC_SET of the current values (see fs/perm.go).
		permOp{name: "touch",
			direct: func(o permObject, mode uint32, q string) []string {
				return permSetCmd(o, permOwner.uid, permOwner.gid, mode, q)
			},
			mount: func(p string, _ uint32) []string { return permCmd("touch", p) }},
		permOp{name: "rm", fresh: true,
			direct: func(o permObject, _ uint32, _ string) []string { return permCmd(o.kind+"rm", o.id) },
			mount:  func(p string, _ uint32) []string { return permCmd(rm, p) }},
	)
}

// permModel is what ipcperms() and the IPC_SET/IPC_RMID rule give for an
// object owned by permOwner and created by permCreator: an opinion of
// our own, to catch a harness that tests the wrong thing.
func permModel(mode uint32, c permCaller, op permOp) syscall.Errno {
	owner := c.uid == permOwner.uid || c.uid == permCreator.uid
	if op.need == 0 {
		if owner || c.hasCap("sys_admin") {
			return 0
		}
		return syscall.EPERM
	}
	if c.hasCap("ipc_owner") {
		return 0
	}
	granted := mode & 7
	if owner {
		granted = mode >> 6 & 7
	} else if c.inGroup(permOwner.gid) || c.inGroup(permCreator.gid) {
		granted = mode >> 3 & 7
	}
	if op.need&^granted != 0 {
		return syscall.EACCES
	}
	return 0
}

// permCheckIdentities makes sure setpriv gives each caller exactly the
// ids and groups the tests mean.
func permCheckIdentities(t *testing.T) {
	t.Helper()
	for _, c := range permCallers {
		r := permRun(t, c, permCmd("id"))[0]
		want := []string{strconv.Itoa(c.uid), strconv.Itoa(c.gid)}
		for _, g := range c.groups {
			want = append(want, strconv.Itoa(g))
		}
		if c.isRoot() { // root keeps whatever groups the test runs with
			r.vals = r.vals[:2]
		}
		if c.caps == "userns" { // its ids are unmapped in its namespace
			want = []string{overflowID(t, "uid"), overflowID(t, "gid")}
		}
		slices.Sort(r.vals[2:])
		slices.Sort(want[2:])
		if strings.Join(r.vals, " ") != strings.Join(want, " ") {
			t.Fatalf("%v runs as %q, want %q", c, r.vals, want)
		}
	}
}

// overflowID is the id a user namespace shows for one it cannot name
// (what = "uid" or "gid").
func overflowID(t *testing.T, what string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/overflow" + what)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// permMismatch is one case where the mount and the syscalls disagree.
type permMismatch struct {
	kind           string
	mode           uint32
	caller, op     string
	direct, mount  string // errnos
	stateA, stateB string // the twins after the tries, when they differ
	modelFails     bool   // the direct result is not what permModel says
}

// TestPermDifferential: for each kind, each mode, each caller and each
// operation, the errno through the mount is the errno of the syscall
// made directly by the same caller, and the objects end the same. The
// direct try and the mount try act on twin objects (same creator, owner
// and mode), brought back to the same state before every case.
func TestPermDifferential(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	permCheckIdentities(t)

	var bad []permMismatch
	cases := 0
	seen := map[syscall.Errno]int{}
	for _, kind := range []string{"shm", "sem", "msg"} {
		t.Run(kind, func(t *testing.T) {
			ops := permOps(kind)
			fresh := 0
			for _, op := range ops {
				if op.fresh {
					fresh++
				}
			}
			for _, mode := range permModes {
				objs := permMake(t, permCreator, kind, mode, 2+2*fresh*len(permCallers))
				var setup [][]string
				for _, o := range objs {
					setup = append(setup, permSetCmd(o, permOwner.uid, permOwner.gid, mode, "-1"))
				}
				permMustAll(t, "giving the objects to the owner", permRun(t, permRoot, setup...))
				twinA, twinB, spares := objs[0], objs[1], objs[2:]
				info := permRun(t, permRoot, permInfoCmd(twinA))[0]
				want := fmt.Sprintf("%d %d %d %d %o", permOwner.uid, permOwner.gid, permCreator.uid, permCreator.gid, mode)
				if info.errno != 0 || strings.Join(info.vals[:5], " ") != want {
					t.Fatalf("%s twin after setup: %v %q, want %q", kind, info.errno, info.vals, want)
				}
				qbytes := info.vals[6] // msg_qbytes, for a queue's IPC_SET
				reset := append(permResetCmds(twinA, mode), permResetCmds(twinB, mode)...)
				permMustAll(t, "resetting the twins", permRun(t, permRoot, reset...))
				pB := m.Path(kind, twinB.name())

				for _, c := range permCallers {
					// Everyone may look, as /proc/sysvipc shows everything.
					for i, r := range permRun(t, c, permCmd("stat", pB), permCmd("fread", m.Path(kind, "status"))) {
						if r.errno != 0 {
							t.Errorf("%s %04o: %v: %s: %v, want success", kind, mode, c, []string{"stat", "status"}[i], r.errno)
						}
					}
					for _, op := range ops {
						if c.caps == "userns" && (op.name == "chown" || op.name == "chgrp") {
							// The ids given are unmapped in its namespace: the
							// kernel's chown(2) refuses them (EINVAL) before any
							// file system hears, where IPC_SET checks the
							// caller's rights first (EPERM).
							continue
						}
						a, b := twinA, twinB
						if op.fresh {
							a, b, spares = spares[0], spares[1], spares[2:]
						}
						r := permRun(t, c, op.direct(a, mode, qbytes), op.mount(m.Path(kind, b.name()), mode))
						after := [][]string{permInfoCmd(a), permInfoCmd(b)}
						if !op.fresh {
							after = append(after, reset...)
						}
						s := permRun(t, permRoot, after...)
						permMustAll(t, "resetting the twins", s[2:])
						cases++
						seen[r[0].errno]++
						mm := permMismatch{kind: kind, mode: mode, caller: c.String(), op: op.name,
							direct: permErrnoName(r[0].errno), mount: permErrnoName(r[1].errno)}
						stA, stB := permState(kind, s[0]), permState(kind, s[1])
						if stA != stB && !op.stateless {
							mm.stateA, mm.stateB = stA, stB
						}
						mm.modelFails = permModel(mode, c, op) != r[0].errno
						if r[0].errno != r[1].errno || mm.stateA != "" || mm.modelFails {
							bad = append(bad, mm)
						}
					}
				}
			}
		})
	}

	t.Logf("%d (kind, mode, caller, operation) cases compared; direct results: %d succeeded, %d EACCES, %d EPERM",
		cases, seen[0], seen[syscall.EACCES], seen[syscall.EPERM])
	if seen[0] == 0 || seen[syscall.EACCES] == 0 || seen[syscall.EPERM] == 0 || len(seen) != 3 {
		t.Errorf("direct results %v: want successes, EACCES and EPERM and nothing else", seen)
	}
	if len(bad) > 0 {
		var b strings.Builder
		var keys []string
		fmt.Fprintf(&b, "%-4s %-5s %-32s %-9s %-7s %-7s %s\n", "kind", "mode", "caller", "op", "direct", "mount", "note")
		for _, mm := range bad {
			note := ""
			if mm.stateA != "" {
				note += fmt.Sprintf("state direct [%s] mount [%s] ", mm.stateA, mm.stateB)
			}
			if mm.modelFails {
				note += "direct result is not what ipcperms gives (test harness wrong?)"
			}
			fmt.Fprintf(&b, "%-4s %04o  %-32s %-9s %-7s %-7s %s\n", mm.kind, mm.mode, mm.caller, mm.op, mm.direct, mm.mount, note)
			keys = append(keys, fmt.Sprintf("%s/%04o/%s/%s", mm.kind, mm.mode, strings.SplitN(mm.caller, "(", 2)[0], mm.op))
		}
		t.Log("mismatches between the mount and the syscalls:\n" + b.String())
		t.Errorf("%d of %d cases differ between the mount and the syscalls (table above): %s", len(bad), cases, strings.Join(keys, " "))
	}
}

// TestPermOthersCannotRemoveOrChange: a user who is neither owner nor
// creator cannot remove, chmod or chown another user's object through
// the mount, whether every permission bit is granted to it or none:
// EPERM, and the object is as it was. The remove control files refuse
// too.
func TestPermOthersCannotRemoveOrChange(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	victimOwner := permCaller{"victim", 2011, 3011, nil, ""}
	attackers := []permCaller{
		{"other", 2012, 4012, []int{4013}, ""},
		{"member", 2013, 3011, []int{3011}, ""}, // in the owner's group
	}
	for _, kind := range []string{"shm", "sem", "msg"} {
		for _, tc := range []struct {
			a    permCaller
			mode uint32
		}{{attackers[0], 0666}, {attackers[1], 0666}, {attackers[0], 0600}, {attackers[1], 0600}} {
			a, mode := tc.a, tc.mode
			v := permMake(t, victimOwner, kind, mode, 1)[0]
			own := permMake(t, a, kind, 0600, 1)[0]
			before := permRun(t, permRoot, permInfoCmd(v))[0]
			p := m.Path(kind, v.name())
			remove := m.Path(kind, "remove")
			rm := permCmd("unlink", p)
			if kind == "sem" {
				rm = permCmd("rmdir", p)
			}
			cmds := [][]string{
				rm,
				permCmd("chmod", p, "777"),
				permCmd("chmod", p, "600"),
				permCmd("chown", p, a.uid, a.gid),
				permCmd("chown", p, a.uid, -1),
				permCmd("chown", p, -1, a.gid),
				permCmd("chown", p, -1, 3011),
				permCmd("fwrite", remove, v.name()),
				permCmd("fwrite", remove, fmt.Sprintf("%#X\n", v.key)),
				permCmd("fwrite", remove, fmt.Sprintf("id-%d", v.id)),
				permCmd("fwrite", remove, own.name()+" "+v.name()),
			}
			if kind == "sem" {
				cmds = append(cmds, permCmd("chmod", p+"/0", "777"), permCmd("chown", p+"/0", a.uid, a.gid))
			}
			for i, r := range permRun(t, a, cmds...) {
				if r.errno != syscall.EPERM {
					t.Errorf("%v: %q on %v's %s (mode %04o): %v, want EPERM", a, strings.ReplaceAll(strings.Join(cmds[i], " "), m.Dir, "MNT"),
						victimOwner, kind, mode, permErrnoName(r.errno))
				}
			}
			after := permRun(t, permRoot, permInfoCmd(v))[0]
			if after.errno != 0 || strings.Join(after.vals, " ") != strings.Join(before.vals, " ") {
				t.Errorf("%v's refused tries changed %s %s: %q -> %v %q", a, kind, v.name(), before.vals, after.errno, after.vals)
			}
			// (A set's folder adds x bits; its files show the set's mode.)
			var st syscall.Stat_t
			if kind == "sem" {
				p += "/0"
			}
			if err := syscall.Stat(p, &st); err != nil || st.Uid != 2011 || st.Gid != 3011 || st.Mode&0777 != mode {
				t.Errorf("stat %s after the refused tries: %v uid %d gid %d mode %o", p, err, st.Uid, st.Gid, st.Mode&0777)
			}
		}
	}
}

// TestPermCreateAsWriter: an object made through a create file belongs to
// the writer, supplementary groups and all: uid and cuid are its uid,
// gid and cgid its gid (IPC_STAT), as shmget/semget/msgget would make it.
func TestPermCreateAsWriter(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	writer := permCaller{"writer", 2007, 3007, []int{3001, 4000}, ""}
	permRemoveCreatedByLater(t, writer.uid)
	for _, kind := range []string{"shm", "sem", "msg"} {
		args := map[string]string{"shm": " 4096 0640", "sem": " 2 0640", "msg": " 0640"}[kind]
		for _, keyText := range []string{"", "private"} {
			key := uint32(0)
			if keyText == "" {
				key = newKey()
				permRemoveKeyLater(t, kind, key)
				keyText = fmt.Sprintf("%#x", key)
			}
			script := fmt.Sprintf(`exec 3<>%s && printf '%%s\n' %s >&3 && read -r name <&3 && echo "$name"`,
				shQuote(m.Path(kind, "create")), shQuote(keyText+args))
			out, errs, err := permShell(t, writer, script)
			name := strings.TrimSpace(out)
			var o permObject
			if id, ok := strings.CutPrefix(name, "id-"); ok && key == 0 {
				o.id, _ = strconv.Atoi(id)
			}
			if err != nil {
				t.Fatalf("%v creating %s %q: %v %s", writer, kind, keyText+args, err, errs)
			}
			if key != 0 {
				if name != keyName(key) {
					t.Fatalf("%s create answered %q, want %s", kind, name, keyName(key))
				}
				if o.id, err = permGet(kind, key); err != nil {
					t.Fatalf("%s %s after create: %v", kind, name, err)
				}
			} else if o.id == 0 {
				t.Fatalf("%s create of a private object answered %q", kind, name)
			}
			o.kind = kind
			r := permRun(t, permRoot, permInfoCmd(o))[0]
			if r.errno != 0 {
				t.Fatalf("IPC_STAT of %s %s: %v", kind, name, r.errno)
			}
			if got := strings.Join(r.vals[:5], " "); got != "2007 3007 2007 3007 640" {
				t.Errorf("%s %s made by %v: uid gid cuid cgid mode %q, want 2007 3007 2007 3007 640", kind, name, writer, got)
			}
			p := m.Path(kind, name)
			if kind == "sem" {
				p += "/0" // a set's folder adds x bits; its files show the set's mode
			}
			st := statOf(t, p)
			if st.Uid != 2007 || st.Gid != 3007 || st.Mode&0777 != 0640 {
				t.Errorf("stat of %s %s: uid %d gid %d mode %o, want 2007 3007 640", kind, name, st.Uid, st.Gid, st.Mode&0777)
			}
		}
	}
}

// TestPermChmodTakesEffectAtOnce: after the owner's chmod through the
// mount returns, the very next open by another user is decided by the new
// mode, in both directions, with no waiting for any cache.
func TestPermChmodTakesEffectAtOnce(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	user := permCaller{"user", 2006, 4006, nil, ""}
	for _, kind := range []string{"shm", "sem", "msg"} {
		o := permMake(t, permOwner, kind, 0600, 1)[0]
		p := m.Path(kind, o.name())
		op := map[string][]string{
			"shm": permCmd("fopenrw", p),
			"sem": permCmd("fread", p+"/0"),
			"msg": permCmd("fwritenb", p, "x"),
		}[kind]
		for _, step := range []struct {
			who  permCaller
			cmd  []string
			want syscall.Errno
		}{
			{user, op, syscall.EACCES},
			{permOwner, permCmd("chmod", p, "606"), 0},
			{user, op, 0},
			{permOwner, permCmd("chmod", p, "600"), 0},
			{user, op, syscall.EACCES},
			{permOwner, permCmd("chown", p, -1, 4006), 0},
			{permOwner, permCmd("chmod", p, "660"), 0},
			{user, op, 0},
		} {
			if got := permRun(t, step.who, step.cmd)[0].errno; got != step.want {
				t.Errorf("%s: %v %q: %v, want %v", kind, step.who, step.cmd, permErrnoName(got), permErrnoName(step.want))
			}
		}
	}
}

// permCuidObjects lists "kind id" of every object whose creator is uid,
// from /proc/sysvipc (whatever their permissions).
func permCuidObjects(t testing.TB, uid int) []string {
	t.Helper()
	var objs []string
	for _, kind := range []string{"shm", "sem", "msg"} {
		b, err := os.ReadFile("/proc/sysvipc/" + kind)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		head := strings.Fields(lines[0])
		col := -1
		for i, h := range head {
			if h == "cuid" {
				col = i
			}
		}
		if col < 0 {
			t.Fatalf("/proc/sysvipc/%s has no cuid column: %q", kind, lines[0])
		}
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) > col && f[col] == strconv.Itoa(uid) {
				objs = append(objs, kind+" "+f[1])
			}
		}
	}
	return objs
}

// permRemoveCreatedByLater removes, when the test ends, every object
// created by uid (cuid) from now on, private ones included, which no key
// finds.
func permRemoveCreatedByLater(t testing.TB, uid int) {
	t.Helper()
	before := map[string]bool{}
	for _, o := range permCuidObjects(t, uid) {
		before[o] = true
	}
	t.Cleanup(func() {
		for _, o := range permCuidObjects(t, uid) {
			var kind string
			var id int
			if _, err := fmt.Sscan(o, &kind, &id); err == nil && !before[o] {
				permRemoveID(kind, id)
			}
		}
	})
}

// TestPermHostileInput: oversized writes, binary garbage and absurdly
// long names, from an ordinary user, fail with EINVAL, ENOENT or
// ENAMETOOLONG, change nothing and create nothing, and the daemon keeps
// answering.
func TestPermHostileInput(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	hostile := permCaller{"hostile", 2648, 3648, []int{3001}, ""}
	permRemoveCreatedByLater(t, hostile.uid)
	// The hostile user's own objects: anything that got through would be
	// allowed to change or remove them.
	targets := map[string]permObject{}
	for _, kind := range []string{"shm", "sem", "msg"} {
		targets[kind] = permMake(t, hostile, kind, 0600, 1)[0]
	}
	sem := targets["sem"]
	var infos [][]string
	for _, kind := range []string{"shm", "sem", "msg"} {
		infos = append(infos, permInfoCmd(targets[kind]))
	}
	before := permRun(t, permRoot, infos...)
	objsBefore := permCuidObjects(t, hostile.uid)

	dir := filepath.Join(t.TempDir(), "payloads")
	if err := os.Mkdir(dir, 0755); err != nil {
		t.Fatal(err)
	}
	openToOthers(t, filepath.Join(dir, "x"))
	const big = 2 << 20
	pad := func(s string, n int) []byte { return append([]byte(s), bytes.Repeat([]byte(" "), n-len(s))...) }
	repeat := func(s string, n int) []byte { return bytes.Repeat([]byte(s), n/len(s)+1) }
	rng := rand.New(rand.NewChaCha8([32]byte{'p', 'e', 'r', 'm'}))
	garbage := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	var newKeys []string // "kind key" of every key a payload names for creation
	trackKey := func(kind string) uint32 {
		key := newKey()
		permRemoveKeyLater(t, kind, key)
		newKeys = append(newKeys, fmt.Sprintf("%s %d", kind, key))
		return key
	}
	createCmd := func(kind string, extra string) string {
		return fmt.Sprintf("%#x%s", trackKey(kind), map[string]string{"shm": " 4096 0600", "sem": " 1 0600", "msg": " 0600"}[kind]) + extra
	}

	type try struct {
		file    string // under the mount
		what    string
		payload []byte
		want    []syscall.Errno // any of these
	}
	einval := []syscall.Errno{syscall.EINVAL}
	var tries []try
	for _, kind := range []string{"shm", "sem", "msg"} {
		create, remove := filepath.Join(kind, "create"), filepath.Join(kind, "remove")
		tries = append(tries,
			try{create, "valid command padded to 2 MiB", pad(createCmd(kind, ""), big), einval},
			try{create, "valid command padded to 64 KiB + 1", pad(createCmd(kind, ""), 64<<10+1), einval},
			try{create, "valid command repeated to 2 MiB", repeat(createCmd(kind, "\n"), big), einval},
			try{create, "valid command and a NUL", []byte(createCmd(kind, "\x00")), einval},
			try{create, "valid command and binary garbage", append([]byte(createCmd(kind, " ")), garbage(100)...), einval},
			try{create, "2 MiB of garbage", garbage(big), einval},
			try{create, "4 KiB of garbage", garbage(4096), einval},
			try{create, "4 KiB of NULs", make([]byte, 4096), einval},
			try{create, "invalid UTF-8", []byte("\xff\xfe\xc0\x80 4096"), einval},
			try{create, "numbers out of range", []byte(fmt.Sprintf("%#x 99999999999999999999999 0600", trackKey(kind))), einval},
			try{remove, "own name repeated to 2 MiB", repeat(targets[kind].name()+" ", big), einval},
			try{remove, "own name padded to 64 KiB + 1", pad(targets[kind].name(), 64<<10+1), einval},
			try{remove, "own name and garbage", append([]byte(targets[kind].name()+" "), garbage(1000)...), []syscall.Errno{syscall.ENOENT, syscall.EINVAL}},
			try{remove, "4 KiB of garbage", garbage(4096), []syscall.Errno{syscall.ENOENT, syscall.EINVAL}},
			// Past 32 (keys) and 31 bits (ids), or no name at all: bad
			// input, as to create.
			try{remove, "a 10000-character key", []byte("0x" + strings.Repeat("f", 9998)), []syscall.Errno{syscall.EINVAL}},
			try{remove, "a 10000-character id", []byte("id-" + strings.Repeat("9", 9997)), []syscall.Errno{syscall.EINVAL}},
			try{remove, "own name and a 10000-character name", []byte(targets[kind].name() + " " + strings.Repeat("x", 10000)), []syscall.Errno{syscall.EINVAL}},
		)
	}
	semFile, semop := filepath.Join("sem", sem.name(), "0"), filepath.Join("sem", sem.name(), "semop")
	tries = append(tries,
		try{semFile, "+1 padded to 2 MiB", pad("+1 nowait", big), einval},
		try{semFile, "+1 repeated to 2 MiB", repeat("+1 ", big), einval},
		try{semFile, "+1 padded to 64 KiB + 1", pad("+1", 64<<10+1), einval},
		try{semFile, "2 MiB of garbage", garbage(big), einval},
		try{semFile, "4 KiB of garbage", garbage(4096), einval},
		try{semFile, "+1 and a NUL", []byte("+1\x00"), einval},
		try{semFile, "a 10000-digit value", []byte("+" + strings.Repeat("9", 10000)), []syscall.Errno{syscall.EINVAL, syscall.ERANGE}},
		try{semop, "0:+1 repeated to 2 MiB", repeat("0:+1 ", big), einval},
		try{semop, "0:+1 padded to 2 MiB", pad("0:+1", big), einval},
		try{semop, "2 MiB of garbage", garbage(big), einval},
		try{semop, "4 KiB of garbage", garbage(4096), einval},
		try{semop, "a 10000-digit semaphore number", []byte(strings.Repeat("9", 10000) + ":+1"), einval},
	)
	var cmds [][]string
	for i, tr := range tries {
		f := filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(f, tr.payload, 0644); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, permCmd("fwritefile", m.Path(tr.file), f))
	}
	// Lookups of names far too long to exist.
	type lookup struct{ path, what string }
	var lookups []lookup
	for _, n := range []int{256, 1000, 1024, 1025, 4000, 10000} {
		for _, kind := range []string{"shm", "sem", "msg"} {
			lookups = append(lookups,
				lookup{m.Path(kind, strings.Repeat("x", n)), "plain"},
				lookup{m.Path(kind, "0x"+strings.Repeat("f", n-2)), "key"},
				lookup{m.Path(kind, "id-"+strings.Repeat("9", n-3)), "id"},
				lookup{m.Path(kind, targets[kind].name()+strings.Repeat("0", n)), "own name extended"},
			)
		}
		lookups = append(lookups,
			lookup{m.Path("sem", sem.name(), strings.Repeat("0", n)), "semaphore number"},
			lookup{m.Path("sem", sem.name(), strings.Repeat("9", n)), "semaphore number"},
			lookup{m.Path("msg", targets["msg"].name()+":"+strings.Repeat("1", n)), "msg type"},
			lookup{m.Path("msg", targets["msg"].name()+":-"+strings.Repeat("9", n)), "msg type"},
			lookup{m.Path(strings.Repeat("y", n)), "top"},
		)
	}
	for _, l := range lookups {
		cmds = append(cmds, permCmd("stat", l.path))
	}

	res := permRun(t, hostile, cmds...)
	for i, tr := range tries {
		r := res[i]
		ok := false
		for _, w := range tr.want {
			ok = ok || r.errno == w
		}
		if !ok {
			var want []string
			for _, w := range tr.want {
				want = append(want, permErrnoName(w))
			}
			t.Errorf("writing %s (%d bytes) to %s: %s (%v written), want %s", tr.what, len(tr.payload), tr.file,
				permErrnoName(r.errno), r.vals, strings.Join(want, " or "))
		}
	}
	for i, l := range lookups {
		r := res[len(tries)+i]
		if r.errno != syscall.ENOENT && r.errno != syscall.ENAMETOOLONG {
			t.Errorf("stat of a %d-character %s name (%s...): %s, want ENOENT or ENAMETOOLONG", len(filepath.Base(l.path)), l.what, l.path[:min(len(l.path), len(m.Dir)+24)], permErrnoName(r.errno))
		}
	}

	// The daemon still answers, changed nothing and made nothing.
	select {
	case err := <-m.done:
		m.done <- err
		t.Fatalf("ipcfs exited: %v\n%s", err, m.Log())
	default:
	}
	after := permRun(t, permRoot, infos...)
	for i, kind := range []string{"shm", "sem", "msg"} {
		if after[i].errno != 0 || strings.Join(after[i].vals, " ") != strings.Join(before[i].vals, " ") {
			t.Errorf("the hostile user's %s changed: %q -> %v %q", kind, before[i].vals, after[i].errno, after[i].vals)
		}
	}
	for _, nk := range newKeys {
		var kind string
		var key uint32
		fmt.Sscan(nk, &kind, &key)
		if id, err := permGet(kind, key); err == nil {
			t.Errorf("a refused write made %s %s (id %d)", kind, keyName(key), id)
		}
	}
	if got := permCuidObjects(t, hostile.uid); strings.Join(got, ",") != strings.Join(objsBefore, ",") {
		t.Errorf("objects created by uid %d: before %q, after %q", hostile.uid, objsBefore, got)
	}
	// And it still works for that user.
	key := newKey()
	permRemoveKeyLater(t, "shm", key)
	work := permRun(t, hostile,
		permCmd("stat", m.Dir),
		permCmd("fread", m.Path("shm", "status")),
		permCmd("fwrite", m.Path("shm", "create"), fmt.Sprintf("%#x 4096 0600", key)),
		permCmd("fwrite", m.Path("shm", keyName(key)), "still here"),
		permCmd("fread", m.Path("sem", sem.name(), "0")),
		permCmd("fwrite", m.Path("shm", "remove"), keyName(key)),
	)
	for i, r := range work {
		if r.errno != 0 {
			t.Errorf("after the hostile input, step %d of using the mount: %s", i, permErrnoName(r.errno))
		}
	}
	if _, err := permGet("shm", key); err == nil {
		t.Error("after the hostile input, remove left the segment just made")
	}
}

// TestPermSemValuesNeedRead: a semaphore's value and waiters need the
// set's read permission wherever they show (its file, the set's status,
// its xattrs), as GETVAL and GETALL do; its ipc_perm fields are
// everyone's, as in /proc/sysvipc/sem.
func TestPermSemValuesNeedRead(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	key := newKey()
	id := semNew(t, key, 2, 0600)
	p := m.Path("sem", keyName(key))
	mustSh(t, "echo =7 > "+p+"/0")
	for _, c := range []struct {
		script, wantOut string
		ok              bool
	}{
		{"cat " + p + "/0", "", false},
		{"cat " + p + "/status", "", false},
		{"getfattr --only-values -n user.ipc.semval " + p + "/0", "", false},
		{"getfattr --only-values -n user.ipc.semncnt " + p + "/0", "", false},
		{"getfattr --only-values -n user.ipc.key " + p + "/0", keyName(key), true},
		{"getfattr --only-values -n user.ipc.id " + p + "/0", strconv.Itoa(id), true},
	} {
		out, errs, err := asUser(t, c.script)
		if (err == nil) != c.ok || c.ok && strings.TrimSpace(out) != c.wantOut {
			t.Errorf("%s as a user without read permission: %q %q %v", c.script, out, errs, err)
		} else if !c.ok && !strings.Contains(errs, "Permission denied") {
			t.Errorf("%s as a user without read permission: %q, want EACCES", c.script, errs)
		}
	}
	out, errs, err := asUser(t, "getfattr -d -m - "+p+"/0")
	if err != nil || !strings.Contains(out, "user.ipc.key=") || strings.Contains(out, "semval") {
		t.Errorf("getfattr -d as a user without read permission: %q %q %v; want the ipc_perm fields and no values", out, errs, err)
	}
	if out := mustSh(t, "getfattr --only-values -n user.ipc.semval "+p+"/0"); out != "7" {
		t.Errorf("semval as root: %q, want 7", out)
	}
}

// TestPermDaemonCannotRead: a daemon that may not read an object (one not
// run by root, or here root without CAP_IPC_OWNER) still finds it, as
// ipcs lists it: IPC_STAT would refuse it, and the daemon asks as
// /proc/sysvipc does. An object made with mode 0 through create is made
// and named, shows its attributes, takes a chmod and goes when removed,
// as the syscalls let its owner; its data stays refused (EACCES).
func TestPermDaemonCannotRead(t *testing.T) {
	m := mountWrapped(t, []string{"setpriv", "--bounding-set=-ipc_owner", "--inh-caps=-ipc_owner"})
	for _, kind := range []string{"shm", "sem", "msg"} {
		key := newKey()
		permRemoveKeyLater(t, kind, key)
		name := keyName(key)
		spec := map[string]string{"shm": " 4096 0", "sem": " 1 0", "msg": " 0"}[kind]
		if out, errOut, err := sh(t, "exec 3<>"+m.Path(kind, "create")+"; echo "+name+spec+" >&3 && cat <&3"); err != nil || out != name+"\n" {
			t.Errorf("%s: create %q: %v %q %q, want the name", kind, name+spec, err, out, errOut)
			continue
		}
		id, err := permGet(kind, key)
		if err != nil {
			t.Fatalf("%s %s: not made: %v", kind, name, err)
		}
		o := permObject{kind: kind, key: key, id: id}
		file := m.Path(kind, name)
		if kind == "sem" {
			file += "/0"
		}
		if st := statOf(t, file); st.Mode&0777 != 0 || st.Uid != 0 {
			t.Errorf("%s: stat %s: mode %o uid %d, want 0 and 0", kind, file, st.Mode&0777, st.Uid)
		}
		if out := mustSh(t, "ls "+m.Path(kind)); !strings.Contains(out, name) {
			t.Errorf("%s: ls does not list %s: %q", kind, name, out)
		}
		if _, _, err := sh(t, "cat "+file); err == nil {
			t.Errorf("%s: cat of %s succeeded; the daemon may not read it", kind, file)
		}
		if err := os.Chmod(m.Path(kind, name), 0640); err != nil {
			t.Errorf("%s: chmod: %v", kind, err)
		}
		if r := permRun(t, permRoot, permInfoCmd(o))[0]; r.errno != 0 || r.vals[4] != "640" {
			t.Errorf("%s: after chmod 640: %v %q", kind, r.errno, r.vals)
		}
		if err := os.Chmod(m.Path(kind, name), 0); err != nil {
			t.Errorf("%s: chmod back: %v", kind, err)
		}
		rm := "rm "
		if kind == "sem" {
			rm = "rmdir "
		}
		if _, errOut, err := sh(t, rm+m.Path(kind, name)); err != nil {
			t.Errorf("%s: %s: %v %s", kind, rm, err, errOut)
		}
		if _, err := permGet(kind, key); err != syscall.ENOENT {
			t.Errorf("%s: after rm: %v, want ENOENT", kind, err)
		}
	}
}
