/*
 * transport.h
 *		The HTTP engine: libcurl's multi interface driven by PostgreSQL's
 *		WaitEventSet, so that waits are interruptible and show up in
 *		pg_stat_activity as an Extension wait event.
 *
 * One CURLM per backend keeps connections (and TLS sessions, via CURLSH)
 * alive between calls.  A single call is a batch of one; a batch of many
 * runs with a concurrency limit.
 */
#ifndef JUHEID_TRANSPORT_H
#define JUHEID_TRANSPORT_H

#include <curl/curl.h>

typedef struct JuheHttpOptions
{
	long		timeout_ms;
	long		connect_timeout_ms;
	size_t		max_response_bytes;
	const char *ca_file;		/* NULL: system default */
} JuheHttpOptions;

typedef struct JuheHttp
{
	/* in */
	const char *url;
	const char *body;
	size_t		body_len;

	/* out, valid after juhe_http_run() */
	CURLcode	curl_code;
	long		status;			/* HTTP status, 0 if none */
	bool		too_large;		/* answer exceeded max_response_bytes */
	char	   *response;		/* palloc'd, NUL-terminated; NULL on failure */
	size_t		response_len;
	char		errbuf[CURL_ERROR_SIZE];

	/* private */
	CURL	   *easy;
	char	   *buf;			/* malloc'd while the transfer runs */
	size_t		buf_len;
	size_t		buf_cap;
	size_t		buf_limit;
} JuheHttp;

/*
 * Run the requests, at most max_parallel at a time.  Returns when all are
 * finished (successfully or not).  Query cancel, statement_timeout and
 * backend termination raise their usual errors from inside the wait; all
 * transfers are cleaned up first.
 */
extern void juhe_http_run(JuheHttp **reqs, int n, int max_parallel,
						  const JuheHttpOptions *opts);

/* sleep ms milliseconds, interruptibly (retry back-off) */
extern void juhe_http_sleep(long ms);

#endif							/* JUHEID_TRANSPORT_H */
