package integration

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// mountMinFuse mounts integration/c/minfuse.c, the minimal FUSE file system
// in C (libfuse3's low-level API), with a data file of size bytes, and
// returns its directory and its process. It is unmounted when the
// benchmark ends.
func mountMinFuse(b *testing.B, size int) (string, int) {
	flags, err := exec.Command("pkg-config", "--cflags", "--libs", "fuse3").Output()
	if err != nil {
		b.Skip("the C reference needs libfuse3's headers (apt-get install libfuse3-dev pkg-config)")
	}
	bin := cProgram(b, "minfuse", strings.Fields(string(flags))...)
	dir := filepath.Join(b.TempDir(), "minfuse")
	if err := os.Mkdir(dir, 0755); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, strconv.Itoa(size), dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		for isMounted(dir) {
			if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
				b.Errorf("unmounting %s: %v", dir, err)
				break
			}
		}
	})
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" || !isMounted(dir) {
		b.Fatalf("minfuse did not mount %s: %q", dir, line)
	}
	return dir, cmd.Process.Pid
}

// BenchmarkVsMinFuse: ipcfs against the minimal C file system, each
// measured as in the benchmarks above: 1 MiB reads and writes of a 256 MiB
// segment against its 256 MiB file (kept in memory, and, for writes, in a
// shmem file written with pwrite as ipcfs writes a segment), one small
// write on an open file (a semaphore's +1/-1 against a write that does
// nothing), and the shell loop of `echo > file`, also with the shell and
// both daemons on one CPU (onCPU0). Below 1 for reads and writes, and above 1 for
// the others, ipcfs is the slower.
func BenchmarkVsMinFuse(b *testing.B) {
	m := mount(b)
	seg, _, size := benchSegment(b, m)
	c, cpid := mountMinFuse(b, size)
	data, shmem, op := filepath.Join(c, "data"), filepath.Join(c, "shmem"), filepath.Join(c, "op")
	throughput(b, data, size, true) // their memory touched before measuring
	throughput(b, shmem, size, true)
	key := newKey()
	newSemSetForBench(b, key)
	sem := m.Path("sem", keyName(key), "0")
	for i := 0; i < b.N; i++ {
		ratio(b, "read/minfuse",
			func() float64 { return throughput(b, seg, size, false) },
			func() float64 { return throughput(b, data, size, false) })
		ratio(b, "write/minfuse",
			func() float64 { return throughput(b, seg, size, true) },
			func() float64 { return throughput(b, data, size, true) })
		ratio(b, "write/minfuse-shmem",
			func() float64 { return throughput(b, seg, size, true) },
			func() float64 { return throughput(b, shmem, size, true) })
		ratio(b, "semop/minfuse-write",
			func() float64 { return writeLatency(b, sem) },
			func() float64 { return writeLatency(b, op) })
		ratio(b, "shell-loop/minfuse",
			func() float64 { return shellLoop(b, sem) },
			func() float64 { return shellLoop(b, op) })
		restore := onCPU0(b, m.cmd.Process.Pid, cpid)
		ratio(b, "shell-loop-one-cpu/minfuse",
			func() float64 { return shellLoopOneCPU(b, sem) },
			func() float64 { return shellLoopOneCPU(b, op) })
		restore()
	}
}
