//go:build cgo

package main

/*
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

// Runs before the Go runtime starts any thread, so that the one thread
// there is enters the namespace and every later thread inherits it: the
// way to setns a cgo-linked Go program (AllThreadsSyscall refuses there).
__attribute__((constructor)) static void ipcfs_enter_ipc_ns(void) {
	const char *path = getenv("IPCFS_IPC_NS");
	if (path == NULL || *path == '\0')
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWIPC) < 0) {
		fprintf(stderr, "ipcfs: --ipc-ns %s: ", path);
		perror(fd < 0 ? "open" : "setns");
		_exit(1);
	}
	close(fd);
}
*/
import "C"
