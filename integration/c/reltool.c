/* reltool: the direct-syscall clients of the reliability and soak tests,
 * working alongside shell clients that go through an ipcfs mount.
 *
 *   reltool lock SEMID SHMID MS US
 *       until MS milliseconds have passed: take semaphore 0 of SEMID
 *       (semop -1, SEM_UNDO), read the counter kept as decimal text in
 *       the first 16 bytes of segment SHMID ("%-15ld\n", as the shell
 *       clients write it), sleep US/10 microseconds (a wider window for a
 *       lost update, were the exclusion broken), write it back plus one,
 *       give the semaphore back (semop +1, SEM_UNDO), sleep US
 *       microseconds (room for the slower shell clients); prints "N", the
 *       number of critical sections it went through
 *   reltool produce QID TAG MS US
 *       until MS milliseconds have passed: msgsnd (type 1, waiting while
 *       the queue is full) of "TAG I\n" for I = 1, 2, ..., sleeping US
 *       microseconds after each; prints "N", how many it sent
 *   reltool consume QID
 *       msgrcv (any type, waiting) until a message "stop\n"; prints each
 *       other message as received (each ends in a newline)
 *
 * Any failure exits 1 with a message on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "reltool: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void semop1(int id, short op)
{
	struct sembuf b = {0, op, SEM_UNDO};
	while (semop(id, &b, 1) < 0)
		if (errno != EINTR)
			die("semop");
}

static int lock(int semid, int shmid, long ms, long us)
{
	char *mem = shmat(shmid, NULL, 0);
	if (mem == (void *)-1)
		die("shmat");
	long long end = now_ms() + ms;
	long n = 0;
	while (now_ms() < end) {
		semop1(semid, -1);
		char text[17], *stop;
		memcpy(text, mem, 16);
		text[16] = 0;
		for (int i = 0; i < 16; i++)
			if (text[i] == 0)
				text[i] = ' ';
		long v = strtol(text, &stop, 10);
		if (us >= 10)
			usleep((useconds_t)(us / 10));
		while (*stop == ' ' || *stop == '\n')
			stop++;
		if (*stop) {
			fprintf(stderr, "reltool lock: the counter reads %.16s\n", text);
			return 1;
		}
		char out[32];
		if (snprintf(out, sizeof out, "%-15ld\n", v + 1) != 16) {
			fprintf(stderr, "reltool lock: the counter overflows: %ld\n", v);
			return 1;
		}
		memcpy(mem, out, 16);
		semop1(semid, 1);
		n++;
		if (us > 0)
			usleep((useconds_t)us);
	}
	printf("%ld\n", n);
	return 0;
}

struct msgb {
	long mtype;
	char mtext[256];
};

static int produce(int qid, const char *tag, long ms, long us)
{
	struct msgb m = {1, ""};
	long long end = now_ms() + ms;
	long n = 0;
	while (now_ms() < end) {
		int len = snprintf(m.mtext, sizeof m.mtext, "%s %ld\n", tag, n + 1);
		while (msgsnd(qid, &m, (size_t)len, 0) < 0)
			if (errno != EINTR)
				die("msgsnd");
		n++;
		if (us > 0)
			usleep((useconds_t)us);
	}
	printf("%ld\n", n);
	return 0;
}

static int consume(int qid)
{
	struct msgb m;
	for (;;) {
		ssize_t r = msgrcv(qid, &m, sizeof m.mtext, 0, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("msgrcv");
		}
		if (r == 5 && !memcmp(m.mtext, "stop\n", 5))
			return 0;
		fwrite(m.mtext, 1, (size_t)r, stdout);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "lock"))
		return lock(atoi(argv[2]), atoi(argv[3]), atol(argv[4]), atol(argv[5]));
	if (argc == 6 && !strcmp(argv[1], "produce"))
		return produce(atoi(argv[2]), argv[3], atol(argv[4]), atol(argv[5]));
	if (argc == 3 && !strcmp(argv[1], "consume"))
		return consume(atoi(argv[2]));
	fprintf(stderr, "usage: reltool lock SEMID SHMID MS US | produce QID TAG MS US | consume QID\n");
	return 2;
}
