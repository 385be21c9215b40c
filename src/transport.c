/*
 * transport.c
 *		libcurl multi interface + PostgreSQL WaitEventSet.
 *
 * curl tells us (socket callback) which sockets it wants watched and (timer
 * callback) when it next needs to run; we wait on exactly those plus the
 * process latch, so a query cancel or statement_timeout wakes the wait at
 * once and CHECK_FOR_INTERRUPTS() raises PostgreSQL's own error.  Callbacks
 * never ereport: the write callback fills a malloc'd buffer capped at
 * max_response_bytes and aborts the transfer past it.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "compat.h"
#include "counters.h"
#include "rate.h"
#include "transport.h"

#define MAX_SOCKETS 256
#define POOL_MAX 16
#define WAIT_SLICE_MS 1000

typedef struct WatchedSocket
{
	curl_socket_t fd;
	int			what;			/* CURL_POLL_IN / OUT / INOUT */
} WatchedSocket;

static CURLM *multi = NULL;
static CURLSH *share = NULL;
static struct curl_slist *headers = NULL;
static CURL *pool[POOL_MAX];
static int	pool_len = 0;

static WatchedSocket watched[MAX_SOCKETS];
static int	nwatched = 0;
static long timer_ms = -1;
static int	open_sockets = 0;	/* connections open right now */

static WaitEventSet *current_set = NULL;

static void
transport_shutdown(int code, Datum arg)
{
	for (int i = 0; i < pool_len; i++)
		curl_easy_cleanup(pool[i]);
	pool_len = 0;
	if (multi)
		curl_multi_cleanup(multi);
	multi = NULL;
	if (share)
		curl_share_cleanup(share);
	share = NULL;
	curl_slist_free_all(headers);
	headers = NULL;
}

static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	int			i;

	for (i = 0; i < nwatched; i++)
		if (watched[i].fd == s)
			break;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < nwatched)
			watched[i] = watched[--nwatched];
		return 0;
	}
	if (i == nwatched)
	{
		if (nwatched >= MAX_SOCKETS)
			return -1;			/* curl fails the transfer */
		nwatched++;
	}
	watched[i].fd = s;
	watched[i].what = what;
	return 0;
}

static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	timer_ms = timeout_ms;
	return 0;
}

static void
ensure_multi(void)
{
	if (multi != NULL)
		return;

	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not initialize libcurl")));

	share = curl_share_init();
	if (share)
	{
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	}
	headers = curl_slist_append(NULL,
								"Content-Type: application/x-www-form-urlencoded");
	if (headers)
		headers = curl_slist_append(headers, "Accept: application/json");
	if (headers)
		headers = curl_slist_append(headers, "Expect:");	/* no 100-continue */

	multi = curl_multi_init();
	if (multi == NULL || share == NULL || headers == NULL)
	{
		transport_shutdown(0, 0);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create libcurl handles")));
	}
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	/* keep a few idle connections per host for the next call */
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long) POOL_MAX);
	before_shmem_exit(transport_shutdown, 0);
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	JuheHttp   *r = (JuheHttp *) userp;
	size_t		n = size * nmemb;

	if (n > r->buf_limit - r->buf_len)
	{
		r->too_large = true;
		return 0;				/* CURLE_WRITE_ERROR */
	}
	if (r->buf_len + n + 1 > r->buf_cap)
	{
		size_t		cap = Max(r->buf_cap * 2, r->buf_len + n + 1);
		char	   *nb;

		cap = Max(cap, 1024);
		nb = realloc(r->buf, cap);
		if (nb == NULL)
			return 0;
		r->buf = nb;
		r->buf_cap = cap;
	}
	memcpy(r->buf + r->buf_len, data, n);
	r->buf_len += n;
	r->buf[r->buf_len] = '\0';
	return n;
}

/* count the connections this process has open (libcurl's own socket calls) */
static curl_socket_t
opensocket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	curl_socket_t s = socket(addr->family, addr->socktype, addr->protocol);

	if (s != CURL_SOCKET_BAD)
		open_sockets++;
	return s;
}

static int
closesocket_cb(void *clientp, curl_socket_t s)
{
	open_sockets--;
	return close(s);
}

int
juhe_http_open_connections(void)
{
	return open_sockets;
}

/* the request body, from the caller's buffer */
static size_t
read_cb(char *dest, size_t size, size_t nitems, void *userp)
{
	JuheHttp   *r = (JuheHttp *) userp;
	size_t		room = size * nitems;
	size_t		left = r->body_len - r->body_pos;
	size_t		n = Min(room, left);

	memcpy(dest, r->body + r->body_pos, n);
	r->body_pos += n;
	return n;
}

/*
 * libcurl asks to rewind the body when it wants to send the request again
 * by itself (a reused connection that died before any answer byte).  The
 * service may already have the request and there is no idempotency key:
 * refuse, and let the caller report "may have been billed".
 */
static int
seek_cb(void *userp, curl_off_t offset, int origin)
{
	return CURL_SEEKFUNC_FAIL;
}

static CURL *
pool_get(void)
{
	if (pool_len > 0)
		return pool[--pool_len];
	return curl_easy_init();
}

/* return a handle after a transfer; one that failed is not reused */
static void
pool_put(CURL *easy, bool healthy)
{
	if (healthy && pool_len < POOL_MAX)
	{
		curl_easy_reset(easy);
		pool[pool_len++] = easy;
	}
	else
		curl_easy_cleanup(easy);
}

static bool
start_transfer(JuheHttp *r, const JuheHttpOptions *opts)
{
	CURL	   *e = pool_get();
	CURLcode	rc = CURLE_OK;

	r->curl_code = CURLE_OK;
	r->request_complete = false;
	r->phase = JUHE_PHASE_CONNECT;
	r->connects = 0;
	r->body_pos = 0;
	r->status = 0;
	r->too_large = false;
	r->response = NULL;
	r->response_len = 0;
	r->buf = NULL;
	r->buf_len = r->buf_cap = 0;
	r->buf_limit = opts->max_response_bytes;
	r->easy = e;
	if (e == NULL)
	{
		r->curl_code = CURLE_OUT_OF_MEMORY;
		return false;
	}

#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, r->url);
	SET(CURLOPT_PRIVATE, r);
	SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075700
	/* never wait for a resolver thread: cancel and timeouts act at once */
	SET(CURLOPT_QUICK_EXIT, 1L);
#endif
	/* no proxy unless juhe.proxy names one; http(s)_proxy is ignored */
	SET(CURLOPT_PROXY, opts->proxy ? opts->proxy : "");
	SET(CURLOPT_SHARE, share);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (opts->ca_file)
		SET(CURLOPT_CAINFO, opts->ca_file);
	SET(CURLOPT_TIMEOUT_MS, opts->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, opts->connect_timeout_ms);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
	SET(CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
	SET(CURLOPT_USERAGENT, "juheid/" EXTVERSION);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->body_len);
	SET(CURLOPT_READFUNCTION, read_cb);
	SET(CURLOPT_READDATA, r);
	SET(CURLOPT_SEEKFUNCTION, seek_cb);
	SET(CURLOPT_SEEKDATA, r);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) opts->max_response_bytes);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, r);
#undef SET

	if (rc == CURLE_OK && curl_multi_add_handle(multi, e) != CURLM_OK)
		rc = CURLE_FAILED_INIT;
	if (rc != CURLE_OK)
	{
		r->curl_code = rc;
		r->easy = NULL;
		pool_put(e, false);
		return false;
	}
	juhe_backend_count(JUHE_BC_REQUESTS, 1);
	return true;
}

static void
free_buffer(JuheHttp *r)
{
	if (r->buf)
		explicit_bzero(r->buf, r->buf_cap);
	free(r->buf);
	r->buf = NULL;
	r->buf_len = r->buf_cap = 0;
}

/*
 * How far a transfer got: decided from libcurl's error code and timing
 * information (0 means "never reached"), not from its English error text.
 */
static JuheHttpPhase
transfer_phase(JuheHttp *r, CURLcode result)
{
	curl_off_t	t_resolve = 0,
				t_connect = 0,
				t_tls = 0;
	char	   *scheme = NULL;

	if (r->request_complete)
		return JUHE_PHASE_ANSWER;
	switch (result)
	{
			/* libcurl sets no connect time when TLS fails: go by the code */
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
			return JUHE_PHASE_TLS;
		default:
			break;
	}
	curl_easy_getinfo(r->easy, CURLINFO_NAMELOOKUP_TIME_T, &t_resolve);
	curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &t_connect);
	curl_easy_getinfo(r->easy, CURLINFO_APPCONNECT_TIME_T, &t_tls);
	curl_easy_getinfo(r->easy, CURLINFO_SCHEME, &scheme);
	if (t_connect == 0)
	{
		if (result == CURLE_COULDNT_RESOLVE_HOST ||
			result == CURLE_COULDNT_RESOLVE_PROXY || t_resolve == 0)
			return JUHE_PHASE_RESOLVE;
		return JUHE_PHASE_CONNECT;
	}
	if (scheme != NULL && pg_strcasecmp(scheme, "https") == 0 && t_tls == 0)
		return JUHE_PHASE_TLS;
	return JUHE_PHASE_SEND;
}

static void
finish_transfer(JuheHttp *r, CURLcode result)
{
	long		connects = 0;
	CURL	   *e = r->easy;

	r->curl_code = result;
	r->request_complete = r->body_pos >= r->body_len;
	r->phase = transfer_phase(r, result);
	if (result == CURLE_FILESIZE_EXCEEDED)
		r->too_large = true;	/* announced by Content-Length */
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
		juhe_backend_count(JUHE_BC_CONNECTIONS, connects);
	r->connects = connects;
	curl_multi_remove_handle(multi, e);
	r->easy = NULL;
	pool_put(e, result == CURLE_OK);

	if (result == CURLE_OK)
	{
		r->response = palloc(r->buf_len + 1);
		if (r->buf_len > 0)
			memcpy(r->response, r->buf, r->buf_len);
		r->response[r->buf_len] = '\0';
		r->response_len = r->buf_len;
	}
	free_buffer(r);
}

/*
 * On error (cancel, timeout, termination): drop every transfer still
 * attached, then let the error go on.  A request whose body was all handed
 * to libcurl may have reached the service and been billed; say how many in
 * the server log (without the statement), since no order id will come.
 */
static void
abort_transfers(JuheHttp **reqs, int n)
{
	int			abandoned = 0;

	if (current_set)
	{
		FreeWaitEventSet(current_set);
		current_set = NULL;
	}
	for (int i = 0; i < n; i++)
	{
		JuheHttp   *r = reqs[i];

		if (r->easy)
		{
			if (r->body_pos >= r->body_len)
				abandoned++;
			curl_multi_remove_handle(multi, r->easy);
			pool_put(r->easy, false);
			r->easy = NULL;
		}
		free_buffer(r);
	}
	if (abandoned > 0)
		ereport(LOG,
				errmsg_plural("juheid: abandoned %d request to the Juhe service after sending it",
							  "juheid: abandoned %d requests to the Juhe service after sending them",
							  abandoned, abandoned),
				errdetail("They may have been billed; no order id is known."),
				errhidestmt(true),
				errhidecontext(true));
}

/*
 * one round: wait for curl's sockets, its timer or the latch (at most
 * max_wait_ms; -1: a second), then act
 */
static void
wait_and_drive(long max_wait_ms)
{
	WaitEvent	events[MAX_SOCKETS + 2];
	int			nevents;
	long		timeout = timer_ms;
	int			running;

	if (timeout == 0)
	{
		curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
		return;
	}
	if (timeout < 0 || timeout > WAIT_SLICE_MS)
		timeout = WAIT_SLICE_MS;
	if (max_wait_ms >= 0 && timeout > max_wait_ms)
		timeout = Max(max_wait_ms, 1);

	current_set = juhe_create_wait_event_set(nwatched + 2);
	AddWaitEventToSet(current_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(current_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (int i = 0; i < nwatched; i++)
	{
		uint32		ev = 0;

		if (watched[i].what & CURL_POLL_IN)
			ev |= WL_SOCKET_READABLE;
		if (watched[i].what & CURL_POLL_OUT)
			ev |= WL_SOCKET_WRITEABLE;
		if (ev)
			AddWaitEventToSet(current_set, ev, watched[i].fd, NULL, NULL);
	}
	nevents = WaitEventSetWait(current_set, timeout, events, lengthof(events),
							   juhe_wait_event(JUHE_WAIT_REQUEST));
	FreeWaitEventSet(current_set);
	current_set = NULL;

	if (nevents == 0)
	{
		curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
		return;
	}
	for (int i = 0; i < nevents; i++)
	{
		int			flags = 0;

		if (events[i].events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			continue;
		}
		if (events[i].events & WL_SOCKET_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events[i].events & WL_SOCKET_WRITEABLE)
			flags |= CURL_CSELECT_OUT;
		curl_multi_socket_action(multi, events[i].fd, flags, &running);
	}
}

/* the building blocks, for the gateway worker's loop */
bool
juhe_http_start(JuheHttp *r, const JuheHttpOptions *opts)
{
	ensure_multi();
	return start_transfer(r, opts);
}

void
juhe_http_step(long max_wait_ms)
{
	ensure_multi();
	wait_and_drive(max_wait_ms);
}

int
juhe_http_collect(JuheHttpDone done, void *arg)
{
	CURLMsg    *msg;
	int			queued;
	int			finished = 0;

	while ((msg = curl_multi_info_read(multi, &queued)) != NULL)
	{
		char	   *priv = NULL;
		JuheHttp   *r;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		r = (JuheHttp *) priv;
		if (r == NULL || r->easy != msg->easy_handle)
			continue;
		finish_transfer(r, msg->data.result);
		finished++;
		done(r, arg);
	}
	return finished;
}

bool
juhe_http_withdraw_unsent(JuheHttp *r)
{
	if (r->easy == NULL || r->body_pos > 0)
		return false;
	curl_multi_remove_handle(multi, r->easy);
	pool_put(r->easy, false);
	r->easy = NULL;
	free_buffer(r);
	return true;
}

void
juhe_http_limit_host_connections(long n)
{
	ensure_multi();
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, n);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, Max(n, (long) POOL_MAX));
}

/* juhe_http_run's state, for its launcher */
typedef struct RunState
{
	JuheHttp  **reqs;
	int			n;
	int			next;			/* the first not yet opened */
	int			finished;
	JuheHttp  **wave;
	const JuheHttpOptions *opts;
	const JuheHttpHooks *hooks;
} RunState;

static int
run_ready(void *arg)
{
	RunState   *rs = arg;

	return rs->n - rs->next;
}

/*
 * A wave: n requests, each opened just before it starts, their records
 * made durable once for the wave.
 */
static int
run_start(int n, void *arg)
{
	RunState   *rs = arg;
	int			nwave = 0;
	int			started = 0;

	for (int g = 0; g < n; g++)
	{
		JuheHttp   *r = rs->reqs[rs->next++];

		if (rs->hooks->open(r, rs->hooks->arg))
			rs->wave[nwave++] = r;
		else
			rs->finished++;
	}
	if (nwave > 0)
		rs->hooks->opened(rs->hooks->arg);
	for (int w = 0; w < nwave; w++)
	{
		if (start_transfer(rs->wave[w], rs->opts))
			started++;
		else
		{
			rs->finished++;
			rs->hooks->done(rs->wave[w], rs->hooks->arg);
		}
	}
	return started;
}

void
juhe_http_run(JuheHttp **reqs, int n, int max_parallel,
			  const JuheHttpOptions *opts, const JuheHttpHooks *hooks)
{
	RunState	rs;
	JuheLauncher launcher = {run_ready, run_start, &rs};

	rs.reqs = reqs;
	rs.n = n;
	rs.next = 0;
	rs.finished = 0;
	rs.wave = palloc(Max(max_parallel, 1) * sizeof(JuheHttp *));
	rs.opts = opts;
	rs.hooks = hooks;

	ensure_multi();
	/*
	 * Keep as many idle connections as requests may be in flight: with
	 * fewer, every transfer beyond the cache size would close its
	 * connection when it ends and the next one would open a new one.
	 */
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long) Max(max_parallel, POOL_MAX));

	PG_TRY();
	{
		int			active = 0;
		JuheRateTurn turn = {0};

		while (rs.finished < n)
		{
			int			k;
			long		rate_wait_ms = -1;

			/* what may start now: free places, the cluster's rate */
			if (active < max_parallel && rs.next < n)
				active += juhe_rate_launch(&turn, max_parallel - active, &launcher,
										   &rate_wait_ms);
			if (active == 0)
			{
				if (rate_wait_ms > 0)
					juhe_http_sleep(rate_wait_ms);
				CHECK_FOR_INTERRUPTS();
				continue;
			}

			wait_and_drive(rs.next < n ? rate_wait_ms : -1);
			k = juhe_http_collect(hooks->done, hooks->arg);
			active -= k;
			rs.finished += k;
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_CATCH();
	{
		abort_transfers(reqs, n);
		PG_RE_THROW();
	}
	PG_END_TRY();
	pfree(rs.wave);
}

void
juhe_http_sleep(long ms)
{
	TimestampTz end = GetCurrentTimestamp() + ms * 1000;

	for (;;)
	{
		long		left = (end - GetCurrentTimestamp()) / 1000;

		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, juhe_wait_event(JUHE_WAIT_BACKOFF));
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}
