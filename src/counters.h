/*
 * counters.h
 *		This backend's own counters (counters.c), read with
 *		juhe_backend_stats().  Not to be confused with the cluster's
 *		statistics in shared memory (stats.h, the juhe_stats view): these
 *		are plain process-local numbers, counted where the event happens.
 */
#ifndef JUHEID_COUNTERS_H
#define JUHEID_COUNTERS_H

#include "postgres.h"

typedef enum JuheBackendCounter
{
	JUHE_BC_REQUESTS,			/* HTTP requests started */
	JUHE_BC_CONNECTIONS,		/* new TCP connections opened */
	JUHE_BC_RETRIES,			/* extra attempts */
	JUHE_BC_MEMO_HITS,			/* answers served from the memo */
	JUHE_BC_LOCAL_ANSWERS,		/* answered by local validation */
	JUHE_BC_KEY_LOADS,			/* RSA public key parses */
	JUHE_NUM_BACKEND_COUNTERS
} JuheBackendCounter;

extern void juhe_backend_count(JuheBackendCounter which, int64 n);

#endif							/* JUHEID_COUNTERS_H */
