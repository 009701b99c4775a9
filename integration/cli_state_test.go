package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The undo records' place: one daemon per mountpoint, and a directory no
// other user can write.

// TestCLIOneDaemonPerMountpoint: a second daemon on a served mountpoint
// refuses to start (both would apply the same undo records), and the
// first goes on serving.
func TestCLIOneDaemonPerMountpoint(t *testing.T) {
	m := mount(t)
	out, code := runIpcfs(t, m.Dir)
	if code != 1 || !strings.Contains(out, "another ipcfs daemon serves "+m.Dir) {
		t.Errorf("a second daemon on %s: exit %d, %q; want 1 and why", m.Dir, code, out)
	}
	if lines := mountInfo(m.Dir); len(lines) != 1 {
		t.Errorf("mounts on %s: %q, want the first daemon's only", m.Dir, lines)
	}
	if _, err := os.ReadDir(m.Path("shm")); err != nil {
		t.Errorf("the first daemon after the second was refused: %v", err)
	}
	// The same directory through a symlink.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(m.Dir, link); err != nil {
		t.Fatal(err)
	}
	out, code = runIpcfs(t, link)
	if code != 1 || !strings.Contains(out, "another ipcfs daemon serves "+m.Dir) {
		t.Errorf("a second daemon on %s (a symlink to %s): exit %d, %q; want 1 and why", link, m.Dir, code, out)
	}
	if lines := mountInfo(m.Dir); len(lines) != 1 {
		t.Errorf("mounts on %s: %q, want the first daemon's only", m.Dir, lines)
	}
}

// TestCLIStateDirOfUser: an ordinary user's daemon without
// XDG_RUNTIME_DIR keeps its undo records in TMPDIR/ipcfs-UID, made 0700;
// one that another user made, or that others may write, or a symlink,
// stops the daemon before it mounts or reads anything there.
func TestCLIStateDirOfUser(t *testing.T) {
	tmp := t.TempDir()
	openToOthers(t, filepath.Join(tmp, "x"))
	if err := os.Chmod(tmp, 0777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(tmp, "ipcfs-1000")
	mnt := filepath.Join(tmp, "mnt")
	if err := os.Mkdir(mnt, 0755); err != nil || os.Chown(mnt, 1000, 1000) != nil {
		t.Fatal("making the user's mountpoint: ", err)
	}
	asUser := func() *exec.Cmd {
		cmd := exec.Command("setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", ipcfsBin, mnt)
		cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "XDG_RUNTIME_DIR=")
		return cmd
	}
	openToOthers(t, ipcfsBin)

	for _, c := range []struct {
		name string
		make func() error
	}{
		{"root's", func() error { return os.Mkdir(state, 0700) }},
		{"writable by others", func() error {
			if err := os.Mkdir(state, 0777); err != nil {
				return err
			}
			return errors2(os.Chmod(state, 0777), os.Chown(state, 1000, 1000))
		}},
		{"a symlink", func() error {
			target := filepath.Join(tmp, "target")
			if err := os.Mkdir(target, 0700); err != nil {
				return err
			}
			return errors2(os.Chown(target, 1000, 1000), os.Symlink(target, state))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.RemoveAll(state)
			os.RemoveAll(filepath.Join(tmp, "target"))
			if err := c.make(); err != nil {
				t.Fatal(err)
			}
			out, err := runToEnd(t, asUser())
			if err == nil || !strings.Contains(out, state+", which keeps the semop undo records, is not a directory of this user's") {
				t.Errorf("daemon with %s %s: %v %q; want it to stop and say why", c.name, state, err, out)
			}
			if lines := mountInfo(mnt); len(lines) != 0 {
				t.Errorf("mounted anyway: %q", lines)
			}
		})
	}

	// Missing: made, the user's alone. (The daemon then mounts through
	// fusermount3, if this machine lets ordinary users open /dev/fuse.)
	os.RemoveAll(state)
	os.RemoveAll(filepath.Join(tmp, "target"))
	done, logOf := startLogged(t, asUser())
	exited := false
	shmPollUntil(t, "the user's daemon mounts or exits", func() bool {
		select {
		case <-done:
			exited = true
			return true
		default:
			return len(mountInfo(mnt)) == 1
		}
	})
	if !exited {
		exec.Command("umount", mnt).Run()
		<-done
	} else if b := logOf(); !strings.Contains(b, "/dev/fuse") {
		t.Errorf("the user's daemon exited for another reason than /dev/fuse:\n%s", b)
	} else if !strings.Contains(b, "fusermount failed (exit status 1; its reason is above)") {
		t.Errorf("the user's daemon does not say that fusermount3 failed, or not in words:\n%s", b)
	} else {
		t.Logf("the user's daemon could not mount: %s", b)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(state, &st); err != nil || st.Mode != syscall.S_IFDIR|0700 || st.Uid != 1000 {
		t.Errorf("state directory: mode %o, uid %d, %v; want a directory 0700 of uid 1000", st.Mode, st.Uid, err)
	}
}

// errors2 is the first error of two.
func errors2(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// TestCLIKilledAtStartExits: a daemon killed (SIGKILL) at any moment of
// its start ends; the next one on the mountpoint clears the dead mount.
// (A daemon that waits on its own mount, as go-fuse's WaitMount does with
// a file it opens there, can be caught holding that file, and then hangs
// for good in its exit, flushing the file to itself.)
func TestCLIKilledAtStartExits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mnt")
	for i := range 60 {
		cmd := exec.Command(ipcfsBin, dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		t.Cleanup(func() { cmd.Process.Kill() }) // if the test stops early
		// Mounted, and its INIT answered: the last one's dead mount
		// (ENOTCONN) is gone. The kill lands around the end of the start.
		shmPollUntil(t, "the daemon mounts", func() bool {
			select {
			case err := <-done:
				t.Fatalf("start %d: the daemon exited before mounting: %v\n%s", i, err, out.String())
			default:
			}
			return len(mountInfo(dir)) > 0 && statErrno(dir) == 0
		})
		time.Sleep(time.Duration(i%4) * 500 * time.Microsecond) // anywhere in its start
		cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			abortFuse(dir)
			<-done
			t.Fatalf("start %d: a daemon killed after its mount showed did not end", i)
		}
	}
	m := startAt(t, dir)
	shmPollUntil(t, "a daemon serves the mountpoint again", func() bool {
		_, err := os.ReadDir(m.Path("shm"))
		return err == nil
	})
}

// abortFuse aborts the FUSE connection of the mount on dir (fusectl), so
// a daemon stuck on it can end.
func abortFuse(dir string) {
	lines := mountInfo(dir)
	if len(lines) == 0 {
		return
	}
	dev := strings.Fields(lines[0])[2] // major:minor
	conn := "/sys/fs/fuse/connections"
	exec.Command("mount", "-t", "fusectl", "none", conn).Run()
	os.WriteFile(conn+"/"+dev[strings.IndexByte(dev, ':')+1:]+"/abort", []byte("1"), 0)
	exec.Command("umount", conn).Run()
}

// TestCLILockRemovedAtExit: the lock file that keeps a mountpoint's undo
// records to one daemon goes when that daemon exits, so /run/ipcfs does
// not collect one per mountpoint ever used; a daemon started again on the
// mountpoint makes it again.
func TestCLILockRemovedAtExit(t *testing.T) {
	locks := func() map[string]bool {
		ents, _ := os.ReadDir("/run/ipcfs")
		m := map[string]bool{}
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".lock") {
				m[e.Name()] = true
			}
		}
		return m
	}
	before := locks()
	m := mount(t)
	var mine []string
	for name := range locks() {
		if !before[name] {
			mine = append(mine, name)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("lock files the daemon made: %v, want one", mine)
	}
	m.stop()
	if locks()[mine[0]] {
		t.Errorf("/run/ipcfs/%s is still there after the daemon exited", mine[0])
	}
	again := startAt(t, m.Dir)
	again.waitMounted()
	if !locks()[mine[0]] {
		t.Errorf("a daemon started again on %s made no /run/ipcfs/%s", m.Dir, mine[0])
	}
}

// TestCLIStateDirInUserNS: root of a user namespace of its own (a
// rootless container, `unshare -r`) is an ordinary user outside it: its
// undo records go under XDG_RUNTIME_DIR, as that user's would, where
// /run/ipcfs is not its own to use. (Whether it can then mount depends
// on this machine's /dev/fuse.)
func TestCLIStateDirInUserNS(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	mnt := filepath.Join(run, "mnt")
	if err := os.MkdirAll(mnt, 0755); err != nil || os.Chown(run, 1000, 1000) != nil || os.Chown(mnt, 1000, 1000) != nil {
		t.Fatal("making the user's directories: ", err)
	}
	openToOthers(t, run)
	openToOthers(t, ipcfsBin)
	cmd := exec.Command("setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "unshare", "-U", "-r", "-m", "--ipc", ipcfsBin, mnt)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+run)
	done, logOf := startLogged(t, cmd)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
	}()
	state := filepath.Join(run, "ipcfs")
	shmPollUntil(t, "the daemon takes its state directory or exits", func() bool {
		select {
		case err := <-done:
			done <- err
			return true
		default:
			_, err := os.Stat(state)
			return err == nil
		}
	})
	var st syscall.Stat_t
	if err := syscall.Lstat(state, &st); err != nil || st.Uid != 1000 {
		t.Errorf("state directory %s of a user namespace's root: uid %d, %v; want it made, uid 1000\n%s", state, st.Uid, err, logOf())
	}
}

// startLogged starts cmd with its output in a file, and returns the
// channel its end comes on and a reader of the output so far.
func startLogged(t *testing.T, cmd *exec.Cmd) (done chan error, logOf func() string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done = make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return done, func() string {
		b, _ := os.ReadFile(logf.Name())
		return string(b)
	}
}
