package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCLIAllowOtherNeedsRoot: an ordinary user's daemon refuses
// allow_other, in both spellings, before mounting anything. It could not
// act as each caller, so it would lend every other user its own rights.
func TestCLIAllowOtherNeedsRoot(t *testing.T) {
	mnt := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(mnt, 0755); err != nil || os.Chown(mnt, 1000, 1000) != nil {
		t.Fatal("making the user's mountpoint: ", err)
	}
	openToOthers(t, mnt)
	openToOthers(t, ipcfsBin)
	tmp := t.TempDir() // the user's state directory goes here
	if err := os.Chmod(tmp, 0777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	for _, flag := range [][]string{{"--allow-other"}, {"-o", "allow_other"}} {
		args := append([]string{"--reuid=1000", "--regid=1000", "--clear-groups", ipcfsBin}, append(flag, mnt)...)
		cmd := exec.Command("setpriv", args...)
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR=", "TMPDIR="+tmp)
		out, err := runToEnd(t, cmd)
		if err == nil || !strings.Contains(out, "allow_other needs the daemon to run as root") {
			t.Errorf("an ordinary user's daemon with %v: %v %q; want it to refuse and say why", flag, err, out)
		}
		if lines := mountInfo(mnt); len(lines) != 0 {
			exec.Command("umount", "-l", mnt).Run()
			t.Errorf("mounted anyway with %v: %q", flag, lines)
		}
	}
}

// TestCLISignalCoveredMount: a daemon told to stop while another mount
// covers its own leaves that mount alone (unmounting goes by path, so it
// would take the mount on top): a tmpfs, or another daemon's mount of
// another IPC namespace on the same directory, which goes on serving.
func TestCLISignalCoveredMount(t *testing.T) {
	t.Run("tmpfs", func(t *testing.T) {
		m := mount(t)
		if err := unix.Mount("cover", m.Dir, "tmpfs", 0, ""); err != nil {
			t.Fatal(err)
		}
		defer unix.Unmount(m.Dir, unix.MNT_DETACH)
		mine := filepath.Join(m.Dir, "mine")
		if err := os.WriteFile(mine, []byte("x"), 0644); err != nil {
			t.Fatal(err)
		}
		m.cmd.Process.Signal(syscall.SIGTERM)
		if err := waitExit(t, m); err == nil || !strings.Contains(m.Log(), "another mount covers this one") {
			t.Errorf("ipcfs stopped while covered: %v; want exit 1 and why\n%s", err, m.Log())
		}
		if _, err := os.Stat(mine); err != nil {
			t.Errorf("the tmpfs on top after the daemon beneath stopped: %v", err)
		}
	})
	// Not covered but detached (umount -l) while a file is open, which
	// keeps the daemon serving it: a stop is no failure.
	t.Run("detached", func(t *testing.T) {
		m := mount(t)
		f, err := os.Open(m.Path("limits"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := unix.Unmount(m.Dir, unix.MNT_DETACH); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ReadAt(make([]byte, 1), 0); err != nil {
			t.Fatalf("reading an open file after umount -l: %v", err)
		}
		m.cmd.Process.Signal(syscall.SIGTERM)
		if err := waitExit(t, m); err != nil || strings.Contains(m.Log(), "covers") {
			t.Errorf("ipcfs stopped after umount -l: %v; want exit 0, silent\n%s", err, m.Log())
		}
	})
	t.Run("another-daemon", func(t *testing.T) {
		m := mount(t)
		top := startCmd(t, m.Dir, []string{"unshare", "--ipc", ipcfsBin})
		shmPollUntil(t, "the second daemon mounts on top", func() bool { return len(mountInfo(m.Dir)) == 2 })
		m.cmd.Process.Signal(syscall.SIGTERM)
		if err := waitExit(t, m); err == nil {
			t.Errorf("ipcfs stopped while covered: exit 0, want 1\n%s", m.Log())
		}
		if _, err := os.Stat(top.Path("shm", "status")); err != nil {
			t.Errorf("the other daemon's mount after the one beneath stopped: %v\n%s", err, top.Log())
		}
		top.cmd.Process.Signal(syscall.SIGTERM)
		if err := waitExit(t, top); err != nil {
			t.Errorf("the daemon on top, stopped: %v\n%s", err, top.Log())
		}
	})
}

// TestCLIStderrClosed: a daemon whose stderr is a pipe nobody reads any
// more (`ipcfs --debug DIR 2>&1 | head -1`) goes on serving: a write
// there fails, and must not kill it with SIGPIPE, leaving its mount dead.
func TestCLIStderrClosed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mnt")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ipcfsBin, "--debug", dir)
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
		for isMounted(dir) {
			if unix.Unmount(dir, unix.MNT_DETACH) != nil {
				break
			}
		}
	}()
	shmPollUntil(t, "the daemon mounts", func() bool { return isMounted(dir) })
	r.Close() // as head does after its line
	for i := 0; i < 20; i++ {
		if _, err := os.ReadDir(filepath.Join(dir, "shm")); err != nil {
			t.Fatalf("listing %d with the log's reader gone: %v", i, err)
		}
	}
	select {
	case err := <-done:
		done <- err
		t.Fatalf("the daemon exited with its log's reader gone: %v", err)
	default:
	}
}

// TestCLIHelperLeavesCwd: the background daemon of the mount helper form
// holds no working directory of its caller's (which would keep that file
// system busy) nor any other of its descriptors, and a relative
// mountpoint still names the right directory for the unmount at a
// signal.
func TestCLIHelperLeavesCwd(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "mnt")
	if out, err := helperMount(t, dir, "cd "+shQuote(parent)+" && exec 7>"+shQuote(filepath.Join(parent, "seven"))+" && "+ipcfsBin+" ipcfs mnt"); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	pids := daemonsOn("mnt")
	if len(pids) != 1 || !isMounted(dir) {
		t.Fatalf("after the helper: daemons %v, mounted %v", pids, isMounted(dir))
	}
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pids[0])); err != nil || cwd != "/" {
		t.Errorf("the background daemon's working directory: %q %v, want /", cwd, err)
	}
	// Nor any descriptor of its caller's beyond the standard streams.
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pids[0]))
	for _, fd := range fds {
		if l, _ := os.Readlink(fd); l == filepath.Join(parent, "seven") {
			t.Errorf("the background daemon holds its caller's fd 7 (%s, %s)", fd, l)
		}
	}
	syscall.Kill(pids[0], syscall.SIGTERM)
	shmPollUntil(t, "the background daemon exits on SIGTERM", func() bool { return processGone(pids[0]) })
	if isMounted(dir) {
		t.Errorf("%s still mounted after SIGTERM", dir)
	}
}

// TestCLIHelperDebug: the mount helper form with -o debug stays in the
// foreground, logging to its caller's stderr, as libfuse's daemons do
// (in the background the log would go to /dev/null).
func TestCLIHelperDebug(t *testing.T) {
	m := startCmd(t, filepath.Join(t.TempDir(), "mnt"), []string{ipcfsBin, "-o", "debug", "ipcfs"})
	m.waitMounted()
	if _, err := os.ReadDir(m.Path("shm")); err != nil {
		t.Fatal(err)
	}
	shmPollUntil(t, "the helper's log shows the listing's requests", func() bool { return strings.Contains(m.Log(), "READDIR") })
	select {
	case err := <-m.done:
		m.done <- err
		t.Errorf("the helper with -o debug went to the background (exit %v)", err)
	default:
	}
}

// TestCLIDoubleDash: after `--` every argument is positional, flag-like
// or not, wherever it comes: `ipcfs -- ipcfs --ro` is the mount helper
// form mounting the directory named "--ro", read-write, in the
// background.
func TestCLIDoubleDash(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "--ro")
	if out, err := helperMount(t, dir, "cd "+shQuote(parent)+" && "+ipcfsBin+" -- ipcfs --ro"); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	lines := mountInfo(dir)
	if len(lines) != 1 || !strings.HasPrefix(strings.Fields(lines[0])[5], "rw") {
		t.Errorf("after ipcfs -- ipcfs --ro: mounts %q, want ./--ro mounted rw", lines)
	}
}
