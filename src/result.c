/*
 * result.c
 *		The composite rows juheid returns.
 *
 * juhe_result is (res integer, orderid text, error_code integer, reason
 * text).  Every composite juheid fills is checked against the columns it
 * fills first: a row type of another shape (a look-alike type, an altered
 * one) would make heap_form_tuple read past the arrays or store raw Datums
 * as the wrong type.
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
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "encoding.h"
#include "result.h"

const Oid	juhe_result_types[JUHE_RESULT_NATTS] = {INT4OID, TEXTOID, INT4OID, TEXTOID};

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
Datum
juhe_result_row(FunctionCallInfo fcinfo, Datum *values, bool *nulls,
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
	if (a->error_code == JUHE_CODE_BILLED)
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
	return juhe_result_row(fcinfo, values, nulls, juhe_result_types,
						   JUHE_RESULT_NATTS, "juhe_result");
}

JuheResultKind
juhe_result_kind_of(Oid type)
{
	Oid			t = getBaseType(type);
	Oid			own = juhe_result_type_oid();

	if (t == INT4OID)
		return JUHE_RESULT_INTEGER;
	if (t == JSONBOID)
		return JUHE_RESULT_JSONB;
	if (OidIsValid(own) && t == own)
		return JUHE_RESULT_COMPOSITE;
	return JUHE_RESULT_NONE;
}

Datum
juhe_result_column(JuheResultKind kind, const JuheAnswer *a, bool *isnull)
{
	*isnull = false;
	switch (kind)
	{
		case JUHE_RESULT_INTEGER:
			if (a->error_code != JUHE_CODE_BILLED)
				break;
			return Int32GetDatum(a->res);
		case JUHE_RESULT_COMPOSITE:
			{
				TupleDesc	td = lookup_rowtype_tupdesc_copy(juhe_result_type_oid(), -1);
				Datum		values[JUHE_RESULT_NATTS];
				bool		nulls[JUHE_RESULT_NATTS];

				/* the extension's type, but it may have been altered */
				juhe_check_result_desc(td, juhe_result_types, JUHE_RESULT_NATTS, "juhe_result");
				juhe_result_values(a, values, nulls);
				return HeapTupleGetDatum(heap_form_tuple(td, values, nulls));
			}
		case JUHE_RESULT_JSONB:
			{
				StringInfoData buf;

				initStringInfo(&buf);
				appendStringInfoString(&buf, "{\"res\": ");
				if (a->error_code == JUHE_CODE_BILLED)
					appendStringInfo(&buf, "%d", a->res);
				else
					appendStringInfoString(&buf, "null");
				appendStringInfoString(&buf, ", \"orderid\": ");
				if (a->has_orderid)
					escape_json(&buf, juhe_service_text(a->orderid));
				else
					appendStringInfoString(&buf, "null");
				appendStringInfo(&buf, ", \"error_code\": %d, \"reason\": ", a->error_code);
				escape_json(&buf, juhe_service_text(a->reason));
				appendStringInfoChar(&buf, '}');
				return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
			}
		case JUHE_RESULT_NONE:
			break;
	}
	*isnull = true;
	return (Datum) 0;
}

bool
juhe_is_text_type(Oid type)
{
	Oid			t = getBaseType(type);

	return t == TEXTOID || t == VARCHAROID || t == BPCHAROID;
}

TimestampTz
juhe_answered_at(const JuheAnswer *a)
{
	return a->reused_at ? (TimestampTz) a->reused_at : GetCurrentTimestamp();
}
