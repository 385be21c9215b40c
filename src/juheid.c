/*
 * juheid.c
 *		The module: its startup (_PG_init and the shared-memory hooks) and
 *		juhe_verify().
 *
 *	juhe_verify(realname text, idcard text, mode text DEFAULT NULL) → juhe_result
 *	juhe_verify(realname text, idcard text, mode text, reuse boolean) → juhe_result
 *
 * The startup is here and nowhere else.  _PG_init defines the settings;
 * when preloading, one shared-memory request hook adds up what every
 * subsystem needs, and one startup hook sets up each subsystem's memory,
 * then does the work of a server start in its order (the ledger checked
 * and repaired, today's count rebuilt from it, the statistics read back),
 * and registers the exit callback that writes them back at shutdown.  The
 * WAL resource manager (replay.c) and the gateway worker are registered in
 * _PG_init.
 *
 * The other SQL entry points live with their stage: juhe_verify_trigger()
 * in trigger.c, juhe_verify_many() in batch.c, juhe_verify_table() in
 * table_job.c, juhe_backend_stats() in counters.c, the ID toolkit in
 * toolkit.c.
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xlog.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"

#include "account.h"
#include "compat.h"
#include "errors.h"
#include "gateway.h"
#include "guc.h"
#include "input.h"
#include "ledger.h"
#include "preload.h"
#include "rate.h"
#include "replay.h"
#include "result.h"
#include "reuse.h"
#include "stats.h"
#include "table_job.h"
#include "verify.h"

JUHE_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(juhe_verify);

void		_PG_init(void);

/* the LWLocks of juheid's tranche, one per subsystem that takes one */
typedef enum JuheLock
{
	JUHE_LOCK_STATS,			/* the cluster statistics' hash */
	JUHE_LOCK_LEDGER,			/* appends to the ledger file */
	JUHE_LOCK_REUSE,			/* the index of answers to reuse */
	JUHE_NUM_LOCKS
} JuheLock;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
juhe_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(juhe_account_shmem_size());
	RequestAddinShmemSpace(juhe_ledger_shmem_size());
	RequestAddinShmemSpace(juhe_reuse_shmem_size());
	RequestAddinShmemSpace(juhe_stats_shmem_size());
	RequestAddinShmemSpace(juhe_rate_shmem_size());
	RequestAddinShmemSpace(juhe_gateway_shmem_size());
	RequestAddinShmemSpace(juhe_jobs_shmem_size());
	RequestNamedLWLockTranche("juheid", JUHE_NUM_LOCKS);
}

/* at shutdown (code 0) or after a crash */
static void
juhe_shmem_exit(int code, Datum arg)
{
	/* what the ledger keeps in memory goes to the file, or to the log */
	juhe_ledger_shutdown();
	/* a crash (code != 0) leaves no statistics file: lost, not corrupted */
	if (code == 0)
		juhe_stats_save();
}

static void
juhe_shmem_startup(void)
{
	LWLockPadded *locks;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	locks = GetNamedLWLockTranche("juheid");
	juhe_account_shmem_init();
	juhe_reuse_shmem_init(&locks[JUHE_LOCK_REUSE].lock);
	juhe_stats_shmem_init(&locks[JUHE_LOCK_STATS].lock);
	juhe_rate_shmem_init();
	juhe_gateway_shmem_init();
	juhe_jobs_shmem_init();
	if (!IsUnderPostmaster)
	{
		JuheLedgerSummary sum;
		struct stat st;

		/*
		 * A server start (or the reinitialisation after a crash), before
		 * any other process runs: no lock is taken.
		 */
		juhe_ledger_startup(&sum, juhe_account_count_at_start, NULL);
		juhe_ledger_shmem_init(&locks[JUHE_LOCK_LEDGER].lock, &sum);
		/* on a standby, requests without a result are the primary's */
		juhe_account_start_day(&sum, stat(STANDBY_SIGNAL_FILE, &st) != 0);
		juhe_stats_load();
		on_shmem_exit(juhe_shmem_exit, (Datum) 0);
	}
	else
		juhe_ledger_shmem_init(&locks[JUHE_LOCK_LEDGER].lock, NULL);
	LWLockRelease(AddinShmemInitLock);
	juhe_preload_done();
}

void
_PG_init(void)
{
	juhe_define_gucs();
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = juhe_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = juhe_shmem_startup;
	juhe_replay_register();
	juhe_gateway_register_worker();
}

Datum
juhe_verify(PG_FUNCTION_ARGS)
{
	JuheMode	mode;
	JuheItem	item;
	ErrorContextCallback guard;
	Datum		result;
	bool		reuse;

	/* a NULL name or ID: nothing to verify, nothing sent */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	juhe_require_primary();

	/* from here on no message logs the statement (it may hold the input) */
	juhe_guard_push(&guard);
	reuse = juhe_reuse_arg(fcinfo, 3);
	if (PG_ARGISNULL(2))
		mode = (JuheMode) juhe_mode;
	else
		mode = juhe_mode_from_text(text_to_cstring(PG_GETARG_TEXT_PP(2)));

	memset(&item, 0, sizeof(item));
	juhe_prepare_item(&item, PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1));
	juhe_verify_items(&item, 1, mode, 1, JUHE_VIA_FUNCTION, reuse);
	if (!item.done)
		juhe_report_failure(&item, JUHE_OUTCOME_FAILED, NULL);
	result = juhe_result_datum(fcinfo, &item.answer);
	juhe_guard_pop(&guard);
	PG_RETURN_DATUM(result);
}
