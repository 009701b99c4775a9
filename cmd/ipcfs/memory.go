package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// idleHeapLimit is how much freed heap, or new garbage, the daemon keeps
// before it hands it back to the kernel.
const idleHeapLimit = 8 << 20

// returnIdleMemory hands freed heap back to the kernel after a burst (a
// thousand waiters each cost a thread, stacks and buffers while they
// wait). The runtime does so by itself only slowly, and collects only as
// the heap grows or every two minutes, so a daemon that goes quiet after
// a burst would keep the burst's garbage, and stay large, for minutes
// (2000 waiters: 93 MB for two minutes). So a look every two seconds
// that finds no collection since the last look collects, and hands the
// memory back, when the heap has grown past what the last such
// collection left, when most of the goroutines running then have ended
// (what they held was in use then), or when the last such collection
// freed much (a burst may still have been ending). Under load the runtime
// collects by itself and the look does nothing; idle, it reads five
// figures.
func returnIdleMemory() {
	sample := []metrics.Sample{
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/sched/goroutines:goroutines"},
	}
	read := func() (free, objects, cycles, live, goroutines uint64, ok bool) {
		metrics.Read(sample)
		var v [5]uint64
		for i, s := range sample {
			if s.Value.Kind() != metrics.KindUint64 {
				return 0, 0, 0, 0, 0, false // a runtime without these figures
			}
			v[i] = s.Value.Uint64()
		}
		return v[0], v[1], v[2], v[3], v[4], true
	}
	var lastCycles, baseHeap, baseGoroutines uint64
	again := false
	for range time.Tick(2 * time.Second) {
		free, objects, cycles, _, goroutines, ok := read()
		if !ok {
			return
		}
		quiet := cycles == lastCycles
		if free > idleHeapLimit || quiet && (again || objects > baseHeap+idleHeapLimit || goroutines < baseGoroutines/2) {
			// Two collections: what a sync.Pool holds (go-fuse's request
			// buffers, 150 MB after 2000 waiters) outlives the first.
			runtime.GC()
			debug.FreeOSMemory()
			_, _, cycles, baseHeap, baseGoroutines, _ = read()
			again = objects > baseHeap+idleHeapLimit
		}
		lastCycles = cycles
	}
}
