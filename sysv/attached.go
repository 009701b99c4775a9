package sysv

import (
	"bufio"
	"bytes"
	"os"
	"slices"
	"strconv"
)

// Attachments finds which processes have which segments attached right
// now, as shmid -> sorted pids. The kernel names each attachment in
// /proc/PID/maps as /SYSV<key> with the shmid as the inode number. Only
// processes in the caller's IPC namespace count: another namespace's
// shmids are another numbering.
func Attachments() (map[int][]int, error) {
	self, _ := os.Readlink("/proc/self/ns/ipc")
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
		dir := "/proc/" + p.Name()
		if ns, err := os.Readlink(dir + "/ns/ipc"); err != nil || ns != self {
			continue
		}
		maps, err := os.ReadFile(dir + "/maps")
		if err != nil {
			continue // gone, or a kernel thread
		}
		for _, id := range attachedIDs(maps) {
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

// attachedIDs returns the shmids of the SysV attachments in a maps file.
func attachedIDs(maps []byte) []int {
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
		if id, err := strconv.Atoi(string(f[4])); err == nil && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}
