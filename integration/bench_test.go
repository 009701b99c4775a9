package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The benchmarks: each measures ipcfs side by side with a reference taken
// in the same run (tmpfs, a pipe round trip, ipcs), alternating, and
// reports the ratio's median and spread. Run them with
//
//	go test -run '^$' -bench . -benchtime 1x ./integration/
//
// They never run as tests, and no test asserts a time.

// rounds is how many alternating pairs each benchmark measures;
// throughputRounds, for the 256 MiB passes, which take a tenth of a
// second each and spread the most from one to the next on this VM.
const (
	rounds           = 7
	throughputRounds = 21
)

// ratio runs mine and ref alternately, and reports mine/ref over the
// rounds as median, min and max, under name.
func ratio(b *testing.B, name string, mine, ref func() float64) {
	b.Helper()
	ratioOver(b, name, rounds, mine, ref)
}

// throughputRatio reports, as ratio does, the throughput through path
// against that through refPath, over throughputRounds.
func throughputRatio(b *testing.B, name, path, refPath string, size int, write bool) {
	b.Helper()
	ratioOver(b, name, throughputRounds,
		func() float64 { return throughput(b, path, size, write) },
		func() float64 { return throughput(b, refPath, size, write) })
}

// timeRatio reports, as ratio does, the time measure takes on path
// against on refPath.
func timeRatio(b *testing.B, name string, measure func(*testing.B, string) float64, path, refPath string) {
	b.Helper()
	ratio(b, name, func() float64 { return measure(b, path) }, func() float64 { return measure(b, refPath) })
}

func ratioOver(b *testing.B, name string, n int, mine, ref func() float64) {
	b.Helper()
	var rs []float64
	for i := 0; i < n; i++ {
		m := mine()
		r := ref()
		rs = append(rs, m/r)
	}
	slices.Sort(rs)
	med := rs[len(rs)/2]
	b.ReportMetric(med, name+"-median")
	b.ReportMetric(rs[0], name+"-min")
	b.ReportMetric(rs[len(rs)-1], name+"-max")
	b.Logf("%s: median %.3f (min %.3f, max %.3f) over %d rounds", name, med, rs[0], rs[len(rs)-1], n)
}

// throughput reads (or writes) the whole of path in 1 MiB requests and
// returns bytes per second.
func throughput(b *testing.B, path string, size int, write bool) float64 {
	flag := os.O_RDONLY
	if write {
		flag = os.O_WRONLY
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	start := time.Now()
	for off := 0; off < size; off += len(buf) {
		var n int
		if write {
			n, err = f.WriteAt(buf, int64(off))
		} else {
			n, err = f.ReadAt(buf, int64(off))
		}
		if n != len(buf) {
			b.Fatalf("%s at %d: %d bytes, %v", path, off, n, err)
		}
	}
	return float64(size) / time.Since(start).Seconds()
}

// benchSegment makes a 256 MiB segment and a tmpfs file of the same size.
func benchSegment(b *testing.B, m *Mount) (seg, tmpfs string, size int) {
	size = 256 << 20
	key := newKey()
	newSegment(b, key, size, 0600)
	tmpfs = filepath.Join("/dev/shm", fmt.Sprintf("ipcfs-bench-%d", os.Getpid()))
	if err := os.WriteFile(tmpfs, make([]byte, size), 0600); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.Remove(tmpfs) })
	seg = m.Path("shm", keyName(key))
	throughput(b, seg, size, true) // both fully allocated before measuring
	return seg, tmpfs, size
}

// BenchmarkShmRead: sequential 1 MiB reads of a 256 MiB segment through
// the mount, against the same reads of a 256 MiB file in /dev/shm.
func BenchmarkShmRead(b *testing.B) {
	m := mount(b)
	seg, tmpfs, size := benchSegment(b, m)
	for i := 0; i < b.N; i++ {
		throughputRatio(b, "read/tmpfs", seg, tmpfs, size, false)
	}
}

// BenchmarkShmWrite: the same with 1 MiB writes; then with the writer
// (this process) and the daemon on one CPU (onCPU0), where each request
// and its reply wake a thread on the CPU that sent it.
func BenchmarkShmWrite(b *testing.B) {
	m := mount(b)
	seg, tmpfs, size := benchSegment(b, m)
	for i := 0; i < b.N; i++ {
		throughputRatio(b, "write/tmpfs", seg, tmpfs, size, true)
		restore := onCPU0(b, m.cmd.Process.Pid, os.Getpid())
		throughputRatio(b, "write-one-cpu/tmpfs", seg, tmpfs, size, true)
		restore()
	}
}

// pipeRoundTrip is the time of one write to a child process and its
// answer, through two pipes: the floor of any request to another process.
func pipeRoundTrip(b *testing.B, n int) time.Duration {
	cmd := exec.Command("cat") // echoes every byte back
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	defer in.Close()
	buf := []byte{'x'}
	start := time.Now()
	for i := 0; i < n; i++ {
		in.Write(buf)
		if _, err := out.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / time.Duration(n)
}

// writeLatency is the time of one small write, "+1\n" and "-1\n"
// alternating, on path opened once.
func writeLatency(b *testing.B, path string) float64 {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const n = 20000
	ops := [][]byte{[]byte("+1\n"), []byte("-1\n")}
	start := time.Now()
	for j := 0; j < n; j++ {
		if _, err := f.Write(ops[j%2]); err != nil {
			b.Fatal(err)
		}
	}
	return float64(time.Since(start) / n)
}

// BenchmarkSemWrite: one semaphore write, +1 and -1 alternating on an open
// file, against a pipe round trip between two processes.
func BenchmarkSemWrite(b *testing.B) {
	m := mount(b)
	key := newKey()
	newSemSetForBench(b, key)
	sem := m.Path("sem", keyName(key), "0")
	for i := 0; i < b.N; i++ {
		ratio(b, "semop/pipe-rtt",
			func() float64 { return writeLatency(b, sem) },
			func() float64 { return float64(pipeRoundTrip(b, 20000)) })
	}
}

// shellLoop is the time of a bash loop of 2000 `echo +1 > path; echo -1 >
// path`.
func shellLoop(b *testing.B, path string) float64 {
	return timeLoop(b, exec.Command("bash", "-c", loopScript(path)))
}

// shellLoopOneCPU is shellLoop with bash on CPU 0, where the caller has
// put the daemons serving path (see onCPU0).
func shellLoopOneCPU(b *testing.B, path string) float64 {
	return timeLoop(b, exec.Command("taskset", "-c", "0", "bash", "-c", loopScript(path)))
}

func loopScript(path string) string {
	return fmt.Sprintf(`for ((i=0;i<2000;i++)); do echo +1 > %q; echo -1 > %q; done`, path, path)
}

func timeLoop(b *testing.B, cmd *exec.Cmd) float64 {
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v: %s", err, out)
	}
	return time.Since(start).Seconds()
}

// onCPU0 runs every thread of the processes pids on CPU 0 alone, until
// the returned function gives every thread they then have (those started
// meanwhile too) back the CPUs its process had. With the caller on CPU 0
// too, a request and its reply wake a thread on the same CPU: what is
// left is the cost of the requests themselves, without the wakeups of an
// idle CPU, which on this virtual machine cost more than the rest.
func onCPU0(b *testing.B, pids ...int) (restore func()) {
	saved := map[int]unix.CPUSet{}
	var one unix.CPUSet
	one.Set(0)
	for _, pid := range pids {
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(pid, &set); err != nil {
			b.Fatal(err)
		}
		saved[pid] = set
		eachThread(b, pid, func(tid int) { unix.SchedSetaffinity(tid, &one) })
	}
	return func() {
		for pid, set := range saved {
			eachThread(b, pid, func(tid int) { unix.SchedSetaffinity(tid, &set) })
		}
	}
}

// eachThread calls f with the id of each thread of process pid.
func eachThread(b *testing.B, pid int, f func(tid int)) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			f(tid)
		}
	}
}

// BenchmarkShellSemLoop: what a shell script pays: a bash loop of
// `echo +1 > sem/K/0; echo -1 > sem/K/0` against the same loop writing a
// tmpfs file; the same on a mount with -o nouser_xattr, where the
// kernel sends no getxattr at each O_TRUNC; and the first with the shell
// and the daemon on one CPU (onCPU0).
func BenchmarkShellSemLoop(b *testing.B) {
	m := mount(b)
	nox := mount(b, "-o", "nouser_xattr")
	key := newKey()
	newSemSetForBench(b, key)
	sem := m.Path("sem", keyName(key), "0")
	semNox := nox.Path("sem", keyName(key), "0")
	tmpfs := filepath.Join("/dev/shm", fmt.Sprintf("ipcfs-bench-sh-%d", os.Getpid()))
	b.Cleanup(func() { os.Remove(tmpfs) })
	for i := 0; i < b.N; i++ {
		timeRatio(b, "shell-loop/tmpfs", shellLoop, sem, tmpfs)
		timeRatio(b, "shell-loop-nouser_xattr/tmpfs", shellLoop, semNox, tmpfs)
		timeRatio(b, "shell-loop-nouser_xattr/shell-loop", shellLoop, semNox, sem)
		restore := onCPU0(b, m.cmd.Process.Pid)
		timeRatio(b, "shell-loop-one-cpu/tmpfs", shellLoopOneCPU, sem, tmpfs)
		restore()
	}
}

// BenchmarkListMany: `ls -l` of the shm folder with 4000 segments against
// `ipcs -m`; then the cost of one stat with 4000 segments against the
// same with 10; and the daemon's resident memory.
func BenchmarkListMany(b *testing.B) {
	m := mount(b)
	for i := 0; i < 10; i++ {
		newSegment(b, newKey(), 4096, 0600)
	}
	statCost := statLoop(b, m.Path("shm", keyName(keyNext)))
	few := statCost()
	for i := 0; i < 3990; i++ {
		newSegment(b, newKey(), 4096, 0600)
	}
	for i := 0; i < b.N; i++ {
		ratio(b, "ls-l/ipcs-m", func() float64 { return runTimed(b, "ls", "-l", m.Path("shm")) }, func() float64 { return runTimed(b, "ipcs", "-m") })
		ratio(b, "stat-4000/stat-10", statCost, func() float64 { return few })
	}
	b.ReportMetric(float64(daemonRSS(b, m))/(1<<20), "daemon-RSS-MiB")
	b.Logf("daemon RSS with 4000 segments listed: %.1f MiB", float64(daemonRSS(b, m))/(1<<20))
}

// BenchmarkListBigSet: `ls -l` of a set of 32000 semaphores against
// `ipcs -s -i` of it, which prints a line per semaphore too; and the cost
// of one stat of a semaphore file in that set against one in a set of 10
// (the kernel's IPC_STAT of a set walks every semaphore for its otime).
func BenchmarkListBigSet(b *testing.B) {
	m := mount(b)
	small, big := newKey(), newKey()
	semNew(b, small, 10, 0600)
	id := semNew(b, big, 32000, 0600)
	for i := 0; i < b.N; i++ {
		ratio(b, "ls-l-32000/ipcs-s-i", func() float64 { return runTimed(b, "ls", "-l", m.Path("sem", keyName(big))) },
			func() float64 { return runTimed(b, "ipcs", "-s", "-i", strconv.Itoa(id)) })
		ratio(b, "stat-in-32000/stat-in-10", statLoop(b, m.Path("sem", keyName(big), "7")), statLoop(b, m.Path("sem", keyName(small), "7")))
	}
	b.ReportMetric(float64(daemonRSS(b, m))/(1<<20), "daemon-RSS-MiB")
}

// runTimed runs a program to its end and returns the seconds it took.
func runTimed(b *testing.B, name string, args ...string) float64 {
	start := time.Now()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		b.Fatalf("%s: %v: %s", name, err, out)
	}
	return time.Since(start).Seconds()
}

// statLoop returns a measurement: the seconds 2000 stats of path take.
func statLoop(b *testing.B, path string) func() float64 {
	return func() float64 {
		start := time.Now()
		var st unix.Stat_t
		for j := 0; j < 2000; j++ {
			if err := unix.Stat(path, &st); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start).Seconds()
	}
}

// daemonRSS is the daemon's resident memory in bytes.
func daemonRSS(b *testing.B, m *Mount) int {
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", m.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(s), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// newSemSetForBench makes a set of one semaphore, removed at the end.
func newSemSetForBench(b *testing.B, key uint32) {
	r, _, e := unix.Syscall(unix.SYS_SEMGET, uintptr(int32(key)), 1, uintptr(unix.IPC_CREAT|unix.IPC_EXCL|0600))
	if e != 0 {
		b.Fatal(e)
	}
	b.Cleanup(func() { unix.Syscall6(unix.SYS_SEMCTL, r, 0, uintptr(unix.IPC_RMID), 0, 0, 0) })
}
