/*
 * stats.h
 *		What juheid counts (stats.c): this backend's counters
 *		(juhe_backend_stats()) and the cluster's, in shared memory, one entry
 *		per database, role and mode (the juhe_stats view).
 */
#ifndef JUHEID_STATS_H
#define JUHEID_STATS_H

#include "postgres.h"

#include "storage/lwlock.h"

#include "account.h"
#include "guc.h"

/* this backend */
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

/* the cluster: counted by the backend that calls */
typedef enum JuheClusterStat
{
	JUHE_CS_REQUESTS,			/* requests opened (sent or about to be) */
	JUHE_CS_LOCAL_ANSWERS,
	JUHE_CS_MEMO_HITS,
	JUHE_CS_RETRIES,
	/* counted by whoever settles the request */
	JUHE_CS_BILLED,
	JUHE_CS_MATCHES,
	JUHE_CS_MISMATCHES,
	JUHE_CS_IN_DOUBT,
	JUHE_CS_SERVICE_ERRORS,
	JUHE_CS_TRANSPORT_FAILURES,
	JUHE_CS_NUM
} JuheClusterStat;

extern void juhe_stats_count(JuheMode mode, JuheClusterStat which, int64 n);

/* a settled request: fate, answer and time, for the tag's db/role/mode */
extern void juhe_stats_settled(const JuheTag *tag, JuheFate fate, int res,
							   int error_code, bool transport_failure,
							   double elapsed_ms);

/* account.c's shared-memory hooks */
extern Size juhe_stats_shmem_size(void);
extern void juhe_stats_shmem_init(LWLock *lock);
extern void juhe_stats_load(void);
extern void juhe_stats_save(void);

#endif							/* JUHEID_STATS_H */
