/*
 * stats.c
 *		juheid's counters.
 *
 *	juhe_backend_stats() → (requests, connections, retries, memo_hits,
 *	                        local_answers, key_loads) of this backend
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"

#include "result.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(juhe_backend_stats);

static int64 counters[JUHE_NUM_STATS];

void
juhe_stats_add(JuheStat which, int64 n)
{
	counters[which] += n;
}

Datum
juhe_backend_stats(PG_FUNCTION_ARGS)
{
	static const Oid types[JUHE_NUM_STATS] = {INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID};
	Datum		values[JUHE_NUM_STATS];
	bool		nulls[JUHE_NUM_STATS] = {0};

	for (int i = 0; i < JUHE_NUM_STATS; i++)
		values[i] = Int64GetDatum(counters[i]);
	PG_RETURN_DATUM(juhe_result_row(fcinfo, values, nulls, types, JUHE_NUM_STATS,
									"juhe_backend_stats()"));
}
