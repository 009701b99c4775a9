/* fsop: one file operation, made with the plain syscalls, printing the
 * errno it ends with (0 on success), so that a test can run it as another
 * user and compare errnos without parsing messages.
 *
 *   fsop stat PATH
 *   fsop read PATH              open O_RDONLY and read
 *   fsop write PATH DATA        open O_WRONLY and write DATA
 *   fsop chmod PATH MODE        MODE in octal
 *   fsop chown PATH UID GID     -1 leaves one unchanged
 *   fsop unlink PATH
 *   fsop truncate PATH SIZE
 *   fsop create PATH            open O_CREAT|O_EXCL|O_WRONLY
 *   fsop mkdir PATH
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int op(int argc, char **argv)
{
	const char *cmd = argv[1], *path = argv[2];
	struct stat st;
	char buf[4096];
	int fd;

	if (!strcmp(cmd, "stat") && argc == 3)
		return stat(path, &st);
	if (!strcmp(cmd, "read") && argc == 3) {
		if ((fd = open(path, O_RDONLY)) < 0)
			return -1;
		ssize_t n = read(fd, buf, sizeof buf);
		int e = errno;
		close(fd);
		errno = e;
		return n < 0 ? -1 : 0;
	}
	if (!strcmp(cmd, "write") && argc == 4) {
		if ((fd = open(path, O_WRONLY)) < 0)
			return -1;
		ssize_t n = write(fd, argv[3], strlen(argv[3]));
		int e = errno;
		close(fd);
		errno = e;
		return n < 0 ? -1 : 0;
	}
	if (!strcmp(cmd, "chmod") && argc == 4)
		return chmod(path, (mode_t)strtoul(argv[3], NULL, 8));
	if (!strcmp(cmd, "chown") && argc == 5)
		return chown(path, (uid_t)strtol(argv[3], NULL, 10), (gid_t)strtol(argv[4], NULL, 10));
	if (!strcmp(cmd, "unlink") && argc == 3)
		return unlink(path);
	if (!strcmp(cmd, "truncate") && argc == 4)
		return truncate(path, strtoll(argv[3], NULL, 10));
	if (!strcmp(cmd, "create") && argc == 3) {
		if ((fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644)) < 0)
			return -1;
		close(fd);
		return 0;
	}
	if (!strcmp(cmd, "mkdir") && argc == 3)
		return mkdir(path, 0755);
	fprintf(stderr, "fsop: bad command\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fsop CMD PATH [ARGS]\n");
		return 2;
	}
	printf("%d\n", op(argc, argv) < 0 ? errno : 0);
	return 0;
}
