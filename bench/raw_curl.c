/*
 * bench/raw_curl.c -- the floor for bench/cpu_per_call.sh: N form POSTs
 * like juheid's plain mode to the mock, one libcurl easy handle, one
 * keep-alive connection, nothing else.  Prints the CPU time this process
 * used per request, in microseconds.
 *
 *	raw_curl URL N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <curl/curl.h>

static size_t
sink(char *data, size_t size, size_t nmemb, void *userp)
{
	(void) data;
	(void) userp;
	return size * nmemb;
}

int
main(int argc, char **argv)
{
	CURL	   *e;
	struct curl_slist *h = NULL;
	struct rusage ru;
	char		body[512];
	long		n;
	double		cpu;

	if (argc != 3)
	{
		fprintf(stderr, "usage: raw_curl URL N\n");
		return 2;
	}
	n = atol(argv[2]);
	curl_global_init(CURL_GLOBAL_ALL);
	e = curl_easy_init();
	h = curl_slist_append(h, "Content-Type: application/x-www-form-urlencoded");
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(e, CURLOPT_URL, argv[1]);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	for (long i = 0; i < n; i++)
	{
		char	   *name;

		/* a different (URL-encoded) name each time, as the benchmark's SQL does */
		name = curl_easy_escape(e, "\xe6\xb5\x8b\xe8\xaf\x95", 0);
		snprintf(body, sizeof(body),
				 "key=testkey0123456789abcdef0123456789&idcard=440304198808081238&realname=%s%ld&orderid=1",
				 name, i);
		curl_free(name);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		if (curl_easy_perform(e) != CURLE_OK)
		{
			fprintf(stderr, "request %ld failed\n", i);
			return 1;
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
	printf("%.1f\n", cpu / n);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	curl_global_cleanup();
	return 0;
}
