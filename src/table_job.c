/*
 * table_job.c
 *		Verify a whole table, resumably, batch by batch.
 *
 *	CALL juhe_verify_table(tbl regclass, realname_column name,
 *	     idcard_column name, result_column name, mode text, parallel int,
 *	     batch_size int, orderid_column name, verified_at_column name)
 *	juhe_progress_rows() → the juhe_progress view
 *
 * The job takes the rows whose result column is NULL, batch_size at a
 * time in ctid order (FOR UPDATE SKIP LOCKED, so two jobs never verify the
 * same row), verifies them with up to `parallel` requests in flight
 * (juhe_verify_items, via "bulk"), writes the answers back and, when
 * CALLed outside a transaction block, commits after each batch: work done
 * survives a cancel or a crash, and running it again resumes with the rows
 * still NULL.
 *
 * Per row: an answer (billed, a service error, a local 210304) is written;
 * a failed call leaves the row NULL for the next run; answers 10011 and
 * 10012 (rate or quota exceeded) are not written and make the job pause
 * before its next batch; the daily cap ends the job after the batch.  A
 * cancel while a batch waits for the service: the answers that already
 * arrived are written and committed before the cancel goes on, so a rerun
 * never pays for them again (the verification runs in a subtransaction
 * for that; the ledger reports the batch's transaction).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/itemptr.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "account.h"
#include "errors.h"
#include "guc.h"
#include "input.h"
#include "result.h"
#include "table_job.h"
#include "transport.h"
#include "trigger.h"
#include "verify.h"

PG_FUNCTION_INFO_V1(juhe_verify_table);
PG_FUNCTION_INFO_V1(juhe_progress_rows);

#define JOB_SLOTS		32
#define MAX_BATCH		100000
#define PAUSE_MS		1000	/* after answers 10011/10012 */

/* the service's "too many requests" answers: keep the rows, pause */
#define CODE_RATE_LIMITED	10011
#define CODE_QUOTA			10012

typedef struct JobSlot
{
	int32		pid;			/* 0: free */
	Oid			dbid;
	Oid			relid;
	TimestampTz started_at;
	TimestampTz updated_at;
	int64		total;			/* rows NULL at the start */
	int64		done;			/* rows taken up */
	int64		answered;		/* rows written */
	int64		failed;			/* rows left NULL */
	int64		batches;
} JobSlot;

typedef struct JobShared
{
	slock_t		mutex;
	JobSlot		slots[JOB_SLOTS];
} JobShared;

static JobShared *jobs = NULL;

Size
juhe_jobs_shmem_size(void)
{
	return MAXALIGN(sizeof(JobShared));
}

void
juhe_jobs_shmem_init(void)
{
	bool		found;

	jobs = ShmemInitStruct("juheid table jobs", sizeof(JobShared), &found);
	if (!found)
	{
		SpinLockInit(&jobs->mutex);
		memset(jobs->slots, 0, sizeof(jobs->slots));
	}
}

static int
claim_slot(Oid relid, int64 total)
{
	volatile int got = -1;

	SpinLockAcquire(&jobs->mutex);
	for (int i = 0; i < JOB_SLOTS; i++)
		if (jobs->slots[i].pid == 0 || jobs->slots[i].pid == MyProcPid)
		{
			JobSlot    *s = &jobs->slots[i];

			memset(s, 0, sizeof(*s));
			s->pid = MyProcPid;
			s->dbid = MyDatabaseId;
			s->relid = relid;
			s->started_at = s->updated_at = GetCurrentTimestamp();
			s->total = total;
			got = i;
			break;
		}
	SpinLockRelease(&jobs->mutex);
	return got;					/* -1: all busy, the job runs unlisted */
}

static void
update_slot(int i, int64 done, int64 answered, int64 failed, int64 batches)
{
	if (i < 0)
		return;
	SpinLockAcquire(&jobs->mutex);
	jobs->slots[i].done = done;
	jobs->slots[i].answered = answered;
	jobs->slots[i].failed = failed;
	jobs->slots[i].batches = batches;
	jobs->slots[i].updated_at = GetCurrentTimestamp();
	SpinLockRelease(&jobs->mutex);
}

static void
release_slot(int i)
{
	if (i < 0)
		return;
	SpinLockAcquire(&jobs->mutex);
	if (jobs->slots[i].pid == MyProcPid)
		jobs->slots[i].pid = 0;
	SpinLockRelease(&jobs->mutex);
}

/* ---------------------------------------------------------------- checks */

static AttrNumber
column_of(Oid relid, Name colname, const char *role)
{
	AttrNumber	att = get_attnum(relid, NameStr(*colname));

	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						NameStr(*colname), get_rel_name(relid)),
				 errdetail("It was given as the %s column.", role)));
	return att;
}

/* ---------------------------------------------------------------- job */

typedef struct Job
{
	Oid			relid;
	char	   *qualified;		/* quoted, schema-qualified table name */
	JuheResultKind kind;
	Oid			result_type;	/* the column's declared type */
	char	   *select_sql;
	char	   *update_sql;
	JuheMode	mode;
	int			parallel;
	int			batch_size;
	bool		has_orderid;
	bool		has_verified_at;
	SPIPlanPtr	update_plan;	/* kept across the batches' commits */
} Job;

static const char *
opt_name(FunctionCallInfo fcinfo, int arg)
{
	return PG_ARGISNULL(arg) ? NULL : NameStr(*PG_GETARG_NAME(arg));
}

static void
plan_job(FunctionCallInfo fcinfo, Job *job)
{
	Oid			relid = PG_GETARG_OID(0);
	Name		namecol = PG_GETARG_NAME(1);
	Name		idcol = PG_GETARG_NAME(2);
	Name		rescol = PG_GETARG_NAME(3);
	const char *ordcol = opt_name(fcinfo, 7);
	const char *vatcol = opt_name(fcinfo, 8);
	AttrNumber	resatt;
	StringInfoData buf;
	char	   *nsp;

	job->relid = relid;
	if (get_rel_relkind(relid) != RELKIND_RELATION &&
		get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", get_rel_name(relid))));
	nsp = get_namespace_name(get_rel_namespace(relid));
	job->qualified = quote_qualified_identifier(nsp, get_rel_name(relid));

	(void) column_of(relid, namecol, "name");
	(void) column_of(relid, idcol, "ID");
	resatt = column_of(relid, rescol, "result");
	job->result_type = get_atttype(relid, resatt);
	job->kind = juhe_result_kind_of(job->result_type);
	if (job->kind == JUHE_RESULT_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("result column \"%s\" is of type %s", NameStr(*rescol),
						format_type_extended(job->result_type, -1, FORMAT_TYPE_FORCE_QUALIFY)),
				 errhint("Use the juhe_result type of the juheid extension, integer or jsonb.")));
	job->has_orderid = ordcol != NULL;
	job->has_verified_at = vatcol != NULL;
	if (ordcol && !juhe_is_text_type(get_atttype(relid, column_of(relid, PG_GETARG_NAME(7), "orderid"))))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("orderid column \"%s\" is not of a text type", ordcol)));
	if (vatcol && getBaseType(get_atttype(relid, column_of(relid, PG_GETARG_NAME(8), "verified_at"))) != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("verified_at column \"%s\" is not of type timestamptz", vatcol)));

	job->mode = PG_ARGISNULL(4) ? (JuheMode) juhe_mode :
		juhe_mode_from_text(text_to_cstring(PG_GETARG_TEXT_PP(4)));
	job->parallel = PG_ARGISNULL(5) ? 8 : PG_GETARG_INT32(5);
	job->batch_size = PG_ARGISNULL(6) ? 1000 : PG_GETARG_INT32(6);
	juhe_check_parallel(job->parallel);
	if (job->batch_size < 1 || job->batch_size > MAX_BATCH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be between 1 and %d", MAX_BATCH)));

	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "SELECT ctid, %s::text, %s::text FROM %s WHERE %s IS NULL AND ctid > $1 "
					 "ORDER BY ctid LIMIT $2 FOR UPDATE SKIP LOCKED",
					 quote_identifier(NameStr(*namecol)), quote_identifier(NameStr(*idcol)),
					 job->qualified, quote_identifier(NameStr(*rescol)));
	job->select_sql = buf.data;
	initStringInfo(&buf);
	appendStringInfo(&buf, "UPDATE %s SET %s = $1", job->qualified,
					 quote_identifier(NameStr(*rescol)));
	if (ordcol)
		appendStringInfo(&buf, ", %s = $2", quote_identifier(ordcol));
	if (vatcol)
		appendStringInfo(&buf, ", %s = $3", quote_identifier(vatcol));
	appendStringInfoString(&buf, " WHERE ctid = $4");
	job->update_sql = buf.data;
}

static int64
count_pending(Job *job, Name rescol)
{
	char	   *sql = psprintf("SELECT count(*) FROM %s WHERE %s IS NULL",
							   job->qualified, quote_identifier(NameStr(*rescol)));
	bool		isnull;
	int64		n;

	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "juheid: could not count the rows to verify");
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return n;
}

static void
prepare_update(Job *job)
{
	Oid			argtypes[4] = {job->result_type, TEXTOID, TIMESTAMPTZOID, TIDOID};

	job->update_plan = SPI_prepare(job->update_sql, 4, argtypes);
	if (job->update_plan == NULL || SPI_keepplan(job->update_plan) != 0)
		elog(ERROR, "juheid: could not prepare the write-back of answers");
}

/* write one answer into its row, through the table's juhe_verify_trigger */
static void
write_answer(Job *job, ItemPointer ctid, const JuheAnswer *a)
{
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	bool		isnull;

	values[0] = juhe_result_column(job->kind, a, &isnull);
	if (isnull)
		nulls[0] = 'n';
	values[1] = a->has_orderid ? CStringGetTextDatum(a->orderid) : (Datum) 0;
	if (!a->has_orderid)
		nulls[1] = 'n';
	values[2] = TimestampTzGetDatum(GetCurrentTimestamp());
	if (a->error_code != JUHE_CODE_BILLED)
		nulls[2] = 'n';
	values[3] = PointerGetDatum(ctid);

	juhe_trigger_passthrough_relid = job->relid;
	PG_TRY();
	{
		if (SPI_execute_plan(job->update_plan, values, nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "juheid: could not write an answer back");
	}
	PG_FINALLY();
	{
		juhe_trigger_passthrough_relid = InvalidOid;
	}
	PG_END_TRY();
}

/*
 * Verify a batch in a subtransaction: an error (a cancel, a timeout) is
 * returned, not raised, so the answers that arrived can still be written.
 */
static ErrorData *
verify_batch(Job *job, JuheItem *items, int n)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile err = NULL;

	juhe_account_outcome_of_top(true);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		juhe_verify_items(items, n, job->mode, job->parallel, JUHE_VIA_BULK);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		err = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	juhe_account_outcome_of_top(false);
	return err;
}

static char *
duration_text(double seconds)
{
	if (seconds < 60)
		return psprintf("%.0f s", seconds);
	if (seconds < 3600)
		return psprintf("%.0f min %.0f s", floor(seconds / 60), fmod(seconds, 60));
	return psprintf("%.0f h %.0f min", floor(seconds / 3600), fmod(seconds, 3600) / 60);
}

Datum
juhe_verify_table(PG_FUNCTION_ARGS)
{
	bool		nonatomic = fcinfo->context && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;
	Job			job;
	volatile int slot = -1;
	int64		total;
	volatile int64 done = 0,
				answered = 0,
				failed = 0,
				batches = 0;
	TimestampTz started = GetCurrentTimestamp();
	ItemPointerData last;
	MemoryContext batch_cxt;
	ErrorContextCallback guard;

	for (int a = 0; a < 4; a++)
		if (PG_ARGISNULL(a))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("juhe_verify_table needs a table, a name column, an ID column and a result column")));
	juhe_account_require();
	plan_job(fcinfo, &job);

	if (SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0) != SPI_OK_CONNECT)
		elog(ERROR, "juheid: SPI_connect failed");
	batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "juheid table job batch",
									  ALLOCSET_DEFAULT_SIZES);
	total = count_pending(&job, PG_GETARG_NAME(3));
	prepare_update(&job);
	slot = claim_slot(job.relid, total);
	ItemPointerSet(&last, 0, 0);
	juhe_guard_push(&guard);

	PG_TRY();
	{
		for (;;)
		{
			Oid			sel_types[2] = {TIDOID, INT4OID};
			Datum		sel_values[2];
			MemoryContext old;
			JuheItem   *items;
			ItemPointerData *ctids;
			bool	   *skip;
			ErrorData  *err;
			bool		pause = false;
			bool		capped = false;
			int			n;
			double		secs,
						rate;

			CHECK_FOR_INTERRUPTS();
			sel_values[0] = PointerGetDatum(&last);
			sel_values[1] = Int32GetDatum(job.batch_size);
			if (SPI_execute_with_args(job.select_sql, 2, sel_types, sel_values, NULL,
									  false, 0) != SPI_OK_SELECT)
				elog(ERROR, "juheid: could not read the rows to verify");
			n = (int) SPI_processed;
			if (n == 0)
				break;

			/* the batch: its input, normalised, in a context of its own */
			old = MemoryContextSwitchTo(batch_cxt);
			items = palloc0(sizeof(JuheItem) * n);
			ctids = palloc(sizeof(ItemPointerData) * n);
			skip = palloc0(sizeof(bool) * n);
			for (int i = 0; i < n; i++)
			{
				HeapTuple	tup = SPI_tuptable->vals[i];
				TupleDesc	td = SPI_tuptable->tupdesc;
				bool		nn,
							in;
				Datum		c = SPI_getbinval(tup, td, 1, &nn);
				Datum		name = SPI_getbinval(tup, td, 2, &nn);
				Datum		id = SPI_getbinval(tup, td, 3, &in);

				ItemPointerCopy((ItemPointer) DatumGetPointer(c), &ctids[i]);
				skip[i] = nn || in;
				if (skip[i])
					items[i].done = true;	/* no identity: left as it is */
				else
					juhe_prepare_item(&items[i], DatumGetTextPP(name), DatumGetTextPP(id));
			}
			ItemPointerCopy(&ctids[n - 1], &last);
			SPI_freetuptable(SPI_tuptable);

			/* a batch is a statement for juhe.max_requests_per_statement */
			juhe_account_new_statement();
			err = verify_batch(&job, items, n);

			for (int i = 0; i < n; i++)
			{
				JuheItem   *it = &items[i];

				if (skip[i])
				{
					failed++;
					continue;
				}
				if (!it->done)
				{
					failed++;
					if (it->failure == JUHE_FAIL_DAILY_CAP)
						capped = true;
					continue;
				}
				if (it->answer.error_code == CODE_RATE_LIMITED ||
					it->answer.error_code == CODE_QUOTA)
				{
					failed++;
					pause = true;
					continue;
				}
				write_answer(&job, &ctids[i], &it->answer);
				answered++;
			}
			done += n;
			batches++;
			MemoryContextSwitchTo(old);

			update_slot(slot, done, answered, failed, batches);
			secs = (double) (GetCurrentTimestamp() - started) / USECS_PER_SEC;
			rate = secs > 0 ? done / secs : 0;
			ereport(NOTICE,
					(errmsg("juheid: %s: %lld of %lld rows done (%.1f%%), %lld answered, %lld left for the next run, %.1f rows/s, about %s left",
							job.qualified, (long long) done, (long long) Max(total, done),
							total > 0 ? 100.0 * Min(done, total) / total : 100.0,
							(long long) answered, (long long) failed, rate,
							duration_text(rate > 0 ? Max(total - done, 0) / rate : 0))));

			/* what is written stays written, whatever comes next */
			if (nonatomic)
				SPI_commit();
			if (err)
				ReThrowError(err);	/* err lives in batch_cxt: not reset yet */
			MemoryContextReset(batch_cxt);
			if (capped)
			{
				ereport(WARNING,
						(errcode(ERRCODE_JUHE_DAILY_CAP),
						 errmsg("juheid: %s: juhe.max_billed_per_day is reached; the job stops", job.qualified),
						 errdetail("%lld rows are left for the next run.", (long long) Max(total - answered, 0)),
						 errhint("Run it again tomorrow, or raise juhe.max_billed_per_day.")));
				break;
			}
			if (pause)
				juhe_http_sleep(PAUSE_MS);
		}
	}
	PG_FINALLY();
	{
		release_slot(slot);
		SPI_freeplan(job.update_plan);
	}
	PG_END_TRY();
	juhe_guard_pop(&guard);
	SPI_finish();
	PG_RETURN_VOID();
}

/* ---------------------------------------------------------------- view */

Datum
juhe_progress_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	JobSlot		copy[JOB_SLOTS];

	juhe_account_require();
	InitMaterializedSRF(fcinfo, 0);
	SpinLockAcquire(&jobs->mutex);
	memcpy(copy, jobs->slots, sizeof(copy));
	SpinLockRelease(&jobs->mutex);
	for (int i = 0; i < JOB_SLOTS; i++)
	{
		JobSlot    *s = &copy[i];
		Datum		v[10];
		bool		n[10] = {0};

		if (s->pid == 0)
			continue;
		v[0] = Int32GetDatum(s->pid);
		v[1] = ObjectIdGetDatum(s->dbid);
		v[2] = ObjectIdGetDatum(s->relid);
		v[3] = TimestampTzGetDatum(s->started_at);
		v[4] = TimestampTzGetDatum(s->updated_at);
		v[5] = Int64GetDatum(s->total);
		v[6] = Int64GetDatum(s->done);
		v[7] = Int64GetDatum(s->answered);
		v[8] = Int64GetDatum(s->failed);
		v[9] = Int64GetDatum(s->batches);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	PG_RETURN_VOID();
}
