/*
 * batch.c
 *		Many verifications in one call, up to `parallel` requests in flight.
 *
 *	juhe_verify_many(realnames text[], idcards text[], mode text,
 *	                 parallel int) → TABLE (ord, res, orderid, error_code,
 *	                                        reason, failure)
 *	juhe_verify_batch_internal(realnames text[], idcards text[], mode text,
 *	                           parallel int) → SETOF juhe_result
 *
 * Both run the pairs through juhe_verify_items(), 10,000 at a time
 * (duplicates in a chunk sent once, found with a hash table; billed
 * answers for duplicates further apart come from the memo), and answer in
 * input order; a NULL name or
 * ID gives a row of NULLs and sends nothing.  juhe_verify_many never lets
 * one failed item discard the others' answers: a failure is a row whose
 * `failure` column says what juheid would have raised ("JH011: ..."), with
 * no personal data.  juhe_verify_batch_internal, which the regression
 * suite declares itself, raises the first failure instead.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "errors.h"
#include "guc.h"
#include "input.h"
#include "result.h"
#include "verify.h"

PG_FUNCTION_INFO_V1(juhe_verify_many);
PG_FUNCTION_INFO_V1(juhe_verify_batch_internal);

/*
 * Items are verified CHUNK at a time, so memory is bounded by the chunk,
 * not by the arrays; duplicates are found within a chunk, and billed
 * answers further apart come from the memo.
 */
#define CHUNK 10000

typedef struct Batch
{
	int			n;				/* items in this chunk */
	int			base;			/* position of the first, from 0 */
	bool	   *skip;			/* a NULL name or ID */
	JuheItem   *items;
} Batch;

typedef void (*EmitRows) (ReturnSetInfo *rsinfo, const Batch *b);

/* check the arguments, then verify and emit chunk by chunk */
static void
run_batch(FunctionCallInfo fcinfo, EmitRows emit)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum	   *names,
			   *ids;
	bool	   *name_nulls,
			   *id_nulls;
	int			nnames,
				nids;
	int			parallel;
	bool		reuse;
	JuheMode	mode;
	Batch		b;
	MemoryContext chunk_cxt;

	juhe_require_primary();
	mode = PG_ARGISNULL(2) ? (JuheMode) juhe_mode :
		juhe_mode_from_text(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	parallel = PG_ARGISNULL(3) ? 8 : PG_GETARG_INT32(3);
	juhe_check_parallel(parallel);
	reuse = juhe_reuse_arg(fcinfo, 4);

	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), TEXTOID, -1, false, TYPALIGN_INT,
					  &names, &name_nulls, &nnames);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, -1, false, TYPALIGN_INT,
					  &ids, &id_nulls, &nids);
	if (nnames != nids)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("realnames and idcards must have the same length"),
				 errdetail("realnames has length %d, idcards length %d.", nnames, nids)));

	chunk_cxt = AllocSetContextCreate(CurrentMemoryContext, "juheid bulk chunk",
									  ALLOCSET_DEFAULT_SIZES);
	b.items = palloc(sizeof(JuheItem) * Min(Max(nnames, 1), CHUNK));
	b.skip = palloc(sizeof(bool) * Min(Max(nnames, 1), CHUNK));
	for (b.base = 0; b.base < nnames; b.base += CHUNK)
	{
		MemoryContext old;

		b.n = Min(CHUNK, nnames - b.base);
		memset(b.items, 0, sizeof(JuheItem) * b.n);
		/* what a chunk allocates (normalised input, requests) goes with it */
		old = MemoryContextSwitchTo(chunk_cxt);
		for (int k = 0; k < b.n; k++)
		{
			int			i = b.base + k;

			b.skip[k] = name_nulls[i] || id_nulls[i];
			if (b.skip[k])
				b.items[k].done = true; /* nothing to send */
			else
				juhe_prepare_item(&b.items[k], DatumGetTextPP(names[i]),
								  DatumGetTextPP(ids[i]));
			if ((k & 1023) == 1023)
				CHECK_FOR_INTERRUPTS();
		}
		juhe_verify_items(b.items, b.n, mode, parallel, JUHE_VIA_BULK, reuse);
		emit(rsinfo, &b);
		MemoryContextSwitchTo(old);
		MemoryContextReset(chunk_cxt);
	}
	MemoryContextDelete(chunk_cxt);
}

/*
 * What juheid would have raised for a failed item, as "SQLSTATE: message"
 * (the messages hold no personal data).  The error is raised by
 * juhe_report_failure() alone, which changes no state: catching it here is
 * safe without a subtransaction.
 */
static char *
failure_text(const JuheItem *it)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *volatile text = NULL;

	PG_TRY();
	{
		juhe_report_failure(it, JUHE_OUTCOME_FAILED, NULL);
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		FlushErrorState();
		text = psprintf("%s: %s", unpack_sql_state(ed->sqlerrcode), ed->message);
		FreeErrorData(ed);
	}
	PG_END_TRY();
	return text ? text : pstrdup("unknown failure");
}

#define MANY_NATTS 6

static void
emit_many(ReturnSetInfo *rsinfo, const Batch *b)
{
	for (int k = 0; k < b->n; k++)
	{
		Datum		values[MANY_NATTS] = {0};
		bool		nulls[MANY_NATTS] = {false, true, true, true, true, true};

		values[0] = Int32GetDatum(b->base + k + 1);
		if (!b->skip[k])
		{
			if (b->items[k].done)
				juhe_result_values(&b->items[k].answer, values + 1, nulls + 1);
			else
			{
				values[5] = CStringGetTextDatum(failure_text(&b->items[k]));
				nulls[5] = false;
			}
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

Datum
juhe_verify_many(PG_FUNCTION_ARGS)
{
	static const Oid types[MANY_NATTS] = {INT4OID, INT4OID, TEXTOID, INT4OID, TEXTOID, TEXTOID};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ErrorContextCallback guard;

	InitMaterializedSRF(fcinfo, 0);
	juhe_check_result_desc(rsinfo->setDesc, types, MANY_NATTS, "juhe_verify_many()");
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_VOID();		/* no arrays: no rows */

	juhe_guard_push(&guard);
	run_batch(fcinfo, emit_many);
	juhe_guard_pop(&guard);
	PG_RETURN_VOID();
}

static void
emit_results(ReturnSetInfo *rsinfo, const Batch *b)
{
	for (int k = 0; k < b->n; k++)
	{
		Datum		values[JUHE_RESULT_NATTS] = {0};
		bool		nulls[JUHE_RESULT_NATTS] = {true, true, true, true};

		if (!b->skip[k])
		{
			if (!b->items[k].done)
				juhe_report_failure(&b->items[k], JUHE_OUTCOME_FAILED, NULL);
			juhe_result_values(&b->items[k].answer, values, nulls);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

Datum
juhe_verify_batch_internal(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ErrorContextCallback guard;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	juhe_guard_push(&guard);
	InitMaterializedSRF(fcinfo, 0);
	juhe_check_result_desc(rsinfo->setDesc, juhe_result_types, JUHE_RESULT_NATTS, "juhe_result");
	run_batch(fcinfo, emit_results);
	juhe_guard_pop(&guard);
	return (Datum) 0;
}
