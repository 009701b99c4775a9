/* prodcons: the classic producer and consumer over a shared memory
 * segment and two semaphores, all operations with SEM_UNDO:
 *
 *   semaphore 0 "empty" (starts at 1), semaphore 1 "full" (starts at 0)
 *   producer: wait empty, write a line into the segment, post full
 *   consumer: wait full, read the line, post empty
 *
 *   prodcons produce SHMID SEMID COUNT TAG
 *       writes "message I from TAG\n" (then a NUL) for I in 0..COUNT-1,
 *       then waits for EOF on stdin before it exits, so that the test
 *       decides when its undo adjustments are applied
 *   prodcons consume SHMID SEMID COUNT
 *       prints each line it takes, COUNT of them, and exits
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

enum { EMPTY = 0, FULL = 1 };

static void die(const char *what)
{
	fprintf(stderr, "prodcons: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void sem(int id, int num, int op)
{
	struct sembuf b = {(unsigned short)num, (short)op, SEM_UNDO};
	while (semop(id, &b, 1) < 0)
		if (errno != EINTR)
			die("semop");
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: prodcons produce|consume SHMID SEMID COUNT [TAG]\n");
		return 2;
	}
	int shmid = atoi(argv[2]), semid = atoi(argv[3]), count = atoi(argv[4]);
	struct shmid_ds d;
	if (shmctl(shmid, IPC_STAT, &d) < 0)
		die("IPC_STAT");
	char *seg = shmat(shmid, NULL, 0);
	if (seg == (void *)-1)
		die("shmat");
	if (!strcmp(argv[1], "produce") && argc == 6) {
		for (int i = 0; i < count; i++) {
			sem(semid, EMPTY, -1);
			int n = snprintf(seg, d.shm_segsz, "message %d from %s\n", i, argv[5]);
			if (n < 0 || (size_t)n >= d.shm_segsz)
				die("snprintf");
			sem(semid, FULL, 1);
		}
		shmdt(seg);
		char buf[64];
		while (read(0, buf, sizeof buf) > 0)
			;
		return 0;
	}
	if (!strcmp(argv[1], "consume") && argc == 5) {
		for (int i = 0; i < count; i++) {
			sem(semid, FULL, -1);
			char *nl = memchr(seg, '\n', d.shm_segsz);
			if (!nl) {
				fprintf(stderr, "prodcons: no line in the segment\n");
				return 1;
			}
			fwrite(seg, 1, (size_t)(nl - seg) + 1, stdout);
			fflush(stdout);
			sem(semid, EMPTY, 1);
		}
		shmdt(seg);
		return 0;
	}
	fprintf(stderr, "prodcons: bad command\n");
	return 2;
}
