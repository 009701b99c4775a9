package integration

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tests of --ipc-ns, -o ipc_ns= and of ipcfs started under nsenter: the
// mount shows the objects of another IPC namespace (a container's), and
// only those, with binaries built with and without cgo (two ways into the
// namespace: a C constructor before the runtime starts, and
// AllThreadsSyscall).

// viewNamespace is a process alone in a new IPC namespace, holding
// objects made there with ipcmk and with viewtool nsobjects.
type viewNamespace struct {
	path                string // /proc/PID/ns/ipc
	pid                 int
	shmID, semID, msgID int // viewtool's objects, ids in the namespace
	cmd                 *exec.Cmd
	stdin               io.WriteCloser
}

// viewStartNamespace starts `unshare --ipc` of a shell that makes objects
// with ipcmk, then execs viewtool nsobjects, which makes a segment of
// size bytes, a set of 3 and a queue with the given keys and waits. It
// ends (and the namespace with its objects) when the test ends.
func viewStartNamespace(t testing.TB, shmKey uint32, size int, semKey, msgKey uint32) *viewNamespace {
	t.Helper()
	tool := cProgram(t, "viewtool")
	script := fmt.Sprintf("ipcmk -M 8192 -p 0600 >/dev/null && ipcmk -S 2 >/dev/null && ipcmk -Q -p 0640 >/dev/null && exec %s nsobjects %d %d %d %d",
		shQuote(tool), shmKey, size, semKey, msgKey)
	cmd := exec.Command("unshare", "--ipc", "bash", "-c", script)
	stdin, err := cmd.StdinPipe()
	viewMust(t, err)
	stdout, err := cmd.StdoutPipe()
	viewMust(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	viewMust(t, cmd.Start())
	ns := &viewNamespace{pid: cmd.Process.Pid, cmd: cmd, stdin: stdin}
	ns.path = fmt.Sprintf("/proc/%d/ns/ipc", ns.pid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Errorf("the namespace's process did not end")
			cmd.Process.Kill()
			<-done
		}
	})
	line := viewReadLine(t, stdout, "unshare --ipc viewtool nsobjects")
	if _, err := fmt.Sscan(line, &ns.shmID, &ns.semID, &ns.msgID); err != nil {
		t.Fatalf("viewtool nsobjects said %q: %v\n%s", line, err, stderr.String())
	}
	self, _ := os.Readlink("/proc/self/ns/ipc")
	if other, err := os.Readlink(ns.path); err != nil || other == self {
		t.Fatalf("the process is not in a new IPC namespace: %q %v (ours %q)", other, err, self)
	}
	return ns
}

// nsenter runs argv in the namespace and returns its stdout; it must
// succeed.
func (ns *viewNamespace) nsenter(t testing.TB, stdin string, argv ...string) string {
	t.Helper()
	cmd := exec.Command("nsenter", append([]string{"--ipc=" + ns.path, "--"}, argv...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nsenter %v: %v\n%s", argv, err, stderr.String())
	}
	return string(out)
}

// names returns the canonical names of the namespace's objects of one
// kind, as ipcs run in it lists them.
func (ns *viewNamespace) names(t testing.TB, flag string) []string {
	t.Helper()
	out := ns.nsenter(t, "", "ipcs", flag)
	var names []string
	header := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(line, "------"):
		case !header:
			header = true
		default:
			key, err1 := strconv.ParseUint(f[0], 0, 32)
			id, err2 := strconv.Atoi(f[1])
			if err1 != nil || err2 != nil {
				t.Fatalf("ipcs %s in the namespace: %q", flag, line)
			}
			names = append(names, viewName(int32(uint32(key)), id))
		}
	}
	slices.Sort(names)
	return names
}

// viewBuildIpcfs builds ../cmd/ipcfs with CGO_ENABLED=cgo into dir and
// checks the binary says so.
func viewBuildIpcfs(t testing.TB, dir, cgo string) string {
	t.Helper()
	bin := filepath.Join(dir, "ipcfs-cgo"+cgo)
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/ipcfs")
	cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=%s go build: %v\n%s", cgo, err, out)
	}
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m %s: %v", bin, err)
	}
	if !strings.Contains(string(out), "CGO_ENABLED="+cgo) {
		t.Fatalf("%s is not built with CGO_ENABLED=%s:\n%s", bin, cgo, out)
	}
	return bin
}

// viewMountCmd starts argv with a new mountpoint as its last argument
// (the daemon itself, or nsenter that execs it) and waits for the mount.
func viewMountCmd(t testing.TB, argv ...string) *Mount {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	m := &Mount{t: t, Dir: dir, done: make(chan error, 1), log: &bytes.Buffer{}}
	m.cmd = exec.Command(argv[0], append(argv[1:], dir)...)
	m.cmd.Stdout = &lockedWriter{m: &m.mu, w: m.log}
	m.cmd.Stderr = m.cmd.Stdout
	viewMust(t, m.cmd.Start())
	go func() { m.done <- m.cmd.Wait() }()
	t.Cleanup(m.stop)
	m.waitMounted()
	return m
}

// viewHolder is a process attached to a segment until released.
type viewHolder struct {
	pid   int
	stdin io.WriteCloser
	done  chan error
}

// viewHold starts argv (shmtool hold ID, possibly under nsenter), waits
// for it to say it attached, and detaches it when the test ends.
func viewHold(t testing.TB, argv ...string) *viewHolder {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	viewMust(t, err)
	stdout, err := cmd.StdoutPipe()
	viewMust(t, err)
	cmd.Stderr = os.Stderr
	viewMust(t, cmd.Start())
	h := &viewHolder{pid: cmd.Process.Pid, stdin: stdin, done: make(chan error, 1)}
	go func() { h.done <- cmd.Wait() }()
	t.Cleanup(h.release)
	if line := viewReadLine(t, stdout, fmt.Sprint(argv)); line != "attached\n" {
		t.Fatalf("%v: %q", argv, line)
	}
	return h
}

func (h *viewHolder) release() {
	if h.stdin == nil {
		return
	}
	h.stdin.Close()
	h.stdin = nil
	<-h.done
}

// viewRunBin runs bin with args to its end and returns its output and
// exit code.
func viewRunBin(t testing.TB, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	viewMust(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s %v did not end", bin, args)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), exit.ExitCode()
	}
	viewMust(t, err)
	return out.String(), 0
}

// TestNamespace: ipcfs started with --ipc-ns /proc/PID/ns/ipc, with
// -o ipc_ns=..., or under nsenter --ipc=..., built with cgo and without,
// shows exactly the objects of that namespace (none of the host's, not
// even one with the same key), and reading, writing, semop, msgsnd and
// the views act on the namespace's objects.
func TestNamespace(t *testing.T) {
	bins := t.TempDir()
	cgoBin := viewBuildIpcfs(t, bins, "1")
	pureBin := viewBuildIpcfs(t, bins, "0")

	// The host: a segment with the key the namespace's segment has too,
	// and objects of every kind with keys the namespace does not have.
	shared := newKey()
	const hostSize, nsSize = 4096, 3 * 4096
	hostShared := newSegment(t, shared, hostSize, 0600)
	hostOnly := newKey()
	newSegment(t, hostOnly, 4096, 0600)
	viewMakeSem(t, 0, 0, hostOnly, 1, 0600)
	viewMakeMsg(t, 0, 0, hostOnly, 0600)
	hostPriv := privateSegment(t, 4096, 0600)

	semKey, msgKey := newKey(), newKey()
	ns := viewStartNamespace(t, shared, nsSize, semKey, msgKey)
	// Limits of the namespace's own, unlike the host's, for limits to show.
	ns.nsenter(t, "", "sh", "-c", "echo 123456789 > /proc/sys/kernel/shmmax && echo 1000 > /proc/sys/kernel/shmall && "+
		"echo 77 > /proc/sys/kernel/shmmni && echo 4000 > /proc/sys/kernel/msgmax && echo 9000 > /proc/sys/kernel/msgmnb && "+
		"echo 55 > /proc/sys/kernel/msgmni && echo '100 2000 50 60' > /proc/sys/kernel/sem")
	nsLimits := ns.nsenter(t, "", "ipcs", "-l")
	for _, line := range []string{"max seg size (kbytes) = 120563", "max total shared memory (kbytes) = 4000", "max number of segments = 77",
		"max size of message (bytes) = 4000", "default max size of queue (bytes) = 9000", "max queues system wide = 55",
		"max semaphores per array = 100", "max semaphores system wide = 2000", "max ops per semop call = 50", "max number of arrays = 60"} {
		if !strings.Contains(nsLimits, line+"\n") {
			t.Fatalf("ipcs -l in the namespace lacks %q:\n%s", line, nsLimits)
		}
	}

	for i, c := range []struct {
		name string
		argv []string
	}{
		{"cgo --ipc-ns", []string{cgoBin, "--ipc-ns", ns.path}},
		{"cgo -o ipc_ns", []string{cgoBin, "-o", "ipc_ns=" + ns.path}},
		{"nocgo --ipc-ns", []string{pureBin, "--ipc-ns", ns.path}},
		{"nocgo -o ipc_ns", []string{pureBin, "-o", "ro,ipc_ns=" + ns.path}},
		{"nsenter cgo", []string{"nsenter", "--ipc=" + ns.path, cgoBin}},
		{"nsenter nocgo", []string{"nsenter", "--ipc=" + ns.path, pureBin}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := viewMountCmd(t, c.argv...)
			readOnly := strings.Contains(strings.Join(c.argv, " "), "ro,")
			if got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/ipc", m.cmd.Process.Pid)); err != nil || got != viewReadlink(t, ns.path) {
				t.Errorf("the daemon is in IPC namespace %q (%v), not %s's", got, err, ns.path)
			}

			// Exactly the namespace's objects.
			for _, k := range []struct{ kind, flag string }{{"shm", "-m"}, {"sem", "-s"}, {"msg", "-q"}} {
				want := append(ns.names(t, k.flag), "create", "remove", "status")
				slices.Sort(want)
				ents, err := os.ReadDir(m.Path(k.kind))
				viewMust(t, err)
				var got []string
				for _, e := range ents {
					got = append(got, e.Name())
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("ls %s: %v; the namespace has %v", k.kind, got, want)
				}
				if len(want) != 5 {
					t.Errorf("the namespace has %d objects of kind %s, want 2", len(want)-3, k.kind)
				}
				status := viewTableByID(t, m.Path(k.kind, "status"), map[string]string{"shm": "shmid", "sem": "semid", "msg": "msqid"}[k.kind])
				if len(status) != 2 {
					t.Errorf("%s/status has %d rows, want the namespace's 2: %v", k.kind, len(status), status)
				}
				if e := statErrno(m.Path(k.kind, keyName(hostOnly))); e != syscall.ENOENT {
					t.Errorf("the host's %s %s through the mount: %v, want ENOENT", k.kind, keyName(hostOnly), e)
				}
			}
			if e := statErrno(m.Path("shm", fmt.Sprintf("id-%d", hostPriv))); e != syscall.ENOENT {
				t.Errorf("the host's private segment id-%d through the mount: %v, want ENOENT", hostPriv, e)
			}
			if _, ok := viewTableByID(t, m.Path("shm", "status"), "shmid")[hostShared]; ok && hostShared != ns.shmID {
				t.Errorf("shm/status shows the host's segment %d", hostShared)
			}

			// The shared key names the namespace's segment.
			p := m.Path("shm", keyName(shared))
			if st := statOf(t, p); st.Size != nsSize {
				t.Errorf("%s: size %d, the namespace's segment has %d (the host's %d)", keyName(shared), st.Size, nsSize, hostSize)
			}
			if id, e := viewGetxattr(p, "user.ipc.id"); e != 0 || id != strconv.Itoa(ns.shmID) {
				t.Errorf("%s: user.ipc.id %q %v, the namespace's segment is %d", keyName(shared), id, e, ns.shmID)
			}

			// Data both ways.
			nsID := strconv.Itoa(ns.shmID)
			fromInside := fmt.Sprintf("round %d written inside", i)
			ns.nsenter(t, fromInside, cProgram(t, "shmtool"), "write", nsID, "4096")
			buf := make([]byte, len(fromInside))
			f, err := os.Open(p)
			viewMust(t, err)
			if _, err := f.ReadAt(buf, 4096); err != nil || string(buf) != fromInside {
				t.Errorf("read through the mount: %q %v, want %q", buf, err, fromInside)
			}
			f.Close()
			if !readOnly {
				fromHost := fmt.Sprintf("round %d written through the mount", i)
				f, err := os.OpenFile(p, os.O_WRONLY, 0)
				viewMust(t, err)
				if _, err := f.WriteAt([]byte(fromHost), 100); err != nil {
					t.Errorf("write through the mount: %v", err)
				}
				f.Close()
				if got := ns.nsenter(t, "", cProgram(t, "shmtool"), "read", nsID, "100", strconv.Itoa(len(fromHost))); got != fromHost {
					t.Errorf("shmtool read in the namespace: %q, want %q", got, fromHost)
				}

				// A semaphore set through the mount, seen inside.
				val := 10 + i
				if e := writeControl(t, m.Path("sem", keyName(semKey), "1"), fmt.Sprintf("=%d", val)); e != 0 {
					t.Errorf("=%d to sem/%s/1: %v", val, keyName(semKey), e)
				}
				out := ns.nsenter(t, "", "ipcs", "-s", "-i", strconv.Itoa(ns.semID))
				_, table, _ := strings.Cut(out, "semnum")
				rows := viewTable(t, "semnum"+table)
				if len(rows) != 3 || rows[1]["value"] != strconv.Itoa(val) {
					t.Errorf("ipcs -s -i in the namespace after =%d:\n%s", val, out)
				}
				if got, _ := viewGetxattr(m.Path("sem", keyName(semKey), "1"), "user.ipc.semval"); got != strconv.Itoa(val) {
					t.Errorf("user.ipc.semval %q, want %d", got, val)
				}

				// A message sent through the mount, received inside.
				msg := fmt.Sprintf("message %d", i)
				if e := writeControl(t, m.Path("msg", keyName(msgKey)), msg); e != 0 {
					t.Errorf("write to msg/%s: %v", keyName(msgKey), e)
				}
				if got, _ := viewGetxattr(m.Path("msg", keyName(msgKey)), "user.ipc.qnum"); got != "1" {
					t.Errorf("user.ipc.qnum %q after a send, want 1", got)
				}
				if got := strings.Fields(ns.nsenter(t, "", cProgram(t, "viewtool"), "msgrcv", strconv.Itoa(ns.msgID))); !slices.Equal(got, []string{"0", strconv.Itoa(len(msg))}) {
					t.Errorf("msgrcv in the namespace: %v, want a message of %d bytes", got, len(msg))
				}
				if got, _ := viewGetxattr(m.Path("msg", keyName(msgKey)), "user.ipc.qnum"); got != "0" {
					t.Errorf("user.ipc.qnum %q after the receive inside, want 0", got)
				}
			} else if e := writeControl(t, m.Path("msg", keyName(msgKey)), "x"); e != syscall.EROFS {
				t.Errorf("write to a queue through a read-only mount: %v, want EROFS", e)
			}
			if got := segmentBytes(t, hostShared); !bytes.Equal(got, make([]byte, hostSize)) {
				t.Error("the host's segment with the same key changed")
			}

			// A process of the namespace attached to its segment.
			h := viewHold(t, "nsenter", "--ipc="+ns.path, cProgram(t, "shmtool"), "hold", nsID)
			shmPollUntil(t, "user.ipc.attached shows the namespace's holder", func() bool {
				got, _ := viewGetxattr(p, "user.ipc.attached")
				return got == strconv.Itoa(h.pid)
			})
			if got, _ := viewGetxattr(p, "user.ipc.nattch"); got != "1" {
				t.Errorf("user.ipc.nattch %q with one holder, want 1", got)
			}
			if row := viewTableByID(t, m.Path("shm", "status"), "shmid")[ns.shmID]; row == nil || row["attached"] != strconv.Itoa(h.pid) || row["nattch"] != "1" {
				t.Errorf("shm/status row of the namespace's segment: %v, want attached %d", row, h.pid)
			}
			h.release()
			shmPollUntil(t, "the holder leaves user.ipc.attached", func() bool {
				got, _ := viewGetxattr(p, "user.ipc.attached")
				return got == ""
			})

			// The namespace's limits and usage.
			if got := mustSh(t, "cat "+m.Path("limits")); got != nsLimits {
				t.Errorf("limits:\n%s\nipcs -l in the namespace:\n%s", got, nsLimits)
			}
			if got, want := mustSh(t, "cat "+m.Path("usage")), ns.nsenter(t, "", "ipcs", "-u"); got != want {
				t.Errorf("usage:\n%s\nipcs -u in the namespace:\n%s", got, want)
			}
		})
	}

	// As mount(8) starts it, by itself in the background: the option
	// reaches the daemon that serves the mount.
	for _, c := range []struct{ name, script string }{
		{"mount helper", ipcfsBin + " ipcfs %s -o ipc_ns=" + ns.path},
		{"mount -t fuse", "mount -t fuse -o ipc_ns=" + ns.path + " " + shQuote(ipcfsBin+"#ipcfs") + " %s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "mnt")
			if out, err := helperMount(t, dir, fmt.Sprintf(c.script, dir)); err != nil {
				t.Fatalf("%s: %v\n%s", fmt.Sprintf(c.script, dir), err, out)
			}
			pids := daemonsOn(dir)
			if len(pids) != 1 {
				t.Fatalf("background daemons on %s: %v", dir, pids)
			}
			if got := viewReadlink(t, fmt.Sprintf("/proc/%d/ns/ipc", pids[0])); got != viewReadlink(t, ns.path) {
				t.Errorf("the background daemon is in IPC namespace %s", got)
			}
			want := ns.names(t, "-m")
			ents, err := os.ReadDir(filepath.Join(dir, "shm"))
			viewMust(t, err)
			var got []string
			for _, e := range ents {
				if n := e.Name(); n != "create" && n != "remove" && n != "status" {
					got = append(got, n)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("ls shm: %v; the namespace has %v", got, want)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "limits")); err != nil || string(b) != nsLimits {
				t.Errorf("limits: %v\n%s\nipcs -l in the namespace:\n%s", err, b, nsLimits)
			}
			if st := statOf(t, filepath.Join(dir, "shm", keyName(shared))); st.Size != nsSize {
				t.Errorf("%s: size %d, the namespace's segment has %d", keyName(shared), st.Size, nsSize)
			}
			mustSh(t, "umount "+dir)
			shmPollUntil(t, "the background daemon exits after umount", func() bool { return processGone(pids[0]) })
		})
	}

	// A path that is no IPC namespace: the daemon says so and exits.
	for _, bin := range []string{cgoBin, pureBin} {
		for _, args := range [][]string{{"--ipc-ns", "/nonexistent/ns/ipc"}, {"--ipc-ns", "/proc/self/ns/net"}, {"-o", "ipc_ns=/proc/self/ns/uts"}} {
			dir := filepath.Join(t.TempDir(), "mnt")
			out, code := viewRunBin(t, bin, append(args, dir)...)
			if code == 0 {
				t.Errorf("%s %v: exit 0\n%s", filepath.Base(bin), args, out)
			}
			if !strings.Contains(out, "ipc") {
				t.Errorf("%s %v: the message does not say what failed: %q", filepath.Base(bin), args, out)
			}
			if isMounted(dir) {
				t.Errorf("%s %v: mounted anyway", filepath.Base(bin), args)
				viewUnmount(t, dir)
			}
		}
	}
}

func viewReadlink(t testing.TB, path string) string {
	t.Helper()
	s, err := os.Readlink(path)
	viewMust(t, err)
	return s
}

// viewUnmount detaches a mount a failed test left.
func viewUnmount(t testing.TB, dir string) {
	t.Helper()
	if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
		t.Errorf("unmount %s: %v", dir, err)
	}
}
