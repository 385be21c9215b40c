/*
 * juheid.c
 *		Module entry points: _PG_init and the SQL-callable verification
 *		functions.
 *
 *	juhe_verify(realname text, idcard text, mode text DEFAULT NULL) → juhe_result
 *	juhe_backend_stats() → counters of this backend
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "juheid.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(juhe_verify);
PG_FUNCTION_INFO_V1(juhe_backend_stats);

void		_PG_init(void);

JuheCounters juhe_counters;		/* shown by juhe_backend_stats() */

void
_PG_init(void)
{
	juhe_define_gucs();
}

/*
 * Text from the service (UTF-8), in the database encoding.  A reason the
 * database cannot represent must not cost a paid answer: fall back to an
 * ASCII rendering instead of failing.
 */
char *
juhe_service_cstring(const char *utf8)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	char	   *conv = NULL;

	PG_TRY();
	{
		conv = pg_any_to_server(utf8, strlen(utf8), PG_UTF8);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		conv = pstrdup(utf8);
		for (char *p = conv; *p; p++)
			if (IS_HIGHBIT_SET(*p))
				*p = '?';
	}
	PG_END_TRY();
	return conv;
}

/* a composite result row of the calling function */
static Datum
result_row(FunctionCallInfo fcinfo, Datum *values, bool *nulls)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/* the four columns of juhe_result */
void
juhe_result_values(const JuheAnswer *a, Datum *values, bool *nulls)
{
	memset(nulls, 0, 4 * sizeof(bool));
	if (a->error_code == 0)
		values[0] = Int32GetDatum(a->res);
	else
		nulls[0] = true;
	if (a->has_orderid)
		values[1] = CStringGetTextDatum(juhe_service_cstring(a->orderid));
	else
		nulls[1] = true;
	values[2] = Int32GetDatum(a->error_code);
	values[3] = CStringGetTextDatum(juhe_service_cstring(a->reason));
}

Datum
juhe_result_datum(FunctionCallInfo fcinfo, const JuheAnswer *a)
{
	Datum		values[4];
	bool		nulls[4];

	juhe_result_values(a, values, nulls);
	return result_row(fcinfo, values, nulls);
}

Datum
juhe_verify(PG_FUNCTION_ARGS)
{
	JuheMode	mode;
	JuheItem	item;

	/* a NULL name or ID: nothing to verify, nothing sent */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();

	if (PG_ARGISNULL(2))
		mode = (JuheMode) juhe_mode;
	else
		mode = juhe_mode_from_text(text_to_cstring(PG_GETARG_TEXT_PP(2)));

	memset(&item, 0, sizeof(item));
	juhe_prepare_item(&item, PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1));
	juhe_verify_items(&item, 1, mode, 1);
	if (!item.done)
		juhe_raise_failure(&item);

	PG_RETURN_DATUM(juhe_result_datum(fcinfo, &item.answer));
}

Datum
juhe_backend_stats(PG_FUNCTION_ARGS)
{
	Datum		values[6];
	bool		nulls[6] = {0};

	values[0] = Int64GetDatum(juhe_counters.requests);
	values[1] = Int64GetDatum(juhe_counters.connections);
	values[2] = Int64GetDatum(juhe_counters.retries);
	values[3] = Int64GetDatum(juhe_counters.memo_hits);
	values[4] = Int64GetDatum(juhe_counters.local_answers);
	values[5] = Int64GetDatum(juhe_counters.key_loads);
	PG_RETURN_DATUM(result_row(fcinfo, values, nulls));
}
