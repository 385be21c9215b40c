/*
 * gateway.c
 *		The gateway worker and the backends' side of it.
 *
 * Shared memory holds JUHE_GW_SLOTS request slots.  A slot moves through
 *
 *	FREE --backend claims--> FILLING --request copied--> SUBMITTED
 *	  --worker takes it--> RUNNING --answer or failure--> DONE
 *	  --backend copies the result--> FREE
 *
 * with two ways out for a backend that gives up (cancel, statement_timeout,
 * an error): SUBMITTED -> FREE (never sent: nothing billed) and RUNNING ->
 * ABANDONED, which the worker turns into FREE when the transfer ends,
 * logging the order id if the answer was billed, so no paid answer goes
 * unrecorded.  Every transition is a compare-and-swap on the slot's state;
 * the owner is told by its latch, the worker by its own.
 *
 * The worker never blocks on one request: it is the same curl-multi engine
 * (the resolver thread is never joined), errors of one transfer are its
 * result, not an ERROR.  If the worker dies anyway, the postmaster starts
 * it again; the new worker fails the requests the old one had running
 * ("may have been billed"), and serves the ones still waiting.  A backend
 * that hears nothing within its own limits plus a margin gives up on its
 * own, with the same distinction.
 *
 * Sharing: JUHE_GW_BULK_SLOTS of the slots may hold bulk requests (table
 * jobs, juhe_verify_many), the rest is kept for single calls and
 * triggers; the worker starts single calls and triggers first, and keeps
 * one of its connections for them while bulk requests wait, so a signup is
 * served at once however many bulk jobs run.  Among bulk requests, the
 * backend with the fewest transfers running goes first.  A request waits
 * in its slot for as long as its statement allows: waiting for juheid's
 * own queue is not a connection failure.  juhe.max_requests_per_second is
 * applied here, when a transfer actually starts.
 *
 * Accounting (account.h): the backend opens each request (a "sent" record)
 * just before submitting it, and the slot carries its tag.  From then on the
 * worker settles it, whatever happens to the backend: when the transfer
 * ends (gw_done), when it withdraws it unsent, when the backend died before
 * it was taken up, or, for a previous worker's requests, at its own start.
 * A backend settles only the requests it takes back unsent from SUBMITTED.
 *
 * What the worker sees: a URL, an opaque (encrypted or form) body and the
 * limits; never a name in clear in aes/rsa mode, never the settings of a
 * session beyond what the request carries.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procsignal.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "account.h"
#include "compat.h"
#include "counters.h"
#include "encoding.h"
#include "gateway.h"
#include "guc.h"
#include "ledger.h"
#include "rate.h"
#include "response.h"
#include "reuse.h"

#define JUHE_GW_SLOTS		64
#define GW_URL_MAX			1024
#define GW_STR_MAX			512
#define GW_BODY_MAX			8192
#define GW_RESP_MAX			(64 * 1024)
#define GW_GRACE_MS			3000	/* beyond the request's own limit */
#define GW_BULK_SLOTS		(JUHE_GW_SLOTS - 16)	/* the rest is kept for
													 * single calls and
													 * triggers */
#define GW_QUEUE_GRACE_MS	200		/* lets libcurl's own connect timeout
									 * speak first for a transfer that is
									 * connecting rather than queued */

typedef enum GwState
{
	GW_FREE = 0,
	GW_FILLING,
	GW_SUBMITTED,
	GW_RUNNING,
	GW_DONE,
	GW_ABANDONED
} GwState;

typedef struct GwSlot
{
	pg_atomic_uint32 state;
	bool		bulk;			/* holds one of the GW_BULK_SLOTS */
	int			owner_procno;
	int			owner_pid;
	/* request */
	int32		timeout_ms;
	int32		connect_timeout_ms;
	uint32		max_response;
	uint32		body_len;
	TimestampTz submitted_at;	/* when the backend handed it over */
	TimestampTz taken_at;		/* when the worker took it up */
	JuheTag		tag;			/* the request's ledger tag */
	char		ca_file[GW_STR_MAX];	/* "" = system default */
	char		proxy[GW_STR_MAX];	/* "" = none */
	char		url[GW_URL_MAX];
	char		body[GW_BODY_MAX];
	/* result */
	int32		curl_code;
	int32		status;
	int32		connects;
	bool		request_complete;
	bool		too_large;
	int8		phase;
	int8		recorded;		/* JuheRecorded of its settlement */
	uint32		resp_len;
	char		resp[GW_RESP_MAX + 1];
} GwSlot;

typedef struct GwShared
{
	slock_t		mutex;			/* worker_pid, worker_latch */
	pid_t		worker_pid;		/* 0 while no worker runs */
	Latch	   *worker_latch;
	pg_atomic_uint64 started;	/* requests the worker started */
	pg_atomic_uint64 withdrawn;	/* given up before a byte was sent */
	pg_atomic_uint64 connections;	/* connections the worker opened */
	pg_atomic_uint64 heartbeat; /* the worker's last round (TimestampTz) */
	pg_atomic_uint32 bulk_slots;	/* slots held by bulk requests */
	GwSlot		slots[JUHE_GW_SLOTS];
} GwShared;

static GwShared *gw = NULL;

/* ---------------------------------------------------------------- shmem */

Size
juhe_gateway_shmem_size(void)
{
	return MAXALIGN(sizeof(GwShared));
}

void
juhe_gateway_shmem_init(void)
{
	bool		found;

	gw = ShmemInitStruct("juheid gateway", sizeof(GwShared), &found);
	if (!found)
	{
		SpinLockInit(&gw->mutex);
		gw->worker_pid = 0;
		gw->worker_latch = NULL;
		pg_atomic_init_u64(&gw->started, 0);
		pg_atomic_init_u64(&gw->withdrawn, 0);
		pg_atomic_init_u64(&gw->connections, 0);
		pg_atomic_init_u64(&gw->heartbeat, 0);
		pg_atomic_init_u32(&gw->bulk_slots, 0);
		for (int i = 0; i < JUHE_GW_SLOTS; i++)
		{
			pg_atomic_init_u32(&gw->slots[i].state, GW_FREE);
			gw->slots[i].bulk = false;
		}
	}
}

void
juhe_gateway_register_worker(void)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 1;
	strlcpy(bgw.bgw_library_name, "juheid", sizeof(bgw.bgw_library_name));
	strlcpy(bgw.bgw_function_name, "juhe_gateway_main", sizeof(bgw.bgw_function_name));
	strlcpy(bgw.bgw_name, "juheid gateway", sizeof(bgw.bgw_name));
	strlcpy(bgw.bgw_type, "juheid gateway", sizeof(bgw.bgw_type));
	RegisterBackgroundWorker(&bgw);
}

static bool
gw_cas(GwSlot *s, uint32 from, uint32 to)
{
	uint32		expected = from;

	return pg_atomic_compare_exchange_u32(&s->state, &expected, to);
}

/* wipe what the slot held (the body has the key) and set it free */
static void
gw_wipe_and_free(GwSlot *s)
{
	explicit_bzero(s->body, s->body_len);
	explicit_bzero(s->resp, s->resp_len);
	s->body_len = 0;
	s->resp_len = 0;
	if (s->bulk)
	{
		s->bulk = false;
		pg_atomic_fetch_sub_u32(&gw->bulk_slots, 1);
	}
	pg_write_barrier();
	pg_atomic_write_u32(&s->state, GW_FREE);
}

/* from -> FREE, wiped on the way (through FILLING, so nobody claims it
 * before it is clean) */
static bool
gw_release(GwSlot *s, uint32 from)
{
	uint32		expected = from;

	if (!pg_atomic_compare_exchange_u32(&s->state, &expected, GW_FILLING))
		return false;
	gw_wipe_and_free(s);
	return true;
}

static bool
owner_alive(const GwSlot *s)
{
	return GetPGProcByNumber(s->owner_procno)->pid == s->owner_pid;
}

static void
wake_owner(const GwSlot *s)
{
	if (owner_alive(s))
		SetLatch(&GetPGProcByNumber(s->owner_procno)->procLatch);
}

/*
 * An answer nobody will read (its backend gave up or went away): if it
 * was billed, its order id goes to the server log, for reconciliation.
 */
static void
log_unclaimed_answer(const GwSlot *s)
{
	JuheAnswer	a;

	if (s->curl_code != 0 || s->status < 200 || s->status > 299)
		return;
	if (juhe_parse_answer(s->resp, s->resp_len, &a) == JUHE_PARSE_OK &&
		a.error_code == JUHE_CODE_BILLED)
	{
		juhe_ascii_printable(a.orderid, strlen(a.orderid));
		ereport(LOG,
				errmsg("juheid: billed answer for a call that was given up"),
				errdetail("Order id: %s; it is in the juhe_ledger view.",
						  a.has_orderid ? a.orderid : "(none)"),
				errhidestmt(true), errhidecontext(true));
	}
}

/*
 * from -> FREE, settled as never sent (or maybe sent) on the way, before
 * anyone can claim the slot and its tag
 */
static bool
gw_release_settled(GwSlot *s, uint32 from, bool maybe_sent)
{
	if (!gw_cas(s, from, GW_FILLING))
		return false;
	pg_read_barrier();
	juhe_account_give_up(&s->tag, maybe_sent);
	gw_wipe_and_free(s);
	return true;
}

/* an answer nobody will claim (from DONE or ABANDONED): logged, wiped, freed */
static bool
gw_discard(GwSlot *s, uint32 from)
{
	if (!gw_cas(s, from, GW_FILLING))
		return false;
	pg_read_barrier();
	log_unclaimed_answer(s);
	gw_wipe_and_free(s);
	return true;
}

/* ---------------------------------------------------------------- worker */

static JuheHttp gw_http[JUHE_GW_SLOTS];
static bool gw_settled_since_sync = false;
static JuheRateTurn gw_turn;	/* juhe.max_requests_per_second */
static long gw_rate_wait_ms = -1;	/* a start waits for its turn */

/* a transfer of the worker ended: hand the result to the slot's owner */
static void
gw_done(JuheHttp *r, void *arg)
{
	GwSlot	   *s = &gw->slots[r - gw_http];

	pg_atomic_fetch_add_u64(&gw->connections, (uint64) r->connects);
	s->curl_code = r->curl_code;
	s->status = (int32) r->status;
	s->connects = (int32) r->connects;
	s->request_complete = r->request_complete;
	s->too_large = r->too_large;
	s->phase = (int8) r->phase;
	s->resp_len = 0;
	/* into the ledger the moment it arrives, before its owner hears of it */
	s->recorded = (int8) juhe_account_settle(&s->tag, r->curl_code, r->status,
											 r->request_complete, r->too_large,
											 r->response, r->response_len);
	gw_settled_since_sync = true;
	if (r->response)
	{
		s->resp_len = (uint32) Min(r->response_len, (size_t) GW_RESP_MAX);
		memcpy(s->resp, r->response, s->resp_len);
		explicit_bzero(r->response, r->response_len);
		pfree(r->response);
		r->response = NULL;
	}
	s->resp[s->resp_len] = '\0';
	pg_write_barrier();
	if (gw_cas(s, GW_RUNNING, GW_DONE))
		wake_owner(s);
	else
		gw_discard(s, GW_ABANDONED);
}

/* start the transfer of a submitted slot (SUBMITTED -> RUNNING) */
static bool
gw_start(int i)
{
	GwSlot	   *s = &gw->slots[i];
	JuheHttp   *r = &gw_http[i];
	JuheHttpOptions opts;

	/* before the state says RUNNING: its owner's deadline counts from it */
	s->taken_at = GetCurrentTimestamp();
	pg_write_barrier();
	if (!gw_cas(s, GW_SUBMITTED, GW_RUNNING))
		return false;			/* its backend gave up just now */
	pg_read_barrier();
	memset(r, 0, sizeof(*r));
	r->url = s->url;
	r->body = s->body;
	r->body_len = s->body_len;
	memset(&opts, 0, sizeof(opts));
	opts.timeout_ms = s->timeout_ms;
	opts.connect_timeout_ms = s->connect_timeout_ms;
	opts.max_response_bytes = s->max_response;
	opts.ca_file = s->ca_file[0] ? s->ca_file : NULL;
	opts.proxy = s->proxy[0] ? s->proxy : NULL;
	pg_atomic_fetch_add_u64(&gw->started, 1);
	if (!juhe_http_start(r, &opts))
		gw_done(r, NULL);
	return true;
}

static int
gw_running_of(int procno)
{
	int			n = 0;

	for (int i = 0; i < JUHE_GW_SLOTS; i++)
	{
		uint32		st = pg_atomic_read_u32(&gw->slots[i].state);

		if ((st == GW_RUNNING || st == GW_ABANDONED) && gw->slots[i].owner_procno == procno)
			n++;
	}
	return n;
}

/*
 * The next submitted request to start: a single call or trigger first (the
 * one waiting longest); then, if bulk may take another connection, the
 * bulk request of the backend with the fewest transfers running (the one
 * waiting longest among those).  -1 if none.
 */
static int
gw_next(bool bulk_allowed)
{
	int			best = -1;
	int			best_running = 0;

	for (int i = 0; i < JUHE_GW_SLOTS; i++)
	{
		GwSlot	   *s = &gw->slots[i];

		if (pg_atomic_read_u32(&s->state) != GW_SUBMITTED || s->bulk)
			continue;
		if (best < 0 || s->submitted_at < gw->slots[best].submitted_at)
			best = i;
	}
	if (best >= 0 || !bulk_allowed)
		return best;
	for (int i = 0; i < JUHE_GW_SLOTS; i++)
	{
		GwSlot	   *s = &gw->slots[i];
		int			r;

		if (pg_atomic_read_u32(&s->state) != GW_SUBMITTED || !s->bulk)
			continue;
		r = gw_running_of(s->owner_procno);
		if (best < 0 || r < best_running ||
			(r == best_running && s->submitted_at < gw->slots[best].submitted_at))
		{
			best = i;
			best_running = r;
		}
	}
	return best;
}

/* the pickup's launcher: the next request by gw_next(), one at a time */
typedef struct PickupState
{
	int			best;			/* the slot pickup_ready() found */
	int			bulk_running;
	int			bulk_max;
} PickupState;

static int
pickup_ready(void *arg)
{
	PickupState *ps = arg;

	ps->best = gw_next(ps->bulk_running < ps->bulk_max);
	return ps->best < 0 ? 0 : 1;
}

static int
pickup_start(int n, void *arg)
{
	PickupState *ps = arg;

	Assert(n == 1 && ps->best >= 0);
	if (!gw_start(ps->best))
		return 0;				/* taken back meanwhile; its turn is used */
	if (gw->slots[ps->best].bulk)
		ps->bulk_running++;
	return 1;
}

/*
 * Take up submitted requests while connections are free: at most
 * juhe.gateway_connections transfers at a time, of which bulk requests
 * leave one (with two or more) for single calls and triggers; each start
 * waits for its turn under juhe.max_requests_per_second.  Requests wait
 * in their slots, not in libcurl's queue, for as long as their backend
 * waits: one whose backend gave up is simply taken back (never sent).
 * Also: withdraw abandoned transfers not one byte of which went out yet,
 * and free what dead backends submitted.
 */
static void
gw_pickup(void)
{
	int			running = 0;
	int			bulk_running = 0;
	int			bulk_max = juhe_gateway_connections >= 2 ?
		juhe_gateway_connections - 1 : juhe_gateway_connections;

	gw_rate_wait_ms = -1;
	for (int i = 0; i < JUHE_GW_SLOTS; i++)
	{
		GwSlot	   *s = &gw->slots[i];
		uint32		st = pg_atomic_read_u32(&s->state);

		if (st == GW_ABANDONED && juhe_http_withdraw_unsent(&gw_http[i]))
		{
			pg_atomic_fetch_add_u64(&gw->withdrawn, 1);
			gw_release_settled(s, GW_ABANDONED, false);
			continue;
		}
		if (st == GW_RUNNING || st == GW_ABANDONED)
		{
			running++;
			if (s->bulk)
				bulk_running++;
		}
		else if (st == GW_SUBMITTED && !owner_alive(s))
			gw_release_settled(s, GW_SUBMITTED, false);
	}

	if (running < juhe_gateway_connections)
	{
		PickupState ps = {-1, bulk_running, bulk_max};
		JuheLauncher launcher = {pickup_ready, pickup_start, &ps};

		/* the loop wakes up for the next turn of the rate */
		(void) juhe_rate_launch(&gw_turn, juhe_gateway_connections - running, &launcher,
								&gw_rate_wait_ms);
	}
}

/*
 * A transfer libcurl holds without connecting (it waits for one of its
 * host connections) longer than juhe.connect_timeout_ms is withdrawn here
 * and failed as "not sent"; libcurl would not time it out.  The pickup
 * starts no more transfers than juhe.gateway_connections, so this is a
 * safety net.
 */
static void
gw_expire_queued(void)
{
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < JUHE_GW_SLOTS; i++)
	{
		GwSlot	   *s = &gw->slots[i];
		JuheHttp   *r = &gw_http[i];

		if (pg_atomic_read_u32(&s->state) != GW_RUNNING ||
			now < TimestampTzPlusMilliseconds(s->taken_at, s->connect_timeout_ms + GW_QUEUE_GRACE_MS) ||
			!juhe_http_withdraw_unsent(r))
			continue;
		pg_atomic_fetch_add_u64(&gw->withdrawn, 1);
		r->curl_code = CURLE_OPERATION_TIMEDOUT;
		r->status = 0;
		r->connects = 0;
		r->request_complete = false;
		r->too_large = false;
		r->phase = JUHE_PHASE_GATEWAY;
		r->response = NULL;
		gw_done(r, NULL);
	}
}

/*
 * Requests a previous worker left running have an unknown fate: fail them
 * as "may have been sent"; and free what dead backends left behind.
 */
static void
gw_sweep(bool at_start)
{
	for (int i = 0; i < JUHE_GW_SLOTS; i++)
	{
		GwSlot	   *s = &gw->slots[i];
		uint32		st = pg_atomic_read_u32(&s->state);

		if (at_start && (st == GW_RUNNING || st == GW_ABANDONED))
		{
			/* the previous worker died with it in flight: may be billed */
			s->recorded = (int8) juhe_account_give_up(&s->tag, true);
			s->curl_code = CURLE_RECV_ERROR;
			s->status = 0;
			s->connects = 0;
			s->request_complete = true;
			s->too_large = false;
			s->phase = JUHE_PHASE_GATEWAY;
			s->resp_len = 0;
			pg_write_barrier();
			if (gw_cas(s, GW_RUNNING, GW_DONE))
				wake_owner(s);
			else
				gw_release(s, GW_ABANDONED);
			gw_settled_since_sync = true;
		}
		else if (st == GW_DONE && !owner_alive(s))
			gw_discard(s, GW_DONE);
	}
}

static void
gw_report_activity(void)
{
	static char last[256];
	char		now[256];
	int			running = 0,
				waiting = 0;

	for (int i = 0; i < JUHE_GW_SLOTS; i++)
	{
		uint32		st = pg_atomic_read_u32(&gw->slots[i].state);

		if (st == GW_RUNNING || st == GW_ABANDONED)
			running++;
		else if (st == GW_SUBMITTED)
			waiting++;
	}
	snprintf(now, sizeof(now),
			 "juheid gateway: %d connections open (at most %d), %d requests in flight, %d waiting; %llu started, %llu withdrawn unsent; %llu connections opened",
			 juhe_http_open_connections(), juhe_gateway_connections,
			 running, waiting,
			 (unsigned long long) pg_atomic_read_u64(&gw->started),
			 (unsigned long long) pg_atomic_read_u64(&gw->withdrawn),
			 (unsigned long long) pg_atomic_read_u64(&gw->connections));
	if (strcmp(now, last) != 0)
	{
		pgstat_report_activity(STATE_IDLE, now);
		strlcpy(last, now, sizeof(last));
	}
}

static void
gw_worker_exit(int code, Datum arg)
{
	SpinLockAcquire(&gw->mutex);
	if (gw->worker_pid == MyProcPid)
	{
		gw->worker_pid = 0;
		gw->worker_latch = NULL;
	}
	SpinLockRelease(&gw->mutex);
}

void
juhe_gateway_main(Datum arg)
{
	MemoryContext loop_cxt;
	TimestampTz last_sweep = 0;
	TimestampTz last_prune;
	int			retention_seen;
	bool		prune_now = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	/* no database: only to show up in pg_stat_activity */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	if (gw == NULL)
		proc_exit(1);
	pg_atomic_write_u64(&gw->heartbeat, (uint64) GetCurrentTimestamp());
	gw_sweep(true);
	SpinLockAcquire(&gw->mutex);
	gw->worker_pid = MyProcPid;
	gw->worker_latch = MyLatch;
	SpinLockRelease(&gw->mutex);
	before_shmem_exit(gw_worker_exit, 0);

	juhe_http_limit_host_connections(juhe_gateway_connections);
	/* the ledger: open (and kept open, to restore it if it is removed) */
	juhe_account_maintain();
	juhe_account_check_timezone();
	/* requests of an earlier run without a result: in doubt, WAL-logged */
	juhe_account_mark_orphans();
	/* prune now if anything is old enough, then hourly and on reload */
	last_prune = 0;
	retention_seen = juhe_ledger_retention_days;
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "juheid gateway",
									 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(loop_cxt);

	while (!ShutdownRequestPending)
	{
		TimestampTz now;

		/* a DROP DATABASE waits for every process to absorb its barrier */
		if (ProcSignalBarrierPending)
			ProcessProcSignalBarrier();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			juhe_http_limit_host_connections(juhe_gateway_connections);
			juhe_account_check_timezone();
			gw_report_activity();
			if (juhe_ledger_retention_days != retention_seen)
			{
				retention_seen = juhe_ledger_retention_days;
				prune_now = true;
			}
		}
		pg_atomic_write_u64(&gw->heartbeat, (uint64) GetCurrentTimestamp());
		gw_pickup();
		/*
		 * waits on curl's sockets and our latch (and a start's turn); not
		 * while a prune has slices left
		 */
		juhe_http_step(juhe_ledger_pruning() ? 0 : gw_rate_wait_ms);
		juhe_http_collect(gw_done, NULL);
		gw_expire_queued();
		if (juhe_ledger_pruning())
			(void) juhe_ledger_prune_step();

		now = GetCurrentTimestamp();
		if (now - last_sweep >= USECS_PER_SEC)
		{
			gw_sweep(false);
			gw_report_activity();
			/* answers whose backend went away: nobody else syncs them */
			if (gw_settled_since_sync)
			{
				juhe_account_flush();
				gw_settled_since_sync = false;
			}
			/* results kept while the file could not be written; the file */
			juhe_account_maintain();
			/* requests of an earlier run not yet in doubt (a full disk) */
			juhe_account_mark_orphans();
			if ((prune_now || now - last_prune >= USECS_PER_HOUR) && !juhe_ledger_pruning())
			{
				(void) juhe_ledger_prune_begin(prune_now);
				/* the digests go with their records */
				juhe_reuse_forget_before(juhe_ledger_retention_cutoff(now));
				last_prune = now;
				prune_now = false;
			}
			last_sweep = now;
		}
	}
	/* exit code 1: the postmaster starts the worker again (unless it is
	 * shutting down), also after pg_terminate_backend */
	proc_exit(1);
}

/* ---------------------------------------------------------------- backend */

bool
juhe_gateway_usable(JuheHttp **reqs, int n, const JuheHttpOptions *opts)
{
	pid_t		pid;

	if (!juhe_gateway || gw == NULL)
		return false;
	SpinLockAcquire(&gw->mutex);
	pid = gw->worker_pid;
	SpinLockRelease(&gw->mutex);
	if (pid == 0)
		return false;
	if (opts->max_response_bytes > GW_RESP_MAX ||
		(opts->ca_file && strlen(opts->ca_file) >= GW_STR_MAX) ||
		(opts->proxy && strlen(opts->proxy) >= GW_STR_MAX))
		return false;
	for (int i = 0; i < n; i++)
		if (strlen(reqs[i]->url) >= GW_URL_MAX || reqs[i]->body_len > GW_BODY_MAX)
			return false;
	return true;
}

static void
wake_worker(void)
{
	Latch	   *latch;

	SpinLockAcquire(&gw->mutex);
	latch = gw->worker_latch;
	SpinLockRelease(&gw->mutex);
	if (latch)
		SetLatch(latch);
}

/*
 * A free slot (FREE -> FILLING), or -1.  Bulk requests get one only while
 * fewer than GW_BULK_SLOTS are held by bulk requests: the rest stays free
 * for single calls and triggers.
 */
static int
gw_claim(bool bulk)
{
	if (bulk)
	{
		uint32		cur = pg_atomic_read_u32(&gw->bulk_slots);

		for (;;)
		{
			if (cur >= GW_BULK_SLOTS)
				return -1;
			if (pg_atomic_compare_exchange_u32(&gw->bulk_slots, &cur, cur + 1))
				break;
		}
	}
	for (int i = 0; i < JUHE_GW_SLOTS; i++)
		if (pg_atomic_read_u32(&gw->slots[i].state) == GW_FREE &&
			gw_cas(&gw->slots[i], GW_FREE, GW_FILLING))
		{
			gw->slots[i].bulk = bulk;
			return i;
		}
	if (bulk)
		pg_atomic_fetch_sub_u32(&gw->bulk_slots, 1);
	return -1;
}

/* the request into its slot (still FILLING: not the worker's yet) */
static void
gw_fill(int i, JuheHttp *r, const JuheHttpOptions *opts)
{
	GwSlot	   *s = &gw->slots[i];

	s->owner_procno = juhe_my_procno();
	s->owner_pid = MyProcPid;
	s->timeout_ms = (int32) opts->timeout_ms;
	s->connect_timeout_ms = (int32) opts->connect_timeout_ms;
	s->max_response = (uint32) opts->max_response_bytes;
	strlcpy(s->ca_file, opts->ca_file ? opts->ca_file : "", GW_STR_MAX);
	strlcpy(s->proxy, opts->proxy ? opts->proxy : "", GW_STR_MAX);
	strlcpy(s->url, r->url, GW_URL_MAX);
	memcpy(s->body, r->body, r->body_len);
	s->body_len = (uint32) r->body_len;
	Assert(r->tag != NULL);
	s->tag = *r->tag;
	s->recorded = 0;
}

/* FILLING -> SUBMITTED: the worker's to send and to settle from now on */
static void
gw_submit(int i, JuheHttp *r)
{
	GwSlot	   *s = &gw->slots[i];

	s->submitted_at = GetCurrentTimestamp();
	r->accounted = true;
	pg_write_barrier();
	pg_atomic_write_u32(&s->state, GW_SUBMITTED);
}

/* the result of a DONE slot into the request, and the slot set free */
static void
gw_take(int i, JuheHttp *r)
{
	GwSlot	   *s = &gw->slots[i];

	pg_read_barrier();
	r->curl_code = s->curl_code;
	r->status = s->status;
	r->request_complete = s->request_complete;
	r->too_large = s->too_large;
	r->phase = (JuheHttpPhase) s->phase;
	r->connects = s->connects;
	r->recorded = s->recorded;
	r->response = NULL;
	r->response_len = 0;
	if (s->curl_code == 0)
	{
		r->response = palloc(s->resp_len + 1);
		memcpy(r->response, s->resp, s->resp_len);
		r->response[s->resp_len] = '\0';
		r->response_len = s->resp_len;
	}
	juhe_backend_count(JUHE_BC_CONNECTIONS, s->connects);
	/* the body held the key and, in plain mode, the person */
	pg_atomic_write_u32(&s->state, GW_FILLING);
	gw_wipe_and_free(s);
}

/* no answer from the worker in time: give the slot up, say how far it got */
static void
gw_give_up(int i, JuheHttp *r)
{
	GwSlot	   *s = &gw->slots[i];

	r->response = NULL;
	r->response_len = 0;
	r->too_large = false;
	r->status = 0;
	r->connects = 0;
	r->phase = JUHE_PHASE_GATEWAY;
	if (gw_release(s, GW_SUBMITTED))
	{
		r->curl_code = CURLE_COULDNT_CONNECT;
		r->request_complete = false;	/* never taken up: not sent */
		r->accounted = false;	/* back to the backend, to settle */
	}
	else if (gw_cas(s, GW_RUNNING, GW_ABANDONED))
	{
		r->curl_code = CURLE_OPERATION_TIMEDOUT;
		r->request_complete = true;		/* may have been sent */
	}
	else
		gw_take(i, r);			/* it ended just now */
}

/*
 * The backend gives up (cancel, statement_timeout, an error): requests not
 * yet handed over or not yet taken up are withdrawn (nothing was sent);
 * running ones are left to the worker, which logs a billed answer's order
 * id when it arrives; answers that already arrived are logged here.
 */
static void
gw_abandon(const int *slot_of, const bool *submitted, JuheHttp **reqs, int n)
{
	int			abandoned = 0;

	for (int k = 0; k < n; k++)
	{
		int			i = slot_of[k];
		GwSlot	   *s;

		if (i < 0)
			continue;
		s = &gw->slots[i];
		if (!submitted[k])
		{
			/* still FILLING, ours alone: the backend settles it */
			reqs[k]->accounted = false;
			gw_wipe_and_free(s);
			continue;
		}
		if (gw_release(s, GW_SUBMITTED))
		{
			reqs[k]->accounted = false; /* the backend settles it: not sent */
			continue;
		}
		if (gw_cas(s, GW_RUNNING, GW_ABANDONED))
		{
			abandoned++;
			continue;
		}
		gw_discard(s, GW_DONE);
	}
	if (abandoned > 0)
	{
		wake_worker();			/* it withdraws those not sent yet */
		ereport(LOG,
				errmsg_plural("juheid: gave up %d request handed to the gateway worker",
							  "juheid: gave up %d requests handed to the gateway worker",
							  abandoned, abandoned),
				errdetail("Those not yet sent are withdrawn; for the others the worker logs the order id if a billed answer arrives."),
				errhidestmt(true), errhidecontext(true));
	}
}

/* the worker has not come round for longer than ms */
static bool
gw_stalled(TimestampTz now, long ms)
{
	TimestampTz beat = (TimestampTz) pg_atomic_read_u64(&gw->heartbeat);

	return now >= TimestampTzPlusMilliseconds(beat, ms);
}

void
juhe_gateway_run(JuheHttp **reqs, int n, int max_parallel,
				 const JuheHttpOptions *opts, const JuheHttpHooks *hooks)
{
	int		   *slot_of = palloc(n * sizeof(int));
	bool	   *submitted = palloc0(n * sizeof(bool));
	int		   *wave = palloc(Max(Min(max_parallel, JUHE_GW_SLOTS), 1) * sizeof(int));
	/* a transfer, then a margin; also how long the worker may be silent */
	long		limit_ms = opts->connect_timeout_ms + opts->timeout_ms + GW_GRACE_MS;

	for (int k = 0; k < n; k++)
		slot_of[k] = -1;

	PG_TRY();
	{
		int			next = 0;
		int			active = 0;
		int			finished = 0;
		int			first_open = 0; /* no request before it holds a slot */

		while (finished < n)
		{
			bool		progressed = false;
			int			nwave = 0;
			TimestampTz now;

			/*
			 * A wave: as many requests as find a slot, each opened just
			 * before it is handed over, their records made durable once,
			 * then submitted together.  Bulk requests share
			 * GW_BULK_SLOTS; the rest stays free for single calls.
			 */
			while (active + nwave < Min(max_parallel, GW_BULK_SLOTS) && next < n)
			{
				int			i = gw_claim(opts->bulk);

				if (i < 0)
					break;		/* every slot busy: wait for one */
				if (!hooks->open(reqs[next], hooks->arg))
				{
					gw_wipe_and_free(&gw->slots[i]);
					next++;
					finished++;
					progressed = true;
					continue;
				}
				slot_of[next] = i;
				gw_fill(i, reqs[next], opts);
				wave[nwave++] = next;
				next++;
			}
			if (nwave > 0)
			{
				hooks->opened(hooks->arg);
				for (int w = 0; w < nwave; w++)
				{
					gw_submit(slot_of[wave[w]], reqs[wave[w]]);
					submitted[wave[w]] = true;
					juhe_backend_count(JUHE_BC_REQUESTS, 1);
				}
				active += nwave;
				wake_worker();
			}

			/*
			 * What came back.  A request running in the worker has its own
			 * time limits plus a margin; one waiting in its slot waits for
			 * as long as the statement does, unless the worker stops
			 * coming round (it died, or hangs).
			 */
			now = GetCurrentTimestamp();
			for (int k = first_open; k < next; k++)
			{
				int			i = slot_of[k];
				uint32		st;

				if (i < 0)
				{
					if (k == first_open)
						first_open++;
					continue;
				}
				st = pg_atomic_read_u32(&gw->slots[i].state);
				if (st == GW_DONE)
					gw_take(i, reqs[k]);
				else if (st == GW_RUNNING)
				{
					TimestampTz taken;

					pg_read_barrier();
					taken = gw->slots[i].taken_at;
					if (now < TimestampTzPlusMilliseconds(taken, limit_ms))
						continue;
					gw_give_up(i, reqs[k]);
				}
				else if (st == GW_SUBMITTED && gw_stalled(now, limit_ms))
					gw_give_up(i, reqs[k]);
				else
					continue;
				slot_of[k] = -1;
				active--;
				finished++;
				progressed = true;
				hooks->done(reqs[k], hooks->arg);
			}

			if (finished < n && !progressed)
			{
				long		timeout = active > 0 ? 1000 : 10;

				(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
								 timeout,
								 juhe_wait_event(JUHE_WAIT_REQUEST));
				ResetLatch(MyLatch);
			}
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_CATCH();
	{
		gw_abandon(slot_of, submitted, reqs, n);
		PG_RE_THROW();
	}
	PG_END_TRY();
	pfree(slot_of);
	pfree(submitted);
	pfree(wave);
}
