package sysv

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// tasksLeft is how many more tasks (threads) this process may start: the
// least that its pids cgroups (v1 or v2, each level up to the root), the
// kernel's threads-max and, for an ordinary user, RLIMIT_NPROC leave; -1
// when none says. Each count is of tasks the limit holds now, so other
// processes under the same limit count too.
func tasksLeft() int {
	left := -1
	lower := func(n int) {
		if left < 0 || n < left {
			left = max(n, 0)
		}
	}
	if limit, err := readInt("/proc/sys/kernel/threads-max"); err == nil {
		if now, err := runningTasks(); err == nil {
			lower(limit - now)
		}
	}
	if os.Geteuid() != 0 {
		var r unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_NPROC, &r) == nil && r.Cur != unix.RLIM_INFINITY {
			lower(int(r.Cur) - threadsOfThisUser())
		}
	}
	for _, dir := range pidsCgroups() {
		for ; ; dir = filepath.Dir(dir) {
			limit, err1 := readInt(filepath.Join(dir, "pids.max")) // "max": no limit
			now, err2 := readInt(filepath.Join(dir, "pids.current"))
			if err1 == nil && err2 == nil {
				lower(limit - now)
			}
			if dir == "/sys/fs/cgroup" || dir == "/" || !strings.HasPrefix(dir, "/sys/fs/cgroup/") {
				break
			}
		}
	}
	return left
}

// pidsCgroups are the folders of this process's pids cgroups: v1's pids
// controller and v2's unified tree (either mount point).
func pidsCgroups() []string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case f[0] == "0" && f[1] == "":
			dirs = append(dirs, filepath.Join("/sys/fs/cgroup", f[2]), filepath.Join("/sys/fs/cgroup/unified", f[2]))
		case slices.Contains(strings.Split(f[1], ","), "pids"):
			dirs = append(dirs, filepath.Join("/sys/fs/cgroup/pids", f[2]))
		}
	}
	return dirs
}

// runningTasks is the number of tasks on the machine (/proc/loadavg's
// fourth field is running/total).
func runningTasks() (int, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 4 {
		return 0, os.ErrInvalid
	}
	_, total, _ := strings.Cut(f[3], "/")
	return strconv.Atoi(total)
}

// threadsOfThisUser counts the tasks of this process's real user, which
// RLIMIT_NPROC bounds.
func threadsOfThisUser() int {
	uid := os.Getuid()
	procs, _ := os.ReadDir("/proc")
	n := 0
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+p.Name(), &st) != nil || int(st.Uid) != uid {
			continue
		}
		tasks, _ := os.ReadDir("/proc/" + p.Name() + "/task")
		n += len(tasks)
	}
	return n
}

// readInt reads a file holding one integer.
func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
