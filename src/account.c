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
 * The daily cap.  Shared memory holds the billing day (a day in the
 * cluster's billing time zone), the number of requests billed or in doubt
 * on it, and the number in flight.  A request reserves a place when it
 * goes out (billed + in flight < juhe.max_billed_per_day, under a
 * spinlock, so racing backends cannot overshoot); settling it turns the
 * reservation into a billed one (billed, in doubt) or gives it back (not
 * billed).  Billed requests are also counted per quarter of an hour for
 * the last 48 hours, so the day's count can be rebuilt for any time zone:
 * at server start (from the ledger, so it survives restarts and crashes),
 * when the day changes, and when juhe.billing_timezone changes (the
 * gateway worker does that at reload; until then every process counts in
 * the time zone the count is for, kept in shared memory).
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "replication/message.h"
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
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "account.h"
#include "compat.h"
#include "encoding.h"
#include "ledger.h"
#include "preload.h"
#include "rate.h"
#include "response.h"
#include "result.h"
#include "reuse.h"
#include "stats.h"
#include "transport.h"

PG_FUNCTION_INFO_V1(juhe_billing_rows);

#define QUARTER_USECS	((int64) 15 * 60 * USECS_PER_SEC)
#define NQUARTERS		192		/* 48 hours: more than any day is long */
#define TZ_NAME_LEN		64

typedef struct AccountShared
{
	slock_t		mutex;			/* everything but next_id, tz_gen */
	int32		day;			/* the billing day billed_today is for */
	int64		billed_today;
	int64		in_flight;
	int64		orphans;		/* of in_flight: requests of an earlier run
								 * without a result, counted as billed until
								 * the gateway worker marks them in doubt */
	char		tz[TZ_NAME_LEN];	/* the billing time zone of day */
	pg_atomic_uint32 tz_gen;	/* bumped when tz changes */
	int64		quarter_of[NQUARTERS];	/* which quarter hour a slot counts */
	int64		billed_in[NQUARTERS];
	pg_atomic_uint64 next_id;
} AccountShared;

static AccountShared *account_shm = NULL;

/* this backend's current run (see juhe_account_track) */
static JuheHttp *track_http = NULL;
static int	track_n = 0;
static bool exit_registered = false;

/* the per-statement guard */
static TimestampTz stmt_started = 0;
static int64 stmt_requests = 0;

/* the ledger reports the top-level transaction's outcome (table jobs) */
static bool outcome_of_top = false;

/* ---------------------------------------------------------------- days */

static int64
quarter_of(TimestampTz ts)
{
	return ts >= 0 ? ts / QUARTER_USECS : -((-ts + QUARTER_USECS - 1) / QUARTER_USECS);
}

static pg_tz *
tz_by_name(const char *name)
{
	pg_tz	   *t = pg_tzset(name);

	return t ? t : pg_tzset("UTC");
}

/* the time zone the shared count is for, cached by its generation */
static pg_tz *
billing_tz(void)
{
	static pg_tz *tz = NULL;
	static uint32 gen = 0;
	static bool have = false;
	uint32		cur;
	char		name[TZ_NAME_LEN];

	if (account_shm == NULL)
	{
		/* the postmaster before shared memory, or no preload */
		return tz_by_name(juhe_billing_timezone ? juhe_billing_timezone : "Asia/Shanghai");
	}
	cur = pg_atomic_read_u32(&account_shm->tz_gen);
	if (!have || cur != gen)
	{
		SpinLockAcquire(&account_shm->mutex);
		memcpy(name, account_shm->tz, TZ_NAME_LEN);
		cur = pg_atomic_read_u32(&account_shm->tz_gen);
		SpinLockRelease(&account_shm->mutex);
		tz = tz_by_name(name);
		gen = cur;
		have = true;
	}
	return tz;
}

static int32
day_in(TimestampTz ts, pg_tz *tz)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;

	if (tz == NULL || timestamp2tm(ts, &tzoff, &tm, &fsec, NULL, tz) != 0)
		return 0;
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
}

/* the first quarter hour of a billing day (local midnight) in tz */
static int64
first_quarter_of_day(int32 day, pg_tz *tz)
{
	struct pg_tm tm;
	int			offset;
	TimestampTz midnight;

	memset(&tm, 0, sizeof(tm));
	j2date(day, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	offset = DetermineTimeZoneOffset(&tm, tz);
	if (tm2timestamp(&tm, 0, &offset, &midnight) != 0)
		return 0;
	return quarter_of(midnight);
}

/* caller holds the mutex: one more billed request at ts */
static void
count_billed(TimestampTz ts)
{
	int64		q = quarter_of(ts);
	int			i = (int) (((q % NQUARTERS) + NQUARTERS) % NQUARTERS);

	if (account_shm->quarter_of[i] != q)
	{
		if (account_shm->quarter_of[i] > q)
			return;				/* older than 48 hours: no day of interest */
		account_shm->quarter_of[i] = q;
		account_shm->billed_in[i] = 0;
	}
	account_shm->billed_in[i]++;
}

/* caller holds the mutex: the count of the day starting at quarter first */
static int64
billed_since(int64 first)
{
	int64		n = 0;

	for (int i = 0; i < NQUARTERS; i++)
		if (account_shm->quarter_of[i] >= first)
			n += account_shm->billed_in[i];
	return n;
}

/*
 * Today in the billing time zone, and where it starts; the shared day moves
 * on when today is later (taking the requests billed since its midnight).
 */
typedef struct Today
{
	int32		day;
	int64		first_quarter;
} Today;

static Today
today_now(TimestampTz now)
{
	static int32 cached_day = 0;
	static int64 cached_first = 0;
	static pg_tz *cached_tz = NULL;
	pg_tz	   *tz = billing_tz();
	Today		t;

	t.day = day_in(now, tz);
	if (t.day != cached_day || tz != cached_tz)
	{
		cached_first = first_quarter_of_day(t.day, tz);
		cached_day = t.day;
		cached_tz = tz;
	}
	t.first_quarter = cached_first;
	return t;
}

/* caller holds the mutex */
static void
roll_day(const Today *t)
{
	if (t->day > account_shm->day)
	{
		account_shm->day = t->day;
		account_shm->billed_today = billed_since(t->first_quarter);
	}
}

void
juhe_account_check_timezone(void)
{
	const char *want = juhe_billing_timezone ? juhe_billing_timezone : "Asia/Shanghai";
	char		have[TZ_NAME_LEN];
	pg_tz	   *tz;
	int32		day;
	int64		first;
	int64		old_count,
				new_count;

	if (account_shm == NULL)
		return;
	SpinLockAcquire(&account_shm->mutex);
	memcpy(have, account_shm->tz, TZ_NAME_LEN);
	SpinLockRelease(&account_shm->mutex);
	if (strcmp(have, want) == 0)
		return;

	tz = tz_by_name(want);
	day = day_in(GetCurrentTimestamp(), tz);
	first = first_quarter_of_day(day, tz);
	SpinLockAcquire(&account_shm->mutex);
	old_count = account_shm->billed_today;
	strlcpy(account_shm->tz, want, TZ_NAME_LEN);
	account_shm->day = day;
	account_shm->billed_today = new_count = billed_since(first);
	pg_atomic_fetch_add_u32(&account_shm->tz_gen, 1);
	SpinLockRelease(&account_shm->mutex);
	ereport(LOG,
			(errmsg("juheid: the billing time zone is now %s: %lld requests billed today (were %lld in %s)",
					want, (long long) new_count, (long long) old_count, have)));
}

/* ---------------------------------------------------------------- shmem */

Size
juhe_account_shmem_size(void)
{
	return MAXALIGN(sizeof(AccountShared));
}

/* no quarter hour counted yet (a new segment, or recovery's cut) */
static void
clear_quarters(void)
{
	for (int i = 0; i < NQUARTERS; i++)
	{
		account_shm->quarter_of[i] = PG_INT64_MIN;
		account_shm->billed_in[i] = 0;
	}
}

void
juhe_account_shmem_init(void)
{
	bool		found;

	account_shm = ShmemInitStruct("juheid accounting", sizeof(AccountShared), &found);
	if (!found)
	{
		memset(account_shm, 0, offsetof(AccountShared, next_id));
		SpinLockInit(&account_shm->mutex);
		strlcpy(account_shm->tz, juhe_billing_timezone ? juhe_billing_timezone : "Asia/Shanghai",
				TZ_NAME_LEN);
		pg_atomic_init_u32(&account_shm->tz_gen, 1);
		clear_quarters();
		pg_atomic_init_u64(&account_shm->next_id, 1);
	}
}

void
juhe_account_count_at_start(const JuheLedgerRecord *rec, void *arg)
{
	count_billed(rec->at);
	juhe_reuse_note(rec);
}

void
juhe_account_start_day(const JuheLedgerSummary *sum, bool primary)
{
	Today		t = today_now(GetCurrentTimestamp());

	account_shm->day = t.day;
	account_shm->billed_today = billed_since(t.first_quarter);
	account_shm->in_flight = sum->open;
	account_shm->orphans = primary ? sum->open : 0;
	pg_atomic_write_u64(&account_shm->next_id, sum->max_id + 1);
}

void
juhe_account_reset_counts(void)
{
	SpinLockAcquire(&account_shm->mutex);
	clear_quarters();
	SpinLockRelease(&account_shm->mutex);
	juhe_reuse_forget_all();
}

/* caller holds the mutex: n more billed at ts, and today's count again */
static void
count_billed_again(TimestampTz ts, int64 n)
{
	Today		t = today_now(GetCurrentTimestamp());

	for (int64 i = 0; i < n; i++)
		count_billed(ts);
	roll_day(&t);
	account_shm->billed_today = billed_since(t.first_quarter);
}

void
juhe_account_redo(const JuheLedgerRecord *rec)
{
	juhe_atomic_advance_u64(&account_shm->next_id, rec->id + 1);
	SpinLockAcquire(&account_shm->mutex);
	if (rec->fate == JUHE_FATE_SENT)
		account_shm->in_flight++;
	else
	{
		if (account_shm->in_flight > 0)
			account_shm->in_flight--;
		account_shm->orphans = Min(account_shm->orphans, account_shm->in_flight);
		if (rec->fate == JUHE_FATE_BILLED || rec->fate == JUHE_FATE_IN_DOUBT)
			count_billed_again(rec->at, 1);
	}
	SpinLockRelease(&account_shm->mutex);
	juhe_reuse_note(rec);
}

/* n requests without a result marked in doubt at `at` (redo, or the worker) */
static void
doubted(int64 n, TimestampTz at)
{
	SpinLockAcquire(&account_shm->mutex);
	account_shm->in_flight = Max(account_shm->in_flight - n, 0);
	account_shm->orphans = Min(Max(account_shm->orphans - n, 0), account_shm->in_flight);
	count_billed_again(at, n);
	SpinLockRelease(&account_shm->mutex);
}

void
juhe_account_recovery_done(void)
{
	SpinLockAcquire(&account_shm->mutex);
	account_shm->orphans = account_shm->in_flight;
	SpinLockRelease(&account_shm->mutex);
	juhe_ledger_set_first_id(pg_atomic_read_u64(&account_shm->next_id));
}

void
juhe_account_mark_orphans(void)
{
	int64		n;
	TimestampTz at;

	SpinLockAcquire(&account_shm->mutex);
	n = account_shm->orphans;
	SpinLockRelease(&account_shm->mutex);
	if (n == 0)
		return;
	n = juhe_ledger_mark_orphans(&at);
	if (n > 0)
		doubted(n, at);
}

void
juhe_account_maintain(void)
{
	juhe_ledger_maintain();
}

/* ---------------------------------------------------------------- open */

/*
 * The caller's (sub)transaction id, whose outcome the ledger reports
 * (pg_xact_status).  An xid that never reached the WAL can be handed out
 * again after a crash, and a later transaction's commit would then speak
 * for this one; so the first request of each (sub)transaction writes a
 * small transactional WAL record: after a crash, recovery moves past the
 * xid and the commit log says "aborted".  It is flushed with the request's
 * "sent" record, which comes after it in the WAL, before anything is sent
 * (juhe_account_flush_to_send).  0 on a standby or in parallel mode
 * (outcome "unknown").
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
		(void) juhe_log_xid_message("juheid");
		done = xid;
	}
	return U64FromFullTransactionId(xid);
}

static void
fill_tag(JuheTag *tag, JuheVia via, JuheMode mode, TimestampTz now)
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
	tag->sent_at = now;
	tag->xid = durable_xid();
	tag->dbid = MyDatabaseId;
	tag->roleid = role;
	tag->pid = MyProcPid;
	tag->via = (uint8) via;
	tag->mode = (uint8) mode;
	memcpy(tag->datname, datname, sizeof(datname));
	memcpy(tag->rolname, rolname, sizeof(rolname));
}

JuheOpenResult
juhe_account_open(JuheHttp *h, JuheVia via, JuheMode mode)
{
	TimestampTz now = GetCurrentTimestamp();
	Today		t = today_now(now);
	TimestampTz stmt = GetCurrentStatementStartTimestamp();
	bool		capped = false;
	JuheLedgerRecord rec;

	juhe_require_preloaded();
	Assert(h->tag != NULL);

	if (stmt != stmt_started)
	{
		stmt_started = stmt;
		stmt_requests = 0;
	}
	if (juhe_max_requests_per_statement > 0 &&
		stmt_requests >= juhe_max_requests_per_statement)
		return JUHE_OPEN_STATEMENT_CAP;

	SpinLockAcquire(&account_shm->mutex);
	roll_day(&t);
	if (juhe_max_billed_per_day > 0 &&
		account_shm->billed_today + account_shm->in_flight >= juhe_max_billed_per_day)
		capped = true;
	else
		account_shm->in_flight++;
	SpinLockRelease(&account_shm->mutex);
	if (capped)
		return JUHE_OPEN_DAILY_CAP;

	fill_tag(h->tag, via, mode, now);
	juhe_ledger_fill_record(&rec, h->tag, JUHE_FATE_SENT, 0, -1, NULL, h->tag->sent_at);
	if (juhe_ledger_append(&rec, false) != JUHE_LEDGER_WRITTEN)
	{
		int			save = errno;

		SpinLockAcquire(&account_shm->mutex);
		account_shm->in_flight--;
		SpinLockRelease(&account_shm->mutex);
		h->tag->id = 0;
		errno = save;
		return JUHE_OPEN_NO_LEDGER;
	}
	h->accounted = false;
	stmt_requests++;
	juhe_stats_count(mode, JUHE_CS_REQUESTS, 1);
	return JUHE_OPEN_OK;
}

void
juhe_account_flush(void)
{
	(void) juhe_ledger_sync(true);
}

void
juhe_account_flush_to_send(void)
{
	if (!juhe_ledger_sync(true))
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("canceling the wait for synchronous replication of juheid's ledger"),
				 errdetail("Nothing was sent: the synchronous standbys had not confirmed the requests' ledger records.")));
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

/* ---------------------------------------------------------------- settle */

static JuheRecorded
finish(JuheTag *tag, JuheFate fate, int res, int error_code,
	   const char *orderid, bool transport_failure)
{
	TimestampTz now = GetCurrentTimestamp();
	Today		t = today_now(now);
	bool		billed = fate == JUHE_FATE_BILLED || fate == JUHE_FATE_IN_DOUBT;
	JuheLedgerRecord rec;
	JuheLedgerWrite w;
	JuheRecorded recorded = JUHE_RECORDED;

	juhe_ledger_fill_record(&rec, tag, fate, res, error_code, orderid, now);
	w = juhe_ledger_append(&rec, billed);
	if (w != JUHE_LEDGER_WRITTEN && billed)
	{
		char		oid[JUHE_LEDGER_ORDERID_LEN];

		/* the log has the order id in any case, in printable ASCII */
		strlcpy(oid, rec.orderid, sizeof(oid));
		juhe_ascii_printable(oid, strlen(oid));
		recorded = w == JUHE_LEDGER_KEPT ? JUHE_RECORD_KEPT : JUHE_RECORD_LOST;
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("juheid: could not record a %s request in file \"%s\": %m",
						fate == JUHE_FATE_BILLED ? "billed" : "possibly billed",
						JUHE_LEDGER_FILE),
				 errdetail("Request %llu, order id %s; %s", (unsigned long long) tag->id,
						   oid[0] ? oid : "(none)",
						   w == JUHE_LEDGER_KEPT ?
						   "it is kept in shared memory and written as soon as the file can be written." :
						   "it counts against juhe.max_billed_per_day, and the next start marks it in doubt."),
				 errhidestmt(true), errhidecontext(true)));
	}
	/* an answer about the person, kept (file or memory): found again */
	juhe_reuse_note(&rec);

	juhe_stats_settled(tag, fate, res, error_code, transport_failure,
					   (double) (now - tag->sent_at) / 1000.0);

	/* billed counts against the cap, written or not */
	SpinLockAcquire(&account_shm->mutex);
	roll_day(&t);
	account_shm->in_flight--;
	if (billed)
	{
		count_billed(now);
		if (t.day >= account_shm->day)
			account_shm->billed_today++;
	}
	SpinLockRelease(&account_shm->mutex);
	tag->id = 0;
	return recorded;
}

JuheRecorded
juhe_account_settle(JuheTag *tag, int curl_code, long status,
					bool request_complete, bool too_large,
					const char *resp, size_t resp_len)
{
	JuheAnswer	a;
	JuheParseStatus st;

	if (tag == NULL || tag->id == 0 || account_shm == NULL)
		return JUHE_RECORDED;
	if (curl_code != 0)
	{
		/* an answer too large was an answer: it may be billed */
		return finish(tag, (request_complete || too_large) ? JUHE_FATE_IN_DOUBT : JUHE_FATE_NOT_BILLED,
					  0, -1, NULL, true);
	}
	if (status < 200 || status > 299)
	{
		/* 503 and 429 turn the request away; any other status may hide
		 * a processed one (see errors.c) */
		return finish(tag, (status == 503 || status == 429) ? JUHE_FATE_NOT_BILLED : JUHE_FATE_IN_DOUBT,
					  0, -1, NULL, true);
	}
	st = juhe_parse_answer(resp ? resp : "", resp ? resp_len : 0, &a);
	if (st == JUHE_PARSE_OK || st == JUHE_PARSE_BAD_RES)
	{
		if (a.error_code == JUHE_CODE_BILLED)
			return finish(tag, JUHE_FATE_BILLED, a.res, 0,
						  a.has_orderid ? a.orderid : NULL, false);
		return finish(tag, JUHE_FATE_NOT_BILLED, 0, a.error_code, NULL, false);
	}
	return finish(tag, JUHE_FATE_IN_DOUBT, 0, -1, NULL, true);
}

JuheRecorded
juhe_account_give_up(JuheTag *tag, bool maybe_sent)
{
	if (tag == NULL || tag->id == 0 || account_shm == NULL)
		return JUHE_RECORDED;
	return finish(tag, maybe_sent ? JUHE_FATE_IN_DOUBT : JUHE_FATE_NOT_BILLED, 0, -1, NULL, false);
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
			(void) juhe_account_give_up(h->tag, h->body_len > 0 && h->body_pos >= h->body_len);
	}
	/* on an error path: flushed here, not waited for on the standbys */
	if (track_n > 0)
		(void) juhe_ledger_sync(false);
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
	Today		t;
	char		tz[TZ_NAME_LEN];

	juhe_require_preloaded();
	t = today_now(GetCurrentTimestamp());
	SpinLockAcquire(&account_shm->mutex);
	roll_day(&t);
	v[0] = DateADTGetDatum(account_shm->day - POSTGRES_EPOCH_JDATE);
	/* requests of an earlier run without a result count as billed */
	v[1] = Int64GetDatum(account_shm->billed_today + account_shm->orphans);
	v[2] = Int64GetDatum(account_shm->in_flight - account_shm->orphans);
	memcpy(tz, account_shm->tz, TZ_NAME_LEN);
	SpinLockRelease(&account_shm->mutex);
	if (juhe_max_billed_per_day > 0)
		v[3] = Int32GetDatum(juhe_max_billed_per_day);
	else
		n[3] = true;
	v[4] = CStringGetTextDatum(tz);
	PG_RETURN_DATUM(juhe_result_row(fcinfo, v, n, types, 5, "juhe_billing_rows()"));
}
