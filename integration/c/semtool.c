/* semtool: System V semaphores operated directly with the syscalls, and
 * writes to ipcfs semaphore files made with the plain syscalls, so that a
 * test can compare the two and run either in a process of its own.
 *
 *   semtool op ID SPEC... [-t MS] [-alarm] [-hold]
 *       one semop (semtimedop with -t) of the operations SPEC, each
 *       K:OP or K:OP:FLAGS, FLAGS made of n (IPC_NOWAIT) and u (SEM_UNDO);
 *       with -alarm, a SIGALRM handler without SA_RESTART and alarm(1)
 *       interrupt a semop that waits
 *   semtool seq ID SPEC...
 *       one semop per SPEC (as for op), each answered on a line of its
 *       own, then hold: a process's successive semops
 *   semtool write PATH TEXT [-nonblock] [-hold]
 *       open PATH O_WRONLY (with O_NONBLOCK) and write TEXT in one write
 *   semtool thread-write PATH TEXT
 *       the same write, made by a second thread that then ends; the
 *       process itself holds (as with -hold)
 *   semtool intr PATH TEXT
 *       open PATH, install a SIGALRM handler without SA_RESTART, alarm(1),
 *       write TEXT: a write that waits is interrupted after a second
 *   semtool waiters N PATH TEXT
 *       fork N children that each open PATH and write TEXT; print
 *       "forked N" once all are started, then wait for them all and print
 *       "ok A failed B" (a child that fails exits with its errno)
 *
 * op, write, thread-write and intr print the errno the operation ended
 * with (0 on success) and a newline. With -hold the process then waits for
 * EOF on stdin before it exits, so that its SEM_UNDO adjustments (kernel
 * or ipcfs) live until the test lets it go.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void hold(void)
{
	char buf[64];
	while (read(0, buf, sizeof buf) > 0)
		;
}

static void answer(int err)
{
	printf("%d\n", err);
	fflush(stdout);
}

static int write_text(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | flags);
	if (fd < 0)
		return errno;
	ssize_t n = write(fd, text, strlen(text));
	int err = n < 0 ? errno : 0;
	close(fd);
	if (n >= 0 && (size_t)n != strlen(text)) {
		fprintf(stderr, "semtool: short write %zd of %zu\n", n, strlen(text));
		exit(1);
	}
	return err;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* arm_alarm interrupts, in a second, whatever system call then waits. */
static void arm_alarm(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = 0; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
}

static int op(int argc, char **argv)
{
	int id = atoi(argv[2]);
	struct sembuf ops[1024];
	int n = 0, holding = 0, alarming = 0;
	long ms = -1;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "-hold")) {
			holding = 1;
			continue;
		}
		if (!strcmp(argv[i], "-alarm")) {
			alarming = 1;
			continue;
		}
		if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			ms = atol(argv[++i]);
			continue;
		}
		if (n == (int)(sizeof ops / sizeof ops[0])) {
			fprintf(stderr, "semtool: too many operations\n");
			return 2;
		}
		char *p = argv[i], *end;
		ops[n].sem_num = (unsigned short)strtoul(p, &end, 10);
		if (*end != ':') {
			fprintf(stderr, "semtool: bad operation %s\n", argv[i]);
			return 2;
		}
		ops[n].sem_op = (short)strtol(end + 1, &end, 10);
		ops[n].sem_flg = 0;
		if (*end == ':')
			for (end++; *end; end++)
				ops[n].sem_flg |= *end == 'n' ? IPC_NOWAIT : *end == 'u' ? SEM_UNDO : 0;
		n++;
	}
	if (alarming)
		arm_alarm();
	int r;
	if (ms >= 0) {
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
		r = semtimedop(id, ops, n, &ts);
	} else {
		r = semop(id, ops, n);
	}
	answer(r < 0 ? errno : 0);
	if (holding)
		hold();
	return 0;
}

struct job {
	const char *path, *text;
	int err;
};

static void *thread_write(void *arg)
{
	struct job *j = arg;
	j->err = write_text(j->path, j->text, 0);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: semtool CMD ARGS\n");
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "op") && argc >= 4)
		return op(argc, argv);
	if (!strcmp(cmd, "seq") && argc >= 4) {
		for (int i = 3; i < argc; i++) {
			char *end;
			struct sembuf s = {.sem_num = (unsigned short)strtoul(argv[i], &end, 10)};
			if (*end != ':') {
				fprintf(stderr, "semtool: bad operation %s\n", argv[i]);
				return 2;
			}
			s.sem_op = (short)strtol(end + 1, &end, 10);
			if (*end == ':')
				for (end++; *end; end++)
					s.sem_flg |= *end == 'n' ? IPC_NOWAIT : *end == 'u' ? SEM_UNDO : 0;
			answer(semop(atoi(argv[2]), &s, 1) < 0 ? errno : 0);
		}
		hold();
		return 0;
	}
	if (!strcmp(cmd, "write") && argc >= 4) {
		int flags = 0, holding = 0;
		for (int i = 4; i < argc; i++) {
			if (!strcmp(argv[i], "-nonblock"))
				flags |= O_NONBLOCK;
			else if (!strcmp(argv[i], "-hold"))
				holding = 1;
		}
		answer(write_text(argv[2], argv[3], flags));
		if (holding)
			hold();
		return 0;
	}
	if (!strcmp(cmd, "thread-write") && argc == 4) {
		struct job j = {argv[2], argv[3], 0};
		pthread_t th;
		if (pthread_create(&th, NULL, thread_write, &j) != 0) {
			fprintf(stderr, "semtool: pthread_create failed\n");
			return 1;
		}
		pthread_join(th, NULL);
		answer(j.err);
		hold();
		return 0;
	}
	if (!strcmp(cmd, "intr") && argc == 4) {
		int fd = open(argv[2], O_WRONLY);
		if (fd < 0) {
			answer(errno);
			return 0;
		}
		arm_alarm();
		ssize_t n = write(fd, argv[3], strlen(argv[3]));
		answer(n < 0 ? errno : 0);
		close(fd);
		return 0;
	}
	if (!strcmp(cmd, "waiters") && argc == 5) {
		int n = atoi(argv[2]);
		for (int i = 0; i < n; i++) {
			pid_t pid = fork();
			if (pid < 0) {
				fprintf(stderr, "semtool: fork %d: %s\n", i, strerror(errno));
				return 1;
			}
			if (pid == 0)
				_exit(write_text(argv[3], argv[4], 0));
		}
		printf("forked %d\n", n);
		fflush(stdout);
		int ok = 0, failed = 0, status;
		while (wait(&status) > 0) {
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
				ok++;
			else
				failed++;
		}
		printf("ok %d failed %d\n", ok, failed);
		return 0;
	}
	fprintf(stderr, "semtool: bad command\n");
	return 2;
}
