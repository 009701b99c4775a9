/* shmtool: System V shared memory made directly with the syscalls, for
 * comparing with what the ipcfs mount does.
 *
 *   shmtool pattern ID SEED     fill the segment with pattern(i, SEED)
 *   shmtool read ID OFF LEN     print LEN bytes from OFF (attached SHM_RDONLY)
 *   shmtool write ID OFF        copy stdin into the segment from OFF
 *   shmtool hold ID             attach, print "attached", wait for EOF on stdin
 *   shmtool create KEY SIZE MODE  shmget(KEY, SIZE, IPC_CREAT|IPC_EXCL|MODE)
 *   shmtool attach ID ro|rw     try shmat
 *   shmtool set ID UID GID MODE IPC_SET
 *   shmtool rmid ID             IPC_RMID
 *
 * pattern, read, write and hold exit 1 with a message on failure; create,
 * attach, set and rmid print the errno (0 on success; create prints
 * "0 ID") and exit 0, so that a test can compare errnos.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

static unsigned char pattern(unsigned long i, unsigned long seed)
{
	return (unsigned char)(i * 31 + (i >> 8) * 7 + (i >> 16) * 13 + seed);
}

static void die(const char *what)
{
	fprintf(stderr, "shmtool: %s: %s\n", what, strerror(errno));
	exit(1);
}

static size_t segsize(int id)
{
	struct shmid_ds d;
	if (shmctl(id, IPC_STAT, &d) < 0)
		die("IPC_STAT");
	return d.shm_segsz;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: shmtool CMD ARGS\n");
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "pattern") && argc == 4) {
		int id = atoi(argv[2]);
		unsigned long seed = strtoul(argv[3], NULL, 0);
		size_t n = segsize(id);
		unsigned char *p = shmat(id, NULL, 0);
		if (p == (void *)-1)
			die("shmat");
		for (size_t i = 0; i < n; i++)
			p[i] = pattern(i, seed);
		shmdt(p);
		return 0;
	}
	if (!strcmp(cmd, "read") && argc == 5) {
		int id = atoi(argv[2]);
		size_t off = strtoul(argv[3], NULL, 0), len = strtoul(argv[4], NULL, 0);
		size_t n = segsize(id);
		if (off > n || len > n - off) {
			fprintf(stderr, "shmtool: read past the end\n");
			return 1;
		}
		unsigned char *p = shmat(id, NULL, SHM_RDONLY);
		if (p == (void *)-1)
			die("shmat");
		if (fwrite(p + off, 1, len, stdout) != len)
			die("write");
		fflush(stdout);
		shmdt(p);
		return 0;
	}
	if (!strcmp(cmd, "write") && argc == 4) {
		int id = atoi(argv[2]);
		size_t off = strtoul(argv[3], NULL, 0);
		size_t n = segsize(id);
		unsigned char *p = shmat(id, NULL, 0);
		if (p == (void *)-1)
			die("shmat");
		size_t got;
		while (off < n && (got = fread(p + off, 1, n - off, stdin)) > 0)
			off += got;
		shmdt(p);
		return 0;
	}
	if (!strcmp(cmd, "hold") && argc == 3) {
		int id = atoi(argv[2]);
		void *p = shmat(id, NULL, 0);
		if (p == (void *)-1)
			die("shmat");
		printf("attached\n");
		fflush(stdout);
		char buf[64];
		while (read(0, buf, sizeof buf) > 0)
			;
		shmdt(p);
		return 0;
	}
	if (!strcmp(cmd, "create") && argc == 5) {
		key_t key = (key_t)strtoul(argv[2], NULL, 0);
		size_t size = strtoul(argv[3], NULL, 0);
		int mode = (int)strtol(argv[4], NULL, 8);
		int id = shmget(key, size, IPC_CREAT | IPC_EXCL | mode);
		if (id < 0)
			printf("%d\n", errno);
		else
			printf("0 %d\n", id);
		return 0;
	}
	if (!strcmp(cmd, "attach") && argc == 4) {
		void *p = shmat(atoi(argv[2]), NULL, strcmp(argv[3], "ro") ? 0 : SHM_RDONLY);
		if (p == (void *)-1) {
			printf("%d\n", errno);
			return 0;
		}
		shmdt(p);
		printf("0\n");
		return 0;
	}
	if (!strcmp(cmd, "set") && argc == 6) {
		struct shmid_ds d;
		memset(&d, 0, sizeof d);
		d.shm_perm.uid = (uid_t)strtoul(argv[3], NULL, 0);
		d.shm_perm.gid = (gid_t)strtoul(argv[4], NULL, 0);
		d.shm_perm.mode = (unsigned short)strtoul(argv[5], NULL, 8);
		printf("%d\n", shmctl(atoi(argv[2]), IPC_SET, &d) < 0 ? errno : 0);
		return 0;
	}
	if (!strcmp(cmd, "rmid") && argc == 3) {
		printf("%d\n", shmctl(atoi(argv[2]), IPC_RMID, NULL) < 0 ? errno : 0);
		return 0;
	}
	fprintf(stderr, "shmtool: bad command\n");
	return 2;
}
