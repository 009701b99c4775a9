package integration

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The classic producer and consumer over a shared memory segment and two
// semaphores ("empty", starting at 1, and "full", starting at 0), every
// semaphore operation with undo: the C pair (integration/c/prodcons.c)
// doing it with shmat and semop, and the same exchange with one side, or
// both, a bash script that uses nothing but the mount:
//
//	producer: echo "-1 undo" > sem/K/0; echo "message..." > shm/KEY; echo "1 undo" > sem/K/1
//	consumer: echo "-1 undo" > sem/K/1; head -n 1 shm/KEY;           echo "1 undo" > sem/K/0

const semProdConsCount = 60

// semShellProducer is the producer as a bash script over the mount; like
// the C one it waits for the end of its stdin before it exits.
func semShellProducer(semDir, shm string, n int) string {
	return fmt.Sprintf(`set -e
for ((i = 0; i < %d; i++)); do
	echo "-1 undo" > %[2]s/0
	echo "message $i from shell" > %[3]s
	echo "1 undo" > %[2]s/1
done
read -r _ || true
`, n, shQuote(semDir), shQuote(shm))
}

// semShellConsumer is the consumer as a bash script over the mount.
func semShellConsumer(semDir, shm string, n int) string {
	return fmt.Sprintf(`set -e
for ((i = 0; i < %d; i++)); do
	echo "-1 undo" > %[2]s/1
	head -n 1 %[3]s
	echo "1 undo" > %[2]s/0
done
`, n, shQuote(semDir), shQuote(shm))
}

// TestSemProducerConsumer: every message arrives once and in order, with
// C on both sides, the shell on either side, or the shell on both; the
// undo adjustments, applied as each side ends (the consumer first), leave
// the semaphores as the kernel leaves them for the C pair.
func TestSemProducerConsumer(t *testing.T) {
	m := mount(t)
	type result struct{ afterConsumer, afterProducer []int }
	var cRun *result
	for _, c := range []struct {
		name                    string
		shellProducer, shellCon bool
	}{{"C producer, C consumer", false, false}, {"shell producer, C consumer", true, false},
		{"C producer, shell consumer", false, true}, {"shell producer, shell consumer", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			shmKey, semKey := newKey(), newKey()
			shmID := newSegment(t, shmKey, 4096, 0600)
			semID := semNew(t, semKey, 2, 0600)
			semSetVals(t, semID, 1, 0)
			semDir := m.Path("sem", keyName(semKey))
			shm := m.Path("shm", keyName(shmKey))
			n := semProdConsCount

			var prod, cons *semProc
			tag := "c"
			if c.shellProducer {
				prod = semBash(t, semShellProducer(semDir, shm, n))
				tag = "shell"
			} else {
				prod = semStart(t, cProgram(t, "prodcons"), "produce", strconv.Itoa(shmID), strconv.Itoa(semID), strconv.Itoa(n), "c")
			}
			if c.shellCon {
				cons = semBash(t, semShellConsumer(semDir, shm, n))
			} else {
				cons = semStart(t, cProgram(t, "prodcons"), "consume", strconv.Itoa(shmID), strconv.Itoa(semID), strconv.Itoa(n))
			}

			var got []string
			for range n {
				got = append(got, cons.line(t))
			}
			if rest := cons.mustSucceed(t); rest != "" {
				t.Errorf("the consumer printed more: %q", rest)
			}
			var want []string
			for i := range n {
				want = append(want, fmt.Sprintf("message %d from %s", i, tag))
			}
			if !slices.Equal(got, want) {
				t.Errorf("the consumer got %d lines, not the %d messages in order:\n%s", len(got), n, strings.Join(got, "\n"))
			}

			// The consumer's undo is applied at its end (the kernel's at
			// once, the daemon's a moment after), then the producer's.
			r := &result{}
			if cRun == nil {
				r.afterConsumer = semVals(t, semID)
			} else {
				semPollVals(t, "after the consumer ended", semID, cRun.afterConsumer)
				r.afterConsumer = cRun.afterConsumer
			}
			if prod.exited() {
				t.Fatal("the producer ended before it was let go")
			}
			prod.release()
			prod.mustSucceed(t)
			if cRun == nil {
				r.afterProducer = semVals(t, semID)
				cRun = r
				// The kernel: the consumer's semadj (full +n, empty -n)
				// clamps empty at 0; the producer's (empty +n, full -n)
				// then brings full back to 0.
				if !slices.Equal(r.afterConsumer, []int{0, n}) || !slices.Equal(r.afterProducer, []int{n, 0}) {
					t.Errorf("the C pair leaves %v then %v, want [0 %d] then [%d 0]", r.afterConsumer, r.afterProducer, n, n)
				}
			} else {
				semPollVals(t, "after the producer ended", semID, cRun.afterProducer)
			}
			if got := string(segmentBytes(t, shmID)[:len(want[n-1])+1]); got != want[n-1]+"\n" {
				t.Errorf("the segment holds %q at the end", got)
			}
		})
	}
}
