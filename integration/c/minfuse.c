/* minfuse: the minimal FUSE file system in C the benchmarks measure ipcfs
 * against (libfuse3's low-level API, one thread, as its examples do).
 *
 *   minfuse SIZE MOUNTPOINT
 *
 * Three files: "data", SIZE bytes kept in memory (reads and writes copy),
 * "shmem", SIZE bytes in a shmem file (memfd) that reads and writes go to
 * with pread and pwrite, as ipcfs's segment writes go to the segment's
 * shmem file, and "op", whose writes are accepted and do nothing (the
 * least a request can cost). Entries and attributes are cached a second;
 * opens are direct I/O, as ipcfs's are; O_TRUNC comes with the open; no
 * flush, no xattrs.
 */
#define FUSE_USE_VERSION 34
#define _GNU_SOURCE
#include <fuse_lowlevel.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { ROOT = 1, DATA = 2, OP = 3, SHMEM = 4 };

static char *data;
static size_t size;
static int shmem;

static void fill(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_nlink = 1;
	if (ino == ROOT) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0666;
		st->st_size = ino == OP ? 0 : size;
	}
}

static void mf_init(void *u, struct fuse_conn_info *c)
{
	if (c->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		c->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	c->max_write = 1 << 20;
}

static void mf_lookup(fuse_req_t r, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof e);
	if (parent != ROOT)
		e.ino = 0;
	else if (!strcmp(name, "data"))
		e.ino = DATA;
	else if (!strcmp(name, "op"))
		e.ino = OP;
	else if (!strcmp(name, "shmem"))
		e.ino = SHMEM;
	if (!e.ino) {
		fuse_reply_err(r, ENOENT);
		return;
	}
	e.attr_timeout = e.entry_timeout = 1.0;
	fill(e.ino, &e.attr);
	fuse_reply_entry(r, &e);
}

static void mf_getattr(fuse_req_t r, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	fill(ino, &st);
	fuse_reply_attr(r, &st, 1.0);
}

static void mf_setattr(fuse_req_t r, fuse_ino_t ino, struct stat *a, int set, struct fuse_file_info *fi)
{
	mf_getattr(r, ino, fi); /* the size never changes */
}

static void mf_open(fuse_req_t r, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fi->direct_io = 1;
	fuse_reply_open(r, fi);
}

static void mf_read(fuse_req_t r, fuse_ino_t ino, size_t n, off_t off, struct fuse_file_info *fi)
{
	if (ino == OP || (size_t)off >= size)
		n = 0;
	else if (n > size - off)
		n = size - off;
	if (ino == SHMEM) {
		static char buf[1 << 20];
		ssize_t got = pread(shmem, buf, n < sizeof buf ? n : sizeof buf, off);
		if (got < 0)
			fuse_reply_err(r, errno);
		else
			fuse_reply_buf(r, buf, got);
		return;
	}
	fuse_reply_buf(r, n ? data + off : NULL, n);
}

static void mf_write(fuse_req_t r, fuse_ino_t ino, const char *buf, size_t n, off_t off, struct fuse_file_info *fi)
{
	if (ino != OP) {
		if ((size_t)off >= size) {
			fuse_reply_err(r, ENOSPC);
			return;
		}
		if (n > size - off)
			n = size - off;
	}
	if (ino == DATA)
		memcpy(data + off, buf, n);
	if (ino == SHMEM) {
		ssize_t put = pwrite(shmem, buf, n, off);
		if (put < 0) {
			fuse_reply_err(r, errno);
			return;
		}
		n = put;
	}
	fuse_reply_write(r, n);
}

static const struct fuse_lowlevel_ops ops = {
	.init = mf_init,
	.lookup = mf_lookup,
	.getattr = mf_getattr,
	.setattr = mf_setattr,
	.open = mf_open,
	.read = mf_read,
	.write = mf_write,
};

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: minfuse SIZE MOUNTPOINT\n");
		return 2;
	}
	size = strtoull(argv[1], NULL, 0);
	data = calloc(1, size ? size : 1);
	shmem = memfd_create("minfuse", 0);
	if (shmem < 0 || ftruncate(shmem, size))
		return 1;
	char *args[] = {argv[0], NULL};
	struct fuse_args fa = FUSE_ARGS_INIT(1, args);
	struct fuse_session *se = fuse_session_new(&fa, &ops, sizeof ops, NULL);
	if (!data || !se || fuse_set_signal_handlers(se) || fuse_session_mount(se, argv[2]))
		return 1;
	printf("ready\n");
	fflush(stdout);
	int ret = fuse_session_loop(se);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	return ret ? 1 : 0;
}
