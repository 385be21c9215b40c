/*
 * rate.h
 *		juhe.max_requests_per_second, for the whole cluster (rate.c): request
 *		starts are spaced 1/rate seconds apart, whoever starts them (the
 *		gateway worker, or a backend with juhe.gateway = off), at the moment
 *		a transfer actually starts.
 *
 * A starter keeps one JuheRateTurn (zeroed) for its next start.
 * juhe_rate_grant() reserves start times for up to `want` starts and says
 * how many may start now; the first that may not keeps its reserved time
 * in the turn, and *wait_ms says how long until then.
 */
#ifndef JUHEID_RATE_H
#define JUHEID_RATE_H

#include "postgres.h"

#include "datatype/timestamp.h"

typedef struct JuheRateTurn
{
	bool		held;
	TimestampTz at;				/* reserved start time; 0 = no limit */
} JuheRateTurn;

extern Size juhe_rate_shmem_size(void);
extern void juhe_rate_shmem_init(void);

/* how many of `want` may start now (*wait_ms: until the next may, or -1) */
extern int	juhe_rate_grant(JuheRateTurn *turn, int want, long *wait_ms);

#endif							/* JUHEID_RATE_H */
