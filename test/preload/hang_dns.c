/*
 * hang_dns.c -- LD_PRELOAD shim for the test cluster (test/harness.sh).
 *
 * getaddrinfo() for the test-only host name "hang.juheid.test" (".test" is
 * reserved, RFC 2606) does not answer for HANG_SECONDS, then fails, like a
 * resolver that never replies; every other name goes to libc.  It lets the
 * regression suite show that cancel, statement_timeout, juhe.timeout_ms and
 * juhe.connect_timeout_ms end a call stuck in name resolution.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>

#define HANG_HOST "hang.juheid.test"
#define HANG_SECONDS 30

typedef int (*getaddrinfo_fn) (const char *, const char *,
							   const struct addrinfo *, struct addrinfo **);

int
getaddrinfo(const char *node, const char *service,
			const struct addrinfo *hints, struct addrinfo **res)
{
	getaddrinfo_fn real;

	if (node != NULL && strcmp(node, HANG_HOST) == 0)
	{
		sleep(HANG_SECONDS);
		return EAI_AGAIN;
	}
	real = (getaddrinfo_fn) dlsym(RTLD_NEXT, "getaddrinfo");
	if (real == NULL)
		return EAI_SYSTEM;
	return real(node, service, hints, res);
}
