/* permtool: System V IPC operations made directly with the syscalls, and
 * the matching file operations on an ipcfs mount, for the permission
 * tests. It runs a sequence of commands, each with a fixed number of
 * arguments, and prints one line per command: the errno the command ended
 * with (0 on success), then any values it reads. It never stops early, so
 * one run as a test user tries several things.
 *
 * Direct (syscalls):
 *   mkshm KEY SIZE MODE        shmget(IPC_CREAT|IPC_EXCL)   -> errno id
 *   mksem KEY NSEMS MODE       semget(IPC_CREAT|IPC_EXCL)   -> errno id
 *   mkmsg KEY MODE             msgget(IPC_CREAT|IPC_EXCL)   -> errno id
 *   shmat ID ro|rw             shmat (SHM_RDONLY or 0), then shmdt
 *   getval ID NUM              semctl GETVAL                -> errno value
 *   setval ID NUM VAL          semctl SETVAL
 *   semop ID NUM DELTA         semop with IPC_NOWAIT
 *   msgsnd ID TEXT             msgsnd type 1 with IPC_NOWAIT
 *   msgrcv ID                  msgrcv any type with IPC_NOWAIT
 *   drain ID                   msgrcv IPC_NOWAIT until the queue is empty
 *   shmset ID UID GID MODE     IPC_SET
 *   semset ID UID GID MODE     IPC_SET
 *   msgset ID UID GID MODE QB  IPC_SET with msg_qbytes QB (-1: the current)
 *   shmrm ID | semrm ID | msgrm ID   IPC_RMID
 *   info shm|sem|msg ID        IPC_STAT -> errno uid gid cuid cgid mode X Y
 *                              ctime (shm: X Y = segsz nattch; sem: nsems
 *                              semval[0]; msg: qnum qbytes)
 *   id                         -> 0 euid egid group...
 *
 * Through a mount (file operations):
 *   stat PATH
 *   access PATH MASK           faccessat(AT_EACCESS), as test -r/-w/-x does
 *   fread PATH | freadnb PATH  open O_RDONLY (|O_NONBLOCK), one read
 *   fopenrw PATH               open O_RDWR, close
 *   fopenrotrunc PATH          open O_RDONLY|O_TRUNC, close
 *   touch PATH                 utimensat(PATH, NULL): both times to now
 *   getxattr PATH NAME         getxattr
 *   fwrite PATH DATA | fwritenb PATH DATA   open O_WRONLY (|O_NONBLOCK),
 *                              one write of DATA
 *   fwritefile PATH FILE       open O_WRONLY, one write of FILE's bytes
 *                              -> errno bytes-written
 *   chmod PATH MODE            MODE in octal
 *   chown PATH UID GID         -1 leaves one unchanged
 *   unlink PATH | rmdir PATH
 *
 * A first argument `userns` moves permtool into a user namespace of its
 * own before the commands (unshare(CLONE_NEWUSER), no id mapping): there
 * it holds every capability, over that namespace alone, and its ids are
 * unmapped (id prints the overflow ids).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

struct msgbuf_big {
	long mtype;
	char mtext[65536];
};

static struct msgbuf_big mbuf;
static char rbuf[1 << 16];

static int num(const char *s) { return (int)strtol(s, NULL, 0); }
static unsigned oct(const char *s) { return (unsigned)strtoul(s, NULL, 8); }

/* result prints the errno of a call that returned r (< 0: failure). */
static void result(long r)
{
	printf("%d\n", r < 0 ? errno : 0);
}

static void made(int id)
{
	if (id < 0)
		printf("%d -1\n", errno);
	else
		printf("0 %d\n", id);
}

/* one runs the command at argv[0] and returns how many words it took,
 * or 0 for an unknown command. */
static int one(int argc, char **argv)
{
	const char *c = argv[0];
#define IS(name, n) (!strcmp(c, name) && argc > (n))
	if (IS("mkshm", 3)) {
		made(shmget((key_t)strtoul(argv[1], NULL, 0), strtoul(argv[2], NULL, 0), IPC_CREAT | IPC_EXCL | oct(argv[3])));
		return 4;
	}
	if (IS("mksem", 3)) {
		made(semget((key_t)strtoul(argv[1], NULL, 0), num(argv[2]), IPC_CREAT | IPC_EXCL | oct(argv[3])));
		return 4;
	}
	if (IS("mkmsg", 2)) {
		made(msgget((key_t)strtoul(argv[1], NULL, 0), IPC_CREAT | IPC_EXCL | oct(argv[2])));
		return 3;
	}
	if (IS("shmat", 2)) {
		void *p = shmat(num(argv[1]), NULL, strcmp(argv[2], "ro") ? 0 : SHM_RDONLY);
		if (p == (void *)-1) {
			result(-1);
		} else {
			shmdt(p);
			result(0);
		}
		return 3;
	}
	if (IS("getval", 2)) {
		int v = semctl(num(argv[1]), num(argv[2]), GETVAL);
		if (v < 0)
			printf("%d -1\n", errno);
		else
			printf("0 %d\n", v);
		return 3;
	}
	if (IS("setval", 3)) {
		union semun a = {.val = num(argv[3])};
		result(semctl(num(argv[1]), num(argv[2]), SETVAL, a));
		return 4;
	}
	if (IS("semop", 3)) {
		struct sembuf op = {.sem_num = (unsigned short)num(argv[2]), .sem_op = (short)num(argv[3]), .sem_flg = IPC_NOWAIT};
		result(semop(num(argv[1]), &op, 1));
		return 4;
	}
	if (IS("msgsnd", 2)) {
		size_t n = strlen(argv[2]);
		mbuf.mtype = 1;
		memcpy(mbuf.mtext, argv[2], n);
		result(msgsnd(num(argv[1]), &mbuf, n, IPC_NOWAIT));
		return 3;
	}
	if (IS("msgrcv", 1)) {
		result(msgrcv(num(argv[1]), &mbuf, sizeof mbuf.mtext, 0, IPC_NOWAIT));
		return 2;
	}
	if (IS("drain", 1)) {
		while (msgrcv(num(argv[1]), &mbuf, sizeof mbuf.mtext, 0, IPC_NOWAIT | MSG_NOERROR) >= 0)
			;
		result(errno == ENOMSG ? 0 : -1);
		return 2;
	}
	if (IS("shmset", 4)) {
		struct shmid_ds d;
		memset(&d, 0, sizeof d);
		d.shm_perm.uid = (uid_t)num(argv[2]);
		d.shm_perm.gid = (gid_t)num(argv[3]);
		d.shm_perm.mode = (unsigned short)oct(argv[4]);
		result(shmctl(num(argv[1]), IPC_SET, &d));
		return 5;
	}
	if (IS("semset", 4)) {
		struct semid_ds d;
		memset(&d, 0, sizeof d);
		d.sem_perm.uid = (uid_t)num(argv[2]);
		d.sem_perm.gid = (gid_t)num(argv[3]);
		d.sem_perm.mode = (unsigned short)oct(argv[4]);
		union semun a = {.buf = &d};
		result(semctl(num(argv[1]), 0, IPC_SET, a));
		return 5;
	}
	if (IS("msgset", 5)) {
		struct msqid_ds d;
		memset(&d, 0, sizeof d);
		long qb = strtol(argv[5], NULL, 0);
		if (qb < 0) {
			if (msgctl(num(argv[1]), IPC_STAT, &d) < 0) {
				result(-1);
				return 6;
			}
		} else {
			d.msg_qbytes = (msglen_t)qb;
		}
		d.msg_perm.uid = (uid_t)num(argv[2]);
		d.msg_perm.gid = (gid_t)num(argv[3]);
		d.msg_perm.mode = (unsigned short)oct(argv[4]);
		result(msgctl(num(argv[1]), IPC_SET, &d));
		return 6;
	}
	if (IS("shmrm", 1)) {
		result(shmctl(num(argv[1]), IPC_RMID, NULL));
		return 2;
	}
	if (IS("semrm", 1)) {
		result(semctl(num(argv[1]), 0, IPC_RMID));
		return 2;
	}
	if (IS("msgrm", 1)) {
		result(msgctl(num(argv[1]), IPC_RMID, NULL));
		return 2;
	}
	if (IS("info", 2)) {
		int id = num(argv[2]);
		if (!strcmp(argv[1], "shm")) {
			struct shmid_ds d;
			if (shmctl(id, IPC_STAT, &d) < 0)
				printf("%d\n", errno);
			else
				printf("0 %u %u %u %u %o %zu %lu %ld\n", d.shm_perm.uid, d.shm_perm.gid, d.shm_perm.cuid,
				       d.shm_perm.cgid, d.shm_perm.mode & 0777, d.shm_segsz, (unsigned long)d.shm_nattch,
				       (long)d.shm_ctime);
		} else if (!strcmp(argv[1], "sem")) {
			struct semid_ds d;
			union semun a = {.buf = &d};
			if (semctl(id, 0, IPC_STAT, a) < 0) {
				printf("%d\n", errno);
			} else {
				int v = semctl(id, 0, GETVAL);
				printf("0 %u %u %u %u %o %lu %d %ld\n", d.sem_perm.uid, d.sem_perm.gid, d.sem_perm.cuid,
				       d.sem_perm.cgid, d.sem_perm.mode & 0777, (unsigned long)d.sem_nsems, v,
				       (long)d.sem_ctime);
			}
		} else {
			struct msqid_ds d;
			if (msgctl(id, IPC_STAT, &d) < 0)
				printf("%d\n", errno);
			else
				printf("0 %u %u %u %u %o %lu %lu %ld\n", d.msg_perm.uid, d.msg_perm.gid, d.msg_perm.cuid,
				       d.msg_perm.cgid, d.msg_perm.mode & 0777, (unsigned long)d.msg_qnum,
				       (unsigned long)d.msg_qbytes, (long)d.msg_ctime);
		}
		return 3;
	}
	if (IS("id", 0)) {
		gid_t g[64];
		int n = getgroups(64, g);
		printf("0 %u %u", geteuid(), getegid());
		for (int i = 0; i < n; i++)
			printf(" %u", g[i]);
		printf("\n");
		return 1;
	}
	if (IS("stat", 1)) {
		struct stat st;
		result(stat(argv[1], &st));
		return 2;
	}
	if (IS("access", 2)) {
		result(faccessat(AT_FDCWD, argv[1], num(argv[2]), AT_EACCESS));
		return 3;
	}
	if (IS("fread", 1) || IS("freadnb", 1)) {
		int fd = open(argv[1], O_RDONLY | (c[5] ? O_NONBLOCK : 0));
		if (fd < 0) {
			result(-1);
		} else {
			ssize_t n = read(fd, rbuf, sizeof rbuf);
			int e = errno;
			close(fd);
			errno = e;
			result(n < 0 ? -1 : 0);
		}
		return 2;
	}
	if (IS("fopenrotrunc", 1)) {
		int fd = open(argv[1], O_RDONLY | O_TRUNC);
		if (fd >= 0)
			close(fd);
		result(fd);
		return 2;
	}
	if (IS("getxattr", 2)) {
		char v[256];
		result(getxattr(argv[1], argv[2], v, sizeof v) < 0 ? -1 : 0);
		return 3;
	}
	if (IS("touch", 1)) {
		result(utimensat(AT_FDCWD, argv[1], NULL, 0));
		return 2;
	}
	if (IS("fopenrw", 1)) {
		int fd = open(argv[1], O_RDWR);
		if (fd >= 0)
			close(fd);
		result(fd);
		return 2;
	}
	if (IS("fwrite", 2) || IS("fwritenb", 2)) {
		int fd = open(argv[1], O_WRONLY | (c[6] ? O_NONBLOCK : 0));
		if (fd < 0) {
			result(-1);
		} else {
			ssize_t n = write(fd, argv[2], strlen(argv[2]));
			int e = errno;
			close(fd);
			errno = e;
			result(n < 0 ? -1 : 0);
		}
		return 3;
	}
	if (IS("fwritefile", 2)) {
		int in = open(argv[2], O_RDONLY);
		struct stat st;
		if (in < 0 || fstat(in, &st) < 0) {
			fprintf(stderr, "permtool: %s: %s\n", argv[2], strerror(errno));
			exit(1);
		}
		char *b = malloc(st.st_size + 1);
		if (!b || read(in, b, st.st_size) != st.st_size) {
			fprintf(stderr, "permtool: reading %s\n", argv[2]);
			exit(1);
		}
		close(in);
		int fd = open(argv[1], O_WRONLY);
		if (fd < 0) {
			printf("%d -1\n", errno);
		} else {
			ssize_t n = write(fd, b, st.st_size);
			if (n < 0)
				printf("%d -1\n", errno);
			else
				printf("0 %zd\n", n);
			close(fd);
		}
		free(b);
		return 3;
	}
	if (IS("chmod", 2)) {
		result(chmod(argv[1], oct(argv[2])));
		return 3;
	}
	if (IS("chown", 3)) {
		result(chown(argv[1], (uid_t)num(argv[2]), (gid_t)num(argv[3])));
		return 4;
	}
	if (IS("unlink", 1)) {
		result(unlink(argv[1]));
		return 2;
	}
	if (IS("rmdir", 1)) {
		result(rmdir(argv[1]));
		return 2;
	}
#undef IS
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;
	if (argc > 1 && !strcmp(argv[1], "userns")) {
		if (unshare(CLONE_NEWUSER)) {
			perror("permtool: unshare(CLONE_NEWUSER)");
			return 2;
		}
		i++;
	}
	while (i < argc) {
		int n = one(argc - i, argv + i);
		if (n == 0) {
			fprintf(stderr, "permtool: bad command at %s\n", argv[i]);
			return 2;
		}
		fflush(stdout);
		i += n;
	}
	return 0;
}
