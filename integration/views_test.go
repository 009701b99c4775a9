package integration

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Tests of the debugging views: the status tables, the user.ipc.*
// attributes, limits and usage, checked field by field against the
// syscalls (IPC_STAT, semctl) and against ipcs. Helpers here are named
// view* to keep clear of the other files' helpers.

// --- direct syscalls for semaphores and queues ---

// viewSemidDs is the kernel's 64-bit struct semid64_ds.
type viewSemidDs struct {
	Perm  unix.SysvIpcPerm
	Otime int64
	_     uint64
	Ctime int64
	_     uint64
	Nsems uint64
	_     [2]uint64
}

// viewMsqidDs is the kernel's 64-bit struct msqid64_ds.
type viewMsqidDs struct {
	Perm                 unix.SysvIpcPerm
	Stime, Rtime, Ctime  int64
	Cbytes, Qnum, Qbytes uint64
	Lspid, Lrpid         int32
	_                    [2]uint64
}

// semctl commands and shmctl SHM_LOCK, from linux/sem.h and linux/shm.h.
const (
	viewGETPID  = 11
	viewGETVAL  = 12
	viewGETNCNT = 14
	viewGETZCNT = 15
	viewSETVAL  = 16
	viewSHMLOCK = 11
)

func viewSemctl(id, num, cmd int, arg uintptr) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_SEMCTL, uintptr(id), uintptr(num), uintptr(cmd), arg, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// viewSemStat is semctl(IPC_STAT) made directly.
func viewSemStat(t testing.TB, id int) viewSemidDs {
	t.Helper()
	var d viewSemidDs
	if _, err := viewSemctl(id, 0, unix.IPC_STAT, uintptr(unsafe.Pointer(&d))); err != nil {
		t.Fatalf("semctl IPC_STAT %d: %v", id, err)
	}
	return d
}

// viewSem is one semaphore as semctl reports it.
type viewSem struct{ val, ncnt, zcnt, pid int }

// viewSems reads every semaphore of set id with GETVAL, GETNCNT, GETZCNT
// and GETPID.
func viewSems(t testing.TB, id int) []viewSem {
	t.Helper()
	n := int(viewSemStat(t, id).Nsems)
	sems := make([]viewSem, n)
	for i := range sems {
		var errs [4]error
		sems[i].val, errs[0] = viewSemctl(id, i, viewGETVAL, 0)
		sems[i].ncnt, errs[1] = viewSemctl(id, i, viewGETNCNT, 0)
		sems[i].zcnt, errs[2] = viewSemctl(id, i, viewGETZCNT, 0)
		sems[i].pid, errs[3] = viewSemctl(id, i, viewGETPID, 0)
		for _, err := range errs {
			if err != nil {
				t.Fatalf("semctl %d/%d: %v", id, i, err)
			}
		}
	}
	return sems
}

// viewSetVal is semctl(SETVAL) made directly.
func viewSetVal(t testing.TB, id, num, val int) {
	t.Helper()
	if _, err := viewSemctl(id, num, viewSETVAL, uintptr(val)); err != nil {
		t.Fatalf("SETVAL %d/%d: %v", id, num, err)
	}
}

// viewSemop is one semop of one operation made directly, IPC_NOWAIT.
func viewSemop(t testing.TB, id, num, op int) {
	t.Helper()
	b := struct{ num, op, flg int16 }{int16(num), int16(op), unix.IPC_NOWAIT}
	if _, _, e := unix.Syscall(unix.SYS_SEMOP, uintptr(id), uintptr(unsafe.Pointer(&b)), 1); e != 0 {
		t.Fatalf("semop %d/%d %+d: %v", id, num, op, e)
	}
}

// viewMsgStat is msgctl(IPC_STAT) made directly.
func viewMsgStat(t testing.TB, id int) viewMsqidDs {
	t.Helper()
	var d viewMsqidDs
	if _, _, e := unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_STAT, uintptr(unsafe.Pointer(&d))); e != 0 {
		t.Fatalf("msgctl IPC_STAT %d: %v", id, e)
	}
	return d
}

// viewMsgSet is msgctl(IPC_SET) of owner, group, mode and qbytes.
func viewMsgSet(t testing.TB, id int, uid, gid, mode uint32, qbytes uint64) {
	t.Helper()
	d := viewMsgStat(t, id)
	d.Perm.Uid, d.Perm.Gid, d.Perm.Mode, d.Qbytes = uid, gid, mode, qbytes
	if _, _, e := unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_SET, uintptr(unsafe.Pointer(&d))); e != 0 {
		t.Fatalf("msgctl IPC_SET %d: %v", id, e)
	}
}

// viewSemSet is semctl(IPC_SET) of owner, group and mode.
func viewSemSet(t testing.TB, id int, uid, gid, mode uint32) {
	t.Helper()
	var d viewSemidDs
	d.Perm.Uid, d.Perm.Gid, d.Perm.Mode = uid, gid, mode
	if _, err := viewSemctl(id, 0, unix.IPC_SET, uintptr(unsafe.Pointer(&d))); err != nil {
		t.Fatalf("semctl IPC_SET %d: %v", id, err)
	}
}

// viewShmSet is shmctl(IPC_SET) of owner, group and mode.
func viewShmSet(t testing.TB, id int, uid, gid, mode uint32) {
	t.Helper()
	var d unix.SysvShmDesc
	d.Perm.Uid, d.Perm.Gid, d.Perm.Mode = uid, gid, mode
	if _, err := unix.SysvShmCtl(id, unix.IPC_SET, &d); err != nil {
		t.Fatalf("shmctl IPC_SET %d: %v", id, err)
	}
}

// viewMsgSend is msgsnd made directly, IPC_NOWAIT.
func viewMsgSend(t testing.TB, id int, mtype int64, text string) {
	t.Helper()
	buf := make([]byte, 8+len(text))
	*(*int64)(unsafe.Pointer(&buf[0])) = mtype
	copy(buf[8:], text)
	if _, _, e := unix.Syscall6(unix.SYS_MSGSND, uintptr(id), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(text)), unix.IPC_NOWAIT, 0, 0); e != 0 {
		t.Fatalf("msgsnd %d: %v", id, e)
	}
}

// viewMsgReceive is msgrcv of any type made directly, IPC_NOWAIT.
func viewMsgReceive(t testing.TB, id int) string {
	t.Helper()
	buf := make([]byte, 8+65536)
	n, _, e := unix.Syscall6(unix.SYS_MSGRCV, uintptr(id), uintptr(unsafe.Pointer(&buf[0])), 65536, 0, unix.IPC_NOWAIT, 0)
	if e != 0 {
		t.Fatalf("msgrcv %d: %v", id, e)
	}
	return string(buf[8 : 8+n])
}

func viewSemRemove(id int) { viewSemctl(id, 0, unix.IPC_RMID, 0) }

func viewMsgRemove(id int) { unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_RMID, 0) }

// --- making objects as various users ---

// viewRunAs runs a compiled C helper as uid:gid with no supplementary
// groups (directly for root) and returns its output's words; it must
// exit 0.
func viewRunAs(t testing.TB, uid, gid int, prog string, args ...string) []string {
	t.Helper()
	bin := cProgram(t, prog)
	var cmd *exec.Cmd
	if uid == 0 && gid == 0 {
		cmd = exec.Command(bin, args...)
	} else {
		openToOthers(t, bin)
		cmd = exec.Command("setpriv", append([]string{"--reuid=" + strconv.Itoa(uid), "--regid=" + strconv.Itoa(gid),
			"--clear-groups", bin}, args...)...)
	}
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %v as %d:%d: %v\n%s", prog, args, uid, gid, err, stderr)
	}
	return strings.Fields(string(out))
}

// viewMake runs `viewtool CMD ARGS` (shmget, semget, msgget) as uid:gid,
// which must succeed, and returns the new object's id; remove removes it
// when the test ends.
func viewMake(t testing.TB, uid, gid int, remove func(int), cmd string, args ...string) int {
	t.Helper()
	f := viewRunAs(t, uid, gid, "viewtool", append([]string{cmd}, args...)...)
	if len(f) != 2 || f[0] != "0" {
		t.Fatalf("viewtool %s %v as %d:%d: %v", cmd, args, uid, gid, f)
	}
	id, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("viewtool %s: %v", cmd, f)
	}
	t.Cleanup(func() { remove(id) })
	return id
}

func viewMakeShm(t testing.TB, uid, gid int, key uint32, size int, mode uint32) int {
	t.Helper()
	return viewMake(t, uid, gid, func(id int) { unix.SysvShmCtl(id, unix.IPC_RMID, nil) },
		"shmget", fmt.Sprint(key), fmt.Sprint(size), fmt.Sprintf("%o", mode))
}

func viewMakeSem(t testing.TB, uid, gid int, key uint32, nsems int, mode uint32) int {
	t.Helper()
	return viewMake(t, uid, gid, viewSemRemove, "semget", fmt.Sprint(key), fmt.Sprint(nsems), fmt.Sprintf("%o", mode))
}

func viewMakeMsg(t testing.TB, uid, gid int, key uint32, mode uint32) int {
	t.Helper()
	return viewMake(t, uid, gid, viewMsgRemove, "msgget", fmt.Sprint(key), fmt.Sprintf("%o", mode))
}

// viewName is the name ls shows for an object.
func viewName(key int32, id int) string { return shmCanonical(key, id) }

// viewProc is a process that runs until it ends by itself or the test
// ends (then it is killed).
type viewProc struct {
	cmd  *exec.Cmd
	out  strings.Builder
	done chan error
	err  error
	over bool
}

// viewStart starts argv as a viewProc.
func viewStart(t testing.TB, argv ...string) *viewProc {
	t.Helper()
	p := &viewProc{cmd: exec.Command(argv[0], argv[1:]...), done: make(chan error, 1)}
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if !p.over {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits, with a generous deadline, for the process to end, and
// returns its output.
func (p *viewProc) wait(t testing.TB) (string, error) {
	t.Helper()
	if !p.over {
		select {
		case p.err = <-p.done:
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			p.err = <-p.done
			p.over = true
			t.Fatalf("%v did not end: %s", p.cmd.Args, p.out.String())
		}
		p.over = true
	}
	return p.out.String(), p.err
}

// exited reports whether the process has ended (without waiting).
func (p *viewProc) exited() bool {
	if p.over {
		return true
	}
	select {
	case p.err = <-p.done:
		p.over = true
		return true
	default:
		return false
	}
}

// --- reading the views ---

// viewTable parses a status table: a header of column names, then rows
// of white-space separated cells; the last column takes the rest of a
// row (it may hold spaces). Cells are returned by column name.
func viewTable(t testing.TB, text string) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		t.Fatalf("a table without a header: %q", text)
	}
	header := strings.Fields(lines[0])
	var rows []map[string]string
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) < len(header) {
			t.Fatalf("row %q has %d cells, the header %d: %q", line, len(f), len(header), lines[0])
		}
		row := map[string]string{}
		for i, h := range header {
			row[h] = f[i]
		}
		row[header[len(header)-1]] = strings.Join(f[len(header)-1:], " ")
		rows = append(rows, row)
	}
	return rows
}

// viewTableByID reads a status file and indexes its rows by column idCol.
func viewTableByID(t testing.TB, path, idCol string) map[int]map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	byID := map[int]map[string]string{}
	for _, row := range viewTable(t, string(b)) {
		id, err := strconv.Atoi(row[idCol])
		if err != nil {
			t.Fatalf("%s: %s %q is not a number", path, idCol, row[idCol])
		}
		if byID[id] != nil {
			t.Errorf("%s: two rows for %s %d", path, idCol, id)
		}
		byID[id] = row
	}
	return byID
}

// viewIpcs runs ipcs with args and returns its rows by column name (the
// header is the line after the title).
func viewIpcs(t testing.TB, args ...string) []map[string]string {
	t.Helper()
	out := mustSh(t, "ipcs "+strings.Join(args, " "))
	var header []string
	var rows []map[string]string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(line, "------"):
		case header == nil:
			header = f
		default:
			row := map[string]string{}
			for i, h := range header {
				if i < len(f) {
					row[h] = f[i]
				}
			}
			if len(f) > len(header) {
				row[header[len(header)-1]] = strings.Join(f[len(header)-1:], " ")
			}
			rows = append(rows, row)
		}
	}
	if header == nil {
		t.Fatalf("ipcs %v printed no header:\n%s", args, out)
	}
	return rows
}

// viewIpcsByID indexes rows of ipcs by their id column.
func viewIpcsByID(t testing.TB, idCol string, args ...string) map[int]map[string]string {
	t.Helper()
	m := map[int]map[string]string{}
	for _, row := range viewIpcs(t, args...) {
		id, err := strconv.Atoi(row[idCol])
		if err != nil {
			t.Fatalf("ipcs %v: %s %q", args, idCol, row[idCol])
		}
		m[id] = row
	}
	return m
}

// viewGetxattr is getxattr(2); ERANGE is retried with a larger buffer.
func viewGetxattr(path, name string) (string, syscall.Errno) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Getxattr(path, name, buf)
		if errnoOf(err) == syscall.ERANGE && len(buf) < 1<<20 {
			buf = make([]byte, 4*len(buf))
			continue
		}
		if err != nil {
			return "", errnoOf(err)
		}
		return string(buf[:n]), 0
	}
}

// viewListxattr is listxattr(2): the names.
func viewListxattr(t testing.TB, path string) []string {
	t.Helper()
	n, err := unix.Listxattr(path, nil)
	if err != nil {
		t.Fatalf("listxattr %s: %v", path, err)
	}
	buf := make([]byte, n+1024)
	n, err = unix.Listxattr(path, buf)
	if err != nil {
		t.Fatalf("listxattr %s: %v", path, err)
	}
	var names []string
	for _, s := range strings.Split(string(buf[:n]), "\x00") {
		if s != "" {
			names = append(names, s)
		}
	}
	return names
}

// viewGetfattr is `getfattr -d -m user.ipc PATH`: name -> value.
func viewGetfattr(t testing.TB, path string) map[string]string {
	t.Helper()
	out := mustSh(t, "getfattr -d -m '^user\\.ipc\\.' --absolute-names "+shQuote(path))
	attrs := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if ok {
			uq, err := strconv.Unquote(value)
			if err != nil {
				t.Fatalf("getfattr %s: line %q", path, line)
			}
			value = uq
		}
		attrs[name] = value
	}
	return attrs
}

// viewAttrs is what every view must say of an object: field -> the
// kernel's value, as a number (keys and modes are compared as numbers,
// whatever base they are written in).
type viewAttrs map[string]int64

func viewPermAttrs(p *unix.SysvIpcPerm, id int) viewAttrs {
	return viewAttrs{"key": int64(uint32(p.Key)), "id": int64(id), "uid": int64(p.Uid), "gid": int64(p.Gid),
		"cuid": int64(p.Cuid), "cgid": int64(p.Cgid), "mode": int64(p.Mode)}
}

func viewShmAttrs(d *unix.SysvShmDesc, id int) viewAttrs {
	a := viewPermAttrs(&d.Perm, id)
	a["segsz"], a["nattch"] = int64(d.Segsz), int64(d.Nattch)
	a["cpid"], a["lpid"] = int64(d.Cpid), int64(d.Lpid)
	a["atime"], a["dtime"], a["ctime"] = d.Atime, d.Dtime, d.Ctime
	return a
}

func viewSemSetAttrs(d *viewSemidDs, id int) viewAttrs {
	a := viewPermAttrs(&d.Perm, id)
	a["nsems"], a["otime"], a["ctime"] = int64(d.Nsems), d.Otime, d.Ctime
	return a
}

func viewSemFileAttrs(d *viewSemidDs, id, num int, s viewSem) viewAttrs {
	a := viewPermAttrs(&d.Perm, id)
	a["semnum"], a["semval"], a["semncnt"], a["semzcnt"], a["sempid"] = int64(num), int64(s.val), int64(s.ncnt), int64(s.zcnt), int64(s.pid)
	return a
}

func viewMsgAttrs(d *viewMsqidDs, id int) viewAttrs {
	a := viewPermAttrs(&d.Perm, id)
	a["qnum"], a["qbytes"], a["cbytes"] = int64(d.Qnum), int64(d.Qbytes), int64(d.Cbytes)
	a["lspid"], a["lrpid"] = int64(d.Lspid), int64(d.Lrpid)
	a["stime"], a["rtime"], a["ctime"] = d.Stime, d.Rtime, d.Ctime
	return a
}

// viewNumber reads an attribute's value: decimal, 0x hex, or 0-prefixed
// octal (a mode).
func viewNumber(s string) (int64, bool) {
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return n, true
	}
	if n, err := strconv.ParseUint(s, 0, 64); err == nil {
		return int64(n), true
	}
	return 0, false
}

// viewCheckXattrs checks the user.ipc.* attributes of path against want,
// through getxattr(2) one by one, through listxattr(2), and through
// `getfattr -d`; extra names (such as attached) may be listed too.
func viewCheckXattrs(t testing.TB, path string, want viewAttrs, extra ...string) {
	t.Helper()
	for _, p := range viewXattrProblems(t, path, want, extra...) {
		t.Error(p)
	}
}

// viewXattrProblems is what viewCheckXattrs finds wrong.
func viewXattrProblems(t testing.TB, path string, want viewAttrs, extra ...string) []string {
	t.Helper()
	var bad []string
	problem := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	listed := viewListxattr(t, path)
	dump := viewGetfattr(t, path)
	for name, v := range want {
		full := "user.ipc." + name
		if !slices.Contains(listed, full) {
			problem("%s: listxattr does not list %s: %v", path, full, listed)
		}
		got, e := viewGetxattr(path, full)
		if e != 0 {
			problem("%s: getxattr %s: %v", path, full, e)
		} else if n, ok := viewNumber(got); !ok || n != v {
			problem("%s: %s = %q, the kernel says %d (%#o)", path, full, got, v, v)
		}
		if d, ok := dump[full]; !ok {
			problem("%s: getfattr -d does not show %s: %v", path, full, dump)
		} else if n, ok := viewNumber(d); !ok || n != v {
			problem("%s: getfattr -d shows %s=%q, the kernel says %d", path, full, d, v)
		}
	}
	for _, name := range extra {
		if !slices.Contains(listed, "user.ipc."+name) {
			problem("%s: listxattr does not list user.ipc.%s: %v", path, name, listed)
		}
		if _, ok := dump["user.ipc."+name]; !ok {
			problem("%s: getfattr -d does not show user.ipc.%s: %v", path, name, dump)
		}
	}
	// The key reads as ipcs spells it.
	if got, _ := viewGetxattr(path, "user.ipc.key"); got != keyName(uint32(want["key"])) {
		problem("%s: user.ipc.key %q, want %q", path, got, keyName(uint32(want["key"])))
	}
	return bad
}

// viewCheckXattrsFixed checks that the attributes of path cannot be set
// or removed (setErr: EPERM, or EROFS on a read-only mount), that unknown
// ones are ENODATA, that labels, capabilities and ACLs are not supported
// at all (so ls -l stops asking), and that a buffer too small is ERANGE.
func viewCheckXattrsFixed(t testing.TB, path string, setErr syscall.Errno) {
	t.Helper()
	for _, name := range []string{"user.ipc.mode", "user.ipc.key", "user.ipc.uid", "user.ipc.newattr"} {
		if err := unix.Setxattr(path, name, []byte("0777"), 0); errnoOf(err) != setErr {
			t.Errorf("%s: setxattr %s: %v, want %v", path, name, err, setErr)
		}
		if err := unix.Setxattr(path, name, []byte("0777"), unix.XATTR_CREATE); errnoOf(err) != setErr {
			t.Errorf("%s: setxattr %s XATTR_CREATE: %v, want %v", path, name, err, setErr)
		}
	}
	if err := unix.Removexattr(path, "user.ipc.mode"); errnoOf(err) != setErr {
		t.Errorf("%s: removexattr user.ipc.mode: %v, want %v", path, err, setErr)
	}
	if err := unix.Setxattr(path, "user.other", []byte("x"), 0); err == nil {
		t.Errorf("%s: setxattr user.other succeeded", path)
	}
	for _, name := range []string{"user.ipc.nosuch", "user.ipc.", "user.ipc.KEY", "user.other", "trusted.ipc.key"} {
		if _, e := viewGetxattr(path, name); e != syscall.ENODATA {
			t.Errorf("%s: getxattr %s: %v, want ENODATA", path, name, e)
		}
	}
	for _, name := range []string{"security.selinux", "security.capability", "system.posix_acl_access"} {
		if _, e := viewGetxattr(path, name); e != syscall.EOPNOTSUPP {
			t.Errorf("%s: getxattr %s: %v, want EOPNOTSUPP", path, name, e)
		}
	}
	if _, err := unix.Getxattr(path, "user.ipc.key", make([]byte, 3)); errnoOf(err) != syscall.ERANGE {
		t.Errorf("%s: getxattr user.ipc.key into 3 bytes: %v, want ERANGE", path, err)
	}
	if n, err := unix.Getxattr(path, "user.ipc.key", nil); err != nil || n != 10 {
		t.Errorf("%s: getxattr user.ipc.key size: %d %v, want 10", path, n, err)
	}
}

// viewUser and viewGroup are how ipcs and the status tables name an id:
// the name, or the number when there is none.
func viewUser(uid uint32) string {
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		return u.Username
	}
	return strconv.Itoa(int(uid))
}

func viewGroup(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.Itoa(int(gid))); err == nil {
		return g.Name
	}
	return strconv.Itoa(int(gid))
}

// viewTrunc cuts a name as ipcs does in its columns.
func viewTrunc(s string) string { return s[:min(len(s), 10)] }

// viewTime is how a status table shows a kernel time.
func viewTime(sec int64) string {
	if sec == 0 {
		return "-"
	}
	return time.Unix(sec, 0).Format("2006-01-02T15:04:05-07:00")
}

// TestStatusTimesCarryTheirZone: a status table's times name their
// offset from UTC, so a reader in another zone than the daemon's reads
// the kernel's instant.
func TestStatusTimesCarryTheirZone(t *testing.T) {
	time.Now().Zone()              // the test's own zone is read once, at its first use: now
	t.Setenv("TZ", "Asia/Kolkata") // the daemon's
	m := mount(t)
	id := newSegment(t, newKey(), 4096, 0600)
	row := viewTableByID(t, m.Path("shm", "status"), "shmid")[id]
	if row == nil {
		t.Fatalf("shm/status has no row for %d", id)
	}
	if row["attach-time"] != "-" {
		t.Errorf("attach-time of a segment never attached: %q, want -", row["attach-time"])
	}
	got, err := time.Parse(time.RFC3339, row["change-time"])
	if err != nil {
		t.Fatalf("change-time: %v", err)
	}
	if _, off := got.Zone(); got.Unix() != shmStat(t, id).Ctime || off != 5*3600+1800 {
		t.Errorf("change-time %q (%d, offset %d s); the kernel's %d in Asia/Kolkata (+05:30)", row["change-time"], got.Unix(), off, shmStat(t, id).Ctime)
	}
}

// viewCheckCells compares cells of a status row with what they must be.
func viewCheckCells(t testing.TB, what string, row map[string]string, want map[string]string) {
	t.Helper()
	for col, w := range want {
		got, ok := row[col]
		if !ok {
			t.Errorf("%s: no column %q in %v", what, col, row)
		} else if got != w {
			t.Errorf("%s: %s %q, want %q", what, col, got, w)
		}
	}
}

// viewCheckPermCells checks the columns every status table has.
func viewCheckPermCells(t testing.TB, what string, row map[string]string, p *unix.SysvIpcPerm) {
	t.Helper()
	viewCheckCells(t, what, row, map[string]string{
		"key": keyName(uint32(p.Key)), "owner": viewUser(p.Uid), "group": viewGroup(p.Gid),
		"cuser": viewUser(p.Cuid), "cgroup": viewGroup(p.Cgid),
	})
	if perms, err := strconv.ParseUint(row["perms"], 8, 32); err != nil || uint32(perms) != p.Mode&0777 {
		t.Errorf("%s: perms %q, want %o", what, row["perms"], p.Mode&0777)
	}
}

// viewCheckIpcsPerm compares ipcs's key, owner and perms columns (and
// those of ipcs -c) with the kernel's record.
func viewCheckIpcsPerm(t testing.TB, what string, row, crow map[string]string, p *unix.SysvIpcPerm) {
	t.Helper()
	if row == nil || crow == nil {
		t.Errorf("%s: ipcs does not list it", what)
		return
	}
	viewCheckCells(t, what+" in ipcs", row, map[string]string{"key": keyName(uint32(p.Key)), "owner": viewTrunc(viewUser(p.Uid))})
	viewCheckCells(t, what+" in ipcs -c", crow, map[string]string{
		"uid": viewTrunc(viewUser(p.Uid)), "gid": viewTrunc(viewGroup(p.Gid)),
		"cuid": viewTrunc(viewUser(p.Cuid)), "cgid": viewTrunc(viewGroup(p.Cgid)),
	})
	for _, r := range []map[string]string{row, crow} {
		if perms, err := strconv.ParseUint(r["perms"], 8, 32); err != nil || uint32(perms) != p.Mode&0777 {
			t.Errorf("%s: ipcs perms %q, the kernel says %o", what, r["perms"], p.Mode&0777)
		}
	}
}

// viewCheckStat compares stat(2) of an object's file with its ipc_perm.
func viewCheckStat(t testing.TB, path string, p *unix.SysvIpcPerm, ftype uint32, size int64) {
	t.Helper()
	st := statOf(t, path)
	if st.Mode&syscall.S_IFMT != ftype {
		t.Errorf("%s: file type %o, want %o", path, st.Mode&syscall.S_IFMT, ftype)
	}
	perm := st.Mode & 0777
	if ftype == syscall.S_IFDIR {
		perm &^= 0111 // a set's folder adds search bits
	}
	if perm != p.Mode&0777 {
		t.Errorf("%s: mode %o, the kernel says %o", path, st.Mode&0777, p.Mode&0777)
	}
	if st.Uid != p.Uid || st.Gid != p.Gid {
		t.Errorf("%s: owner %d:%d, the kernel says %d:%d", path, st.Uid, st.Gid, p.Uid, p.Gid)
	}
	if size >= 0 && st.Size != size {
		t.Errorf("%s: size %d, want %d", path, st.Size, size)
	}
}

// viewMust fails the test when a direct call failed.
func viewMust(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// --- parity ---

// viewObjects holds the ids of the objects a test made, by kind.
type viewObjects struct{ shm, sem, msg []int }

// TestViewParity: for objects of every kind with various modes, owners
// and creators (made as other users with setpriv; private; a segment
// removed while attached; a locked one), stat(2), the status tables, the
// user.ipc.* attributes (getxattr and getfattr -d) and ipcs all agree with
// IPC_STAT field by field; and every object ipcs lists is in the mount.
func TestViewParity(t *testing.T) {
	m := mount(t)
	var own viewObjects

	// Segments.
	kA := newKey()
	idA := newSegment(t, kA, 5000, 0640)
	runC(t, "viewtool", "touch", strconv.Itoa(idA)) // atime, dtime, lpid of another process
	holdSegment(t, idA)                             // attached now
	idB := viewMakeShm(t, 1000, 1000, newKey(), 8192, 0600)
	idC := viewMakeShm(t, 65534, 65534, newKey(), 1, 0444)
	runC(t, "viewtool", "touch", strconv.Itoa(idC))
	idD := newSegment(t, newKey(), 3*4096, 0600)
	viewShmSet(t, idD, 4321, 4322, 0604) // an owner with no name; creator root
	idE := viewMakeShm(t, 1000, 1000, 0, 4096, 0660)
	idF := newSegment(t, newKey(), 2*4096, 0606)
	attach(t, idF, 0)
	rmid(t, idF) // removed while attached: key 0, dest
	idG := newSegment(t, newKey(), 4096, 0)
	if _, err := unix.SysvShmCtl(idG, viewSHMLOCK, nil); err != nil {
		t.Fatalf("SHM_LOCK: %v", err)
	}
	own.shm = []int{idA, idB, idC, idD, idE, idF, idG}

	// Semaphore sets.
	idS1 := viewMakeSem(t, 0, 0, newKey(), 3, 0600)
	viewSetVal(t, idS1, 0, 7)
	viewSemop(t, idS1, 2, 4) // otime, sempid of the test
	idS2 := viewMakeSem(t, 1000, 1000, newKey(), 1, 0640)
	if f := viewRunAs(t, 1000, 1000, "viewtool", "semop", strconv.Itoa(idS2), "0", "2"); len(f) != 1 || f[0] != "0" {
		t.Fatalf("semop as uid 1000: %v", f)
	}
	idS3 := viewMakeSem(t, 0, 0, 0, 2, 0666)
	idS4 := viewMakeSem(t, 65534, 65534, newKey(), 4, 0604)
	viewSemSet(t, idS4, 4321, 4322, 0664)
	own.sem = []int{idS1, idS2, idS3, idS4}

	// Queues.
	idQ1 := viewMakeMsg(t, 0, 0, newKey(), 0600)
	viewMsgSend(t, idQ1, 1, "first message")
	viewMsgSend(t, idQ1, 7, "second")
	idQ2 := viewMakeMsg(t, 1000, 1000, newKey(), 0644)
	for _, args := range [][]string{{"msgsnd", strconv.Itoa(idQ2), "3", "from uid 1000"}, {"msgsnd", strconv.Itoa(idQ2), "3", "two"}, {"msgrcv", strconv.Itoa(idQ2)}} {
		if f := viewRunAs(t, 1000, 1000, "viewtool", args...); len(f) < 1 || f[0] != "0" {
			t.Fatalf("viewtool %v as uid 1000: %v", args, f)
		}
	}
	idQ3 := viewMakeMsg(t, 0, 0, 0, 0620)
	idQ4 := viewMakeMsg(t, 0, 0, newKey(), 0600)
	viewMsgSend(t, idQ4, 2, "x")
	viewMsgSet(t, idQ4, 4321, 4322, 0640, 1000)
	own.msg = []int{idQ1, idQ2, idQ3, idQ4}

	// Files and folders that are no object carry no user.ipc.* attribute
	// and take none; trying first must not spoil the objects' attributes
	// (the kernel gives up on a call a FUSE server once says it lacks).
	for _, p := range []string{m.Dir, m.Path("limits"), m.Path("usage"), m.Path("shm"), m.Path("shm", "status"),
		m.Path("sem", "create"), m.Path("msg", "remove"), m.Path("sem", viewName(viewSemStat(t, idS1).Perm.Key, idS1), "status")} {
		for _, name := range viewListxattr(t, p) {
			if strings.HasPrefix(name, "user.ipc.") {
				t.Errorf("%s: listxattr lists %s", p, name)
			}
		}
		if v, e := viewGetxattr(p, "user.ipc.key"); e == 0 {
			t.Errorf("%s: user.ipc.key = %q", p, v)
		}
		if err := unix.Setxattr(p, "user.ipc.key", []byte("1"), 0); err == nil {
			t.Errorf("%s: setxattr user.ipc.key succeeded", p)
		}
		if err := unix.Removexattr(p, "user.ipc.key"); err == nil {
			t.Errorf("%s: removexattr user.ipc.key succeeded", p)
		}
	}

	t.Run("shm", func(t *testing.T) { viewCheckShmParity(t, m, own.shm) })
	t.Run("sem", func(t *testing.T) { viewCheckSemParity(t, m, own.sem) })
	t.Run("msg", func(t *testing.T) { viewCheckMsgParity(t, m, own.msg) })
	t.Run("everything ipcs lists", func(t *testing.T) { viewCheckAllListed(t, m) })
}

func viewCheckShmParity(t *testing.T, m *Mount, ids []int) {
	ipcsRows := viewIpcsByID(t, "shmid", "-m")
	ipcsC := viewIpcsByID(t, "shmid", "-m", "-c")
	ipcsP := viewIpcsByID(t, "shmid", "-m", "-p")
	status := viewTableByID(t, m.Path("shm", "status"), "shmid")
	att, err := viewAttachments()
	viewMust(t, err)
	listed, err := os.ReadDir(m.Path("shm"))
	viewMust(t, err)
	for _, id := range ids {
		d := shmStat(t, id)
		name := viewName(d.Perm.Key, id)
		what := fmt.Sprintf("segment %d (%s)", id, name)
		p := m.Path("shm", name)
		if !slices.ContainsFunc(listed, func(e os.DirEntry) bool { return e.Name() == name }) {
			t.Errorf("%s: ls shm does not list it", what)
		}

		// stat(2).
		viewCheckStat(t, p, &d.Perm, syscall.S_IFREG, int64(d.Segsz))

		// ipcs, ipcs -c, ipcs -p.
		viewCheckIpcsPerm(t, what, ipcsRows[id], ipcsC[id], &d.Perm)
		if r := ipcsRows[id]; r != nil {
			viewCheckCells(t, what+" in ipcs", r, map[string]string{"bytes": fmt.Sprint(d.Segsz), "nattch": fmt.Sprint(d.Nattch)})
			if strings.Contains(r["status"], "dest") != (d.Perm.Mode&01000 != 0) || strings.Contains(r["status"], "locked") != (d.Perm.Mode&02000 != 0) {
				t.Errorf("%s: ipcs status %q, mode %o", what, r["status"], d.Perm.Mode)
			}
		}
		if r := ipcsP[id]; r == nil {
			t.Errorf("%s: ipcs -p does not list it", what)
		} else {
			viewCheckCells(t, what+" in ipcs -p", r, map[string]string{"cpid": fmt.Sprint(d.Cpid), "lpid": fmt.Sprint(d.Lpid)})
		}

		// shm/status.
		row := status[id]
		if row == nil {
			t.Errorf("%s: no row in shm/status", what)
		} else {
			viewCheckPermCells(t, what+" in shm/status", row, &d.Perm)
			var flags []string
			if d.Perm.Mode&01000 != 0 {
				flags = append(flags, "dest")
			}
			if d.Perm.Mode&02000 != 0 {
				flags = append(flags, "locked")
			}
			st := strings.Join(flags, ",")
			if st == "" {
				st = "-"
			}
			attached := viewJoinPids(att[id])
			if attached == "" {
				attached = "-"
			}
			viewCheckCells(t, what+" in shm/status", row, map[string]string{
				"bytes": fmt.Sprint(d.Segsz), "nattch": fmt.Sprint(d.Nattch), "status": st,
				"cpid": fmt.Sprint(d.Cpid), "lpid": fmt.Sprint(d.Lpid), "attached": attached,
				"attach-time": viewTime(d.Atime), "detach-time": viewTime(d.Dtime), "change-time": viewTime(d.Ctime),
			})
			if r := ipcsRows[id]; r != nil && (row["key"] != r["key"] || row["nattch"] != r["nattch"] || row["bytes"] != r["bytes"]) {
				t.Errorf("%s: shm/status %v, ipcs %v", what, row, r)
			}
		}

		// The attributes.
		viewCheckXattrs(t, p, viewShmAttrs(&d, id), "attached")
		if got, e := viewGetxattr(p, "user.ipc.attached"); e != 0 || got != viewJoinPids(att[id]) {
			t.Errorf("%s: user.ipc.attached %q %v, /proc/*/maps says %q", what, got, e, viewJoinPids(att[id]))
		}
		viewCheckXattrsFixed(t, p, syscall.EPERM)
		if after := shmStat(t, id); after != d {
			t.Errorf("%s changed while looked at: %+v -> %+v", what, d, after)
		}
	}
}

func viewCheckSemParity(t *testing.T, m *Mount, ids []int) {
	ipcsRows := viewIpcsByID(t, "semid", "-s")
	ipcsC := viewIpcsByID(t, "semid", "-s", "-c")
	status := viewTableByID(t, m.Path("sem", "status"), "semid")
	listed, err := os.ReadDir(m.Path("sem"))
	viewMust(t, err)
	for _, id := range ids {
		d := viewSemStat(t, id)
		sems := viewSems(t, id)
		name := viewName(d.Perm.Key, id)
		what := fmt.Sprintf("set %d (%s)", id, name)
		dir := m.Path("sem", name)
		if !slices.ContainsFunc(listed, func(e os.DirEntry) bool { return e.Name() == name && e.IsDir() }) {
			t.Errorf("%s: ls sem does not list it as a folder", what)
		}
		viewCheckStat(t, dir, &d.Perm, syscall.S_IFDIR, -1)

		viewCheckIpcsPerm(t, what, ipcsRows[id], ipcsC[id], &d.Perm)
		if r := ipcsRows[id]; r != nil {
			viewCheckCells(t, what+" in ipcs", r, map[string]string{"nsems": fmt.Sprint(d.Nsems)})
		}
		row := status[id]
		if row == nil {
			t.Errorf("%s: no row in sem/status", what)
		} else {
			viewCheckPermCells(t, what+" in sem/status", row, &d.Perm)
			viewCheckCells(t, what+" in sem/status", row, map[string]string{
				"nsems": fmt.Sprint(d.Nsems), "op-time": viewTime(d.Otime), "change-time": viewTime(d.Ctime),
			})
		}
		viewCheckXattrs(t, dir, viewSemSetAttrs(&d, id))
		viewCheckXattrsFixed(t, dir, syscall.EPERM)

		// The folder holds 0..nsems-1, semop and status.
		var want []string
		for i := range sems {
			want = append(want, strconv.Itoa(i))
		}
		want = append(want, "semop", "status")
		ents, err := os.ReadDir(dir)
		viewMust(t, err)
		var got []string
		for _, e := range ents {
			got = append(got, e.Name())
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: ls shows %v, want %v", what, got, want)
		}

		// Each semaphore: its file's attributes, sem/NAME/status and
		// ipcs -s -i agree with semctl.
		semStatus := viewTableByID(t, m.Path("sem", name, "status"), "semnum")
		ipcsI := viewIpcsSemDetail(t, id)
		for i, s := range sems {
			sw := fmt.Sprintf("%s semaphore %d", what, i)
			f := m.Path("sem", name, strconv.Itoa(i))
			viewCheckStat(t, f, &d.Perm, syscall.S_IFREG, -1)
			viewCheckXattrs(t, f, viewSemFileAttrs(&d, id, i, s))
			viewCheckXattrsFixed(t, f, syscall.EPERM)
			if b, err := os.ReadFile(f); err != nil || string(b) != fmt.Sprintf("%d\n", s.val) {
				t.Errorf("%s: cat shows %q %v, want %d", sw, b, err, s.val)
			}
			wantCells := map[string]string{"value": fmt.Sprint(s.val), "semncnt": fmt.Sprint(s.ncnt),
				"semzcnt": fmt.Sprint(s.zcnt), "sempid": fmt.Sprint(s.pid)}
			if row := semStatus[i]; row == nil {
				t.Errorf("%s: no row in sem/%s/status", sw, name)
			} else {
				viewCheckCells(t, sw+" in its status", row, wantCells)
			}
			if r := ipcsI[i]; r == nil {
				t.Errorf("%s: ipcs -s -i does not show it", sw)
			} else {
				viewCheckCells(t, sw+" in ipcs -s -i", r, map[string]string{"value": fmt.Sprint(s.val),
					"ncount": fmt.Sprint(s.ncnt), "zcount": fmt.Sprint(s.zcnt), "pid": fmt.Sprint(s.pid)})
			}
		}
		if len(semStatus) != len(sems) {
			t.Errorf("%s: its status has %d rows, want %d", what, len(semStatus), len(sems))
		}
		if after, afterSems := viewSemStat(t, id), viewSems(t, id); after != d || !slices.Equal(afterSems, sems) {
			t.Errorf("%s changed while looked at: %+v %v -> %+v %v", what, d, sems, after, afterSems)
		}
	}
}

// viewIpcsSemDetail is the per-semaphore table of `ipcs -s -i ID`.
func viewIpcsSemDetail(t testing.TB, id int) map[int]map[string]string {
	t.Helper()
	out := mustSh(t, "ipcs -s -i "+strconv.Itoa(id))
	_, table, ok := strings.Cut(out, "semnum")
	if !ok {
		t.Fatalf("ipcs -s -i %d:\n%s", id, out)
	}
	rows := map[int]map[string]string{}
	for _, row := range viewTable(t, "semnum"+table) {
		n, err := strconv.Atoi(row["semnum"])
		if err != nil {
			t.Fatalf("ipcs -s -i %d: %v", id, row)
		}
		rows[n] = row
	}
	return rows
}

func viewCheckMsgParity(t *testing.T, m *Mount, ids []int) {
	ipcsRows := viewIpcsByID(t, "msqid", "-q")
	ipcsC := viewIpcsByID(t, "msqid", "-q", "-c")
	ipcsP := viewIpcsByID(t, "msqid", "-q", "-p")
	status := viewTableByID(t, m.Path("msg", "status"), "msqid")
	listed, err := os.ReadDir(m.Path("msg"))
	viewMust(t, err)
	for _, id := range ids {
		d := viewMsgStat(t, id)
		name := viewName(d.Perm.Key, id)
		what := fmt.Sprintf("queue %d (%s)", id, name)
		p := m.Path("msg", name)
		if !slices.ContainsFunc(listed, func(e os.DirEntry) bool { return e.Name() == name }) {
			t.Errorf("%s: ls msg does not list it", what)
		}
		viewCheckStat(t, p, &d.Perm, syscall.S_IFREG, int64(d.Cbytes))

		viewCheckIpcsPerm(t, what, ipcsRows[id], ipcsC[id], &d.Perm)
		if r := ipcsRows[id]; r != nil {
			viewCheckCells(t, what+" in ipcs", r, map[string]string{"used-bytes": fmt.Sprint(d.Cbytes), "messages": fmt.Sprint(d.Qnum)})
		}
		if r := ipcsP[id]; r == nil {
			t.Errorf("%s: ipcs -q -p does not list it", what)
		} else {
			viewCheckCells(t, what+" in ipcs -p", r, map[string]string{"lspid": fmt.Sprint(d.Lspid), "lrpid": fmt.Sprint(d.Lrpid)})
		}
		row := status[id]
		if row == nil {
			t.Errorf("%s: no row in msg/status", what)
		} else {
			viewCheckPermCells(t, what+" in msg/status", row, &d.Perm)
			viewCheckCells(t, what+" in msg/status", row, map[string]string{
				"used-bytes": fmt.Sprint(d.Cbytes), "messages": fmt.Sprint(d.Qnum), "max-bytes": fmt.Sprint(d.Qbytes),
				"lspid": fmt.Sprint(d.Lspid), "lrpid": fmt.Sprint(d.Lrpid),
				"send-time": viewTime(d.Stime), "recv-time": viewTime(d.Rtime), "change-time": viewTime(d.Ctime),
			})
		}
		viewCheckXattrs(t, p, viewMsgAttrs(&d, id))
		viewCheckXattrsFixed(t, p, syscall.EPERM)
		if after := viewMsgStat(t, id); after != d {
			t.Errorf("%s changed while looked at: %+v -> %+v", what, d, after)
		}
	}
}

// viewAlive reports whether an object of a kind still has id and key.
func viewAlive(t testing.TB, kind string, id int, key int32) bool {
	switch kind {
	case "shm":
		var d unix.SysvShmDesc
		_, err := unix.SysvShmCtl(id, unix.IPC_STAT, &d)
		return err == nil && d.Perm.Key == key
	case "sem":
		var d viewSemidDs
		_, err := viewSemctl(id, 0, unix.IPC_STAT, uintptr(unsafe.Pointer(&d)))
		return err == nil && d.Perm.Key == key
	default:
		var d viewMsqidDs
		_, _, e := unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_STAT, uintptr(unsafe.Pointer(&d)))
		return e == 0 && d.Perm.Key == key
	}
}

// viewCheckAllListed: every object ipcs lists, of anyone, is in the
// mount's listing and status table under its key and id, and the listing
// holds nothing ipcs did not list before or after. Other tests make and
// remove objects meanwhile: an object counts only if it is there, the
// same, both before and after the mount is read; and one made and removed
// while the mount was read explains a name ipcs never lists, so such a
// name fails only if every one of five readings holds it.
func viewCheckAllListed(t *testing.T, m *Mount) {
	for _, k := range []struct{ kind, flag, idCol string }{{"shm", "-m", "shmid"}, {"sem", "-s", "semid"}, {"msg", "-q", "msqid"}} {
		var before, after, status map[int]map[string]string
		var listed, unexplained map[string]bool
		for try := 0; try < 5; try++ {
			before = viewIpcsByID(t, k.idCol, k.flag)
			ents, err := os.ReadDir(m.Path(k.kind))
			viewMust(t, err)
			status = viewTableByID(t, m.Path(k.kind, "status"), k.idCol)
			after = viewIpcsByID(t, k.idCol, k.flag)
			listed = map[string]bool{}
			for _, e := range ents {
				listed[e.Name()] = true
			}
			may := map[string]bool{"create": true, "remove": true, "status": true}
			for _, rows := range []map[int]map[string]string{before, after} {
				for id, r := range rows {
					key, err := strconv.ParseUint(r["key"], 0, 32)
					if err != nil {
						t.Fatalf("ipcs %s: key %q", k.flag, r["key"])
					}
					may[viewName(int32(uint32(key)), id)] = true
				}
			}
			now := map[string]bool{}
			for name := range listed {
				if !may[name] && (try == 0 || unexplained[name]) {
					now[name] = true
				}
			}
			if unexplained = now; len(unexplained) == 0 {
				break
			}
		}
		for name := range unexplained {
			t.Errorf("ls %s lists %s, which ipcs listed neither before nor after, in five readings", k.kind, name)
		}
		checked := 0
		for id, r := range before {
			if a := after[id]; a == nil || a["key"] != r["key"] {
				continue
			}
			key, _ := strconv.ParseUint(r["key"], 0, 32)
			if !viewAlive(t, k.kind, id, int32(uint32(key))) {
				continue
			}
			checked++
			name := viewName(int32(uint32(key)), id)
			if !listed[name] {
				t.Errorf("ipcs %s lists %s %d; ls %s does not list %s", k.flag, r["key"], id, k.kind, name)
			}
			if row := status[id]; row == nil {
				t.Errorf("ipcs %s lists %s %d; %s/status has no row for it", k.flag, r["key"], id, k.kind)
			} else if row["key"] != r["key"] {
				t.Errorf("%s/status row %v; ipcs %v", k.kind, row, r)
			}
			if got, e := viewGetxattr(m.Path(k.kind, name), "user.ipc.id"); e != 0 || got != strconv.Itoa(id) {
				t.Errorf("%s/%s: user.ipc.id %q %v, want %d", k.kind, name, got, e, id)
			}
		}
		if checked == 0 {
			t.Errorf("ipcs %s listed nothing to check", k.flag)
		}
	}
}

// viewAttachments reads /proc/*/maps of the test's IPC namespace, as
// DESIGN.md says: shmid -> pids that have it attached, ascending.
func viewAttachments() (map[int][]int, error) {
	self, err := os.Readlink("/proc/self/ns/ipc")
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	att := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/ipc"); err != nil || ns != self {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/maps")
		if err != nil {
			continue
		}
		seen := map[int]bool{}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 6 && strings.HasPrefix(f[5], "/SYSV") {
				if id, err := strconv.Atoi(f[4]); err == nil && !seen[id] {
					seen[id] = true
					att[id] = append(att[id], pid)
				}
			}
		}
	}
	for id := range att {
		slices.Sort(att[id])
	}
	return att, nil
}

func viewJoinPids(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

// --- attached ---

// viewAttachedNow reads user.ipc.attached and the attached column of
// shm/status for segment id.
func viewAttachedNow(t testing.TB, m *Mount, id int, name string) (xattr, column string) {
	t.Helper()
	x, e := viewGetxattr(m.Path("shm", name), "user.ipc.attached")
	if e != 0 {
		t.Fatalf("getxattr user.ipc.attached of %s: %v", name, e)
	}
	row := viewTableByID(t, m.Path("shm", "status"), "shmid")[id]
	if row == nil {
		t.Fatalf("no row for segment %d in shm/status", id)
	}
	return x, row["attached"]
}

// viewCheckAttached checks that the segment's holders are exactly pids,
// in user.ipc.attached and in the status table, and that nattch through
// the mount is the kernel's.
func viewCheckAttached(t testing.TB, m *Mount, id int, name string, pids ...int) {
	t.Helper()
	slices.Sort(pids)
	want := viewJoinPids(pids)
	wantCol := want
	if wantCol == "" {
		wantCol = "-"
	}
	shmPollUntil(t, fmt.Sprintf("segment %d is attached by exactly %q", id, want), func() bool {
		x, col := viewAttachedNow(t, m, id, name)
		return x == want && col == wantCol
	})
	x, col := viewAttachedNow(t, m, id, name)
	if x != want || col != wantCol {
		t.Errorf("segment %d: attached %q, status column %q; want %q", id, x, col, want)
	}
	shmPollUntil(t, "the kernel's nattch settles", func() bool { return nattch(t, id) == uint64(len(pids)) })
	if got, e := viewGetxattr(m.Path("shm", name), "user.ipc.nattch"); e != 0 || got != strconv.Itoa(len(pids)) {
		t.Errorf("segment %d: user.ipc.nattch %q %v, want %d", id, got, e, len(pids))
	}
	row := viewTableByID(t, m.Path("shm", "status"), "shmid")[id]
	if row["nattch"] != strconv.Itoa(len(pids)) {
		t.Errorf("segment %d: nattch column %q, want %d", id, row["nattch"], len(pids))
	}
}

// TestViewAttached: the processes that have a segment attached show in
// user.ipc.attached and in the attached column of shm/status, and leave
// them when they detach or exit; nattch follows. A handle open through
// the mount is the daemon's attachment, shown while it is open.
func TestViewAttached(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := newSegment(t, key, 4096, 0600)
	name := keyName(key)
	viewCheckAttached(t, m, id, name)

	h1 := holdSegment(t, id)
	viewCheckAttached(t, m, id, name, h1.cmd.Process.Pid)
	h2 := holdSegment(t, id)
	viewCheckAttached(t, m, id, name, h1.cmd.Process.Pid, h2.cmd.Process.Pid)

	// The mount's own attachment while a handle is open.
	f, err := os.Open(m.Path("shm", name))
	viewMust(t, err)
	viewCheckAttached(t, m, id, name, h1.cmd.Process.Pid, h2.cmd.Process.Pid, m.cmd.Process.Pid)
	f.Close()
	viewCheckAttached(t, m, id, name, h1.cmd.Process.Pid, h2.cmd.Process.Pid)

	// Removed while attached: the same, under id-N.
	rmid(t, id)
	idName := fmt.Sprintf("id-%d", id)
	viewCheckAttached(t, m, id, idName, h1.cmd.Process.Pid, h2.cmd.Process.Pid)
	if x, _ := viewGetxattr(m.Path("shm", idName), "user.ipc.mode"); x == "" {
		t.Error("no user.ipc.mode on a removed segment")
	} else if n, _ := viewNumber(x); n&01000 == 0 {
		t.Errorf("user.ipc.mode %q of a removed segment lacks SHM_DEST", x)
	}

	h1.release()
	viewCheckAttached(t, m, id, idName, h2.cmd.Process.Pid)

	// A process that exits without detaching is detached by the kernel.
	h2.cmd.Process.Kill()
	h2.release()
	shmPollUntil(t, "the segment goes with its last attachment", func() bool { return shmGone(id) })
	if e := statErrno(m.Path("shm", idName)); e != syscall.ENOENT {
		t.Errorf("stat %s after the last detach: %v, want ENOENT", idName, e)
	}
	if _, ok := viewTableByID(t, m.Path("shm", "status"), "shmid")[id]; ok {
		t.Errorf("shm/status still has a row for segment %d", id)
	}
}

// --- semaphore waiters ---

// viewWaitCounts waits until the kernel counts ncnt and zcnt waiters on
// semaphore num of set id.
func viewWaitCounts(t testing.TB, id, num, ncnt, zcnt int) {
	t.Helper()
	shmPollUntil(t, fmt.Sprintf("semaphore %d/%d has %d waiters for an increase and %d for zero", id, num, ncnt, zcnt), func() bool {
		s := viewSems(t, id)[num]
		return s.ncnt == ncnt && s.zcnt == zcnt
	})
}

// viewCheckCounts checks semncnt and semzcnt of every semaphore of the
// set through the set's status, the semaphore files' attributes and
// ipcs -s -i, against the kernel.
func viewCheckCounts(t testing.TB, m *Mount, id int, name string, want []viewSem) {
	t.Helper()
	status := viewTableByID(t, m.Path("sem", name, "status"), "semnum")
	ipcsI := viewIpcsSemDetail(t, id)
	for i, w := range want {
		row := status[i]
		if row == nil {
			t.Errorf("sem/%s/status: no row %d", name, i)
			continue
		}
		viewCheckCells(t, fmt.Sprintf("sem/%s/status row %d", name, i), row, map[string]string{
			"value": fmt.Sprint(w.val), "semncnt": fmt.Sprint(w.ncnt), "semzcnt": fmt.Sprint(w.zcnt)})
		viewCheckCells(t, fmt.Sprintf("ipcs -s -i %d row %d", id, i), ipcsI[i], map[string]string{
			"value": fmt.Sprint(w.val), "ncount": fmt.Sprint(w.ncnt), "zcount": fmt.Sprint(w.zcnt)})
		f := m.Path("sem", name, strconv.Itoa(i))
		for attr, v := range map[string]int{"semval": w.val, "semncnt": w.ncnt, "semzcnt": w.zcnt} {
			if got, e := viewGetxattr(f, "user.ipc."+attr); e != 0 || got != strconv.Itoa(v) {
				t.Errorf("sem/%s/%d: user.ipc.%s %q %v, want %d", name, i, attr, got, e, v)
			}
		}
	}
}

// TestViewSemWaiters: a process blocked in semop, made directly or by a
// write through the mount, counts in semncnt (waiting for an increase)
// or semzcnt (waiting for zero) in sem/NAME/status and in the semaphore
// file's user.ipc.semncnt and user.ipc.semzcnt, as the kernel counts it.
func TestViewSemWaiters(t *testing.T) {
	m := mount(t)
	for _, c := range []struct {
		name                 string
		decrMount, zeroMount bool
	}{{"direct P, wait-for-zero through the mount", false, true}, {"P through the mount, direct wait-for-zero", true, false}} {
		t.Run(c.name, func(t *testing.T) {
			key := newKey()
			id := viewMakeSem(t, 0, 0, key, 3, 0600)
			name := keyName(key)
			viewSetVal(t, id, 1, 1)
			viewCheckCounts(t, m, id, name, []viewSem{{0, 0, 0, 0}, {1, 0, 0, 0}, {0, 0, 0, 0}})

			// Waiting for an increase on semaphore 0.
			var decr *viewProc
			if c.decrMount {
				decr = viewStart(t, "bash", "-c", "echo -1 > "+shQuote(m.Path("sem", name, "0")))
			} else {
				decr = viewStart(t, cProgram(t, "viewtool"), "semop", strconv.Itoa(id), "0", "-1")
			}
			viewWaitCounts(t, id, 0, 1, 0)
			viewCheckCounts(t, m, id, name, []viewSem{{0, 1, 0, 0}, {1, 0, 0, 0}, {0, 0, 0, 0}})

			// Waiting for zero on semaphore 1.
			var zero *viewProc
			if c.zeroMount {
				zero = viewStart(t, "bash", "-c", "echo 0 > "+shQuote(m.Path("sem", name, "1")))
			} else {
				zero = viewStart(t, cProgram(t, "viewtool"), "semop", strconv.Itoa(id), "1", "0")
			}
			viewWaitCounts(t, id, 1, 0, 1)
			viewCheckCounts(t, m, id, name, []viewSem{{0, 1, 0, 0}, {1, 0, 1, 0}, {0, 0, 0, 0}})
			if decr.exited() || zero.exited() {
				t.Fatal("a waiter ended while it should wait")
			}

			// Release both: the waiters finish and the counts drop.
			viewSemop(t, id, 0, 1)
			viewSetVal(t, id, 1, 0)
			for _, p := range []*viewProc{decr, zero} {
				out, err := p.wait(t)
				if err != nil || (p.cmd.Args[0] != "bash" && strings.TrimSpace(out) != "0") {
					t.Errorf("%v: %v %q", p.cmd.Args, err, out)
				}
			}
			viewCheckCounts(t, m, id, name, []viewSem{{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}})
			sems := viewSems(t, id)
			status := viewTableByID(t, m.Path("sem", name, "status"), "semnum")
			for i, s := range sems {
				if status[i]["sempid"] != strconv.Itoa(s.pid) {
					t.Errorf("semaphore %d: sempid %q in status, the kernel says %d", i, status[i]["sempid"], s.pid)
				}
				if got, _ := viewGetxattr(m.Path("sem", name, strconv.Itoa(i)), "user.ipc.sempid"); got != strconv.Itoa(s.pid) {
					t.Errorf("semaphore %d: user.ipc.sempid %q, the kernel says %d", i, got, s.pid)
				}
			}
		})
	}
}

// --- limits and usage ---

// TestViewLimitsUsage: `cat limits` is byte for byte `ipcs -l`, and
// `cat usage` is `ipcs -u` (other tests change the usage meanwhile, so it
// must match on one of several tries with ipcs the same before and after).
func TestViewLimitsUsage(t *testing.T) {
	m := mount(t)
	for _, name := range []string{"limits", "usage"} {
		st := statOf(t, m.Path(name))
		if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Mode&0222 != 0 {
			t.Errorf("%s: mode %o, want a read-only regular file", name, st.Mode)
		}
	}
	want := mustSh(t, "ipcs -l")
	if got := mustSh(t, "cat "+m.Path("limits")); got != want {
		t.Errorf("cat limits:\n%q\nipcs -l:\n%q", got, want)
	}
	// Read in small pieces, the same text.
	if got := mustSh(t, "dd status=none bs=7 if="+m.Path("limits")); got != want {
		t.Errorf("dd bs=7 of limits:\n%q\nipcs -l:\n%q", got, want)
	}

	// A segment of our own makes the usage non-trivial.
	id := newSegment(t, newKey(), 5*4096, 0600)
	runC(t, "shmtool", "pattern", strconv.Itoa(id), "3")
	var got, before, after string
	for try := 0; try < 200; try++ {
		before = mustSh(t, "ipcs -u")
		got = mustSh(t, "cat "+m.Path("usage"))
		after = mustSh(t, "ipcs -u")
		if before == after && got == before {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got != before || before != after {
		t.Errorf("cat usage never equal to ipcs -u:\n%q\nipcs -u:\n%q", got, after)
	}
	if !strings.Contains(got, "segments allocated") || !strings.Contains(got, "used arrays") || !strings.Contains(got, "allocated queues") {
		t.Errorf("usage lacks a section:\n%s", got)
	}
}

// --- looking never disturbs ---

// viewState is the kernel's record of the test's objects.
type viewState struct {
	shm  map[int]unix.SysvShmDesc
	sem  map[int]viewSemidDs
	sems map[int][]viewSem
	msg  map[int]viewMsqidDs
}

func viewSnapshot(t testing.TB, o viewObjects) viewState {
	t.Helper()
	s := viewState{shm: map[int]unix.SysvShmDesc{}, sem: map[int]viewSemidDs{}, sems: map[int][]viewSem{}, msg: map[int]viewMsqidDs{}}
	for _, id := range o.shm {
		s.shm[id] = shmStat(t, id)
	}
	for _, id := range o.sem {
		s.sem[id] = viewSemStat(t, id)
		s.sems[id] = viewSems(t, id)
	}
	for _, id := range o.msg {
		s.msg[id] = viewMsgStat(t, id)
	}
	return s
}

// viewCompare reports every difference between two snapshots.
func viewCompare(t testing.TB, what string, a, b viewState) {
	t.Helper()
	for id, d := range a.shm {
		if e := b.shm[id]; e != d {
			t.Errorf("%s changed segment %d: nattch %d->%d atime %d->%d dtime %d->%d lpid %d->%d (%+v -> %+v)",
				what, id, d.Nattch, e.Nattch, d.Atime, e.Atime, d.Dtime, e.Dtime, d.Lpid, e.Lpid, d, e)
		}
	}
	for id, d := range a.sem {
		if e := b.sem[id]; e != d || !slices.Equal(a.sems[id], b.sems[id]) {
			t.Errorf("%s changed set %d: otime %d->%d, semaphores %v -> %v", what, id, d.Otime, e.Otime, a.sems[id], b.sems[id])
		}
	}
	for id, d := range a.msg {
		if e := b.msg[id]; e != d {
			t.Errorf("%s changed queue %d: %+v -> %+v", what, id, d, e)
		}
	}
}

// TestViewLookingNeverDisturbs: ls -l, stat, getfattr -d and cat of every
// view (status tables, limits, usage, semaphore values, queued messages
// with :peek) change nothing the kernel records: no segment's nattch,
// times or lpid, no semaphore's value, sempid or otime, no queue's
// times, pids or messages.
func TestViewLookingNeverDisturbs(t *testing.T) {
	m := mount(t)
	var o viewObjects

	kA := newKey()
	idA := newSegment(t, kA, 8192, 0640)
	runC(t, "viewtool", "touch", strconv.Itoa(idA))
	kB := newKey()
	idB := newSegment(t, kB, 4096, 0600)
	holdSegment(t, idB)
	idC := newSegment(t, newKey(), 4096, 0600)
	holdSegment(t, idC)
	rmid(t, idC)
	idD := privateSegment(t, 4096, 0644)
	o.shm = []int{idA, idB, idC, idD}

	kS := newKey()
	idS := viewMakeSem(t, 0, 0, kS, 2, 0600)
	viewSemop(t, idS, 0, 3)
	kS2 := newKey()
	idS2 := viewMakeSem(t, 1000, 1000, kS2, 1, 0644)
	viewRunAs(t, 1000, 1000, "viewtool", "semop", strconv.Itoa(idS2), "0", "1")
	o.sem = []int{idS, idS2}

	kQ := newKey()
	idQ := viewMakeMsg(t, 0, 0, kQ, 0600)
	viewMsgSend(t, idQ, 1, "one")
	viewMsgSend(t, idQ, 2, "two")
	viewMsgReceive(t, idQ)
	kQ2 := newKey()
	idQ2 := viewMakeMsg(t, 0, 0, kQ2, 0666)
	viewRunAs(t, 1000, 1000, "viewtool", "msgsnd", strconv.Itoa(idQ2), "5", "queued")
	o.msg = []int{idQ, idQ2}

	before := viewSnapshot(t, o)
	own := []string{
		m.Path("shm", keyName(kA)), m.Path("shm", keyName(kB)), m.Path("shm", fmt.Sprintf("id-%d", idC)), m.Path("shm", fmt.Sprintf("id-%d", idD)),
		m.Path("sem", keyName(kS)), m.Path("sem", keyName(kS), "0"), m.Path("sem", keyName(kS), "1"), m.Path("sem", keyName(kS2)), m.Path("sem", keyName(kS2), "0"),
		m.Path("msg", keyName(kQ)), m.Path("msg", keyName(kQ2)),
	}
	var quoted []string
	for _, p := range own {
		quoted = append(quoted, shQuote(p))
	}
	all := strings.Join(quoted, " ")
	views := []string{m.Path("shm", "status"), m.Path("sem", "status"), m.Path("msg", "status"), m.Path("limits"), m.Path("usage"),
		m.Path("sem", keyName(kS), "status"), m.Path("sem", keyName(kS2), "status"),
		m.Path("sem", keyName(kS), "0"), m.Path("sem", keyName(kS), "semop"),
		m.Path("msg", keyName(kQ)+":peek"), m.Path("msg", keyName(kQ2)+":peek")}
	for _, script := range []string{
		"ls -l " + m.Dir + " " + m.Path("shm") + " " + m.Path("sem") + " " + m.Path("msg") + " " + m.Path("sem", keyName(kS)),
		"ls -lR " + m.Dir + " > /dev/null 2>&1; true", // other tests' objects may vanish meanwhile
		"stat " + all,
		"stat -L " + all + " > /dev/null",
		"getfattr -d -m - --absolute-names " + all,
		"getfattr -R -d -m - --absolute-names " + m.Dir + " > /dev/null 2>&1; true",
		"cat " + strings.Join(views, " "),
		"head -c 1 " + m.Path("shm", "status"),
	} {
		out := mustSh(t, script)
		if strings.HasPrefix(script, "cat") && !strings.Contains(out, `"two"`) && !strings.Contains(out, `"queued"`) {
			t.Errorf("the :peek views do not show the queued messages:\n%s", out)
		}
		viewCompare(t, fmt.Sprintf("%.60q", script), before, viewSnapshot(t, o))
	}
	// The same through the syscalls: getxattr of every attribute.
	for _, p := range own {
		for _, name := range viewListxattr(t, p) {
			viewGetxattr(p, name)
		}
	}
	viewCompare(t, "getxattr", before, viewSnapshot(t, o))
	if b, err := os.ReadFile(m.Path("msg", keyName(kQ)+":peek")); err != nil || !strings.Contains(string(b), `"two"`) {
		t.Errorf("msg/%s:peek: %q %v", keyName(kQ), b, err)
	}
	viewCompare(t, "everything", before, viewSnapshot(t, o))
}

// --- read-only mounts: semaphores and queues ---

// TestViewReadOnlySemMsg: on a mount made with --ro or -o ro, no
// semaphore changes (writes of values, semop, chmod, chown, create,
// remove, rmdir) and no queue changes (msgsnd by a write, msgrcv by a
// read, chmod, chown, create, remove, unlink): each fails with EROFS and
// the kernel's record stays the same. Every view still reads.
func TestViewReadOnlySemMsg(t *testing.T) {
	for _, flags := range [][]string{{"--ro"}, {"-o", "ro"}} {
		t.Run(strings.Join(flags, ""), func(t *testing.T) {
			m := mount(t, flags...)
			kS := newKey()
			idS := viewMakeSem(t, 0, 0, kS, 2, 0644)
			viewSetVal(t, idS, 0, 3)
			kQ := newKey()
			idQ := viewMakeMsg(t, 0, 0, kQ, 0644)
			viewMsgSend(t, idQ, 1, "hello")
			o := viewObjects{sem: []int{idS}, msg: []int{idQ}}
			before := viewSnapshot(t, o)
			set := m.Path("sem", keyName(kS))
			q := m.Path("msg", keyName(kQ))
			newS, newQ := newKey(), newKey()
			t.Cleanup(func() { // in case a create got through
				if id, err := viewSemGetID(newS); err == nil {
					viewSemRemove(id)
				}
				if id, err := viewMsgGetID(newQ); err == nil {
					viewMsgRemove(id)
				}
			})

			errs := map[string]syscall.Errno{}
			openErr := func(p string, flag int) syscall.Errno {
				fd, err := syscall.Open(p, flag, 0)
				if err == nil {
					syscall.Close(fd)
				}
				return errnoOf(err)
			}
			errs["open sem/K/0 O_WRONLY"] = openErr(set+"/0", syscall.O_WRONLY)
			errs["open sem/K/0 O_RDWR"] = openErr(set+"/0", syscall.O_RDWR)
			errs["open sem/K/semop O_WRONLY"] = openErr(set+"/semop", syscall.O_WRONLY)
			errs["open sem/create O_WRONLY"] = openErr(m.Path("sem", "create"), syscall.O_WRONLY)
			errs["open sem/remove O_WRONLY"] = openErr(m.Path("sem", "remove"), syscall.O_WRONLY)
			errs["open msg/K O_WRONLY"] = openErr(q, syscall.O_WRONLY)
			errs["open msg/K O_RDWR"] = openErr(q, syscall.O_RDWR)
			errs["open msg/K:1 O_WRONLY"] = openErr(q+":1", syscall.O_WRONLY)
			errs["open msg/create O_WRONLY"] = openErr(m.Path("msg", "create"), syscall.O_WRONLY)
			errs["open msg/remove O_WRONLY"] = openErr(m.Path("msg", "remove"), syscall.O_WRONLY)
			errs["write sem/K/0"] = runCErrno(t, false, "fsop", "write", set+"/0", "1")
			errs["write sem/K/0 =5"] = runCErrno(t, false, "fsop", "write", set+"/0", "=5")
			errs["write sem/K/semop"] = runCErrno(t, false, "fsop", "write", set+"/semop", "0:-1 1:+1")
			errs["write msg/K (msgsnd)"] = runCErrno(t, false, "fsop", "write", q, "more")
			errs["read msg/K (msgrcv)"] = runCErrno(t, false, "fsop", "read", q)
			errs["read msg/K:1 (msgrcv)"] = runCErrno(t, false, "fsop", "read", q+":1")
			errs["write sem/create"] = runCErrno(t, false, "fsop", "write", m.Path("sem", "create"), fmt.Sprintf("%#x 2", newS))
			errs["write msg/create"] = runCErrno(t, false, "fsop", "write", m.Path("msg", "create"), fmt.Sprintf("%#x", newQ))
			errs["write sem/remove"] = runCErrno(t, false, "fsop", "write", m.Path("sem", "remove"), keyName(kS))
			errs["write msg/remove"] = runCErrno(t, false, "fsop", "write", m.Path("msg", "remove"), keyName(kQ))
			errs["rmdir sem/K"] = errnoOf(syscall.Rmdir(set))
			errs["unlink msg/K"] = errnoOf(syscall.Unlink(q))
			errs["chmod sem/K"] = errnoOf(syscall.Chmod(set, 0600))
			errs["chmod sem/K/0"] = errnoOf(syscall.Chmod(set+"/0", 0600))
			errs["chown sem/K"] = errnoOf(syscall.Chown(set, 1000, 1000))
			errs["chown sem/K/1"] = errnoOf(syscall.Chown(set+"/1", 1000, -1))
			errs["chmod msg/K"] = errnoOf(syscall.Chmod(q, 0600))
			errs["chown msg/K"] = errnoOf(syscall.Chown(q, 1000, 1000))
			errs["mkdir sem/x"] = errnoOf(syscall.Mkdir(m.Path("sem", keyName(newS)), 0755))
			errs["create msg/x"] = openErr(m.Path("msg", keyName(newQ)), syscall.O_CREAT|syscall.O_WRONLY)
			for what, e := range errs {
				if e != syscall.EROFS {
					t.Errorf("%s on a read-only mount: %v, want EROFS", what, e)
				}
			}
			// A read of a queue through an open handle: EROFS, the
			// message stays; so with O_NONBLOCK.
			for _, flag := range []int{syscall.O_RDONLY, syscall.O_RDONLY | syscall.O_NONBLOCK} {
				fd, err := syscall.Open(q, flag, 0)
				if err != nil {
					if errnoOf(err) != syscall.EROFS {
						t.Errorf("open msg/K flags %#x: %v, want success or EROFS", flag, err)
					}
					continue
				}
				buf := make([]byte, 100)
				if n, err := syscall.Read(fd, buf); errnoOf(err) != syscall.EROFS {
					t.Errorf("read msg/K flags %#x: %d %v, want EROFS", flag, n, err)
				}
				syscall.Close(fd)
			}
			for _, script := range []string{
				"echo 1 > " + set + "/0", "echo =9 > " + set + "/1", "echo '0:+1' > " + set + "/semop",
				"echo more > " + q, "cat " + q, "head -c 10 " + q,
				"echo " + fmt.Sprintf("%#x 1", newS) + " > " + m.Path("sem", "create"),
				"echo " + fmt.Sprintf("%#x", newQ) + " > " + m.Path("msg", "create"),
				"echo " + keyName(kS) + " > " + m.Path("sem", "remove"),
				"echo " + keyName(kQ) + " > " + m.Path("msg", "remove"),
				"rmdir " + set, "rm -rf " + set, "rm -f " + q, "chmod 600 " + set, "chmod 600 " + q, "chown 1000 " + q,
			} {
				if _, _, err := sh(t, script); err == nil {
					t.Errorf("%q succeeded on a read-only mount", script)
				}
			}

			// Everything still reads.
			if got := mustSh(t, "cat "+m.Path("limits")); got != mustSh(t, "ipcs -l") {
				t.Errorf("limits on a read-only mount differ from ipcs -l:\n%s", got)
			}
			if got := mustSh(t, "cat "+m.Path("usage")); !strings.Contains(got, "used arrays") {
				t.Errorf("usage on a read-only mount: %q", got)
			}
			if row := viewTableByID(t, m.Path("sem", "status"), "semid")[idS]; row == nil || row["nsems"] != "2" {
				t.Errorf("sem/status row of set %d: %v", idS, row)
			}
			if row := viewTableByID(t, m.Path("msg", "status"), "msqid")[idQ]; row == nil || row["messages"] != "1" {
				t.Errorf("msg/status row of queue %d: %v", idQ, row)
			}
			if row := viewTableByID(t, set+"/status", "semnum")[0]; row == nil || row["value"] != "3" {
				t.Errorf("sem/K/status row 0: %v", row)
			}
			if got := mustSh(t, "cat "+set+"/0 "+set+"/1 "+set+"/semop"); got != "3\n0\n3 0\n" {
				t.Errorf("semaphore values on a read-only mount: %q", got)
			}
			if got := mustSh(t, "cat "+q+":peek"); !strings.Contains(got, `"hello"`) {
				t.Errorf("msg/K:peek on a read-only mount: %q", got)
			}
			setD, msgD := before.sem[idS], before.msg[idQ]
			viewCheckXattrs(t, set+"/0", viewSemFileAttrs(&setD, idS, 0, before.sems[idS][0]))
			viewCheckXattrs(t, q, viewMsgAttrs(&msgD, idQ))
			viewCheckXattrs(t, set, viewSemSetAttrs(&setD, idS))
			viewCheckXattrsFixed(t, set, syscall.EROFS)
			viewCheckXattrsFixed(t, q, syscall.EROFS)

			viewCompare(t, "the read-only mount", before, viewSnapshot(t, o))
			if id, err := viewSemGetID(newS); err == nil {
				viewSemRemove(id)
				t.Errorf("a create on a read-only mount made set %s", keyName(newS))
			}
			if id, err := viewMsgGetID(newQ); err == nil {
				viewMsgRemove(id)
				t.Errorf("a create on a read-only mount made queue %s", keyName(newQ))
			}
		})
	}
}

// viewSemGetID and viewMsgGetID are semget(key, 0, 0) and msgget(key, 0).
func viewSemGetID(key uint32) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_SEMGET, uintptr(int32(key)), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func viewMsgGetID(key uint32) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_MSGGET, uintptr(int32(key)), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// viewReadLine reads one line from r with a generous deadline.
func viewReadLine(t testing.TB, r io.Reader, what string) string {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		ch <- line
	}()
	select {
	case line := <-ch:
		return line
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no line", what)
		return ""
	}
}

// TestViewsAttachedLoneThread: a process whose main thread has ended
// while another goes on (its /proc/PID/maps is empty, its threads' are
// not) still shows as attached, in status and in user.ipc.attached.
func TestViewsAttachedLoneThread(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := newSegment(t, key, 4096, 0600)
	p := semStart(t, cProgram(t, "viewtool"), "lonethread", strconv.Itoa(id))
	if line := p.line(t); line != "attached" {
		t.Fatalf("viewtool lonethread: %q", line)
	}
	pid := p.cmd.Process.Pid
	maps := fmt.Sprintf("/proc/%d/maps", pid)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, err := os.ReadFile(maps); err == nil && len(b) == 0 {
			break // the main thread is a zombie now
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never emptied", maps)
		}
	}
	want := strconv.Itoa(pid)
	if v, e := viewGetxattr(m.Path("shm", keyName(key)), "user.ipc.attached"); e != 0 || v != want {
		t.Errorf("user.ipc.attached: %q, %v; want %q", v, e, want)
	}
	if got := viewTableByID(t, m.Path("shm", "status"), "shmid")[id]["attached"]; got != want {
		t.Errorf("status: attached %q, want %q", got, want)
	}
}

// TestViewsOutOfDescriptors: a daemon out of file descriptors (every
// open of a segment holds one) answers its views with EMFILE, not with
// rows that show no process attached.
func TestViewsOutOfDescriptors(t *testing.T) {
	m := mount(t)
	key := newKey()
	id := newSegment(t, key, 4096, 0600)
	attach(t, id, 0)
	lim := unix.Rlimit{Cur: 64, Max: 64}
	if err := unix.Prlimit(m.cmd.Process.Pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		t.Fatal(err)
	}
	p := m.Path("shm", keyName(key))
	for i := 0; ; i++ {
		f, err := os.Open(p)
		if errnoOf(err) == syscall.EMFILE {
			break
		}
		if err != nil || i > 1000 {
			t.Fatalf("open %d: %v, want EMFILE in the end", i, err)
		}
		t.Cleanup(func() { f.Close() })
	}
	if b, err := os.ReadFile(m.Path("shm", "status")); errnoOf(err) != syscall.EMFILE {
		t.Errorf("status with no descriptor left: %v, want EMFILE\n%s", err, b)
	}
	if v, e := viewGetxattr(p, "user.ipc.attached"); e != syscall.EMFILE {
		t.Errorf("user.ipc.attached with no descriptor left: %q, %v; want EMFILE", v, e)
	}
}

// TestViewsAttachedSeenByCaller: the attached pids a caller is shown are
// those whose maps it may read itself, as fuser run by it finds: another
// user sees its own process, not root's; root sees both.
func TestViewsAttachedSeenByCaller(t *testing.T) {
	m := mount(t, "--allow-other")
	openToOthers(t, m.Dir)
	key := newKey()
	id := newSegment(t, key, 4096, 0666)
	attach(t, id, 0) // by the test, as root
	bin := cProgram(t, "viewtool")
	openToOthers(t, bin)
	p := semStart(t, "setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", bin, "lonethread", strconv.Itoa(id))
	if line := p.line(t); line != "attached" {
		t.Fatalf("viewtool lonethread as uid 1000: %q", line)
	}
	mine, theirs := os.Getpid(), p.cmd.Process.Pid
	path := m.Path("shm", keyName(key))
	both := fmt.Sprintf("%d,%d", min(mine, theirs), max(mine, theirs))
	if v, e := viewGetxattr(path, "user.ipc.attached"); e != 0 || v != both {
		t.Errorf("user.ipc.attached as root: %q, %v; want %q", v, e, both)
	}
	if got := viewTableByID(t, m.Path("shm", "status"), "shmid")[id]["attached"]; got != both {
		t.Errorf("status as root: attached %q, want %q", got, both)
	}
	out, errs, err := asUser(t, fmt.Sprintf("getfattr --only-values -n user.ipc.attached %s; echo; awk '$2 == %d { print $13 }' %s",
		path, id, m.Path("shm", "status")))
	if f := strings.Fields(out); err != nil || len(f) != 2 || f[0] != strconv.Itoa(theirs) || f[1] != strconv.Itoa(theirs) {
		t.Errorf("as uid 1000: user.ipc.attached and status's attached: %q (%v %s); want %d for both", out, err, errs, theirs)
	}
}

// TestViewTail: tail reads the end of a view longer than the size a stat
// shows (4096): tail -n seeks to the end, where the kernel asks the size
// of the open's own text, and reads back from there; tail -c reads it
// all. Each shows what the last lines and bytes of a cat of the view are.
// Checked on the three kinds of view: a folder's status, a set's status
// and a queue's peek, each made longer than 4096 bytes.
func TestViewTail(t *testing.T) {
	m := mount(t)
	viewLongShmStatus(t, m)
	semKey := newKey()
	semNew(t, semKey, 200, 0600)
	msgKey := newKey()
	q := msgNewQueue(t, msgKey, 0600)
	for i := 0; i < 150; i++ {
		msgSend(t, q, int64(i+1), []byte(fmt.Sprintf("message number %d", i)))
	}
	for _, view := range []string{m.Path("shm", "status"), m.Path("sem", keyName(semKey), "status"), m.Path("msg", keyName(msgKey)+":peek")} {
		text := mustSh(t, "cat "+view)
		if len(text) <= 4096 {
			t.Fatalf("%s: %d bytes; the test wants more than 4096", view, len(text))
		}
		if st := statOf(t, view); st.Size != viewSizeWant {
			t.Errorf("stat %s: size %d, want 4096", view, st.Size)
		}
		lines := strings.SplitAfter(text, "\n")
		lines = lines[:len(lines)-1] // after the last newline
		for _, n := range []int{1, 3, 40} {
			want := strings.Join(lines[max(0, len(lines)-n):], "")
			if got := mustSh(t, fmt.Sprintf("tail -n %d %s", n, view)); got != want {
				t.Errorf("tail -n %d %s: %q, want %q", n, view, got, want)
			}
		}
		for _, n := range []int{10, 5000} {
			if got := mustSh(t, fmt.Sprintf("tail -c %d %s", n, view)); got != text[len(text)-n:] {
				t.Errorf("tail -c %d %s: %q, want the last %d bytes of cat's", n, view, got, n)
			}
		}
	}
}

// TestViewStatWhileOpen: a stat or fstat of a view shows 4096 even while
// some open of it, with a longer text, is held (go-fuse lends a stat the
// first open it finds, and the kernel sends a close only after close(2)
// returns); only a seek to the end sees the open's own length.
func TestViewStatWhileOpen(t *testing.T) {
	m := mount(t)
	viewLongShmStatus(t, m)
	view := m.Path("shm", "status")
	held, err := os.Open(view)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	text, err := io.ReadAll(held)
	if err != nil {
		t.Fatal(err)
	}
	if len(text) <= viewSizeWant {
		t.Fatalf("%s: %d bytes; the test wants more than %d", view, len(text), viewSizeWant)
	}
	if st := statOf(t, view); st.Size != viewSizeWant {
		t.Errorf("stat with an open held: size %d, want %d", st.Size, viewSizeWant)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(held.Fd()), &st); err != nil || st.Size != viewSizeWant {
		t.Errorf("fstat of the open: size %d (%v), want %d", st.Size, err, viewSizeWant)
	}
	if end, err := held.Seek(0, io.SeekEnd); err != nil || end != int64(len(text)) {
		t.Errorf("seek to the end: %d (%v), want the open's length %d", end, err, len(text))
	}
}

// viewSizeWant is the size a view shows to stat (as sysfs files do).
const viewSizeWant = 4096

// viewLongShmStatus makes 30 segments, so that shm/status runs past 4096
// bytes.
func viewLongShmStatus(t *testing.T, m *Mount) {
	t.Helper()
	var script strings.Builder
	for i := 0; i < 30; i++ {
		k := newKey()
		removeShmLater(t, k)
		fmt.Fprintf(&script, "echo %s 4096 > %s\n", keyName(k), m.Path("shm", "create"))
	}
	mustSh(t, script.String())
}
