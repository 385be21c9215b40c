/*
 * batch.c
 *		juhe_verify_batch_internal(realnames text[], idcards text[], mode text,
 *		                           parallel int) → SETOF juhe_result
 *
 * Runs many verifications through one juhe_verify_items() call, up to
 * `parallel` requests in flight at once on the transport engine.  Not part
 * of the installed SQL API yet: the regression suite declares it (see
 * sql/batch.sql) to exercise the concurrent engine that bulk verification
 * will build on.  Answers come back in input order; NULL pairs give NULL rows.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "errors.h"
#include "guc.h"
#include "input.h"
#include "result.h"
#include "verify.h"

#define MAX_PARALLEL 32

PG_FUNCTION_INFO_V1(juhe_verify_batch_internal);

Datum
juhe_verify_batch_internal(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum	   *names,
			   *ids;
	bool	   *name_nulls,
			   *id_nulls;
	int			nnames,
				nids;
	int			parallel;
	JuheMode	mode;
	JuheItem   *items;
	ErrorContextCallback guard;
	
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	juhe_guard_push(&guard);
	mode = PG_ARGISNULL(2) ? (JuheMode) juhe_mode :
		juhe_mode_from_text(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	parallel = PG_ARGISNULL(3) ? 4 : PG_GETARG_INT32(3);
	if (parallel < 1 || parallel > MAX_PARALLEL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parallel must be between 1 and %d", MAX_PARALLEL)));

	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), TEXTOID, -1, false, TYPALIGN_INT,
					  &names, &name_nulls, &nnames);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, -1, false, TYPALIGN_INT,
					  &ids, &id_nulls, &nids);
	if (nnames != nids)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("realnames and idcards must have the same length")));

	InitMaterializedSRF(fcinfo, 0);
	juhe_check_result_desc(rsinfo->setDesc, juhe_result_types, JUHE_RESULT_NATTS, "juhe_result");

	items = palloc0(sizeof(JuheItem) * Max(nnames, 1));
	for (int i = 0; i < nnames; i++)
	{
		if (name_nulls[i] || id_nulls[i])
			items[i].done = true;	/* nothing to send; a NULL row below */
		else
			juhe_prepare_item(&items[i], DatumGetTextPP(names[i]),
							  DatumGetTextPP(ids[i]));
	}
	juhe_verify_items(items, nnames, mode, parallel, JUHE_VIA_BULK);

	for (int i = 0; i < nnames; i++)
	{
		Datum		values[JUHE_RESULT_NATTS] = {0};
		bool		nulls[JUHE_RESULT_NATTS] = {true, true, true, true};

		if (!name_nulls[i] && !id_nulls[i])
		{
			if (!items[i].done)
				juhe_report_failure(&items[i], JUHE_OUTCOME_FAILED, NULL);
			juhe_result_values(&items[i].answer, values, nulls);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	juhe_guard_pop(&guard);
	return (Datum) 0;
}
