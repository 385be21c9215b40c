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

/* how far a transfer got before it failed, from libcurl's timing info */
typedef enum JuheHttpPhase
{
	JUHE_PHASE_RESOLVE,			/* the host name was not resolved */
	JUHE_PHASE_CONNECT,			/* no TCP connection */
	JUHE_PHASE_TLS,				/* connected, TLS handshake not finished */
	JUHE_PHASE_SEND,			/* connected, request not completely sent */
	JUHE_PHASE_ANSWER,			/* request sent, answer not complete */
	JUHE_PHASE_GATEWAY			/* the gateway worker stopped (or never
								 * took the request up) */
} JuheHttpPhase;

typedef struct JuheHttpOptions
{
	long		timeout_ms;
	long		connect_timeout_ms;
	size_t		max_response_bytes;
	const char *ca_file;		/* NULL: system default */
	const char *proxy;			/* NULL: none; the environment is ignored */
	bool		bulk;			/* a bulk job's: the gateway serves single
								 * calls and triggers first */
} JuheHttpOptions;

typedef struct JuheHttp
{
	/* in */
	const char *url;
	const char *body;
	size_t		body_len;
	struct JuheTag *tag;		/* the request's ledger tag (account.h);
								 * the engine does not look at it */

	/* set by the gateway: its worker accounts for this transfer */
	bool		accounted;
	int8		recorded;		/* ... and how its record went (account.h's
								 * JuheRecorded) */

	/* out, valid when the done callback runs */
	CURLcode	curl_code;
	bool		request_complete;	/* every body byte went to libcurl: the
									 * service may have the whole request */
	JuheHttpPhase phase;		/* how far it got (on failure) */
	long		connects;		/* new connections it opened */
	long		status;			/* HTTP status, 0 if none */
	bool		too_large;		/* answer exceeded max_response_bytes */
	char	   *response;		/* palloc'd, NUL-terminated; NULL on failure */
	size_t		response_len;

	/* private */
	CURL	   *easy;
	char	   *buf;			/* malloc'd while the transfer runs */
	size_t		buf_len;
	size_t		buf_cap;
	size_t		buf_limit;
	size_t		body_pos;		/* body bytes handed to libcurl */
} JuheHttp;

/*
 * Called for each transfer as soon as it finishes (successfully or not),
 * before anything else can interrupt the run: a billed answer is recorded
 * even if a cancel arrives in the same pass.
 */
typedef void (*JuheHttpDone) (JuheHttp *r, void *arg);

/*
 * What a run calls back:
 *	open    just before a request goes out (starts here, or is handed to
 *	        the gateway worker); false if it must not go (open recorded
 *	        why): it is then finished without done
 *	opened  the requests opened in one round are about to go out (the
 *	        caller makes their ledger records durable)
 *	done    as above
 */
typedef struct JuheHttpHooks
{
	bool		(*open) (JuheHttp *r, void *arg);
	void		(*opened) (void *arg);
	JuheHttpDone done;
	void	   *arg;
} JuheHttpHooks;

/*
 * Run the requests, at most max_parallel at a time, starting each when
 * juhe.max_requests_per_second allows (rate.h) and calling the hooks.
 * Returns when all are finished.  Query cancel, statement_timeout and
 * backend termination raise their usual errors from inside the wait; all
 * transfers are cleaned up first (requests abandoned after they were sent
 * are counted in a LOG line: they may be billed).
 *
 * The body is handed to libcurl through a read callback from the caller's
 * buffer (which the caller wipes); libcurl is never allowed to rewind it,
 * so it cannot send a request twice on its own (it would, on a reused
 * connection that closes before answering).
 */
extern void juhe_http_run(JuheHttp **reqs, int n, int max_parallel,
						  const JuheHttpOptions *opts, const JuheHttpHooks *hooks);

/*
 * The building blocks of juhe_http_run, for a loop of one's own (the
 * gateway worker): start a transfer (false: it failed at once, see
 * r->curl_code); wait once, at most max_wait_ms, for curl's sockets, its
 * timer or the latch and drive curl; hand every finished transfer to done
 * (returns how many).
 */
extern bool juhe_http_start(JuheHttp *r, const JuheHttpOptions *opts);
extern void juhe_http_step(long max_wait_ms);
extern int	juhe_http_collect(JuheHttpDone done, void *arg);
/*
 * Withdraw a running transfer if not one byte of its body has gone to
 * libcurl yet (it waits for a connection, or is connecting): true if it
 * was withdrawn, and then nothing of it can have reached the service.
 */
extern bool juhe_http_withdraw_unsent(JuheHttp *r);

/* connections this process has open right now */
extern int	juhe_http_open_connections(void);

/* at most n connections to one host; more requests wait in curl's queue */
extern void juhe_http_limit_host_connections(long n);

/* sleep ms milliseconds, interruptibly (retry back-off) */
extern void juhe_http_sleep(long ms);

#endif							/* JUHEID_TRANSPORT_H */
