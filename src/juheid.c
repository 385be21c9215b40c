/*
 * juheid.c
 *		Module entry points: _PG_init and the SQL-callable verification
 *		functions, and the juhe_result rows they build.
 *
 *	juhe_verify(realname text, idcard text, mode text DEFAULT NULL) → juhe_result
 *	juhe_backend_stats() → counters of this backend
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/syscache.h"

#include "compat.h"
#include "encoding.h"
#include "errors.h"
#include "juheid.h"

JUHE_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(juhe_verify);
PG_FUNCTION_INFO_V1(juhe_backend_stats);

void		_PG_init(void);

JuheCounters juhe_counters;		/* shown by juhe_backend_stats() */

/* the column types of juhe_result, in order */
static const Oid result_types[JUHE_RESULT_NATTS] = {INT4OID, TEXTOID, INT4OID, TEXTOID};

#define STATS_NATTS 6
static const Oid stats_types[STATS_NATTS] = {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID};

void
_PG_init(void)
{
	juhe_define_gucs();
}

/*
 * Every composite juheid fills must have exactly the columns it fills:
 * a row type of another shape (a look-alike type, an altered one) would
 * make heap_form_tuple read past the arrays or store raw Datums as the
 * wrong type.
 */
void
juhe_check_result_desc(TupleDesc td, const Oid *types, int natts, const char *what)
{
	bool		ok = td->natts == natts;

	for (int i = 0; ok && i < natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(td, i);

		ok = !a->attisdropped && a->atttypid == types[i];
	}
	if (!ok)
		ereport(ERROR,
				errcode(ERRCODE_DATATYPE_MISMATCH),
				errmsg("row type does not match %s", what),
				errdetail("juheid fills exactly the %d columns of %s, with their types.",
						  natts, what),
				errhint("Do not alter the types of the juheid extension; recreate it with ALTER EXTENSION juheid UPDATE or DROP and CREATE EXTENSION."));
}

/* the namespace the extension was installed in */
static Oid
extension_namespace(Oid extoid)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return nsp;
}

/*
 * The OID of the extension's own juhe_result type, found through the
 * extension (its schema, and the type's membership in it), never by name
 * alone: anyone can create a type called juhe_result in a schema of their
 * own.  InvalidOid if the extension is not installed in this database.
 */
Oid
juhe_result_type_oid(void)
{
	Oid			extoid = get_extension_oid("juheid", true);
	Oid			nsp;
	Oid			typoid;

	if (!OidIsValid(extoid))
		return InvalidOid;
	nsp = extension_namespace(extoid);
	if (!OidIsValid(nsp))
		return InvalidOid;
	typoid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
							 CStringGetDatum("juhe_result"), ObjectIdGetDatum(nsp));
	if (!OidIsValid(typoid) ||
		getExtensionOfObject(TypeRelationId, typoid) != extoid)
		return InvalidOid;
	return typoid;
}

/* a composite result row of the calling function, checked against types */
static Datum
result_row(FunctionCallInfo fcinfo, Datum *values, bool *nulls,
		   const Oid *types, int natts, const char *what)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	juhe_check_result_desc(tupdesc, types, natts, what);
	tupdesc = BlessTupleDesc(tupdesc);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls));
}

/* the four columns of juhe_result; service text in the database encoding */
void
juhe_result_values(const JuheAnswer *a, Datum *values, bool *nulls)
{
	memset(nulls, 0, JUHE_RESULT_NATTS * sizeof(bool));
	if (a->error_code == 0)
		values[0] = Int32GetDatum(a->res);
	else
		nulls[0] = true;
	if (a->has_orderid)
		values[1] = CStringGetTextDatum(juhe_service_text(a->orderid));
	else
		nulls[1] = true;
	values[2] = Int32GetDatum(a->error_code);
	values[3] = CStringGetTextDatum(juhe_service_text(a->reason));
}

Datum
juhe_result_datum(FunctionCallInfo fcinfo, const JuheAnswer *a)
{
	Datum		values[JUHE_RESULT_NATTS];
	bool		nulls[JUHE_RESULT_NATTS];

	juhe_result_values(a, values, nulls);
	return result_row(fcinfo, values, nulls, result_types, JUHE_RESULT_NATTS,
					  "juhe_result");
}

Datum
juhe_verify(PG_FUNCTION_ARGS)
{
	JuheMode	mode;
	JuheItem	item;
	ErrorContextCallback guard;
	Datum		result;

	/* a NULL name or ID: nothing to verify, nothing sent */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();

	/* from here on no message logs the statement (it may hold the input) */
	juhe_guard_push(&guard);
	if (PG_ARGISNULL(2))
		mode = (JuheMode) juhe_mode;
	else
		mode = juhe_mode_from_text(text_to_cstring(PG_GETARG_TEXT_PP(2)));

	memset(&item, 0, sizeof(item));
	juhe_prepare_item(&item, PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1));
	juhe_verify_items(&item, 1, mode, 1);
	if (!item.done)
		juhe_report_failure(ERROR, &item, NULL, NULL);
	result = juhe_result_datum(fcinfo, &item.answer);
	juhe_guard_pop(&guard);
	PG_RETURN_DATUM(result);
}

Datum
juhe_backend_stats(PG_FUNCTION_ARGS)
{
	Datum		values[STATS_NATTS];
	bool		nulls[STATS_NATTS] = {0};

	values[0] = Int64GetDatum(juhe_counters.requests);
	values[1] = Int64GetDatum(juhe_counters.connections);
	values[2] = Int64GetDatum(juhe_counters.retries);
	values[3] = Int64GetDatum(juhe_counters.memo_hits);
	values[4] = Int64GetDatum(juhe_counters.local_answers);
	values[5] = Int64GetDatum(juhe_counters.key_loads);
	PG_RETURN_DATUM(result_row(fcinfo, values, nulls, stats_types, STATS_NATTS,
							   "juhe_backend_stats()"));
}
