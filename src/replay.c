/*
 * replay.c
 *		juheid's WAL resource manager: the ledger (ledger.c) and the daily
 *		count (account.c) follow the WAL on a standby, in crash recovery and
 *		in point-in-time recovery.
 *
 * Two kinds of record (ledger.h): APPEND, one ledger record (also the "in
 * doubt" records the gateway worker writes for requests of an earlier run
 * without a result); PRUNE, the results older than a cutoff removed.  Redo runs in the startup process,
 * writes no WAL, and applies each record to the file and to the counts.
 *
 *	rm_startup  the file is cut back to the point replay starts from (see
 *	            ledger.c), and the counts are taken from it again
 *	rm_redo     each record, in WAL order
 *	rm_cleanup  recovery ends (promotion, the end of crash recovery or of
 *	            a point-in-time recovery): the requests still without a
 *	            result are of an earlier run; the gateway worker marks
 *	            them in doubt once the server accepts writes
 *
 * The resource manager's id is JUHE_RMGR_ID (ledger.h).  A server that
 * replays this WAL without juheid in shared_preload_libraries stops with
 * "resource manager with ID 219 not registered".
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogreader.h"
#include "access/xlogrecovery.h"
#include "lib/stringinfo.h"

#include "account.h"
#include "ledger.h"
#include "replay.h"
#include "reuse.h"

static void
juhe_rm_startup(void)
{
	XLogRecPtr	from = GetXLogReplayRecPtr(NULL);
	JuheLedgerSummary sum;

	if (!juhe_ledger_needs_cut(from))
		return;
	juhe_account_reset_counts();
	juhe_ledger_cut(from, &sum, juhe_account_count_at_start, NULL);
	juhe_account_start_day(&sum, !StandbyMode);
}

static void
juhe_rm_redo(XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;
	char	   *data = XLogRecGetData(record);
	Size		len = XLogRecGetDataLen(record);

	switch (info)
	{
		case XLOG_JUHE_APPEND:
			{
				JuheLedgerRecord rec;

				if (len != sizeof(rec))
					elog(PANIC, "juheid: ledger WAL record of %zu bytes", len);
				memcpy(&rec, data, sizeof(rec));
				juhe_ledger_redo_append(&rec, record->EndRecPtr);
				juhe_account_redo(&rec);
				break;
			}
		case XLOG_JUHE_PRUNE:
			{
				JuheLedgerPrune pr;

				if (len != sizeof(pr))
					elog(PANIC, "juheid: prune WAL record of %zu bytes", len);
				memcpy(&pr, data, sizeof(pr));
				juhe_ledger_redo_prune(pr.cutoff);
				juhe_reuse_forget_before(pr.cutoff);
				break;
			}
		default:
			elog(PANIC, "juheid: unknown WAL record type %u", info);
	}
}

static void
juhe_rm_cleanup(void)
{
	juhe_account_recovery_done();
}

static const char *
juhe_rm_identify(uint8 info)
{
	switch (info & ~XLR_INFO_MASK)
	{
		case XLOG_JUHE_APPEND:
			return "APPEND";
		case XLOG_JUHE_PRUNE:
			return "PRUNE";
	}
	return NULL;
}

/* pg_waldump and pg_walinspect: what a record is about, without the person */
static void
juhe_rm_desc(StringInfo buf, XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;
	char	   *data = XLogRecGetData(record);
	Size		len = XLogRecGetDataLen(record);

	if (info == XLOG_JUHE_APPEND && len == sizeof(JuheLedgerRecord))
	{
		JuheLedgerRecord rec;

		memcpy(&rec, data, sizeof(rec));
		appendStringInfo(buf, "id %llu fate %d res %d error_code %d",
						 (unsigned long long) rec.id, rec.fate, rec.res, rec.error_code);
	}
	else if (info == XLOG_JUHE_PRUNE && len == sizeof(JuheLedgerPrune))
	{
		JuheLedgerPrune pr;

		memcpy(&pr, data, sizeof(pr));
		appendStringInfo(buf, "cutoff %lld", (long long) pr.cutoff);
	}
}

static RmgrData juhe_rmgr = {
	.rm_name = JUHE_RMGR_NAME,
	.rm_redo = juhe_rm_redo,
	.rm_desc = juhe_rm_desc,
	.rm_identify = juhe_rm_identify,
	.rm_startup = juhe_rm_startup,
	.rm_cleanup = juhe_rm_cleanup,
	.rm_mask = NULL,
	.rm_decode = NULL,
};

void
juhe_replay_register(void)
{
	RegisterCustomRmgr(JUHE_RMGR_ID, &juhe_rmgr);
}
