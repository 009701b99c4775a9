package sysv

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// A waiting call's thread ends with it (Block), but a thousand waiters
// woken at once hand the processor from thread to thread so often that
// the runtime starts new ones, and it never ends an idle thread
// (golang/go#14592): one such burst left 10 to 100 threads idle for
// good. So once no call has waited for trimDelay, the threads beyond
// those the process had when the burst began are ended, the one way a
// Go program can end a thread: a goroutine that locks it and returns.

// trimDelay is how long no call must wait before trimming, so that a
// lock handed from waiter to waiter does not trim between waits.
const trimDelay = 250 * time.Millisecond

var burst struct {
	sync.Mutex
	waiting int    // calls holding a slot
	before  int    // the process's threads when waiting went from 0 to 1
	gen     uint64 // bumped each time waiting drops to 0
}

// waitBegins counts a call that is about to wait.
func waitBegins() {
	burst.Lock()
	defer burst.Unlock()
	if burst.waiting == 0 {
		burst.before = threadCount()
	}
	burst.waiting++
}

// waitEnds counts a call that has waited, and schedules the trim when it
// was the last.
func waitEnds() {
	burst.Lock()
	defer burst.Unlock()
	burst.waiting--
	if burst.waiting > 0 {
		return
	}
	burst.gen++
	gen := burst.gen
	time.AfterFunc(trimDelay, func() { trimAfter(gen) })
}

// trimAfter ends the threads the burst gen left, unless calls have
// waited since: it stops as soon as one does.
func trimAfter(gen uint64) {
	burst.Lock()
	if burst.waiting > 0 || burst.gen != gen || burst.before <= 0 {
		burst.Unlock()
		return
	}
	excess := threadCount() - burst.before
	burst.Unlock()
	for range excess {
		burst.Lock()
		idle := burst.waiting == 0
		burst.Unlock()
		if !idle {
			return
		}
		endThread()
	}
}

// endThread ends the thread the goroutine it starts runs on: the
// runtime ends a thread whose locked goroutine returns. The processor
// passes to an idle thread, or a new one if there is none, so this never
// leaves the process short of threads.
func endThread() {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked
		close(done)
	}()
	<-done
}

// threadCount is the process's number of threads; 0 when unknown.
func threadCount() int {
	line, _ := statusField(uint32(os.Getpid()), "Threads")
	n, _ := strconv.Atoi(string(bytes.TrimSpace(line)))
	return n
}
