/*
 * stats.h
 *		What juheid counts (stats.c).  Every stage reports through these
 *		calls; today the counters are this backend's (juhe_backend_stats()),
 *		and cluster-wide shared-memory statistics will live behind the same
 *		interface.
 */
#ifndef JUHEID_STATS_H
#define JUHEID_STATS_H

#include "postgres.h"

typedef enum JuheStat
{
	JUHE_STAT_REQUESTS,			/* HTTP requests started */
	JUHE_STAT_CONNECTIONS,		/* new TCP connections opened */
	JUHE_STAT_RETRIES,			/* extra attempts */
	JUHE_STAT_MEMO_HITS,		/* answers served from the memo */
	JUHE_STAT_LOCAL_ANSWERS,	/* answered by local validation */
	JUHE_STAT_KEY_LOADS,		/* RSA public key parses */
	JUHE_NUM_STATS
} JuheStat;

extern void juhe_stats_add(JuheStat which, int64 n);

#endif							/* JUHEID_STATS_H */
