package sysv

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"slices"
	"strconv"
	"syscall"
)

// Attachments finds which processes have which segments attached right
// now, as shmid -> sorted pids. The kernel names each attachment in
// /proc/PID/maps as /SYSV<key> with the shmid as the inode number. Only
// processes in the caller's IPC namespace count: another namespace's
// shmids are another numbering.
func Attachments() (map[int][]int, error) {
	self, _ := os.Readlink("/proc/self/ns/ipc")
	me := os.Getpid()
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	out := map[int][]int{}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		dir, ns, err := liveTask("/proc/" + p.Name())
		if outOfResources(err) {
			return nil, err
		}
		if err != nil || ns != self {
			continue
		}
		var ids []int
		if pid == me {
			ids, err = ownAttachedIDs(dir + "/maps")
		} else {
			var maps []byte
			maps, err = os.ReadFile(dir + "/maps")
			ids = attachedIDs(maps, nil)
		}
		if outOfResources(err) {
			return nil, err
		}
		for _, id := range ids {
			if l := out[id]; len(l) == 0 || l[len(l)-1] != pid {
				out[id] = append(l, pid)
			}
		}
	}
	for id := range out {
		slices.Sort(out[id])
	}
	return out, nil
}

// liveTask is where to read a process's maps, and its IPC namespace
// (ns): its own folder, or, when its main thread has ended (a zombie,
// whose maps are empty and namespaces gone) while others go on, a live
// thread's.
func liveTask(dir string) (task, ns string, err error) {
	ns, err = os.Readlink(dir + "/ns/ipc")
	if err == nil || outOfResources(err) {
		return dir, ns, err
	}
	tasks, terr := os.ReadDir(dir + "/task")
	if outOfResources(terr) {
		return dir, "", terr
	}
	for _, t := range tasks {
		task = dir + "/task/" + t.Name()
		if ns, terr = os.Readlink(task + "/ns/ipc"); terr == nil || outOfResources(terr) {
			return task, ns, terr
		}
	}
	return dir, "", err // gone, or a kernel thread
}

// outOfResources reports whether err says the daemon ran out of file
// descriptors or memory: a view must fail then, not show a process as
// gone.
func outOfResources(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOMEM)
}

// attachedIDs returns the shmids of the SysV attachments in a maps file,
// but for the mappings that start at an address in notAttached.
func attachedIDs(maps []byte, notAttached map[uintptr]bool) []int {
	var ids []int
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(" /SYSV")) {
			continue
		}
		// start-end perms offset dev inode path
		f := bytes.Fields(line)
		if len(f) < 6 || !bytes.HasPrefix(f[5], []byte("/SYSV")) {
			continue
		}
		if start, _, _ := bytes.Cut(f[0], []byte("-")); len(notAttached) > 0 {
			if a, err := strconv.ParseUint(string(start), 16, 64); err == nil && notAttached[uintptr(a)] {
				continue
			}
		}
		if id, err := strconv.Atoi(string(f[4])); err == nil && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}
