package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pidsCgroup makes a pids cgroup (v1's controller, or v2's tree with
// pids enabled) that allows max tasks, moves process pid into it, and
// undoes both when the test ends.
func pidsCgroup(t *testing.T, pid, max int) {
	t.Helper()
	var root string
	switch {
	case exists("/sys/fs/cgroup/pids/pids.max") || exists("/sys/fs/cgroup/pids/cgroup.procs"):
		root = "/sys/fs/cgroup/pids"
	case strings.Contains(readString("/sys/fs/cgroup/cgroup.controllers"), "pids"):
		root = "/sys/fs/cgroup"
		if err := os.WriteFile(root+"/cgroup.subtree_control", []byte("+pids"), 0); err != nil {
			t.Skipf("cannot enable the pids controller: %v", err)
		}
	default:
		t.Skip("no pids cgroup controller on this machine")
	}
	dir := filepath.Join(root, fmt.Sprintf("ipcfs-test-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.WriteFile(root+"/cgroup.procs", []byte(strconv.Itoa(pid)), 0)
		for i := 0; os.Remove(dir) != nil && i < 100; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	})
	if err := os.WriteFile(dir+"/pids.max", []byte(strconv.Itoa(max)), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/cgroup.procs", []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func readString(path string) string { b, _ := os.ReadFile(path); return string(b) }

// TestWaitersPastTheTaskLimit: a daemon in a pids cgroup of 60 tasks (as
// systemd's TasksMax makes) serves 150 semaphore writes waiting at once:
// it used to start a thread for each, until the runtime could start no
// more and aborted, taking the mount down. Past the bound the writes wait
// in the daemon, and all of them end when the value allows.
func TestWaitersPastTheTaskLimit(t *testing.T) {
	m := mount(t)
	pidsCgroup(t, m.cmd.Process.Pid, 60)
	key := newKey()
	id := semNew(t, key, 1, 0600)
	p := m.Path("sem", keyName(key), "0")
	const writers = 150
	procs := make([]*semProc, writers)
	for i := range procs {
		procs[i] = semBash(t, fmt.Sprintf("echo -1 > %q; echo $?", p))
	}
	// Wait until the kernel counts as many waiters as the daemon lets in.
	time.Sleep(500 * time.Millisecond)
	if _, err := os.ReadDir(m.Path("sem")); err != nil {
		t.Fatalf("the daemon no longer answers: %v\n%s", err, m.Log())
	}
	semSetVals(t, id, writers)
	for i, pr := range procs {
		if l := strings.TrimSpace(pr.line(t)); l != "0" {
			t.Errorf("writer %d: exit %s", i, l)
		}
	}
	if v := semVal(t, id, 0); v != 0 {
		t.Errorf("value after %d writes of -1: %d, want 0", writers, v)
	}
	if err := syscall.Kill(m.cmd.Process.Pid, 0); err != nil {
		t.Errorf("the daemon is gone: %v\n%s", err, m.Log())
	}
}

// TestSegmentOpensPastTheAddressSpace: every open of a segment attaches
// it in the daemon, so opens of huge segments (SHM_NORESERVE: no memory),
// then of smaller ones to fill the holes left, filled the daemon's
// address space until it could start no thread for a waiting semop and
// aborted. Now the opens past half the address space get ENOMEM, as
// shmat in a full address space, and the daemon goes on.
func TestSegmentOpensPastTheAddressSpace(t *testing.T) {
	const shmNoReserve = 010000 // SHM_NORESERVE
	m := mount(t)
	for _, size := range []int{1 << 40, 1 << 30, 2 << 20} {
		key := newKey()
		newSegment(t, key, size, shmNoReserve|0600)
		p := m.Path("shm", keyName(key))
		var errno syscall.Errno
		for i := 0; errno == 0 && i < 4000; i++ {
			f, err := os.Open(p)
			if err != nil {
				errno = errnoOf(err)
				break
			}
			t.Cleanup(func() { f.Close() })
		}
		if errno != syscall.ENOMEM {
			t.Errorf("opens of a segment of %d bytes ended with %v, want ENOMEM", size, errno)
		}
	}
	// Waiting writes, each on a thread the daemon must start.
	skey := newKey()
	id := semNew(t, skey, 1, 0600)
	const writers = 30
	procs := make([]*semProc, writers)
	for i := range procs {
		procs[i] = semBash(t, fmt.Sprintf("echo -1 > %q; echo $?", m.Path("sem", keyName(skey), "0")))
	}
	time.Sleep(300 * time.Millisecond)
	semSetVals(t, id, writers)
	for i, w := range procs {
		if l := strings.TrimSpace(w.line(t)); l != "0" {
			t.Fatalf("waiting semaphore write %d after them: exit %s\n%s", i, l, m.Log())
		}
	}
}
