package main

import (
	"os"
	"runtime"
)

// oneProc runs the daemon's Go code on one processor, unless GOMAXPROCS
// is set. A request costs the daemon microseconds of work and one thread
// wakeup; with a second processor idle, the runtime wakes further threads
// to look for work as requests come and go, and takes the processor of
// every reader blocked on /dev/fuse, each a context switch on another
// CPU. Measured on 2 CPUs: one processor halved the daemon's CPU per
// `echo > sem/K/0` (183 -> 89 us) and its context switches (12.5 -> 6.8),
// and two writers to two segments lost nothing (the copies from the
// kernel run in the read(2) of /dev/fuse, outside Go). Waits (semop,
// msgsnd, msgrcv) are syscalls on threads of their own: the runtime's
// monitor takes the processor from such a thread within a tick (20 us
// while requests flow), so one waiter does not hold up the others.
func oneProc() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
