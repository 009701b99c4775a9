package sysv

import (
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// idleThreads makes the runtime start about n threads and leaves them
// idle: n goroutines block in read(2) on pipes at once, so the runtime
// gives each one's processor to another thread, then all are woken.
func idleThreads(t *testing.T, n int) {
	t.Helper()
	start := threadCount()
	var wg sync.WaitGroup
	var writers []int
	for range n {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		writers = append(writers, p[1])
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			var b [1]byte
			unix.Read(r, b[:])
			unix.Close(r)
		}(p[0])
	}
	eventually(t, "the runtime to start threads for the blocked readers", func() bool { return threadCount() >= start+n/2 })
	for _, w := range writers {
		if _, err := unix.Write(w, []byte{0}); err != nil {
			t.Fatal(err) // a reader would wait for good
		}
		unix.Close(w)
	}
	wg.Wait()
}

// TestTrimAfterBurst: the threads the runtime starts while a call waits,
// and would keep idle for good, are ended once no call has waited for
// trimDelay; the process is back to the threads it had when the wait
// began, give or take a few.
func TestTrimAfterBurst(t *testing.T) {
	eventually(t, "no call to wait (as earlier tests may leave one ending)", func() bool {
		burst.Lock()
		defer burst.Unlock()
		return burst.waiting == 0
	})
	id := newSemSet(t, 1, 0600)
	done := blockedSemop(t, bg, nil, id, []SemOp{{Num: 0, Op: -1}}, 0, false)
	burst.Lock()
	before := burst.before
	burst.Unlock()
	idleThreads(t, 64)
	if err := SemSetVal(id, 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := wait(t, "semop", done); err != nil {
		t.Fatalf("semop: %v", err)
	}
	// A few more than before: ending a thread may hand its processor to
	// a new one when none is idle.
	eventually(t, "the idle threads to end", func() bool { return threadCount() <= before+4 })
}
