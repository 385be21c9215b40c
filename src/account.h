/*
 * account.h
 *		What every request costs, recorded in shared memory and on disk
 *		(account.c): the one interface through which the process that sends
 *		a request (a backend) and the process that receives its answer (the
 *		same backend, or the gateway worker) account for it.
 *
 *	juhe_account_open()    just before a request goes out (or is handed to
 *	                       the gateway worker): the per-statement guard, a
 *	                       reservation under the daily cap, a "sent" record
 *	                       in the ledger
 *	juhe_account_settle()  when its fate is known: billed, in doubt or not
 *	                       billed, into the ledger, the cluster statistics and
 *	                       the daily count
 *
 * Every opened request is settled exactly once: by whoever receives its
 * answer, by the backend or worker that gives it up, by the exit callback
 * of a backend that dies, or, after a crash, by the next server start (a
 * "sent" record without a result becomes "in doubt").
 */
#ifndef JUHEID_ACCOUNT_H
#define JUHEID_ACCOUNT_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "guc.h"
#include "ledger.h"
#include "tag.h"

struct JuheHttp;

/* the module startup (juheid.c) */
extern Size juhe_account_shmem_size(void);
extern void juhe_account_shmem_init(void);

/*
 * the start: a billed request found in the ledger, for the daily count and
 * the answers to reuse
 */
extern void juhe_account_count_at_start(const JuheLedgerRecord *rec, void *arg);

/*
 * ... and once the ledger is read: today's count, the requests in flight
 * (primary: of an earlier run, counted as billed), the next ledger id
 */
extern void juhe_account_start_day(const JuheLedgerSummary *sum, bool primary);

/*
 * Replay (replay.c): the counts start again from the file when recovery
 * cut it, follow every replayed record, and at the end of recovery the
 * requests still without a result are of an earlier run.
 */
extern void juhe_account_reset_counts(void);
extern void juhe_account_redo(const JuheLedgerRecord *rec);
extern void juhe_account_recovery_done(void);

/* the gateway worker, once recovery is over: those requests in doubt */
extern void juhe_account_mark_orphans(void);

/* whether a request may go out */
typedef enum JuheOpenResult
{
	JUHE_OPEN_OK = 0,			/* h->tag filled, a "sent" record written */
	JUHE_OPEN_STATEMENT_CAP,	/* juhe.max_requests_per_statement reached */
	JUHE_OPEN_DAILY_CAP,		/* juhe.max_billed_per_day reached */
	JUHE_OPEN_NO_LEDGER			/* the "sent" record could not be written
								 * (errno says why) */
} JuheOpenResult;

/* open a request; unless JUHE_OPEN_OK nothing was recorded or reserved */
extern JuheOpenResult juhe_account_open(struct JuheHttp *h, JuheVia via, JuheMode mode);

/*
 * For a table job (table_job.c): each batch counts as a statement for
 * juhe.max_requests_per_statement; and the ledger reports the outcome of
 * the top-level transaction (the batch's), not of the subtransaction the
 * job verifies in.
 */
extern void juhe_account_new_statement(void);
extern void juhe_account_outcome_of_top(bool on);

/*
 * The ledger's WAL flushed (and on the synchronous standbys, for a backend):
 * _to_send before a wave goes out (an ERROR if the standbys' wait was
 * cancelled: nothing is sent), the other once answers are recorded.
 */
extern void juhe_account_flush(void);
extern void juhe_account_flush_to_send(void);

/* whether a settled result is in the ledger file */
typedef enum JuheRecorded
{
	JUHE_RECORDED = 0,			/* in the file (or nothing to record) */
	JUHE_RECORD_KEPT,			/* a billed or in-doubt result the file could
								 * not take: kept in shared memory until it
								 * can, counted all the same */
	JUHE_RECORD_LOST			/* ... and shared memory was full too: only
								 * the server log has it */
} JuheRecorded;

/* settle a finished transfer from its result (either process) */
extern JuheRecorded juhe_account_settle(JuheTag *tag, int curl_code, long status,
										bool request_complete, bool too_large,
										const char *resp, size_t resp_len);

/* settle a request that will never have a result: maybe_sent → in doubt */
extern JuheRecorded juhe_account_give_up(JuheTag *tag, bool maybe_sent);

/*
 * The requests of this backend's current run: settled by
 * juhe_account_abandon_run() on an error, and by the exit callback if the
 * backend dies mid-run (pg_terminate_backend).  Those handed to the
 * gateway worker (h->accounted) are the worker's to settle.
 */
extern void juhe_account_track(struct JuheHttp *http, int n);
extern void juhe_account_abandon_run(void);
extern void juhe_account_untrack(void);

/*
 * The gateway worker, at its start and after every reload: if
 * juhe.billing_timezone changed, count today's billed requests anew for
 * the new time zone's day.
 */
extern void juhe_account_check_timezone(void);

/* the gateway worker, every second: the ledger's upkeep */
extern void juhe_account_maintain(void);

#endif							/* JUHEID_ACCOUNT_H */
