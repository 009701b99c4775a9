package integration

import (
	"bufio"
	"fmt"
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
	return mountReference(b, cProgram(b, "minfuse", strings.Fields(string(flags))...), size)
}

// mountMinGoFuse mounts integration/mingofuse, the minimal go-fuse file
// system, as mountMinFuse mounts the C one.
func mountMinGoFuse(b *testing.B, size int) (string, int) {
	bin := filepath.Join(binDir, "mingofuse")
	if out, err := exec.Command("go", "build", "-o", bin, "./mingofuse").CombinedOutput(); err != nil {
		b.Fatalf("go build ./mingofuse: %v\n%s", err, out)
	}
	return mountReference(b, bin, size)
}

// mountReference runs the reference file system bin ("bin SIZE DIR",
// which prints "ready" once mounted) on a new directory.
func mountReference(b *testing.B, bin string, size int) (string, int) {
	name := filepath.Base(bin)
	dir := filepath.Join(b.TempDir(), name)
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
		b.Fatalf("%s did not mount %s: %q", name, dir, line)
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
// the others, ipcfs is the slower. Then minfuse itself against tmpfs, as
// the ipcfs benchmarks above measure ipcfs: what this machine lets any
// FUSE file system reach, the figures issue 7 quotes for scale.
func BenchmarkVsMinFuse(b *testing.B) {
	r := mountVsReference(b, mountMinFuse)
	shmem := filepath.Join(r.dir, "shmem")
	throughput(b, shmem, r.size, true)
	for i := 0; i < b.N; i++ {
		throughputRatio(b, "read/minfuse", r.seg, r.data, r.size, false)
		throughputRatio(b, "write/minfuse", r.seg, r.data, r.size, true)
		throughputRatio(b, "write/minfuse-shmem", r.seg, shmem, r.size, true)
		timeRatio(b, "semop/minfuse-write", writeLatency, r.sem, r.op)
		timeRatio(b, "shell-loop/minfuse", shellLoop, r.sem, r.op)
		throughputRatio(b, "minfuse:read/tmpfs", r.data, r.tmpfs, r.size, false)
		throughputRatio(b, "minfuse:write/tmpfs", r.data, r.tmpfs, r.size, true)
		timeRatio(b, "minfuse:shell-loop/tmpfs", shellLoop, r.op, r.shell)
		restore := onCPU0(b, r.m.cmd.Process.Pid, r.pid)
		timeRatio(b, "shell-loop-one-cpu/minfuse", shellLoopOneCPU, r.sem, r.op)
		timeRatio(b, "minfuse:shell-loop-one-cpu/tmpfs", shellLoopOneCPU, r.op, r.shell)
		restore()
	}
}

// BenchmarkVsMinGoFuse: ipcfs against the minimal go-fuse file system
// (integration/mingofuse: the same library and mount options, files in
// memory), and that file system against tmpfs: what go-fuse itself lets
// a file system reach on this machine, and what ipcfs costs above it.
// Measured as BenchmarkVsMinFuse measures the C one.
func BenchmarkVsMinGoFuse(b *testing.B) {
	r := mountVsReference(b, mountMinGoFuse)
	for i := 0; i < b.N; i++ {
		throughputRatio(b, "write/mingofuse", r.seg, r.data, r.size, true)
		throughputRatio(b, "mingofuse:write/tmpfs", r.data, r.tmpfs, r.size, true)
		timeRatio(b, "semop/mingofuse-write", writeLatency, r.sem, r.op)
		timeRatio(b, "shell-loop/mingofuse", shellLoop, r.sem, r.op)
		timeRatio(b, "mingofuse:shell-loop/tmpfs", shellLoop, r.op, r.shell)
	}
}

// vsReference is what the benchmarks against a reference file system
// measure: ipcfs with a 256 MiB segment and a semaphore file; the
// reference's "data" (of the same size, its memory touched) and "op"
// files; a tmpfs file of that size, and one for the shell loop.
type vsReference struct {
	m                    *Mount
	seg, tmpfs, sem      string
	size                 int
	dir, data, op, shell string
	pid                  int // the reference's daemon
}

func mountVsReference(b *testing.B, mountRef func(*testing.B, int) (string, int)) *vsReference {
	r := &vsReference{m: mount(b)}
	r.seg, r.tmpfs, r.size = benchSegment(b, r.m)
	r.dir, r.pid = mountRef(b, r.size)
	r.data, r.op = filepath.Join(r.dir, "data"), filepath.Join(r.dir, "op")
	throughput(b, r.data, r.size, true)
	key := newKey()
	newSemSetForBench(b, key)
	r.sem = r.m.Path("sem", keyName(key), "0")
	r.shell = filepath.Join("/dev/shm", fmt.Sprintf("ipcfs-bench-%s-sh-%d", filepath.Base(r.dir), os.Getpid()))
	b.Cleanup(func() { os.Remove(r.shell) })
	return r
}
