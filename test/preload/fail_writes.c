/*
 * test/preload/fail_writes.c -- an LD_PRELOAD shim for the TAP tests: a
 * full disk under $PGDATA/juheid, switched on and off from outside.
 *
 * While the file named by $JUHEID_FAIL_WRITES exists, write() to a file
 * whose path contains "/juheid/ledger" (the ledger, and the files it is
 * rewritten through) fails with ENOSPC; every other write goes through.
 * Test-only: never install it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef ssize_t (*write_fn) (int, const void *, size_t);

static int
is_ledger(int fd)
{
	char		link[64];
	char		path[4096];
	ssize_t		n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	return strstr(path, "/juheid/ledger") != NULL;
}

ssize_t
write(int fd, const void *buf, size_t count)
{
	static write_fn real_write = NULL;
	const char *flag = getenv("JUHEID_FAIL_WRITES");

	if (real_write == NULL)
		real_write = (write_fn) dlsym(RTLD_NEXT, "write");
	if (flag != NULL && flag[0] != '\0' && access(flag, F_OK) == 0 && is_ledger(fd))
	{
		errno = ENOSPC;
		return -1;
	}
	return real_write(fd, buf, count);
}
