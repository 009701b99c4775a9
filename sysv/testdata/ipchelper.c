// ipchelper reports and acts on SysV objects through glibc, independently
// of package sysv, for the differential tests.
//
//   ipchelper sem ID         one line per semaphore: val ncnt zcnt pid
//   ipchelper semop ID N OP  one semop (IPC_NOWAIT); prints its pid
//   ipchelper msgsnd ID T S  sends text S with type T; prints its pid
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <unistd.h>

static int fail(const char *what) {
	printf("%s: %s\n", what, strerrorname_np(errno));
	return 1;
}

int main(int argc, char **argv) {
	if (argc == 3 && strcmp(argv[1], "sem") == 0) {
		int id = atoi(argv[2]);
		struct semid_ds ds;
		if (semctl(id, 0, IPC_STAT, &ds) < 0)
			return fail("IPC_STAT");
		for (unsigned long i = 0; i < ds.sem_nsems; i++) {
			int v = semctl(id, i, GETVAL), n = semctl(id, i, GETNCNT),
			    z = semctl(id, i, GETZCNT), p = semctl(id, i, GETPID);
			if (v < 0 || n < 0 || z < 0 || p < 0)
				return fail("semctl");
			printf("%d %d %d %d\n", v, n, z, p);
		}
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "semop") == 0) {
		struct sembuf op = {atoi(argv[3]), atoi(argv[4]), IPC_NOWAIT};
		if (semop(atoi(argv[2]), &op, 1) < 0)
			return fail("semop");
		printf("%d\n", getpid());
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "msgsnd") == 0) {
		size_t n = strlen(argv[4]);
		struct { long mtype; char text[8192]; } m;
		if (n > sizeof m.text)
			return 2;
		m.mtype = atol(argv[3]);
		memcpy(m.text, argv[4], n);
		if (msgsnd(atoi(argv[2]), &m, n, IPC_NOWAIT) < 0)
			return fail("msgsnd");
		printf("%d\n", getpid());
		return 0;
	}
	fprintf(stderr, "usage: ipchelper sem ID | semop ID N OP | msgsnd ID T TEXT\n");
	return 2;
}
