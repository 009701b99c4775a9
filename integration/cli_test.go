package integration

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// runIpcfs runs ipcfs with args to completion (for flags that exit at
// once) and returns its output and exit code.
func runIpcfs(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := runToEnd(t, exec.Command(ipcfsBin, args...))
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out, exit.ExitCode()
	}
	if err != nil {
		t.Fatalf("ipcfs %v: %v", args, err)
	}
	return out, 0
}

// runToEnd runs cmd, failing the test if it has not returned in 30 s, and
// returns its output and error. Output goes to a file, not a pipe, so a
// daemon it leaves in the background (keeping stderr) cannot hold it up.
func runToEnd(t *testing.T, cmd *exec.Cmd) (string, error) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not return", cmd.Args)
	}
	b, _ := os.ReadFile(out.Name())
	return string(b), err
}

// mountInfo returns the /proc/self/mountinfo lines of FUSE mounts on dir.
func mountInfo(dir string) []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var lines []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir && strings.Contains(line, " - fuse") {
			lines = append(lines, line)
		}
	}
	return lines
}

// waitExit waits for the daemon of m to exit and returns how; the result
// is put back for the harness's own cleanup.
func waitExit(t *testing.T, m *Mount) error {
	t.Helper()
	select {
	case err := <-m.done:
		m.done <- err
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("ipcfs did not exit\n%s", m.Log())
		return nil
	}
}

// daemonsOn finds the ipcfs processes serving dir (by executable and
// command line), for a daemon that runs in the background.
func daemonsOn(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err != nil || exe != ipcfsBin {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for _, arg := range bytes.Split(cmdline, []byte{0}) {
			if string(arg) == dir {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// processGone reports whether pid has exited (vanished, or a zombie that
// its new parent has yet to reap).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

// TestCLIVersion: --version prints a version and exits 0.
func TestCLIVersion(t *testing.T) {
	out, code := runIpcfs(t, "--version")
	if code != 0 {
		t.Errorf("--version exit %d", code)
	}
	if !regexp.MustCompile(`^ipcfs v?\d+\.\d+(\.\d+)?\S*\n$`).MatchString(out) {
		t.Errorf("--version printed %q", out)
	}
}

// TestCLIHelp: --help (and -h) print usage and exit 0.
func TestCLIHelp(t *testing.T) {
	for _, flag := range []string{"--help", "-h", "-help"} {
		out, code := runIpcfs(t, flag)
		if code != 0 {
			t.Errorf("%s exit %d", flag, code)
		}
		if !strings.Contains(out, "Usage") || !strings.Contains(out, "MOUNTPOINT") {
			t.Errorf("%s printed %q", flag, out)
		}
		for _, name := range []string{"--allow-other", "--ro", "--debug", "--ipc-ns", "-f", "-o", "--version", "--help"} {
			if !strings.Contains(out, "\n  "+name+" ") { // a line of the flag list
				t.Errorf("%s does not mention %s", flag, name)
			}
		}
		// Asked for, the usage is output, not an error: `ipcfs --help | less`.
		var stdout, stderr strings.Builder
		cmd := exec.Command(ipcfsBin, flag)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || !strings.Contains(stdout.String(), "Usage") || stderr.Len() != 0 {
			t.Errorf("%s: %v, stdout %q, stderr %q", flag, err, stdout.String(), stderr.String())
		}
	}
}

// TestCLIBadArguments: an unknown flag or option, or the wrong number of
// arguments, exits non-zero and mounts nothing.
func TestCLIBadArguments(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mnt")
	for _, args := range [][]string{
		{"--bogus", dir},
		{dir, "--bogus"},
		{"-o", "bogus", dir},
		{"-o", "ro,nonsense", dir},
		{"--ro=maybe", dir},
		{"-o", "remount,rw", dir},
		{"--ipc-ns", "/nonexistent", dir},
		{"--ipc-ns", "", dir},
		{"-o", "ipc_ns=", dir},
		{},
		{"a", "b", dir},
	} {
		out, code := runIpcfs(t, args...)
		if code == 0 {
			t.Errorf("ipcfs %q exited 0: %s", args, out)
		}
		if out == "" {
			t.Errorf("ipcfs %q said nothing", args)
		}
		// What went wrong is said once, on the first line, and the usage
		// is pointed to rather than poured out.
		first, _, _ := strings.Cut(out, "\n")
		if !strings.HasPrefix(first, "ipcfs: ") || strings.Count(out, first[len("ipcfs: "):]) != 1 || strings.Contains(out, "Usage") {
			t.Errorf("ipcfs %q printed %q", args, out)
		}
		if lines := mountInfo(dir); len(lines) != 0 {
			t.Fatalf("ipcfs %q mounted: %q", args, lines)
		}
		// A flag is named as it was spelled.
		if slices.Contains(args, "--bogus") && !strings.Contains(first, "--bogus") {
			t.Errorf("ipcfs %q printed %q, naming the flag otherwise", args, first)
		}
	}
	if pids := daemonsOn(dir); len(pids) != 0 {
		t.Errorf("daemons left running: %v", pids)
	}

	// An empty MOUNTPOINT (an unset variable) is no directory, as for
	// mount(8), not the working directory.
	cwd := t.TempDir()
	for _, args := range [][]string{{""}, {"--", ""}, {"ipcfs", ""}} {
		cmd := exec.Command(ipcfsBin, args...)
		cmd.Dir = cwd
		out, err := runToEnd(t, cmd)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(out, "empty MOUNTPOINT") {
			t.Errorf("ipcfs %q: %v, %q; want exit 2", args, err, out)
		}
		if lines := mountInfo(cwd); len(lines) != 0 {
			t.Fatalf("ipcfs %q mounted on the working directory: %q", args, lines)
		}
	}
}

// TestCLIKeepsIgnoredSignals: a daemon started with SIGHUP and SIGINT
// ignored (nohup, a script's background job) keeps serving through them,
// and still stops on SIGTERM.
func TestCLIKeepsIgnoredSignals(t *testing.T) {
	m := mountWrapped(t, []string{"bash", "-c", `trap '' HUP INT; exec "$0" "$@"`})
	key := newKey()
	id := newSegment(t, key, 4096, 0600)
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT} {
		if err := m.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	// A daemon that took them would be gone well within this.
	time.Sleep(300 * time.Millisecond)
	checkStatMatches(t, m.Path("shm", keyName(key)), id)
	if lines := mountInfo(m.Dir); len(lines) != 1 {
		t.Errorf("after SIGHUP and SIGINT, ignored: mounted %q", lines)
	}
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, m); err != nil {
		t.Errorf("ipcfs exited with %v on SIGTERM\n%s", err, m.Log())
	}
}

// TestCLICreatesMountpoint: a missing mountpoint (and its parents) is made.
func TestCLICreatesMountpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "mnt")
	m := startAt(t, dir)
	m.waitMounted()
	key := newKey()
	id := newSegment(t, key, 4096, 0600)
	checkStatMatches(t, m.Path("shm", keyName(key)), id)

	// A mountpoint that is a dangling symbolic link is refused, naming
	// the link (mkdir would only say "file exists"), and nothing is made.
	link := filepath.Join(t.TempDir(), "link")
	target := filepath.Join(filepath.Dir(link), "nowhere")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	out, code := runIpcfs(t, link)
	if code == 0 || !strings.Contains(out, "a symbolic link to "+target+", which does not exist") {
		t.Errorf("ipcfs on a dangling link: exit %d, %q", code, out)
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ipcfs on a dangling link made its target: %v", err)
	}
	if lines := mountInfo(link); len(lines) != 0 {
		t.Fatalf("mounted: %q", lines)
	}
}

// TestCLISignals: SIGTERM and SIGINT unmount and exit 0, also while a
// file of the mount is open.
func TestCLISignals(t *testing.T) {
	for _, c := range []struct {
		name string
		sig  syscall.Signal
		busy bool
	}{
		{"SIGTERM", syscall.SIGTERM, false},
		{"SIGINT", syscall.SIGINT, false},
		{"SIGHUP", syscall.SIGHUP, false}, // the terminal of a foreground daemon closed
		{"SIGTERM-busy", syscall.SIGTERM, true},
		{"SIGINT-busy", syscall.SIGINT, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := mount(t)
			key := newKey()
			id := newSegment(t, key, 4096, 0600)
			var f *os.File
			if c.busy {
				var err error
				if f, err = os.Open(m.Path("shm", keyName(key))); err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if n := nattch(t, id); n != 1 {
					t.Fatalf("nattch %d with the file open", n)
				}
			}
			if err := m.cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			if err := waitExit(t, m); err != nil {
				t.Errorf("ipcfs exited with %v on %s\n%s", err, c.name, m.Log())
			}
			if lines := mountInfo(m.Dir); len(lines) != 0 {
				t.Errorf("still mounted after %s: %q", c.name, lines)
			}
			if c.busy {
				// The daemon's attachment died with it.
				shmPollUntil(t, "nattch is 0 after the daemon exits", func() bool { return nattch(t, id) == 0 })
				// A read through the dead mount fails, or, for a read-only
				// open the kernel serves from the segment's own file
				// (passthrough), shows the segment as it is now.
				seg := attach(t, id, unix.SHM_RDONLY)
				buf := make([]byte, 16)
				if n, err := f.ReadAt(buf, 0); err == nil && !bytes.Equal(buf[:n], seg[:n]) {
					t.Errorf("a read through the dead mount gave %q, the segment has %q", buf[:n], seg[:n])
				}
			}
			// The directory is an ordinary empty directory again.
			if ents, err := os.ReadDir(m.Dir); err != nil || len(ents) != 0 {
				t.Errorf("mountpoint after %s: %v %v", c.name, ents, err)
			}
		})
	}
}

// TestCLIOptions: -o allow_other,debug lets other users in and logs
// requests; -o ro and --ro mount read-only.
func TestCLIOptions(t *testing.T) {
	m := mount(t, "-o", "allow_other,debug")
	openToOthers(t, m.Dir)
	lines := mountInfo(m.Dir)
	if len(lines) != 1 || !strings.Contains(lines[0], "allow_other") {
		t.Errorf("mountinfo with -o allow_other: %q", lines)
	}
	key := newKey()
	id := newSegment(t, key, 4096, 0644)
	if e := runCErrno(t, true, "fsop", "read", m.Path("shm", keyName(key))); e != 0 {
		t.Errorf("uid 1000 reading a 0644 segment through an allow_other mount: %v", e)
	}
	checkStatMatches(t, m.Path("shm", keyName(key)), id)
	shmPollUntil(t, "the debug log shows requests", func() bool { return strings.Contains(m.Log(), "LOOKUP") })

	// Without allow_other, FUSE keeps other users out.
	plain := mount(t)
	openToOthers(t, plain.Dir)
	if e := runCErrno(t, true, "fsop", "stat", plain.Path("shm")); e != syscall.EACCES {
		t.Errorf("uid 1000 on a mount without allow_other: %v, want EACCES", e)
	}
	if strings.Contains(plain.Log(), "LOOKUP") {
		t.Errorf("a mount without debug logs requests:\n%s", plain.Log())
	}

	for _, flags := range [][]string{{"-o", "ro"}, {"--ro"}, {"-o", "rw,nosuid,nodev,ro"}, {"-o", "rw", "--ro"}} {
		ro := mount(t, flags...)
		lines := mountInfo(ro.Dir)
		if len(lines) != 1 || !strings.HasPrefix(strings.Fields(lines[0])[5], "ro") {
			t.Errorf("mountinfo with %q: %q", flags, lines)
		}
		if _, err := syscall.Open(ro.Path("shm", keyName(key)), syscall.O_RDWR, 0); errnoOf(err) != syscall.EROFS {
			t.Errorf("open O_RDWR with %q: %v, want EROFS", flags, err)
		}
	}
	// The last of ro and rw counts, as for mount(8).
	for _, flags := range [][]string{{"-o", "ro,rw"}, {"--ro", "-o", "rw"}, {"-o", "ro", "--ro=false"}} {
		rw := mount(t, flags...)
		lines := mountInfo(rw.Dir)
		if len(lines) != 1 || !strings.HasPrefix(strings.Fields(lines[0])[5], "rw") {
			t.Errorf("mountinfo with %q: %q", flags, lines)
		}
		fd, err := syscall.Open(rw.Path("shm", keyName(key)), syscall.O_RDWR, 0)
		if err != nil {
			t.Errorf("open O_RDWR with %q: %v, want it to open", flags, err)
		} else {
			syscall.Close(fd)
		}
	}
}

// TestCLIGenericOptions: mount(8)'s own options given with -o reach the
// kernel (noexec, noatime, sync...), in the order given, and every mount
// is nosuid and nodev, and noexec unless -o exec.
func TestCLIGenericOptions(t *testing.T) {
	for _, c := range []struct {
		opts      string
		want, not []string
		flags     int64 // statfs f_flags that must be set
	}{
		{"noexec,noatime,sync", []string{"noexec", "noatime", "sync"}, nil, unix.ST_NOEXEC | unix.ST_NOATIME | unix.ST_SYNCHRONOUS},
		{"noexec,exec,nodiratime,dirsync", []string{"nodiratime", "dirsync"}, []string{"noexec"}, unix.ST_NODIRATIME},
		{"suid,dev", []string{"nosuid", "nodev", "noexec"}, nil, unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC},
		{"exec", nil, []string{"noexec"}, 0},
	} {
		m := mount(t, "-o", c.opts)
		lines := mountInfo(m.Dir)
		if len(lines) != 1 {
			t.Fatalf("-o %s: mountinfo %q", c.opts, lines)
		}
		// Per-mount options, then the super block's (sync, dirsync).
		f := strings.Fields(lines[0])
		have := strings.Split(f[5]+","+f[len(f)-1], ",")
		for _, o := range append(c.want, "nosuid", "nodev") {
			if !slices.Contains(have, o) {
				t.Errorf("-o %s: mount options %q lack %s", c.opts, have, o)
			}
		}
		for _, o := range c.not {
			if slices.Contains(have, o) {
				t.Errorf("-o %s: mount options %q have %s", c.opts, have, o)
			}
		}
		var st unix.Statfs_t
		if err := unix.Statfs(m.Dir, &st); err != nil || st.Flags&c.flags != c.flags {
			t.Errorf("-o %s: statfs flags %#x, want %#x set (%v)", c.opts, st.Flags, c.flags, err)
		}
	}
}

// TestCLIRecoversDeadMount: after the daemon is killed, its dead mount
// ("transport endpoint is not connected") is cleared by the next ipcfs
// started on the same mountpoint.
func TestCLIRecoversDeadMount(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mnt")
	m1 := startAt(t, dir)
	m1.waitMounted()
	if err := m1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitExit(t, m1)
	if e := statErrno(dir); e != syscall.ENOTCONN {
		t.Fatalf("stat of the dead mount: %v, want ENOTCONN", e)
	}

	m2 := startAt(t, dir)
	deadline := time.Now().Add(20 * time.Second)
	for statErrno(filepath.Join(dir, "shm")) != 0 {
		select {
		case err := <-m2.done:
			m2.done <- err
			t.Fatalf("ipcfs exited on a dead mount: %v\n%s", err, m2.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ipcfs did not mount over the dead mount\n%s", m2.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if lines := mountInfo(dir); len(lines) != 1 {
		t.Errorf("mounts on %s: %q, want just the new one", dir, lines)
	}
	key := newKey()
	id := newSegment(t, key, 4096, 0600)
	checkStatMatches(t, m2.Path("shm", keyName(key)), id)

	// SIGTERM still ends the new daemon cleanly.
	m2.cmd.Process.Signal(syscall.SIGTERM)
	if err := waitExit(t, m2); err != nil {
		t.Errorf("the new ipcfs exited with %v\n%s", err, m2.Log())
	}
	if lines := mountInfo(dir); len(lines) != 0 {
		t.Errorf("still mounted: %q", lines)
	}
}

// helperMount runs ipcfs as mount(8) runs a helper (by the command in
// args) and makes sure that, whatever happens, the mount is gone and the
// background daemon has exited when the test ends.
func helperMount(t *testing.T, dir string, script string) (string, error) {
	t.Helper()
	t.Cleanup(func() {
		for isMounted(dir) {
			if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
				t.Errorf("unmounting %s: %v", dir, err)
				break
			}
		}
		for _, pid := range daemonsOn(dir) {
			deadline := time.Now().Add(10 * time.Second)
			for !processGone(pid) && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if !processGone(pid) {
				t.Errorf("background ipcfs %d still running after unmount; killing it", pid)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	return runToEnd(t, exec.Command("bash", "-c", script))
}

// TestCLIMountHelper: called as mount.fuse3 calls it (source, mountpoint,
// -o options), ipcfs returns once mounted, leaving a daemon in the
// background that exits when the file system is unmounted.
func TestCLIMountHelper(t *testing.T) {
	for _, c := range []struct {
		name   string
		script func(dir string) string
	}{
		{"direct", func(dir string) string { return ipcfsBin + " ipcfs " + dir + " -o ro" }},
		{"mount.fuse3", func(dir string) string { return "mount -t fuse -o ro " + shQuote(ipcfsBin+"#ipcfs") + " " + dir }},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "mount.fuse3" {
				if _, err := exec.LookPath("mount.fuse3"); err != nil {
					t.Skip("mount.fuse3 is not installed")
				}
			}
			dir := filepath.Join(t.TempDir(), "mnt")
			key := newKey()
			id := newSegment(t, key, 4096, 0600)
			runC(t, "shmtool", "pattern", strconv.Itoa(id), "9")

			out, err := helperMount(t, dir, c.script(dir))
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.script(dir), err, out)
			}
			// Mounted by the time it returned: no waiting.
			lines := mountInfo(dir)
			if len(lines) != 1 || !strings.HasPrefix(strings.Fields(lines[0])[5], "ro") {
				t.Fatalf("after the helper returned: mounts %q", lines)
			}
			pids := daemonsOn(dir)
			if len(pids) != 1 {
				t.Fatalf("background daemons on %s: %v", dir, pids)
			}
			// Holding nothing of the helper's caller open: its output ends
			// when the helper returns.
			for fd := 0; fd <= 2; fd++ {
				if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pids[0], fd)); err != nil || l != "/dev/null" {
					t.Errorf("the background daemon's fd %d is %q (%v), want /dev/null", fd, l, err)
				}
			}
			// Named as itself for ps, pidof and killall, not "exe".
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pids[0])); strings.TrimSpace(string(comm)) != "ipcfs" {
				t.Errorf("the background daemon's name is %q, want ipcfs", comm)
			}
			b, err := os.ReadFile(filepath.Join(dir, "shm", keyName(key)))
			if err != nil || !bytes.Equal(b, patternBytes(4096, 9)) {
				t.Errorf("reading through the helper's mount: %d bytes, %v", len(b), err)
			}
			if _, err := syscall.Open(filepath.Join(dir, "shm", keyName(key)), syscall.O_RDWR, 0); errnoOf(err) != syscall.EROFS {
				t.Errorf("open O_RDWR on the helper's ro mount: %v, want EROFS", err)
			}

			mustSh(t, "umount "+dir)
			shmPollUntil(t, "the background daemon exits after umount", func() bool { return processGone(pids[0]) })
			if lines := mountInfo(dir); len(lines) != 0 {
				t.Errorf("still mounted after umount: %q", lines)
			}
		})
	}
}

// TestCLIMountHelperFails: a helper whose mount fails returns non-zero
// and leaves nothing mounted or running.
func TestCLIMountHelperFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0644); err != nil {
		t.Fatal(err)
	}
	out, err := helperMount(t, file, ipcfsBin+" ipcfs "+file+" -o ro")
	if err == nil {
		t.Errorf("mounting on a regular file succeeded: %s", out)
	}
	if lines := mountInfo(file); len(lines) != 0 {
		t.Errorf("a failed mount left %q", lines)
	}
	shmPollUntil(t, "no daemon is left", func() bool {
		for _, pid := range daemonsOn(file) {
			if !processGone(pid) {
				return false
			}
		}
		return true
	})
}

// TestCLISignalWithMountCopy: SIGTERM ends the daemon even when a copy of
// its mount lives on in another mount namespace (as a service's private
// /tmp holds one), which keeps the connection open after the unmount.
func TestCLISignalWithMountCopy(t *testing.T) {
	m := mount(t)
	holder := exec.Command("unshare", "-m", "--propagation", "private", "sleep", "120")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	shmPollUntil(t, "the copy of the mount in the new namespace", func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", holder.Process.Pid))
		return strings.Contains(string(b), " "+m.Dir+" ")
	})
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, m); err != nil {
		t.Errorf("ipcfs exited with %v\n%s", err, m.Log())
	}
	if lines := mountInfo(m.Dir); len(lines) != 0 {
		t.Errorf("still mounted here: %q", lines)
	}
}
