package main

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// idleHeapLimit is how much freed heap the daemon keeps before it hands
// it back to the kernel.
const idleHeapLimit = 8 << 20

// returnIdleMemory hands freed heap back to the kernel after a burst
// (a thousand waiters each cost a thread, stacks and buffers while they
// wait). The runtime does so by itself only slowly, so a daemon that
// served one burst would otherwise stay large for minutes. A look
// every two seconds costs nothing measurable when idle.
func returnIdleMemory() {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	for range time.Tick(2 * time.Second) {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > idleHeapLimit {
			debug.FreeOSMemory()
		}
	}
}
