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
 * Rows are identified by relation and ctid together: a partitioned table
 * or a table with inheritance children is verified relation by relation
 * (each leaf through ONLY, so a ctid means one row), which needs the
 * privileges on each of them; the caller's privileges on every column the
 * job reads or writes are checked in every relation before anything is
 * sent.  Within one CALL a row is sent at most once: one whose write
 * failed keeps its place behind the job's cursor, and one whose new
 * version still has a NULL result (an integer result column and a service
 * error, a trigger that kept the column) is remembered and skipped.
 *
 * Per row: an answer (billed, a service error, a local 210304) is written;
 * a failed call leaves the row NULL for the next run; answers 10011 and
 * 10012 (rate or quota exceeded) are not written and make the job pause
 * before its next batch; the daily cap ends the job after the batch.  The
 * write-back is one subtransaction per batch; if it fails, each row is
 * written in a subtransaction of its own, and a row the table refuses (a
 * constraint, a trigger, a policy) is reported with the person masked and
 * without PostgreSQL's detail (which quotes the row), while the others
 * keep their answers.  A cancel while a batch waits for the service or is
 * written back: the answers that already arrived are written and
 * committed first (a write-back that is itself stuck gets one more second),
 * then the cancel goes on, so a rerun never pays for them again.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/ipc.h"
#include "storage/itemptr.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rls.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "account.h"
#include "encoding.h"
#include "errors.h"
#include "guc.h"
#include "idcard.h"
#include "input.h"
#include "name.h"
#include "preload.h"
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
#define WRITE_GRACE_MS	1000	/* a write-back cancelled once gets this long */
#define MAX_ROW_WARNINGS 10		/* per batch; then a count */

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
static int	my_slot = -1;
static bool slot_exit_registered = false;

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

/* the backend ends (also pg_terminate_backend): its job is not listed */
static void
release_slot_at_exit(int code, Datum arg)
{
	if (my_slot < 0 || jobs == NULL)
		return;
	SpinLockAcquire(&jobs->mutex);
	if (jobs->slots[my_slot].pid == MyProcPid)
		jobs->slots[my_slot].pid = 0;
	SpinLockRelease(&jobs->mutex);
	my_slot = -1;
}

/* a listed job whose backend is gone (a crash of it, an older version) */
static bool
pid_gone(int32 pid)
{
	return pid != 0 && pid != MyProcPid && BackendPidGetProc(pid) == NULL;
}

static int
claim_slot(Oid relid, int64 total)
{
	bool		gone[JOB_SLOTS];
	int			got = -1;

	if (!slot_exit_registered)
	{
		before_shmem_exit(release_slot_at_exit, (Datum) 0);
		slot_exit_registered = true;
	}
	/* look up the backends outside the spinlock */
	for (int i = 0; i < JOB_SLOTS; i++)
		gone[i] = pid_gone(jobs->slots[i].pid);
	SpinLockAcquire(&jobs->mutex);
	for (int i = 0; i < JOB_SLOTS; i++)
	{
		JobSlot    *s = &jobs->slots[i];

		if (s->pid == 0 || s->pid == MyProcPid || gone[i])
		{
			memset(s, 0, sizeof(*s));
			s->pid = MyProcPid;
			s->dbid = MyDatabaseId;
			s->relid = relid;
			s->started_at = s->updated_at = GetCurrentTimestamp();
			s->total = total;
			got = i;
			break;
		}
	}
	SpinLockRelease(&jobs->mutex);
	my_slot = got;
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
	my_slot = -1;
}

/* ---------------------------------------------------------------- plan */

/* one relation whose rows the job takes: the table, or a leaf of it */
typedef struct Target
{
	Oid			relid;
	char	   *qualified;		/* quoted, schema-qualified */
	SPIPlanPtr	select_plan;	/* kept across the batches' commits */
	SPIPlanPtr	update_plan;
} Target;

typedef struct Job
{
	Oid			relid;
	char	   *qualified;		/* the table the job was called for */
	JuheResultKind kind;
	Oid			result_type;	/* the column's declared type */
	const char *namecol;
	const char *idcol;
	const char *rescol;
	const char *ordcol;			/* NULL: none */
	const char *vatcol;
	JuheMode	mode;
	int			parallel;
	bool		reuse;			/* answers billed earlier may be given again */
	int			batch_size;
	Target	   *targets;
	int			ntargets;
} Job;

static const char *
opt_name(FunctionCallInfo fcinfo, int arg)
{
	return PG_ARGISNULL(arg) ? NULL : NameStr(*PG_GETARG_NAME(arg));
}

static char *
qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

static AttrNumber
column_of(Oid relid, const char *colname, const char *role)
{
	AttrNumber	att = get_attnum(relid, colname);

	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						colname, get_rel_name(relid)),
				 errdetail("It was given as the %s column.", role)));
	return att;
}

/*
 * The relations to take rows from: the table itself, or, for a
 * partitioned table or a table with inheritance children, every relation
 * of the tree that holds rows.  Foreign tables among them are refused (a
 * ctid means nothing there), and so is a tree whose root has row-level
 * security for the caller (its leaves' own policies would apply instead).
 */
static void
plan_targets(Job *job)
{
	List	   *rels = find_all_inheritors(job->relid, AccessShareLock, NULL);
	ListCell   *lc;
	int			n = 0;

	job->targets = palloc0(sizeof(Target) * list_length(rels));
	foreach(lc, rels)
	{
		Oid			r = lfirst_oid(lc);
		char		kind = get_rel_relkind(r);

		if (kind == RELKIND_PARTITIONED_TABLE)
			continue;			/* holds no rows of its own */
		if (kind != RELKIND_RELATION)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("juhe_verify_table cannot take the rows of \"%s\", a partition or child of \"%s\"",
							get_rel_name(r), get_rel_name(job->relid)),
					 errdetail("It is not an ordinary table (a foreign table?); nothing was sent."),
					 errhint("Run the job on the ordinary tables of the tree one by one.")));
		job->targets[n].relid = r;
		job->targets[n].qualified = qualified_name(r);
		n++;
	}
	job->ntargets = n;
	if ((n != 1 || job->targets[0].relid != job->relid) &&
		check_enable_rls(job->relid, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("juhe_verify_table cannot verify \"%s\" through its partitions or children: it has row-level security",
						get_rel_name(job->relid)),
				 errdetail("The job takes rows from each partition or child directly, where the policies of \"%s\" would not apply; nothing was sent.",
						   get_rel_name(job->relid)),
				 errhint("Run the job on each partition or child; their own policies then apply.")));
	list_free(rels);
}

static void
plan_job(FunctionCallInfo fcinfo, Job *job)
{
	AttrNumber	resatt;
	char		kind;

	job->relid = PG_GETARG_OID(0);
	job->namecol = NameStr(*PG_GETARG_NAME(1));
	job->idcol = NameStr(*PG_GETARG_NAME(2));
	job->rescol = NameStr(*PG_GETARG_NAME(3));
	job->ordcol = opt_name(fcinfo, 7);
	job->vatcol = opt_name(fcinfo, 8);

	kind = get_rel_relkind(job->relid);
	if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", get_rel_name(job->relid))));
	job->qualified = qualified_name(job->relid);

	(void) column_of(job->relid, job->namecol, "name");
	(void) column_of(job->relid, job->idcol, "ID");
	resatt = column_of(job->relid, job->rescol, "result");
	job->result_type = get_atttype(job->relid, resatt);
	job->kind = juhe_result_kind_of(job->result_type);
	if (job->kind == JUHE_RESULT_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("result column \"%s\" is of type %s", job->rescol,
						format_type_extended(job->result_type, -1, FORMAT_TYPE_FORCE_QUALIFY)),
				 errhint("Use the juhe_result type of the juheid extension, integer or jsonb.")));
	if (job->ordcol &&
		!juhe_is_text_type(get_atttype(job->relid, column_of(job->relid, job->ordcol, "orderid"))))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("orderid column \"%s\" is not of a text type", job->ordcol)));
	if (job->vatcol &&
		getBaseType(get_atttype(job->relid, column_of(job->relid, job->vatcol, "verified_at"))) != TIMESTAMPTZOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("verified_at column \"%s\" is not of type timestamptz", job->vatcol)));

	job->mode = PG_ARGISNULL(4) ? (JuheMode) juhe_mode :
		juhe_mode_from_text(text_to_cstring(PG_GETARG_TEXT_PP(4)));
	job->parallel = PG_ARGISNULL(5) ? 8 : PG_GETARG_INT32(5);
	job->batch_size = PG_ARGISNULL(6) ? 1000 : PG_GETARG_INT32(6);
	/* a re-verification may want fresh answers */
	job->reuse = juhe_reuse_arg(fcinfo, 9);
	juhe_check_parallel(job->parallel);
	if (job->batch_size < 1 || job->batch_size > MAX_BATCH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be between 1 and %d", MAX_BATCH)));
	plan_targets(job);
}

/*
 * The statements of one relation, prepared and then run once on no row:
 * that checks the caller's privileges on every column they read and write
 * (and row-level security's applicability) exactly as the real ones will,
 * before anything is sent.
 */
static void
prepare_target(Job *job, Target *t)
{
	StringInfoData buf;
	Oid			sel_types[2] = {TIDOID, INT4OID};
	Oid			upd_types[4] = {job->result_type, TEXTOID, TIMESTAMPTZOID, TIDOID};
	Datum		sel_values[2];
	Datum		upd_values[4];
	char		upd_nulls[4] = {'n', 'n', 'n', ' '};
	ItemPointerData none;

	/* the same columns in every relation of the tree */
	(void) column_of(t->relid, job->namecol, "name");
	(void) column_of(t->relid, job->idcol, "ID");
	(void) column_of(t->relid, job->rescol, "result");

	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "SELECT ctid, %s::text, %s::text FROM ONLY %s WHERE %s IS NULL AND ctid > $1 "
					 "ORDER BY ctid LIMIT $2 FOR UPDATE SKIP LOCKED",
					 quote_identifier(job->namecol), quote_identifier(job->idcol),
					 t->qualified, quote_identifier(job->rescol));
	t->select_plan = SPI_prepare(buf.data, 2, sel_types);
	if (t->select_plan == NULL || SPI_keepplan(t->select_plan) != 0)
		elog(ERROR, "juheid: could not prepare the reading of rows to verify");

	resetStringInfo(&buf);
	appendStringInfo(&buf, "UPDATE ONLY %s SET %s = $1", t->qualified,
					 quote_identifier(job->rescol));
	if (job->ordcol)
		appendStringInfo(&buf, ", %s = $2", quote_identifier(job->ordcol));
	if (job->vatcol)
		appendStringInfo(&buf, ", %s = $3", quote_identifier(job->vatcol));
	appendStringInfo(&buf, " WHERE ctid = $4 RETURNING ctid, %s IS NULL",
					 quote_identifier(job->rescol));
	t->update_plan = SPI_prepare(buf.data, 4, upd_types);
	if (t->update_plan == NULL || SPI_keepplan(t->update_plan) != 0)
		elog(ERROR, "juheid: could not prepare the write-back of answers");
	pfree(buf.data);

	/* the checks: no row has ctid (0,0) */
	ItemPointerSet(&none, 0, 0);
	sel_values[0] = PointerGetDatum(&none);
	sel_values[1] = Int32GetDatum(0);
	if (SPI_execute_plan(t->select_plan, sel_values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "juheid: could not read the rows to verify");
	memset(upd_values, 0, sizeof(upd_values));
	upd_values[3] = PointerGetDatum(&none);
	if (SPI_execute_plan(t->update_plan, upd_values, upd_nulls, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "juheid: could not check the write-back of answers");
}

static int64
count_pending(Job *job, Target *t)
{
	char	   *sql = psprintf("SELECT count(*) FROM ONLY %s WHERE %s IS NULL",
							   t->qualified, quote_identifier(job->rescol));
	bool		isnull;
	int64		n;

	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "juheid: could not count the rows to verify");
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	pfree(sql);
	return n;
}

/* ---------------------------------------------------------------- rows */

/* one row of a batch */
typedef struct Row
{
	ItemPointerData ctid;
	char	   *raw_name;		/* as read, in the database encoding */
	char	   *raw_id;
	bool		skip;			/* no identity, or seen in this CALL */
} Row;

/* what a write did */
typedef enum WriteResult
{
	WRITE_NONE,					/* nothing to write */
	WRITE_OK,
	WRITE_KEPT_NULL,			/* written, still NULL: the answer has no
								 * value for this column */
	WRITE_REFUSED,				/* a trigger kept the column NULL */
	WRITE_VANISHED,				/* no row updated (a policy) */
	WRITE_FAILED				/* an error, rolled back */
} WriteResult;

/*
 * ctids of this CALL's own new row versions whose result is still NULL:
 * the cursor could meet them again; they are skipped, never sent twice.
 */
typedef struct SeenEntry
{
	ItemPointerData ctid;
} SeenEntry;

static HTAB *
seen_create(MemoryContext cxt)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(ItemPointerData);
	ctl.entrysize = sizeof(SeenEntry);
	ctl.hcxt = cxt;
	return hash_create("juheid table job rows seen", 1024, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* the answer of item into row; RETURNING says what the table kept */
static WriteResult
write_one(Job *job, Target *t, const Row *row, const JuheItem *it, ItemPointerData *newctid)
{
	const JuheAnswer *a = &it->answer;
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	bool		isnull;
	bool		stored_null;
	JuheTriggerPermit permit;
	volatile int rc = 0;

	values[0] = juhe_result_column(job->kind, a, &isnull);
	if (isnull)
		nulls[0] = 'n';
	values[1] = a->has_orderid ? CStringGetTextDatum(juhe_service_text(a->orderid)) : (Datum) 0;
	if (!a->has_orderid)
		nulls[1] = 'n';
	values[2] = TimestampTzGetDatum(juhe_answered_at(a));
	if (a->error_code != JUHE_CODE_BILLED)
		nulls[2] = 'n';
	values[3] = PointerGetDatum(&row->ctid);

	/* the table's juhe_verify_trigger records it, for this row only */
	permit.relid = t->relid;
	permit.ctid = row->ctid;
	permit.name = it->name;
	permit.idcard = it->idcard;
	permit.answer = a;
	juhe_trigger_permit(&permit);
	PG_TRY();
	{
		rc = SPI_execute_plan(t->update_plan, values, nulls, false, 0);
	}
	PG_FINALLY();
	{
		juhe_trigger_permit_end();
	}
	PG_END_TRY();
	if (rc != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "juheid: could not write an answer back");
	if (SPI_processed == 0)
		return WRITE_VANISHED;
	ItemPointerCopy((ItemPointer) DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[0],
																SPI_tuptable->tupdesc, 1, &isnull)),
					newctid);
	stored_null = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_freetuptable(SPI_tuptable);
	if (stored_null)
		return nulls[0] == 'n' ? WRITE_KEPT_NULL : WRITE_REFUSED;
	return WRITE_OK;
}

/* replace every occurrence of what in s by with (s palloc'd or NULL) */
static char *
replace_all(char *s, const char *what, const char *with)
{
	StringInfoData buf;
	const char *p;
	size_t		wlen;

	if (s == NULL || what == NULL || (wlen = strlen(what)) == 0 || strstr(s, what) == NULL)
		return s;
	initStringInfo(&buf);
	p = s;
	for (;;)
	{
		const char *hit = strstr(p, what);

		if (hit == NULL)
			break;
		appendBinaryStringInfo(&buf, p, hit - p);
		appendStringInfoString(&buf, with);
		p = hit + wlen;
	}
	appendStringInfoString(&buf, p);
	return buf.data;
}

/* the names and IDs of the rows, masked, wherever they occur in the error */
static void
scrub_error(ErrorData *ed, const Row *rows, const JuheItem *items, int n)
{
	for (int i = 0; i < n; i++)
	{
		const char *texts[4];
		char		mid[JUHE_MASK_IDCARD_BUFSZ];
		char	   *mname;
		const char *masks[4];

		if (rows[i].raw_name == NULL)
			continue;
		juhe_mask_idcard(items[i].idcard, strlen(items[i].idcard), mid);
		mname = palloc(strlen(items[i].name) + 1);
		juhe_mask_name(items[i].name, strlen(items[i].name), mname);
		mname = juhe_service_text(mname);
		texts[0] = rows[i].raw_id;
		masks[0] = mid;
		texts[1] = juhe_db_is_utf8() ? items[i].idcard : NULL;
		masks[1] = mid;
		texts[2] = rows[i].raw_name;
		masks[2] = mname;
		texts[3] = juhe_db_is_utf8() ? items[i].name : NULL;
		masks[3] = mname;
		for (int k = 0; k < 4; k++)
		{
			ed->message = replace_all(ed->message, texts[k], masks[k]);
			ed->detail = replace_all(ed->detail, texts[k], masks[k]);
			ed->detail_log = replace_all(ed->detail_log, texts[k], masks[k]);
			ed->hint = replace_all(ed->hint, texts[k], masks[k]);
			ed->context = replace_all(ed->context, texts[k], masks[k]);
		}
	}
}

/* a cancel or a termination: the write-back stops, the error goes on */
static bool
is_interrupt(const ErrorData *ed)
{
	return ed->sqlerrcode == ERRCODE_QUERY_CANCELED ||
		ed->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN ||
		ed->elevel >= FATAL;
}

/* counts of one batch's write-back */
typedef struct WriteBack
{
	int64		written;		/* rows with their answer */
	int64		unwritten;		/* refused by the table: reported */
	int			warnings;
	ErrorData  *interrupt;		/* a cancel that came meanwhile */
} WriteBack;

static void
report_unwritten(Job *job, const JuheItem *it, WriteBack *wb, int sqlerrcode,
				 const char *why)
{
	wb->unwritten++;
	if (++wb->warnings > MAX_ROW_WARNINGS)
		return;
	ereport(WARNING,
			(errcode(sqlerrcode),
			 errmsg("juheid: %s: could not write the answer for %s: %s",
					job->qualified, juhe_masked_person(it), why),
			 errdetail("The answer (error code %d%s%s) is in juhe_ledger if it was billed; the row stays empty and is not sent again in this run.",
					   it->answer.error_code,
					   it->answer.has_orderid ? ", order id " : "",
					   it->answer.has_orderid ? juhe_service_text(it->answer.orderid) : ""),
			 errhidestmt(true), errhidecontext(true)));
}

/*
 * Write one row in a subtransaction of its own; an error is reported (the
 * row's person masked, without PostgreSQL's detail) and rolled back, a
 * cancel remembered.
 */
static WriteResult
write_alone(Job *job, Target *t, const Row *row, const JuheItem *it,
			ItemPointerData *newctid, WriteBack *wb)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile WriteResult r = WRITE_FAILED;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		r = write_one(job, t, row, it, newctid);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		scrub_error(ed, row, it, 1);
		if (is_interrupt(ed))
		{
			if (wb->interrupt == NULL)
				wb->interrupt = ed;
			r = WRITE_NONE;
		}
		else
		{
			report_unwritten(job, it, wb, ed->sqlerrcode, ed->message);
			r = WRITE_FAILED;
		}
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return r;
}

/* the row has an answer that belongs in the table */
static bool
to_write(const Row *row, const JuheItem *it)
{
	return !row->skip && it->done &&
		it->answer.error_code != CODE_RATE_LIMITED && it->answer.error_code != CODE_QUOTA;
}

static void
tally(Job *job, HTAB *seen, const Row *row, const JuheItem *it, WriteResult r,
	  const ItemPointerData *newctid, WriteBack *wb)
{
	switch (r)
	{
		case WRITE_OK:
			wb->written++;
			break;
		case WRITE_KEPT_NULL:
			wb->written++;
			(void) hash_search(seen, newctid, HASH_ENTER, NULL);
			break;
		case WRITE_REFUSED:
			(void) hash_search(seen, newctid, HASH_ENTER, NULL);
			report_unwritten(job, it, wb, ERRCODE_TRIGGERED_ACTION_EXCEPTION,
							 "a trigger of the table kept the result column empty (the row's own name and ID may not be the ones verified)");
			break;
		case WRITE_VANISHED:
			report_unwritten(job, it, wb, ERRCODE_INSUFFICIENT_PRIVILEGE,
							 "no row was updated (a row-level security policy for UPDATE?)");
			break;
		case WRITE_NONE:
		case WRITE_FAILED:
			break;
	}
}

/* a write-back cancelled once gets WRITE_GRACE_MS more, then stops */
static void
cancel_again(void)
{
	QueryCancelPending = true;
	InterruptPending = true;
	SetLatch(MyLatch);
}

static int
cancel_timeout_id(void)
{
	static int	id = -1;

	if (id < 0)
		id = (int) RegisterTimeout(USER_TIMEOUT, cancel_again);
	return id;
}

/*
 * Write a batch's answers back: all in one subtransaction; if that fails,
 * row by row.  A cancel or statement_timeout in the middle: the rows are
 * still written, for at most WRITE_GRACE_MS more, then the cancel goes on
 * (returned in wb->interrupt).
 */
static void
write_back(Job *job, Target *t, HTAB *seen, const Row *rows, const JuheItem *items, int n,
		   WriteBack *wb)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	WriteResult *results = palloc(sizeof(WriteResult) * n);
	ItemPointerData *newctids = palloc(sizeof(ItemPointerData) * n);
	volatile bool together = false;
	volatile bool timer = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		for (int i = 0; i < n; i++)
		{
			results[i] = WRITE_NONE;
			if (to_write(&rows[i], &items[i]))
				results[i] = write_one(job, t, &rows[i], &items[i], &newctids[i]);
			if ((i & 255) == 255)
				CHECK_FOR_INTERRUPTS();
		}
		ReleaseCurrentSubTransaction();
		together = true;
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		if (is_interrupt(ed))
		{
			scrub_error(ed, rows, items, n);
			wb->interrupt = ed;
		}
		else
			FreeErrorData(ed);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;

	if (together)
	{
		for (int i = 0; i < n; i++)
			tally(job, seen, &rows[i], &items[i], results[i], &newctids[i], wb);
		return;
	}

	/* one by one; a cancel gets the rest a little more time */
	for (int i = 0; i < n; i++)
	{
		WriteResult r;
		volatile bool timer_was_on;

		if (!to_write(&rows[i], &items[i]))
			continue;
		if (wb->interrupt != NULL && !timer)
		{
			enable_timeout_after(cancel_timeout_id(), WRITE_GRACE_MS);
			timer = true;
		}
		timer_was_on = timer;
		r = write_alone(job, t, &rows[i], &items[i], &newctids[i], wb);
		if (r == WRITE_NONE)
		{
			if (!timer_was_on)
			{
				i--;			/* cancelled: again, with the grace timer */
				continue;
			}
			/* cancelled again: the other answers are not written */
			for (int k = i; k < n; k++)
				if (to_write(&rows[k], &items[k]))
					wb->unwritten++;
			break;
		}
		tally(job, seen, &rows[i], &items[i], r, &newctids[i], wb);
	}
	if (timer)
		disable_timeout(cancel_timeout_id(), false);
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
		juhe_verify_items(items, n, job->mode, job->parallel, JUHE_VIA_BULK, job->reuse);
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

/* the job's counts, over all its relations */
typedef struct Progress
{
	TimestampTz started;
	int64		total;
	int64		done;
	int64		answered;
	int64		failed;			/* left NULL for the next run */
	int64		unwritten;		/* answers the table refused */
	int64		batches;
} Progress;

static void
notice_progress(Job *job, const Progress *p)
{
	double		secs = (double) (GetCurrentTimestamp() - p->started) / USECS_PER_SEC;
	double		rate = secs > 0 ? p->done / secs : 0;

	ereport(NOTICE,
			(errmsg("juheid: %s: %lld of %lld rows done (%.1f%%), %lld answered, %lld left for the next run%s, %.1f rows/s, about %s left",
					job->qualified, (long long) p->done, (long long) Max(p->total, p->done),
					p->total > 0 ? 100.0 * Min(p->done, p->total) / p->total : 100.0,
					(long long) p->answered, (long long) p->failed,
					p->unwritten > 0 ?
					psprintf(" (%lld answers the table refused)", (long long) p->unwritten) : "",
					rate, duration_text(rate > 0 ? Max(p->total - p->done, 0) / rate : 0))));
}

/*
 * The batches of one relation.  Returns false when the job must stop
 * (the daily cap).
 */
static bool
run_target(Job *job, Target *t, bool nonatomic, MemoryContext batch_cxt, Progress *p,
		   int slot)
{
	MemoryContext seen_cxt = AllocSetContextCreate(CurrentMemoryContext, "juheid table job seen",
												   ALLOCSET_DEFAULT_SIZES);
	HTAB	   *seen = seen_create(seen_cxt);
	ItemPointerData last;
	bool		go_on = true;

	ItemPointerSet(&last, 0, 0);
	for (;;)
	{
		Datum		sel_values[2];
		MemoryContext old;
		JuheItem   *items;
		Row		   *rows;
		ErrorData  *err;
		WriteBack	wb;
		bool		pause = false;
		bool		capped = false;
		int			n;

		CHECK_FOR_INTERRUPTS();
		sel_values[0] = PointerGetDatum(&last);
		sel_values[1] = Int32GetDatum(job->batch_size);
		if (SPI_execute_plan(t->select_plan, sel_values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "juheid: could not read the rows to verify");
		n = (int) SPI_processed;
		if (n == 0)
			break;

		/* the batch: its input, normalised, in a context of its own */
		old = MemoryContextSwitchTo(batch_cxt);
		items = palloc0(sizeof(JuheItem) * n);
		rows = palloc0(sizeof(Row) * n);
		for (int i = 0; i < n; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	td = SPI_tuptable->tupdesc;
			bool		cn,
						nn,
						in;
			Datum		c = SPI_getbinval(tup, td, 1, &cn);
			Datum		name = SPI_getbinval(tup, td, 2, &nn);
			Datum		id = SPI_getbinval(tup, td, 3, &in);

			ItemPointerCopy((ItemPointer) DatumGetPointer(c), &rows[i].ctid);
			if (hash_search(seen, &rows[i].ctid, HASH_FIND, NULL) != NULL)
			{
				/* this CALL's own row version: answered already */
				rows[i].skip = true;
				items[i].done = true;
				continue;
			}
			if (nn || in)
			{
				rows[i].skip = true;	/* no identity: left as it is */
				items[i].done = true;
				p->failed++;
				p->done++;
				continue;
			}
			rows[i].raw_name = TextDatumGetCString(name);
			rows[i].raw_id = TextDatumGetCString(id);
			juhe_prepare_item(&items[i], DatumGetTextPP(name), DatumGetTextPP(id));
			p->done++;
		}
		ItemPointerCopy(&rows[n - 1].ctid, &last);
		SPI_freetuptable(SPI_tuptable);

		/* a batch is a statement for juhe.max_requests_per_statement */
		juhe_account_new_statement();
		err = verify_batch(job, items, n);
		if (err)
			scrub_error(err, rows, items, n);

		for (int i = 0; i < n; i++)
		{
			JuheItem   *it = &items[i];

			if (rows[i].skip)
				continue;
			if (!it->done)
			{
				p->failed++;
				if (it->failure == JUHE_FAIL_DAILY_CAP)
					capped = true;
			}
			else if (it->answer.error_code == CODE_RATE_LIMITED ||
					 it->answer.error_code == CODE_QUOTA)
			{
				p->failed++;
				pause = true;
			}
		}

		memset(&wb, 0, sizeof(wb));
		write_back(job, t, seen, rows, items, n, &wb);
		p->answered += wb.written;
		p->unwritten += wb.unwritten;
		if (wb.warnings > MAX_ROW_WARNINGS)
			ereport(WARNING,
					(errmsg("juheid: %s: %d more answers of this batch could not be written",
							job->qualified, wb.warnings - MAX_ROW_WARNINGS)));
		p->batches++;
		MemoryContextSwitchTo(old);

		update_slot(slot, p->done, p->answered, p->failed + p->unwritten, p->batches);
		notice_progress(job, p);

		/* what is written stays written, whatever comes next */
		if (nonatomic)
			SPI_commit();
		if (err == NULL)
			err = wb.interrupt;
		if (err)
			ReThrowError(err);	/* err lives in batch_cxt: not reset yet */
		MemoryContextReset(batch_cxt);
		if (capped)
		{
			ereport(WARNING,
					(errcode(ERRCODE_JUHE_DAILY_CAP),
					 errmsg("juheid: %s: juhe.max_billed_per_day is reached; the job stops", job->qualified),
					 errdetail("%lld rows are left for the next run.", (long long) Max(p->total - p->answered, 0)),
					 errhint("Run it again tomorrow, or raise juhe.max_billed_per_day.")));
			go_on = false;
			break;
		}
		if (pause)
			juhe_http_sleep(PAUSE_MS);
	}
	MemoryContextDelete(seen_cxt);
	return go_on;
}

Datum
juhe_verify_table(PG_FUNCTION_ARGS)
{
	bool		nonatomic = fcinfo->context && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;
	Job			job;
	volatile int slot = -1;
	Progress	progress;
	MemoryContext batch_cxt;
	ErrorContextCallback guard;

	for (int a = 0; a < 4; a++)
		if (PG_ARGISNULL(a))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("juhe_verify_table needs a table, a name column, an ID column and a result column")));
	juhe_require_preloaded();
	juhe_require_primary();
	plan_job(fcinfo, &job);

	if (SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0) != SPI_OK_CONNECT)
		elog(ERROR, "juheid: SPI_connect failed");
	batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "juheid table job batch",
									  ALLOCSET_DEFAULT_SIZES);
	memset(&progress, 0, sizeof(progress));
	progress.started = GetCurrentTimestamp();
	juhe_guard_push(&guard);

	PG_TRY();
	{
		/* every relation's privileges before anything is sent */
		for (int i = 0; i < job.ntargets; i++)
			prepare_target(&job, &job.targets[i]);
		for (int i = 0; i < job.ntargets; i++)
			progress.total += count_pending(&job, &job.targets[i]);
		slot = claim_slot(job.relid, progress.total);
		for (int i = 0; i < job.ntargets; i++)
			if (!run_target(&job, &job.targets[i], nonatomic, batch_cxt, &progress, slot))
				break;
	}
	PG_FINALLY();
	{
		release_slot(slot);
		for (int i = 0; i < job.ntargets; i++)
		{
			if (job.targets[i].select_plan)
				SPI_freeplan(job.targets[i].select_plan);
			if (job.targets[i].update_plan)
				SPI_freeplan(job.targets[i].update_plan);
		}
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

	juhe_require_preloaded();
	InitMaterializedSRF(fcinfo, 0);
	SpinLockAcquire(&jobs->mutex);
	memcpy(copy, jobs->slots, sizeof(copy));
	SpinLockRelease(&jobs->mutex);
	for (int i = 0; i < JOB_SLOTS; i++)
	{
		JobSlot    *s = &copy[i];
		Datum		v[10];
		bool		n[10] = {0};

		if (s->pid == 0 || pid_gone(s->pid))
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
