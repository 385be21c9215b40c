/*
 * rate.c
 *		One spacing of request starts for the cluster, in shared memory.
 *
 * The next free start time is one 64-bit atomic: a start takes the later
 * of it and now, and moves it on by 1/rate seconds.  An idle cluster
 * starts at once (no burst is saved up).
 */
#include "postgres.h"

#include "port/atomics.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "rate.h"

typedef struct RateShared
{
	pg_atomic_uint64 next;		/* earliest start of the next request */
} RateShared;

static RateShared *rate = NULL;

Size
juhe_rate_shmem_size(void)
{
	return MAXALIGN(sizeof(RateShared));
}

void
juhe_rate_shmem_init(void)
{
	bool		found;

	rate = ShmemInitStruct("juheid rate", sizeof(RateShared), &found);
	if (!found)
		pg_atomic_init_u64(&rate->next, 0);
}

/* the next start time of the cluster; 0 if there is no limit */
static TimestampTz
reserve(void)
{
	int			per_second = juhe_max_requests_per_second;
	TimestampTz now;
	int64		step;
	uint64		cur;

	if (per_second <= 0 || rate == NULL)
		return 0;
	step = USECS_PER_SEC / per_second;
	now = GetCurrentTimestamp();
	cur = pg_atomic_read_u64(&rate->next);
	for (;;)
	{
		TimestampTz at = Max((TimestampTz) cur, now);

		if (pg_atomic_compare_exchange_u64(&rate->next, &cur, (uint64) (at + step)))
			return at;
	}
}

/*
 * How many of `want` may start now; the first that may not keeps its
 * reserved time in the turn, and *wait_ms says how long until then (-1:
 * all may start).
 */
static int
rate_grant(JuheRateTurn *turn, int want, long *wait_ms)
{
	int			granted = 0;

	*wait_ms = -1;
	while (granted < want)
	{
		TimestampTz now;

		if (!turn->held)
		{
			turn->at = reserve();
			turn->held = true;
		}
		if (turn->at != 0)
		{
			now = GetCurrentTimestamp();
			if (turn->at > now)
			{
				*wait_ms = Max((turn->at - now + 999) / 1000, 1);
				break;
			}
		}
		turn->held = false;		/* used by this start */
		granted++;
	}
	return granted;
}

int
juhe_rate_launch(JuheRateTurn *turn, int room, const JuheLauncher *l, long *wait_ms)
{
	int			started = 0;

	*wait_ms = -1;
	while (started < room)
	{
		int			ready = l->ready(l->arg);
		int			granted;

		if (ready <= 0)
			break;
		granted = rate_grant(turn, Min(ready, room - started), wait_ms);
		if (granted == 0)
			break;
		started += l->start(granted, l->arg);
	}
	return started;
}
