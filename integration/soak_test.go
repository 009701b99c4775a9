package integration

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The soak: for a bounded time (20 s; IPCFS_SOAK=5m or any Go duration
// for longer, by hand), clients through the mount and clients making the
// syscalls directly share one mutex, one counter and one queue:
//
//   - 4 bash lockers: echo "-1 undo" > sem/K/0; read the counter from a
//     segment with dd, add one, write it back with dd; echo "1 undo" >
//     sem/K/0 (a V with undo, so that the P's adjustment is cancelled, as
//     SEM_UNDO on both sides cancels it in the kernel);
//   - 2 C lockers (reltool lock): the same with semop SEM_UNDO and shmat,
//     pausing a millisecond between turns so as not to crowd the shell
//     out (the machine may be small and shared);
//   - 2 producers of numbered messages: bash echo > msg/Q, and reltool
//     produce (msgsnd, a millisecond apart);
//   - 3 consumers until a "stop": 2 bash dd readers of msg/Q, 1 reltool
//     consume (msgrcv).
//
// Afterwards the counter equals the number of critical sections entered
// (no update lost: mutual exclusion held across mount and direct
// clients), every numbered message was received exactly once, the
// semaphore is back at 1 with nobody waiting, no process is left, and the
// daemon still answers, its threads back near where they were.

// relShellLocker is the bash locker: $1 the semaphore file, $2 the
// segment file, $3 the seconds to run. It prints how many critical
// sections it went through.
const relShellLocker = `set -o pipefail
end=$((SECONDS + $3)); n=0
while ((SECONDS < end)); do
	echo "-1 undo" > "$1" || exit 1
	v=$(dd if="$2" bs=16 count=1 status=none | tr -d '\0 \n') || exit 1
	[[ $v =~ ^[0-9]*$ ]] || { echo "the counter reads '$v'" >&2; exit 1; }
	printf '%-15d\n' $((v + 1)) | dd of="$2" bs=16 count=1 conv=notrunc iflag=fullblock status=none || exit 1
	echo "1 undo" > "$1" || exit 1
	n=$((n + 1))
done
echo $n
`

// relShellProducer sends "sh I\n" for I = 1, 2, ... to the queue file $1
// for $2 seconds and prints how many it sent.
const relShellProducer = `end=$((SECONDS + $2)); n=0
while ((SECONDS < end)); do
	echo "sh $((n + 1))" > "$1" || exit 1
	n=$((n + 1))
done
echo $n
`

// relShellConsumer reads one message at a time from the queue file $1,
// printing each, until it reads "stop".
const relShellConsumer = `while :; do
	m=$(dd if="$1" bs=64k count=1 status=none) || exit 1
	[[ $m == stop ]] && exit 0
	printf '%s\n' "$m"
done
`

// relSoakDuration is how long the soak's clients run.
func relSoakDuration(t *testing.T) time.Duration {
	t.Helper()
	s := os.Getenv("IPCFS_SOAK")
	if s == "" {
		return 20 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		t.Fatalf("IPCFS_SOAK=%q: want a Go duration of at least 1s", s)
	}
	return d
}

// relCount parses the count a client printed last.
func relCount(t *testing.T, p *msgProc) int {
	t.Helper()
	out, err := p.wait(t)
	if err != nil {
		t.Fatalf("%s: %v\n%s", p.name, err, p.stderr.String())
	}
	f := strings.Fields(out)
	if len(f) == 0 {
		t.Fatalf("%s printed nothing", p.name)
	}
	n, err := strconv.Atoi(f[len(f)-1])
	if err != nil {
		t.Fatalf("%s printed %q", p.name, out)
	}
	return n
}

func TestSoak(t *testing.T) {
	d := relSoakDuration(t)
	secs := strconv.Itoa(int(d.Round(time.Second) / time.Second))
	ms := strconv.Itoa(int(d / time.Millisecond))
	m := mount(t)
	pid := m.cmd.Process.Pid
	kS, kC, kQ := newKey(), newKey(), newKey()
	sid := semNew(t, kS, 1, 0600)
	semSetVals(t, sid, 1)
	cid := newSegment(t, kC, 4096, 0600)
	qid := msgNewQueue(t, kQ, 0600)
	semFile := m.Path("sem", keyName(kS), "0")
	segFile := m.Path("shm", keyName(kC))
	qFile := m.Path("msg", keyName(kQ))
	th0, rss0 := semDaemonFigures(t, pid)
	t.Logf("soak of %v; daemon before: %d threads, VmRSS %d kB", d, th0, rss0)

	var lockers, producers, consumers []*msgProc
	for range 4 {
		lockers = append(lockers, msgStart(t, nil, "bash", "-c", relShellLocker, "locker", semFile, segFile, secs))
	}
	for range 2 {
		lockers = append(lockers, msgStart(t, nil, "reltool", "lock", strconv.Itoa(sid), strconv.Itoa(cid), ms, "1000"))
	}
	for range 2 {
		consumers = append(consumers, msgStart(t, nil, "bash", "-c", relShellConsumer, "consumer", qFile))
	}
	consumers = append(consumers, msgStart(t, nil, "reltool", "consume", strconv.Itoa(qid)))
	producers = append(producers,
		msgStart(t, nil, "bash", "-c", relShellProducer, "producer", qFile, secs),
		msgStart(t, nil, "reltool", "produce", strconv.Itoa(qid), "c", ms, "1000"))
	all := append(append(append([]*msgProc{}, lockers...), producers...), consumers...)

	// While they run: the mutex is never above 1, and the daemon answers.
	start := time.Now()
	nextLog := start.Add(5 * time.Second)
	running := func() bool {
		for _, p := range append(append([]*msgProc{}, lockers...), producers...) {
			if !p.exited() {
				return true
			}
		}
		return false
	}
	for running() {
		if v := semVal(t, sid, 0); v > 1 {
			t.Fatalf("the mutex reads %d", v)
		}
		if time.Since(start) > d+5*time.Minute {
			t.Fatalf("the clients have not ended %v after the soak's end", time.Since(start)-d)
		}
		if time.Now().After(nextLog) {
			nextLog = nextLog.Add(5 * time.Second)
			semAnswers(t, "stat and reads during the soak", func() error {
				var st syscall.Stat_t
				if err := syscall.Stat(segFile, &st); err != nil {
					return err
				}
				if _, err := semTryStatus(m.Path("sem", keyName(kS), "status")); err != nil {
					return err
				}
				_, err := os.ReadFile(m.Path("msg", "status"))
				return err
			})
			th, rss := semDaemonFigures(t, pid)
			q := msgStat(t, qid)
			t.Logf("at %v: daemon %d threads, VmRSS %d kB; queue holds %d messages", time.Since(start).Round(time.Second), th, rss, q.Qnum)
		}
		time.Sleep(20 * time.Millisecond)
	}

	sections := 0
	for _, p := range lockers {
		n := relCount(t, p)
		t.Logf("%s: %d critical sections", strings.Fields(p.name)[0], n)
		sections += n
	}
	sent := map[string]int{}
	for _, p := range producers {
		tag := "sh"
		if strings.HasPrefix(p.name, "reltool") {
			tag = "c"
		}
		sent[tag] = relCount(t, p)
	}
	for range consumers {
		// Without waiting in msgsnd: if the consumers were gone, the
		// queue would never make room.
		shmPollUntil(t, "a stop is sent", func() bool {
			err := msgSnd(qid, 1, []byte("stop\n"), unix.IPC_NOWAIT)
			if err != nil && err != unix.EAGAIN {
				t.Fatalf("msgsnd of a stop: %v", err)
			}
			return err == nil
		})
	}
	got := map[string]int{}
	for _, p := range consumers {
		out, err := p.wait(t)
		if err != nil {
			t.Fatalf("%s: %v\n%s", p.name, err, p.stderr.String())
		}
		n := 0
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if line != "" {
				got[line]++
				n++
			}
		}
		t.Logf("%s: %d messages", strings.Fields(p.name)[0], n)
	}

	// The counter: every critical section counted once.
	b, err := os.ReadFile(segFile)
	if err != nil {
		t.Fatal(err)
	}
	counter, err := strconv.Atoi(strings.TrimSpace(strings.TrimRight(string(b[:16]), "\x00")))
	if err != nil {
		t.Fatalf("the counter reads %q", b[:16])
	}
	t.Logf("%d critical sections, counter %d; sent %v messages", sections, counter, sent)
	if sections == 0 || counter != sections {
		t.Errorf("the counter is %d after %d critical sections", counter, sections)
	}

	// The messages: each exactly once, nothing else.
	var bad []string
	for tag, n := range sent {
		if n == 0 {
			t.Errorf("producer %s sent nothing", tag)
		}
		for i := 1; i <= n; i++ {
			line := fmt.Sprintf("%s %d", tag, i)
			if c := got[line]; c != 1 {
				bad = append(bad, fmt.Sprintf("%q received %d times", line, c))
			}
			delete(got, line)
		}
	}
	for line, c := range got {
		bad = append(bad, fmt.Sprintf("%q (never sent) received %d times", line, c))
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("%d messages wrong, the first: %q", len(bad), bad[:min(len(bad), 10)])
	}

	// Nothing left: the mutex free, nobody waiting, the queue empty, no
	// process of the soak's process groups.
	if v := semVal(t, sid, 0); v != 1 {
		t.Errorf("the mutex ends at %d, want 1", v)
	}
	semWaitCounts(t, sid, 0, 0, 0)
	if q := msgStat(t, qid); q.Qnum != 0 {
		t.Errorf("the queue ends with %d messages", q.Qnum)
	}
	msgWaitDaemonWaiters(t, m, qid, 0, 0)
	for _, p := range all {
		pgid := p.cmd.Process.Pid
		shmPollUntil(t, fmt.Sprintf("no process is left of %s", p.name), func() bool {
			return syscall.Kill(-pgid, 0) == syscall.ESRCH
		})
	}
	// The lockers' undo adjustments netted to nothing: their ends, seen
	// by the daemon a moment later, change nothing.
	time.Sleep(300 * time.Millisecond)
	if v := semVal(t, sid, 0); v != 1 {
		t.Errorf("the mutex is %d a moment after the lockers ended, want 1", v)
	}
	if n := nattch(t, cid); n != 0 {
		t.Errorf("the counter's segment has %d attachments left", n)
	}

	// The daemon still answers, with its threads back near where they were.
	if got := semRead(t, semFile); got != "1\n" {
		t.Errorf("read of the mutex through the mount: %q", got)
	}
	mustSh(t, fmt.Sprintf("echo '-1 nowait' > %[1]s && echo 1 > %[1]s && ls %[2]s > /dev/null", shQuote(semFile), shQuote(m.Path("msg"))))
	th := relThreadsBackTo(t, pid, th0+16)
	_, rss := semDaemonFigures(t, pid)
	t.Logf("daemon after the soak: %d threads, VmRSS %d kB", th, rss)
}
