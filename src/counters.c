/*
 * counters.c
 *		This backend's own counters.
 *
 *	juhe_backend_stats() → (requests, connections, retries, memo_hits,
 *	                        local_answers, key_loads) of this backend
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"

#include "counters.h"
#include "result.h"

PG_FUNCTION_INFO_V1(juhe_backend_stats);

static int64 counters[JUHE_NUM_BACKEND_COUNTERS];

void
juhe_backend_count(JuheBackendCounter which, int64 n)
{
	counters[which] += n;
}

Datum
juhe_backend_stats(PG_FUNCTION_ARGS)
{
	static const Oid types[JUHE_NUM_BACKEND_COUNTERS] = {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID};
	Datum		values[JUHE_NUM_BACKEND_COUNTERS];
	bool		nulls[JUHE_NUM_BACKEND_COUNTERS] = {0};

	for (int i = 0; i < JUHE_NUM_BACKEND_COUNTERS; i++)
		values[i] = Int64GetDatum(counters[i]);
	PG_RETURN_DATUM(juhe_result_row(fcinfo, values, nulls, types, JUHE_NUM_BACKEND_COUNTERS,
									"juhe_backend_stats()"));
}
