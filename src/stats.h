/*
 * stats.h
 *		The cluster's statistics (stats.c), in shared memory, one entry per
 *		database, role and mode (the juhe_stats view).  A backend's own
 *		counters are in counters.h.
 */
#ifndef JUHEID_STATS_H
#define JUHEID_STATS_H

#include "postgres.h"

#include "storage/lwlock.h"

#include "guc.h"
#include "tag.h"

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
	/* 1.2: by the backend that calls */
	JUHE_CS_REUSES,				/* answers given again (reuse.c) */
	JUHE_CS_NUM
} JuheClusterStat;

extern void juhe_stats_count(JuheMode mode, JuheClusterStat which, int64 n);

/* a settled request: fate, answer and time, for the tag's db/role/mode */
extern void juhe_stats_settled(const JuheTag *tag, JuheFate fate, int res,
							   int error_code, bool transport_failure,
							   double elapsed_ms);

/* the module startup (juheid.c) */
extern Size juhe_stats_shmem_size(void);
extern void juhe_stats_shmem_init(LWLock *lock);
extern void juhe_stats_load(void);
extern void juhe_stats_save(void);

#endif							/* JUHEID_STATS_H */
