/*
 * rate.h
 *		juhe.max_requests_per_second, for the whole cluster (rate.c): request
 *		starts are spaced 1/rate seconds apart, whoever starts them (the
 *		gateway worker, or a backend with juhe.gateway = off), at the moment
 *		a transfer actually starts.
 *
 * A starter keeps one JuheRateTurn (zeroed) for its next start: a start
 * time reserved for the cluster and not used yet.
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

/*
 * The launch loop of every process that starts transfers (a backend with
 * juhe.gateway = off, transport.c; the gateway worker, gateway.c): start
 * up to `room` transfers, as many at a time as the rate allows.  ready()
 * says how many could start now (0: none); start(n) starts up to n of
 * them, each with its turn (a turn is used even if its transfer does not
 * start), and returns how many did.  Returns how many started; *wait_ms is
 * how long until the next turn (-1: nothing waits for one).
 */
typedef struct JuheLauncher
{
	int			(*ready) (void *arg);
	int			(*start) (int n, void *arg);
	void	   *arg;
} JuheLauncher;

extern int	juhe_rate_launch(JuheRateTurn *turn, int room, const JuheLauncher *l,
							 long *wait_ms);

#endif							/* JUHEID_RATE_H */
