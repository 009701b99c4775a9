package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// msgJobWorker is the worker loop of the README's job queue recipe: each
// read of the queue is one whole job; "stop" ends the loop.
const msgJobWorker = `
while job=$(dd if="$Q" bs=64k count=1 status=none); do
	[ "$job" = stop ] && exit 0
	printf '%s\n' "$job" >> "$OUT"
done
echo "worker: dd failed" >&2
exit 1
`

// TestMsgJobQueue: the job queue recipe. N jobs go into a queue (with a
// small msg_qbytes, so that the feeder waits for the workers), 3 shell
// workers take them one whole message at a time through the mount, each
// appending what it took to its own file, until each takes a "stop".
// Every job is done exactly once: none lost, none twice, none split.
func TestMsgJobQueue(t *testing.T) {
	const jobs, workers = 200, 3
	for _, feeder := range []string{"msgsnd", "mount"} {
		t.Run("feeder="+feeder, func(t *testing.T) {
			m := mount(t)
			key := newKey()
			id := msgNewQueue(t, key, 0600)
			msgSetQbytes(t, id, 64) // about 7 jobs
			q := m.Path("msg", keyName(key))
			dir := t.TempDir()

			var ws []*msgProc
			for w := range workers {
				out := filepath.Join(dir, fmt.Sprintf("worker%d", w))
				ws = append(ws, msgStart(t, nil, "bash", "-c", fmt.Sprintf("Q=%s OUT=%s; %s", shQuote(q), shQuote(out), msgJobWorker)))
			}
			var feed *msgProc
			if feeder == "msgsnd" {
				// A C program, msgsnd waiting while the queue is full.
				feed = msgStart(t, nil, "msgtool", "feed", strconv.Itoa(id), strconv.Itoa(jobs), strconv.Itoa(workers))
			} else {
				// The shell, through the mount: each echo is one message.
				feed = msgStart(t, nil, "bash", "-c", fmt.Sprintf(
					`for i in $(seq 1 %d); do echo "job $i" > %s || exit 1; done; for i in $(seq 1 %d); do printf stop > %s || exit 1; done`,
					jobs, shQuote(q), workers, shQuote(q)))
			}
			feed.waitOK(t)
			for _, w := range ws {
				w.waitOK(t)
			}

			count := map[string]int{}
			perWorker := make([]int, workers)
			for w := range workers {
				b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("worker%d", w)))
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				for _, line := range strings.Split(string(b), "\n") {
					if line == "" {
						continue
					}
					count[line]++
					perWorker[w]++
				}
			}
			var missing, twice, strange []string
			for i := 1; i <= jobs; i++ {
				job := fmt.Sprintf("job %d", i)
				switch count[job] {
				case 0:
					missing = append(missing, job)
				case 1:
				default:
					twice = append(twice, job)
				}
				delete(count, job)
			}
			for line := range count {
				strange = append(strange, line)
			}
			sort.Strings(strange)
			if len(missing) > 0 || len(twice) > 0 || len(strange) > 0 {
				t.Errorf("jobs lost: %q; done more than once: %q; lines that are no job: %q", missing, twice, strange)
			}
			if d := msgStat(t, id); d.Qnum != 0 || d.Cbytes != 0 {
				t.Errorf("after the workers stopped the queue holds %d messages (%d bytes)", d.Qnum, d.Cbytes)
			}
			msgWaitDaemonWaiters(t, m, id, 0, 0)
			t.Logf("jobs per worker: %v", perWorker)
		})
	}
}
