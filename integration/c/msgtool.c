/* msgtool: System V message queues, used directly with the syscalls or
 * through a file with plain read(2) and write(2), for comparing what the
 * ipcfs mount does with what msgsnd and msgrcv do.
 *
 *   msgtool send ID MTYPE [nowait] [alarm]
 *       one msgsnd of all of stdin; prints "ERRNO"
 *   msgtool recv ID MSGTYP BUFSIZE [nowait] [alarm]
 *       one msgrcv; prints "ERRNO MTYPE LEN\n" and then the LEN bytes
 *   msgtool write PATH [nonblock] [alarm]
 *       open PATH O_WRONLY, one write(2) of all of stdin; prints "ERRNO LEN"
 *   msgtool read PATH BUFSIZE [nonblock] [alarm]
 *       open PATH O_RDONLY, one read(2); prints "ERRNO LEN\n" and the bytes
 *   msgtool create KEY MODE
 *       msgget(KEY, IPC_CREAT|IPC_EXCL|MODE); prints "ERRNO ID"
 *   msgtool stat ID
 *       IPC_STAT; prints "ERRNO qnum cbytes qbytes lspid lrpid stime rtime
 *       ctime uid gid cuid cgid mode"
 *   msgtool set ID UID GID MODE [QBYTES]
 *       IPC_SET of owner, group and mode, and msg_qbytes: QBYTES, or
 *       without it as IPC_STAT says (which needs read permission);
 *       prints "ERRNO"
 *   msgtool rmid ID
 *       IPC_RMID; prints "ERRNO"
 *   msgtool copy ID INDEX BUFSIZE
 *       msgrcv MSG_COPY|IPC_NOWAIT of the message at INDEX; prints as recv
 *   msgtool feed ID N STOPS
 *       msgsnd (waiting while full) of "job I\n" for I = 1..N, type 1,
 *       then STOPS messages "stop"; exits 1 with a message on failure
 *
 * MODE is octal. "nowait" is IPC_NOWAIT, "nonblock" O_NONBLOCK. "alarm"
 * installs a SIGALRM handler without SA_RESTART and sets alarm(1) before
 * the call (the handler sets it again, in case the signal came before the
 * call started), so that a call blocked for good ends with EINTR. Every
 * command but feed prints the errno first (0 on success) and exits 0, so
 * that a test can compare errnos.
 */
#define _GNU_SOURCE /* MSG_COPY */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

struct msgb {
	long mtype;
	char mtext[];
};

static void on_alarm(int sig)
{
	(void)sig;
	alarm(1);
}

static int has(int argc, char **argv, int from, const char *word)
{
	for (int i = from; i < argc; i++)
		if (!strcmp(argv[i], word))
			return 1;
	return 0;
}

static void arm(int argc, char **argv, int from)
{
	if (!has(argc, argv, from, "alarm"))
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART */
	if (sigaction(SIGALRM, &sa, NULL) < 0) {
		perror("sigaction");
		exit(2);
	}
	alarm(1);
}

static void disarm(void)
{
	alarm(0);
}

/* slurp reads all of stdin. */
static char *slurp(size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			b = realloc(b, cap);
		}
		ssize_t r = read(0, b + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			perror("read stdin");
			exit(2);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return b;
}

static void out(const void *p, size_t n)
{
	fflush(stdout);
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(1, c, n);
		if (w <= 0) {
			perror("write stdout");
			exit(2);
		}
		c += w;
		n -= (size_t)w;
	}
}

static void feed(int id, int n, int stops)
{
	struct msgb *m = malloc(sizeof *m + 64);
	m->mtype = 1;
	for (int i = 1; i <= n + stops; i++) {
		int len;
		if (i <= n)
			len = snprintf(m->mtext, 64, "job %d\n", i);
		else
			len = snprintf(m->mtext, 64, "stop");
		while (msgsnd(id, m, (size_t)len, 0) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "msgtool feed: msgsnd %d: %s\n", i, strerror(errno));
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: msgtool CMD ARGS\n");
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "send") && argc >= 4) {
		size_t len;
		char *data = slurp(&len);
		struct msgb *m = malloc(sizeof *m + len + 1);
		m->mtype = strtol(argv[3], NULL, 10);
		memcpy(m->mtext, data, len);
		int flags = has(argc, argv, 4, "nowait") ? IPC_NOWAIT : 0;
		arm(argc, argv, 4);
		int r = msgsnd(atoi(argv[2]), m, len, flags);
		int e = errno;
		disarm();
		printf("%d\n", r < 0 ? e : 0);
		return 0;
	}
	if (!strcmp(cmd, "recv") && argc >= 5) {
		size_t size = strtoul(argv[4], NULL, 10);
		struct msgb *m = malloc(sizeof *m + size + 1);
		int flags = has(argc, argv, 5, "nowait") ? IPC_NOWAIT : 0;
		arm(argc, argv, 5);
		ssize_t r = msgrcv(atoi(argv[2]), m, size, strtol(argv[3], NULL, 10), flags);
		int e = errno;
		disarm();
		if (r < 0) {
			printf("%d 0 0\n", e);
			return 0;
		}
		printf("0 %ld %zd\n", m->mtype, r);
		out(m->mtext, (size_t)r);
		return 0;
	}
	if (!strcmp(cmd, "write") && argc >= 3) {
		size_t len;
		char *data = slurp(&len);
		int flags = O_WRONLY | (has(argc, argv, 3, "nonblock") ? O_NONBLOCK : 0);
		int fd = open(argv[2], flags);
		if (fd < 0) {
			printf("%d 0\n", errno);
			return 0;
		}
		arm(argc, argv, 3);
		ssize_t r = write(fd, data, len);
		int e = errno;
		disarm();
		printf("%d %zd\n", r < 0 ? e : 0, r < 0 ? 0 : r);
		return 0;
	}
	if (!strcmp(cmd, "read") && argc >= 4) {
		size_t size = strtoul(argv[3], NULL, 10);
		char *buf = malloc(size + 1);
		int flags = O_RDONLY | (has(argc, argv, 4, "nonblock") ? O_NONBLOCK : 0);
		int fd = open(argv[2], flags);
		if (fd < 0) {
			printf("%d 0\n", errno);
			return 0;
		}
		arm(argc, argv, 4);
		ssize_t r = read(fd, buf, size);
		int e = errno;
		disarm();
		if (r < 0) {
			printf("%d 0\n", e);
			return 0;
		}
		printf("0 %zd\n", r);
		out(buf, (size_t)r);
		return 0;
	}
	if (!strcmp(cmd, "create") && argc == 4) {
		int id = msgget((key_t)strtoul(argv[2], NULL, 0), IPC_CREAT | IPC_EXCL | (int)strtoul(argv[3], NULL, 8));
		printf("%d %d\n", id < 0 ? errno : 0, id);
		return 0;
	}
	if (!strcmp(cmd, "stat") && argc == 3) {
		struct msqid_ds d;
		if (msgctl(atoi(argv[2]), IPC_STAT, &d) < 0) {
			printf("%d\n", errno);
			return 0;
		}
		printf("0 %lu %lu %lu %d %d %lld %lld %lld %u %u %u %u %o\n",
		       (unsigned long)d.msg_qnum, (unsigned long)d.__msg_cbytes, (unsigned long)d.msg_qbytes,
		       (int)d.msg_lspid, (int)d.msg_lrpid, (long long)d.msg_stime, (long long)d.msg_rtime,
		       (long long)d.msg_ctime, (unsigned)d.msg_perm.uid, (unsigned)d.msg_perm.gid,
		       (unsigned)d.msg_perm.cuid, (unsigned)d.msg_perm.cgid, (unsigned)d.msg_perm.mode);
		return 0;
	}
	if (!strcmp(cmd, "set") && (argc == 6 || argc == 7)) {
		struct msqid_ds d;
		int id = atoi(argv[2]);
		memset(&d, 0, sizeof d);
		if (argc == 7)
			d.msg_qbytes = strtoul(argv[6], NULL, 10);
		else if (msgctl(id, IPC_STAT, &d) < 0) {
			printf("%d\n", errno);
			return 0;
		}
		d.msg_perm.uid = (uid_t)strtoul(argv[3], NULL, 10);
		d.msg_perm.gid = (gid_t)strtoul(argv[4], NULL, 10);
		d.msg_perm.mode = (unsigned short)strtoul(argv[5], NULL, 8);
		printf("%d\n", msgctl(id, IPC_SET, &d) < 0 ? errno : 0);
		return 0;
	}
	if (!strcmp(cmd, "rmid") && argc == 3) {
		printf("%d\n", msgctl(atoi(argv[2]), IPC_RMID, NULL) < 0 ? errno : 0);
		return 0;
	}
	if (!strcmp(cmd, "copy") && argc == 5) {
		size_t size = strtoul(argv[4], NULL, 10);
		struct msgb *m = malloc(sizeof *m + size + 1);
		ssize_t r = msgrcv(atoi(argv[2]), m, size, strtol(argv[3], NULL, 10), MSG_COPY | IPC_NOWAIT);
		if (r < 0) {
			printf("%d 0 0\n", errno);
			return 0;
		}
		printf("0 %ld %zd\n", m->mtype, r);
		out(m->mtext, (size_t)r);
		return 0;
	}
	if (!strcmp(cmd, "feed") && argc == 5) {
		feed(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
		return 0;
	}
	fprintf(stderr, "msgtool: bad command\n");
	return 2;
}
