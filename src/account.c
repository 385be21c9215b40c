/*
 * account.c
 *		One interface for what requests cost: the shared-memory state behind
 *		the ledger (ledger.c), the cluster statistics (stats.c) and the
 *		spending limits, and the calls every sending and receiving process
 *		makes (see account.h).
 *
 *	juhe_billing_rows() → (day, billed_today, in_flight, max_billed_per_day,
 *	                       billing_timezone): the juhe_billing view
 *
 * The daily cap.  Shared memory holds the billing day (a day in
 * juhe.billing_timezone), the number of requests billed or in doubt on it,
 * and the number in flight.  A request reserves a place before it is sent
 * (billed + in flight < juhe.max_billed_per_day, under a spinlock, so
 * racing backends cannot overshoot); settling it turns the reservation
 * into a billed one (billed, in doubt) or gives it back (not billed).  At
 * server start the count is rebuilt from the ledger, so it survives
 * restarts and crashes.
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "replication/message.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "account.h"
#include "compat.h"
#include "errors.h"
#include "ledger.h"
#include "response.h"
#include "result.h"
#include "stats.h"
#include "table_job.h"
#include "transport.h"
#include "verify.h"

PG_FUNCTION_INFO_V1(juhe_billing_rows);

typedef struct AccountShared
{
	slock_t		mutex;			/* day, billed_today, in_flight */
	int32		day;
	int64		billed_today;
	int64		in_flight;
	pg_atomic_uint64 next_id;
	pg_atomic_uint64 rate_next; /* earliest start of the next request */
} AccountShared;

static AccountShared *account_shm = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* this backend's current run (see juhe_account_track) */
static JuheHttp *track_http = NULL;
static int	track_n = 0;
static bool exit_registered = false;

/* the per-statement guard */
static TimestampTz stmt_started = 0;
static int64 stmt_requests = 0;

/* the ledger reports the top-level transaction's outcome (table jobs) */
static bool outcome_of_top = false;

/* ---------------------------------------------------------------- shmem */

static void
account_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(AccountShared)));
	RequestAddinShmemSpace(juhe_stats_shmem_size());
	RequestAddinShmemSpace(juhe_jobs_shmem_size());
	RequestAddinShmemSpace(MAXALIGN(sizeof(JuheLedgerShared)));
	RequestNamedLWLockTranche("juheid", 2);	/* statistics, ledger */
}

static void
account_shmem_shutdown(int code, Datum arg)
{
	/* a crash (code != 0) leaves no statistics file: lost, not corrupted */
	if (code == 0)
		juhe_stats_save();
}

static void
account_shmem_startup(void)
{
	bool		found;
	JuheLedgerShared *ledger_shm;
	LWLockPadded *locks;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	account_shm = ShmemInitStruct("juheid accounting", sizeof(AccountShared), &found);
	ledger_shm = ShmemInitStruct("juheid ledger", sizeof(JuheLedgerShared), &found);
	locks = GetNamedLWLockTranche("juheid");
	juhe_stats_shmem_init(&locks[0].lock);
	juhe_jobs_shmem_init();
	if (!found)
	{
		JuheLedgerSummary sum;

		SpinLockInit(&account_shm->mutex);
		/* before anyone appends: the lock is not used at start */
		juhe_ledger_startup(&sum);
		juhe_ledger_shmem_init(ledger_shm, &locks[1].lock, false, sum.oldest_at);
		account_shm->day = sum.day;
		account_shm->billed_today = sum.billed_today;
		account_shm->in_flight = 0;
		pg_atomic_init_u64(&account_shm->next_id, sum.max_id + 1);
		pg_atomic_init_u64(&account_shm->rate_next, 0);
		juhe_stats_load();
	}
	else
		juhe_ledger_shmem_init(ledger_shm, &locks[1].lock, true, 0);
	LWLockRelease(AddinShmemInitLock);
	if (!IsUnderPostmaster)
		on_shmem_exit(account_shmem_shutdown, (Datum) 0);
}

void
juhe_account_register(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = account_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = account_shmem_startup;
}

bool
juhe_account_ready(void)
{
	return account_shm != NULL;
}

void
juhe_account_require(void)
{
	if (account_shm == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("juheid must be loaded via shared_preload_libraries"),
				 errdetail("Without it there is no ledger of billed answers, no spending limit and no cluster statistics, so juheid sends nothing."),
				 errhint("Add juheid to shared_preload_libraries in postgresql.conf and restart the server.")));
}

void
juhe_account_require_reader(const char *what)
{
	juhe_account_require();
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read %s", what),
				 errhint("Only superusers and members of pg_read_all_stats may read juheid's statistics and ledger.")));
}

/* ---------------------------------------------------------------- days */

int32
juhe_billing_day(TimestampTz ts)
{
	static pg_tz *tz = NULL;
	static char tz_name[256] = "";
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;
	const char *want = juhe_billing_timezone ? juhe_billing_timezone : "Asia/Shanghai";

	if (tz == NULL || strcmp(tz_name, want) != 0)
	{
		pg_tz	   *t = pg_tzset(want);

		if (t == NULL)
			t = pg_tzset("UTC");
		tz = t;
		strlcpy(tz_name, want, sizeof(tz_name));
	}
	if (tz == NULL || timestamp2tm(ts, &tzoff, &tm, &fsec, NULL, tz) != 0)
		return 0;
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
}

/* caller holds account_shm->mutex: a new day starts a new count */
static void
roll_day(int32 today)
{
	if (today > account_shm->day)
	{
		account_shm->day = today;
		account_shm->billed_today = 0;
	}
}

/* ---------------------------------------------------------------- open */

/*
 * The caller's (sub)transaction id, whose outcome the ledger reports
 * (pg_xact_status).  An xid that never reached the WAL can be handed out
 * again after a crash, and a later transaction's commit would then speak
 * for this one; so the first request of each (sub)transaction writes a
 * small transactional WAL record and flushes it: after a crash, recovery
 * moves past the xid and the commit log says "aborted".  0 on a standby
 * or in parallel mode (outcome "unknown").
 */
static uint64
durable_xid(void)
{
	static FullTransactionId done = {0};
	FullTransactionId xid;

	if (RecoveryInProgress() || !IsTransactionState() || IsInParallelMode())
		return 0;
	xid = outcome_of_top ? GetTopFullTransactionId() : GetCurrentFullTransactionId();
	if (!FullTransactionIdEquals(xid, done))
	{
		XLogFlush(juhe_log_xid_message("juheid"));
		done = xid;
	}
	return U64FromFullTransactionId(xid);
}

static void
fill_tag(JuheTag *tag, JuheVia via, JuheMode mode)
{
	static Oid	db_cached = InvalidOid;
	static Oid	role_cached = InvalidOid;
	static char datname[JUHE_TAG_NAME_LEN];
	static char rolname[JUHE_TAG_NAME_LEN];
	Oid			role = GetUserId();

	if (db_cached != MyDatabaseId)
	{
		char	   *n = get_database_name(MyDatabaseId);

		strlcpy(datname, n ? n : "", sizeof(datname));
		db_cached = MyDatabaseId;
	}
	if (role_cached != role)
	{
		char	   *n = GetUserNameFromId(role, true);

		strlcpy(rolname, n ? n : "", sizeof(rolname));
		role_cached = role;
	}
	memset(tag, 0, sizeof(*tag));
	tag->id = pg_atomic_fetch_add_u64(&account_shm->next_id, 1);
	tag->sent_at = GetCurrentTimestamp();
	tag->xid = durable_xid();
	tag->dbid = MyDatabaseId;
	tag->roleid = role;
	tag->pid = MyProcPid;
	tag->via = (uint8) via;
	tag->mode = (uint8) mode;
	memcpy(tag->datname, datname, sizeof(datname));
	memcpy(tag->rolname, rolname, sizeof(rolname));
}

int
juhe_account_open(JuheHttp *h, JuheVia via, JuheMode mode)
{
	TimestampTz now = GetCurrentTimestamp();
	int32		today = juhe_billing_day(now);
	TimestampTz stmt = GetCurrentStatementStartTimestamp();
	bool		capped = false;
	JuheLedgerRecord rec;

	juhe_account_require();
	Assert(h->tag != NULL);

	if (stmt != stmt_started)
	{
		stmt_started = stmt;
		stmt_requests = 0;
	}
	if (juhe_max_requests_per_statement > 0 &&
		stmt_requests >= juhe_max_requests_per_statement)
		return JUHE_FAIL_STATEMENT_CAP;

	SpinLockAcquire(&account_shm->mutex);
	roll_day(today);
	if (juhe_max_billed_per_day > 0 &&
		account_shm->billed_today + account_shm->in_flight >= juhe_max_billed_per_day)
		capped = true;
	else
		account_shm->in_flight++;
	SpinLockRelease(&account_shm->mutex);
	if (capped)
		return JUHE_FAIL_DAILY_CAP;

	fill_tag(h->tag, via, mode);
	juhe_ledger_fill_record(&rec, h->tag, JUHE_FATE_SENT, 0, -1, NULL, h->tag->sent_at);
	if (!juhe_ledger_append(&rec))
	{
		int			save = errno;

		SpinLockAcquire(&account_shm->mutex);
		account_shm->in_flight--;
		SpinLockRelease(&account_shm->mutex);
		h->tag->id = 0;
		errno = save;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("juheid: could not write to file \"%s\": %m", JUHE_LEDGER_FILE),
				 errdetail("Nothing was sent: a request is sent only once it is in the ledger.")));
	}
	h->accounted = false;
	stmt_requests++;
	juhe_stats_count(mode, JUHE_CS_REQUESTS, 1);
	return 0;
}

void
juhe_account_flush(void)
{
	if (juhe_ledger_sync_on)
		juhe_ledger_sync();
}

void
juhe_account_new_statement(void)
{
	stmt_started = GetCurrentStatementStartTimestamp();
	stmt_requests = 0;
}

void
juhe_account_outcome_of_top(bool on)
{
	outcome_of_top = on;
}

/* ---------------------------------------------------------------- rate */

/* the next start time of the cluster; 0 if there is no limit */
static TimestampTz
rate_reserve(void)
{
	int			rate = juhe_max_requests_per_second;
	TimestampTz now;
	int64		step;
	uint64		cur;

	if (rate <= 0 || account_shm == NULL)
		return 0;
	step = USECS_PER_SEC / rate;
	now = GetCurrentTimestamp();
	cur = pg_atomic_read_u64(&account_shm->rate_next);
	for (;;)
	{
		/* an idle cluster starts now: no burst saved up */
		TimestampTz at = Max((TimestampTz) cur, now);

		if (pg_atomic_compare_exchange_u64(&account_shm->rate_next, &cur,
										   (uint64) (at + step)))
			return at;
	}
}

long
juhe_rate_wait(JuheRateTurn *turn)
{
	TimestampTz now;

	if (!turn->held)
	{
		turn->at = rate_reserve();
		turn->held = true;
	}
	if (turn->at == 0)
		return 0;
	now = GetCurrentTimestamp();
	if (turn->at <= now)
		return 0;
	return Max((turn->at - now + 999) / 1000, 1);
}

/* ---------------------------------------------------------------- settle */

static void
finish(JuheTag *tag, JuheFate fate, int res, int error_code,
	   const char *orderid, bool transport_failure)
{
	TimestampTz now = GetCurrentTimestamp();
	int32		today = juhe_billing_day(now);
	JuheLedgerRecord rec;

	juhe_ledger_fill_record(&rec, tag, fate, res, error_code, orderid, now);
	if (!juhe_ledger_append(&rec) && fate != JUHE_FATE_NOT_BILLED)
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("juheid: could not record a %s request in file \"%s\": %m",
						fate == JUHE_FATE_BILLED ? "billed" : "possibly billed",
						JUHE_LEDGER_FILE),
				 errdetail("Request %llu, order id %s.", (unsigned long long) tag->id,
						   rec.orderid[0] ? rec.orderid : "(none)"),
				 errhidestmt(true), errhidecontext(true)));

	juhe_stats_settled(tag, fate, res, error_code, transport_failure,
					   (double) (now - tag->sent_at) / 1000.0);

	SpinLockAcquire(&account_shm->mutex);
	roll_day(today);
	account_shm->in_flight--;
	if (fate == JUHE_FATE_BILLED || fate == JUHE_FATE_IN_DOUBT)
		account_shm->billed_today++;
	SpinLockRelease(&account_shm->mutex);
	tag->id = 0;
}

void
juhe_account_settle(JuheTag *tag, int curl_code, long status,
					bool request_complete, bool too_large,
					const char *resp, size_t resp_len)
{
	JuheAnswer	a;
	JuheParseStatus st;

	if (tag == NULL || tag->id == 0 || account_shm == NULL)
		return;
	if (curl_code != 0)
	{
		/* an answer too large was an answer: it may be billed */
		finish(tag, (request_complete || too_large) ? JUHE_FATE_IN_DOUBT : JUHE_FATE_NOT_BILLED,
			   0, -1, NULL, true);
		return;
	}
	if (status < 200 || status > 299)
	{
		/* 503 and 429 turn the request away; any other status may hide
		 * a processed one (see errors.c) */
		finish(tag, (status == 503 || status == 429) ? JUHE_FATE_NOT_BILLED : JUHE_FATE_IN_DOUBT,
			   0, -1, NULL, true);
		return;
	}
	st = juhe_parse_answer(resp ? resp : "", resp ? resp_len : 0, &a);
	if (st == JUHE_PARSE_OK || st == JUHE_PARSE_BAD_RES)
	{
		if (a.error_code == JUHE_CODE_BILLED)
			finish(tag, JUHE_FATE_BILLED, a.res, 0,
				   a.has_orderid ? a.orderid : NULL, false);
		else
			finish(tag, JUHE_FATE_NOT_BILLED, 0, a.error_code, NULL, false);
	}
	else
		finish(tag, JUHE_FATE_IN_DOUBT, 0, -1, NULL, true);
}

void
juhe_account_give_up(JuheTag *tag, bool maybe_sent)
{
	if (tag == NULL || tag->id == 0 || account_shm == NULL)
		return;
	finish(tag, maybe_sent ? JUHE_FATE_IN_DOUBT : JUHE_FATE_NOT_BILLED, 0, -1, NULL, false);
}

/* ---------------------------------------------------------------- runs */

void
juhe_account_abandon_run(void)
{
	for (int i = 0; i < track_n; i++)
	{
		JuheHttp   *h = &track_http[i];

		if (h->tag == NULL || h->tag->id == 0)
			continue;
		if (h->accounted)
			h->tag->id = 0;		/* the gateway worker settles it */
		else
			juhe_account_give_up(h->tag, h->body_len > 0 && h->body_pos >= h->body_len);
	}
	if (track_n > 0)
		juhe_account_flush();
}

static void
account_exit(int code, Datum arg)
{
	/* the backend dies mid-run (pg_terminate_backend): settle what it had */
	juhe_account_abandon_run();
	track_n = 0;
}

void
juhe_account_track(JuheHttp *http, int n)
{
	if (!exit_registered)
	{
		before_shmem_exit(account_exit, (Datum) 0);
		exit_registered = true;
	}
	track_http = http;
	track_n = n;
}

void
juhe_account_untrack(void)
{
	track_http = NULL;
	track_n = 0;
}

/* ---------------------------------------------------------------- SQL */

Datum
juhe_billing_rows(PG_FUNCTION_ARGS)
{
	static const Oid types[5] = {DATEOID, INT8OID, INT8OID, INT4OID, TEXTOID};
	Datum		v[5];
	bool		n[5] = {0};
	int32		today = juhe_billing_day(GetCurrentTimestamp());

	juhe_account_require();
	SpinLockAcquire(&account_shm->mutex);
	roll_day(today);
	v[0] = DateADTGetDatum(account_shm->day - POSTGRES_EPOCH_JDATE);
	v[1] = Int64GetDatum(account_shm->billed_today);
	v[2] = Int64GetDatum(account_shm->in_flight);
	SpinLockRelease(&account_shm->mutex);
	if (juhe_max_billed_per_day > 0)
		v[3] = Int32GetDatum(juhe_max_billed_per_day);
	else
		n[3] = true;
	v[4] = CStringGetTextDatum(juhe_billing_timezone);
	PG_RETURN_DATUM(juhe_result_row(fcinfo, v, n, types, 5, "juhe_billing_rows()"));
}
