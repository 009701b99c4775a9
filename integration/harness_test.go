// Package integration mounts the real ipcfs binary and drives it with real
// programs (cat, dd, ipcs, ipcmk, ipcrm, C programs built with gcc),
// comparing what the mount does with what the syscalls do directly.
package integration

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var (
	binDir   string // the ipcfs binary and compiled C helpers
	ipcfsBin string
	// keyBase starts the range of keys this run uses: objects with keys in
	// [keyBase, keyBase+0x10000) are this run's and are removed at the end.
	keyBase uint32
	keyMu   sync.Mutex
	keyNext uint32
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "integration tests mount with mount(2) and switch users: run them as root")
		return 1
	}
	dir, err := os.MkdirTemp("", "ipcfs-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	ipcfsBin = filepath.Join(dir, "ipcfs")
	build := exec.Command("go", "build", "-o", ipcfsBin, "../cmd/ipcfs")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building ipcfs:", err)
		return 1
	}
	// A run started in the background by a script (`go test ./... &`)
	// or under nohup ignores SIGINT or SIGHUP, and so would every program
	// the tests start, which the tests interrupt with them. Go keeps those
	// two ignored unless asked for them; a handler, unlike SIG_IGN, is
	// not inherited across exec. The signals are still dropped here.
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGHUP} {
		if signal.Ignored(sig) {
			signal.Notify(make(chan os.Signal, 1), sig)
		}
	}
	keyBase = 0x5f000000 | rand.Uint32N(0xff)<<16
	keyNext = keyBase + 1
	code := m.Run()
	removeRunObjects()
	return code
}

// newKey returns a key no other test of this run uses.
func newKey() uint32 {
	keyMu.Lock()
	defer keyMu.Unlock()
	keyNext++
	return keyNext
}

// removeRunObjects removes every object left with one of this run's keys,
// whatever a failing test left behind.
func removeRunObjects() {
	for _, kind := range []string{"shm", "sem", "msg"} {
		b, err := os.ReadFile("/proc/sysvipc/" + kind)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Scan() // header
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 2 {
				continue
			}
			var key int32
			var id int
			fmt.Sscan(f[0], &key)
			fmt.Sscan(f[1], &id)
			if uint32(key)&0xffff0000 == keyBase&0xffff0000 {
				flag := map[string]string{"shm": "-m", "sem": "-s", "msg": "-q"}[kind]
				exec.Command("ipcrm", flag, fmt.Sprint(id)).Run()
			}
		}
	}
}

// Mount is one running ipcfs.
type Mount struct {
	t    testing.TB
	Dir  string
	cmd  *exec.Cmd
	done chan error
	log  *bytes.Buffer
	mu   sync.Mutex
	once sync.Once // stop, from a test or its cleanup
}

// mount starts ipcfs on a new temporary directory with the given flags
// and waits until the mount is up. It is unmounted when the test ends.
func mount(t testing.TB, flags ...string) *Mount {
	t.Helper()
	return mountWrapped(t, nil, flags...)
}

// mountWrapped is mount with the daemon started through wrapper, a
// command and its arguments (setpriv's) that then runs ipcfs.
func mountWrapped(t testing.TB, wrapper []string, flags ...string) *Mount {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	m := startCmd(t, dir, append(append(slices.Clip(wrapper), ipcfsBin), flags...))
	m.waitMounted()
	return m
}

// startAt starts ipcfs on dir without waiting.
func startAt(t testing.TB, dir string, flags ...string) *Mount {
	t.Helper()
	return startCmd(t, dir, append([]string{ipcfsBin}, flags...))
}

// startCmd starts argv with dir as its last argument, without waiting.
func startCmd(t testing.TB, dir string, argv []string) *Mount {
	t.Helper()
	return startCmdAttr(t, dir, argv, nil)
}

// startCmdAttr is startCmd with the process's attributes (namespaces of
// its own) set: the daemon is then the process started, and gets the
// harness's signals itself.
func startCmdAttr(t testing.TB, dir string, argv []string, attr *syscall.SysProcAttr) *Mount {
	t.Helper()
	m := &Mount{t: t, Dir: dir, done: make(chan error, 1), log: &bytes.Buffer{}}
	m.cmd = exec.Command(argv[0], append(argv[1:], dir)...)
	m.cmd.SysProcAttr = attr
	m.cmd.Stdout = &lockedWriter{m: &m.mu, w: m.log}
	m.cmd.Stderr = m.cmd.Stdout
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { m.done <- m.cmd.Wait() }()
	t.Cleanup(m.stop)
	return m
}

type lockedWriter struct {
	m *sync.Mutex
	w *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.m.Lock()
	defer l.m.Unlock()
	return l.w.Write(p)
}

// Log is what the daemon printed so far.
func (m *Mount) Log() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.log.String()
}

func (m *Mount) waitMounted() {
	m.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !isMounted(m.Dir) {
		select {
		case err := <-m.done:
			m.done <- err
			m.t.Fatalf("ipcfs exited before mounting: %v\n%s", err, m.Log())
		default:
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("ipcfs did not mount %s\n%s", m.Dir, m.Log())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// isMounted reports whether a FUSE file system is mounted on dir.
func isMounted(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir && strings.Contains(line, " - fuse") {
			return true
		}
	}
	return false
}

// stop ends the daemon with SIGTERM, and by force if it hangs, and makes
// sure nothing is left mounted.
func (m *Mount) stop() { m.once.Do(m.stopNow) }

func (m *Mount) stopNow() {
	if m.cmd.Process != nil {
		m.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(10 * time.Second):
			m.t.Errorf("ipcfs did not exit on SIGTERM\n%s", m.Log())
			m.cmd.Process.Kill()
			<-m.done
		}
	}
	for isMounted(m.Dir) {
		if err := unix.Unmount(m.Dir, unix.MNT_DETACH); err != nil {
			m.t.Errorf("unmounting %s: %v", m.Dir, err)
			break
		}
	}
}

// Path joins names under the mountpoint.
func (m *Mount) Path(elem ...string) string {
	return filepath.Join(append([]string{m.Dir}, elem...)...)
}

// sh runs a shell command and returns its stdout, stderr and exit error.
func sh(t testing.TB, script string) (string, string, error) {
	t.Helper()
	cmd := exec.Command("bash", "-c", script)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// mustSh runs a shell command that must succeed and returns its stdout.
func mustSh(t testing.TB, script string) string {
	t.Helper()
	out, errs, err := sh(t, script)
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", script, err, out, errs)
	}
	return out
}

// errnoOf digs the errno out of an error from package os or syscall.
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

var (
	cMu    sync.Mutex
	cBuilt = map[string]string{}
)

// cProgram compiles integration/c/NAME.c once per run, with flags after
// the source (libraries), and returns the binary.
func cProgram(t testing.TB, name string, flags ...string) string {
	t.Helper()
	cMu.Lock()
	defer cMu.Unlock()
	if bin, ok := cBuilt[name]; ok {
		return bin
	}
	bin := filepath.Join(binDir, name)
	args := append([]string{"-O2", "-Wall", "-o", bin, filepath.Join("c", name+".c")}, flags...)
	out, err := exec.Command("gcc", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("gcc %s: %v\n%s", name, err, out)
	}
	cBuilt[name] = bin
	return bin
}
