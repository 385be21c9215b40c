/*
 * ledger.h
 *		The durable ledger of billed and possibly billed requests
 *		(ledger.c): an append-only file of fixed-size, checksummed records
 *		under the data directory, independent of any transaction.
 */
#ifndef JUHEID_LEDGER_H
#define JUHEID_LEDGER_H

#include "postgres.h"

#include "port/atomics.h"
#include "access/xlogdefs.h"
#include "port/pg_crc32c.h"
#include "storage/lwlock.h"

#include "tag.h"

#define JUHE_LEDGER_DIR		"juheid"
#define JUHE_LEDGER_FILE	"juheid/ledger"
#define JUHE_LEDGER_MAGIC	0x4A484C32	/* "JHL2": 384-byte records */
#define JUHE_LEDGER_MAGIC_V1 0x4A484C31 /* "JHL1": 256-byte records of 1.1.0,
										 * still read */
#define JUHE_LEDGER_ORDERID_LEN 128 /* as the caller gets it (JUHE_ORDERID_MAX) */
#define JUHE_LEDGER_DIGEST_LEN JUHE_TAG_DIGEST_LEN

/* results kept in shared memory while the file cannot be written */
#define JUHE_LEDGER_PENDING 1024

/*
 * One record, 384 bytes, written with one write() in O_APPEND mode.  A
 * "sent" record comes before a request goes out; a result record (billed,
 * in doubt, not billed) repeats the tag, so a reader needs no join.  A
 * reader accepts a record only if magic and CRC match; anything else (a
 * torn write at the end) is skipped byte by byte until the next valid one.
 * The order id is the service's, exactly as the caller received it (UTF-8,
 * invalid bytes already replaced), NUL-padded.
 */
typedef struct JuheLedgerRecord
{
	pg_crc32c	crc;			/* CRC-32C of everything after it */
	uint32		magic;
	uint8		fate;			/* JuheFate */
	uint8		via;
	uint8		mode;
	int8		res;			/* 1, 2; 0 if none */
	int32		error_code;		/* -1 if no answer */
	uint64		id;
	int64		sent_at;		/* TimestampTz */
	int64		at;				/* when the fate was known */
	uint64		xid;			/* FullTransactionId, 0 if none */
	Oid			dbid;
	Oid			roleid;
	int32		pid;
	int32		reserved;
	char		datname[JUHE_TAG_NAME_LEN];
	char		rolname[JUHE_TAG_NAME_LEN];
	char		orderid[JUHE_LEDGER_ORDERID_LEN];
	uint8		digest[JUHE_LEDGER_DIGEST_LEN];	/* a billed res 1 or 2: the
												 * person's digest (reuse.c);
												 * else zero */
	uint64		lsn;			/* end of its WAL record; 0: none (1.1) */
	uint64		sysid;			/* the cluster that wrote it (its control
								 * file's system identifier); 0: none */
	char		spare[16];
} JuheLedgerRecord;

/*
 * The WAL resource manager's id (see replay.c): not RM_EXPERIMENTAL_ID,
 * and not one the PostgreSQL wiki page CustomWALResourceManagers lists.
 */
#define JUHE_RMGR_ID		219
#define JUHE_RMGR_NAME		"juheid"

/* the kinds of WAL record (the high bits of xl_info) */
#define XLOG_JUHE_APPEND	0x00	/* one ledger record, lsn and sysid 0 */
#define XLOG_JUHE_PRUNE		0x10	/* JuheLedgerPrune */

typedef struct JuheLedgerPrune
{
	TimestampTz cutoff;			/* results older than this go */
} JuheLedgerPrune;


/* what the server start learned from the file */
typedef struct JuheLedgerSummary
{
	uint64		max_id;
	int64		records;
	int64		open;			/* "sent" without a result: in flight (on a
								 * standby) or of an earlier run */
	int64		skipped_bytes;	/* unreadable bytes (torn records) */
	bool		created;		/* there was no file: a new one was made */
	TimestampTz oldest_at;		/* oldest result kept; 0 = none */
} JuheLedgerSummary;

/*
 * A scan of the whole file (the start, the cut of recovery) calls this for
 * every result billed or in doubt, for the daily count and the index of
 * answers to reuse.
 */
typedef void (*JuheLedgerCountFn) (const JuheLedgerRecord *rec, void *arg);

/* how an append went */
typedef enum JuheLedgerWrite
{
	JUHE_LEDGER_WRITTEN,		/* in the file */
	JUHE_LEDGER_KEPT,			/* not in the file (errno says why), kept in
								 * shared memory until it can be written */
	JUHE_LEDGER_FAILED			/* not written (errno set), not kept */
} JuheLedgerWrite;

extern Size juhe_ledger_shmem_size(void);
extern void juhe_ledger_shmem_init(LWLock *lock, const JuheLedgerSummary *sum);

extern void juhe_ledger_fill_record(JuheLedgerRecord *rec, const JuheTag *tag,
									JuheFate fate, int res, int error_code,
									const char *orderid, TimestampTz at);

/* postmaster, before any backend: check, repair, compact; see ledger.c */
extern void juhe_ledger_startup(JuheLedgerSummary *sum, JuheLedgerCountFn count,
								void *arg);

/*
 * Recovery (the startup process, replay.c).  juhe_ledger_cut() removes the
 * records of this cluster whose WAL ends after `after` (replay writes them
 * again, or they are of a future recovery did not reach) and reports what
 * is left; false if there was nothing to cut (sum untouched).  The redo
 * functions apply one WAL record to the file; they write no WAL.
 */
extern bool juhe_ledger_needs_cut(XLogRecPtr after);
extern void juhe_ledger_cut(XLogRecPtr after, JuheLedgerSummary *sum,
							JuheLedgerCountFn count, void *arg);
extern void juhe_ledger_redo_append(const JuheLedgerRecord *rec, XLogRecPtr lsn);
extern void juhe_ledger_redo_prune(TimestampTz cutoff);

/* the first ledger id of this server's run as a primary (end of recovery) */
extern void juhe_ledger_set_first_id(uint64 id);

/*
 * The gateway worker, once recovery is over: the requests of an earlier
 * run (id below the first of this run) that have no result become "in
 * doubt", each an append WAL-logged like any other; returns how many, with
 * the time they were marked.
 */
extern int64 juhe_ledger_mark_orphans(TimestampTz *at);

/*
 * Append one record.  keep: a result that must not be lost (billed, in
 * doubt) is kept in shared memory when the file cannot be written, and
 * written by the next append or the gateway worker's next round.
 */
extern JuheLedgerWrite juhe_ledger_append(const JuheLedgerRecord *rec, bool keep);

/*
 * Make what was appended durable: the WAL up to the last record appended by
 * any process flushed and, with standbys, for a backend, on the synchronous
 * standbys as synchronous_commit asks.  False if that wait was cancelled
 * before the standbys had it.
 */
extern bool juhe_ledger_sync(bool standbys);

/*
 * The gateway worker, every second: write the results kept in shared
 * memory, and check that the file is still the one the server appends to
 * (restoring it from an open descriptor if it was removed or replaced).
 */
extern void juhe_ledger_maintain(void);

/* at shutdown: write what is kept, log what cannot be */
extern void juhe_ledger_shutdown(void);

/*
 * While the server runs (the gateway worker, hourly and on reload): drop
 * results older than juhe.ledger_retention_days and "sent" records that
 * have their result, a slice at a time so the worker goes on serving
 * requests.  juhe_ledger_prune_begin() starts it (without force, only when
 * the oldest result known is past the limit; false: nothing to do), then
 * juhe_ledger_prune_step() until it returns false.  Appends are locked out
 * only to copy the records appended meanwhile and to put the file in place.
 */
extern bool juhe_ledger_prune_begin(bool force);

/*
 * Where juhe.ledger_retention_days ends at `now`: results before it are
 * pruned (and their answers not reused); PG_INT64_MIN when kept for ever.
 */
extern TimestampTz juhe_ledger_retention_cutoff(TimestampTz now);
extern bool juhe_ledger_prune_step(void);
extern bool juhe_ledger_pruning(void);

#endif							/* JUHEID_LEDGER_H */
