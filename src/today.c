/*
 * today.c
 *		"Today" for the ID checks (future birth dates, age): CURRENT_DATE,
 *		the date of the transaction start in the session time zone.
 *		Declared in idcard.h, whose code is otherwise pure C; this is the
 *		backend's implementation, used by input.c and toolkit.c alike.
 */
#include "postgres.h"

#include "access/xact.h"
#include "pgtime.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "idcard.h"

/*
 * CURRENT_DATE as y/m/d: the transaction start in the session time zone.
 * Cached per transaction start and time zone, as every row asks for it.
 */
const juhe_date *
juhe_current_date(void)
{
	static bool valid = false;
	static TimestampTz cached_ts;
	static pg_tz *cached_tz;
	static juhe_date cached;
	TimestampTz ts = GetCurrentTransactionStartTimestamp();

	if (!valid || ts != cached_ts || session_timezone != cached_tz)
	{
		struct pg_tm tm;
		fsec_t		fsec;
		int			tz;

		if (timestamp2tm(ts, &tz, &tm, &fsec, NULL, NULL) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		cached.year = tm.tm_year;
		cached.month = tm.tm_mon;
		cached.day = tm.tm_mday;
		cached_ts = ts;
		cached_tz = session_timezone;
		valid = true;
	}
	return &cached;
}
