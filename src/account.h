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

struct JuheHttp;

/* which entry point a request came from */
typedef enum JuheVia
{
	JUHE_VIA_FUNCTION = 1,		/* juhe_verify() */
	JUHE_VIA_TRIGGER,			/* juhe_verify_trigger() */
	JUHE_VIA_BULK				/* batch entry points */
} JuheVia;

#define JUHE_TAG_NAME_LEN 64

/* who sent a request, carried with it (also into the gateway's slot) */
typedef struct JuheTag
{
	uint64		id;				/* ledger id; 0 once settled */
	TimestampTz sent_at;
	uint64		xid;			/* FullTransactionId of the caller's
								 * (sub)transaction; 0 if none */
	Oid			dbid;
	Oid			roleid;
	int32		pid;
	uint8		via;			/* JuheVia */
	uint8		mode;			/* JuheMode */
	char		datname[JUHE_TAG_NAME_LEN];
	char		rolname[JUHE_TAG_NAME_LEN];
} JuheTag;

/* how a request ended, for the ledger */
typedef enum JuheFate
{
	JUHE_FATE_SENT = 1,			/* ledger only: opened, not settled yet */
	JUHE_FATE_BILLED,			/* error_code 0 */
	JUHE_FATE_IN_DOUBT,			/* sent, no usable answer: may be billed */
	JUHE_FATE_NOT_BILLED		/* never sent, turned away, or a service error */
} JuheFate;

/* in _PG_init while preloading: shared memory for ledger, counters, caps */
extern void juhe_account_register(void);

/* loaded by shared_preload_libraries (else nothing may be sent) */
extern bool juhe_account_ready(void);
extern void juhe_account_require(void);

/* ... and the caller may read what it costs (superuser, pg_read_all_stats) */
extern void juhe_account_require_reader(const char *what);

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

/* the "sent" records of a wave are written; flush them if juhe.ledger_sync */
extern void juhe_account_flush(void);

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

/* the billing day (a Julian day in the cluster's billing time zone) of ts */
extern int32 juhe_billing_day(TimestampTz ts);

/*
 * The gateway worker, at its start and after every reload: if
 * juhe.billing_timezone changed, count today's billed requests anew for
 * the new time zone's day.
 */
extern void juhe_account_check_timezone(void);

/* the gateway worker, every second: the ledger's upkeep */
extern void juhe_account_maintain(void);

#endif							/* JUHEID_ACCOUNT_H */
