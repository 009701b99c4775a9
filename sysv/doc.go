// Package sysv is a thin, typed layer over the System V IPC syscalls
// (shared memory, semaphores, message queues): get, control, enumeration
// and the data operations. It knows nothing of FUSE.
//
// Every function returns the kernel's errno unchanged (as syscall.Errno),
// so callers can hand it on to their own callers as the syscall would.
package sysv
