/* viewtool: System V objects made and used directly with the syscalls,
 * for the tests of the debugging views (status, xattrs, limits, usage),
 * which run it as various users to give objects various owners, creators
 * and last-operation pids.
 *
 *   viewtool shmget KEY SIZE MODE    shmget(KEY, SIZE, IPC_CREAT|IPC_EXCL|MODE)
 *   viewtool semget KEY NSEMS MODE   semget(KEY, NSEMS, IPC_CREAT|IPC_EXCL|MODE)
 *   viewtool msgget KEY MODE         msgget(KEY, IPC_CREAT|IPC_EXCL|MODE)
 *       print "ERRNO ID" (KEY decimal, 0 for IPC_PRIVATE; MODE octal)
 *   viewtool touch ID                shmat and shmdt (sets atime, dtime, lpid)
 *   viewtool semop ID NUM OP         one semop (may block); prints "ERRNO"
 *   viewtool msgsnd ID MTYPE TEXT    one msgsnd, IPC_NOWAIT; prints "ERRNO"
 *   viewtool msgrcv ID               one msgrcv of any type, IPC_NOWAIT;
 *                                    prints "ERRNO LEN"
 *   viewtool lonethread ID           shmat(ID), then the main thread ends
 *                                    and another prints "attached" and
 *                                    waits for EOF on stdin
 *   viewtool nsobjects SHMKEY SIZE SEMKEY MSGKEY
 *       in the caller's IPC namespace: one segment (SIZE bytes, 0640), one
 *       set (3 semaphores, 0600) and one queue (0644); prints
 *       "SHMID SEMID MSQID", then waits for EOF on stdin and exits
 *
 * Every command but nsobjects prints the errno first (0 on success) and
 * exits 0, so that a test can compare errnos; nsobjects exits 1 with a
 * message on failure.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

static key_t keyarg(const char *s) { return (key_t)(unsigned int)strtoul(s, NULL, 0); }
static int modearg(const char *s) { return (int)strtoul(s, NULL, 8); }

static int report(int r)
{
	if (r < 0)
		printf("%d -1\n", errno);
	else
		printf("0 %d\n", r);
	return 0;
}

static void die(const char *what)
{
	fprintf(stderr, "viewtool: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* lone is lonethread's thread, which outlives the main one. */
static void *lone(void *arg)
{
	(void)arg;
	printf("attached\n");
	fflush(stdout);
	char buf[256];
	while (fread(buf, 1, sizeof buf, stdin) > 0)
		;
	exit(0);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: viewtool CMD ARGS\n");
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "shmget") && argc == 5)
		return report(shmget(keyarg(argv[2]), strtoul(argv[3], NULL, 0), IPC_CREAT | IPC_EXCL | modearg(argv[4])));
	if (!strcmp(cmd, "semget") && argc == 5)
		return report(semget(keyarg(argv[2]), atoi(argv[3]), IPC_CREAT | IPC_EXCL | modearg(argv[4])));
	if (!strcmp(cmd, "msgget") && argc == 4)
		return report(msgget(keyarg(argv[2]), IPC_CREAT | IPC_EXCL | modearg(argv[3])));
	if (!strcmp(cmd, "touch") && argc == 3) {
		void *p = shmat(atoi(argv[2]), NULL, SHM_RDONLY);
		if (p == (void *)-1) {
			printf("%d\n", errno);
			return 0;
		}
		printf("%d\n", shmdt(p) < 0 ? errno : 0);
		return 0;
	}
	if (!strcmp(cmd, "semop") && argc == 5) {
		struct sembuf op = {.sem_num = (unsigned short)atoi(argv[3]), .sem_op = (short)atoi(argv[4])};
		printf("%d\n", semop(atoi(argv[2]), &op, 1) < 0 ? errno : 0);
		return 0;
	}
	if (!strcmp(cmd, "msgsnd") && argc == 5) {
		size_t n = strlen(argv[4]);
		struct {
			long mtype;
			char mtext[8192];
		} m;
		if (n > sizeof m.mtext)
			n = sizeof m.mtext;
		m.mtype = atol(argv[3]);
		memcpy(m.mtext, argv[4], n);
		printf("%d\n", msgsnd(atoi(argv[2]), &m, n, IPC_NOWAIT) < 0 ? errno : 0);
		return 0;
	}
	if (!strcmp(cmd, "msgrcv") && argc == 3) {
		struct {
			long mtype;
			char mtext[65536];
		} m;
		ssize_t n = msgrcv(atoi(argv[2]), &m, sizeof m.mtext, 0, IPC_NOWAIT);
		if (n < 0)
			printf("%d -1\n", errno);
		else
			printf("0 %zd\n", n);
		return 0;
	}
	if (!strcmp(cmd, "lonethread") && argc == 3) {
		if (shmat(atoi(argv[2]), NULL, SHM_RDONLY) == (void *)-1)
			die("shmat");
		pthread_t t;
		if (pthread_create(&t, NULL, lone, NULL))
			die("pthread_create");
		pthread_exit(NULL);
	}
	if (!strcmp(cmd, "nsobjects") && argc == 6) {
		int shm = shmget(keyarg(argv[2]), strtoul(argv[3], NULL, 0), IPC_CREAT | IPC_EXCL | 0640);
		if (shm < 0)
			die("shmget");
		int sem = semget(keyarg(argv[4]), 3, IPC_CREAT | IPC_EXCL | 0600);
		if (sem < 0)
			die("semget");
		int msq = msgget(keyarg(argv[5]), IPC_CREAT | IPC_EXCL | 0644);
		if (msq < 0)
			die("msgget");
		printf("%d %d %d\n", shm, sem, msq);
		fflush(stdout);
		char buf[256];
		while (fread(buf, 1, sizeof buf, stdin) > 0)
			;
		return 0;
	}
	fprintf(stderr, "viewtool: bad command\n");
	return 2;
}
