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
#include "port/pg_crc32c.h"
#include "storage/lwlock.h"

#include "account.h"

#define JUHE_LEDGER_DIR		"juheid"
#define JUHE_LEDGER_FILE	"juheid/ledger"
#define JUHE_LEDGER_MAGIC	0x4A484C31	/* "JHL1" */
#define JUHE_LEDGER_ORDERID_LEN 64

/*
 * One record, 256 bytes, written with one write() in O_APPEND mode.  A
 * "sent" record comes before a request goes out; a result record (billed,
 * in doubt, not billed) repeats the tag, so a reader needs no join.  A
 * reader accepts a record only if magic and CRC match; anything else (a
 * torn write at the end) is skipped byte by byte until the next valid one.
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
} JuheLedgerRecord;

/* what the server start learned from the file */
typedef struct JuheLedgerSummary
{
	uint64		max_id;
	int32		day;			/* billing day the count is for */
	int64		billed_today;	/* billed + in doubt on that day */
	int64		orphans;		/* "sent" without result, now in doubt */
	int64		skipped_bytes;	/* unreadable bytes (torn records) */
	int64		pruned;			/* results past juhe.ledger_retention_days */
	TimestampTz oldest_at;		/* oldest result kept; 0 = none */
} JuheLedgerSummary;

/*
 * Shared: the file's generation (a rewrite bumps it; every process reopens
 * its descriptor before its next append) and the oldest result in it.
 */
typedef struct JuheLedgerShared
{
	pg_atomic_uint32 generation;
	TimestampTz oldest_at;		/* under the lock; 0 = none */
} JuheLedgerShared;

extern void juhe_ledger_shmem_init(JuheLedgerShared *shared, LWLock *lock,
								   bool found, TimestampTz oldest_at);

extern void juhe_ledger_fill_record(JuheLedgerRecord *rec, const JuheTag *tag,
									JuheFate fate, int res, int error_code,
									const char *orderid, TimestampTz at);

/* postmaster, before any backend: check, repair, compact; see ledger.c */
extern void juhe_ledger_startup(JuheLedgerSummary *sum);

/* append one record (false: it could not be written; errno set) */
extern bool juhe_ledger_append(const JuheLedgerRecord *rec);

/* make what this process (or any other) appended durable */
extern void juhe_ledger_sync(void);

/*
 * While the server runs (the gateway worker, hourly and on reload): drop
 * results older than juhe.ledger_retention_days and "sent" records that
 * have their result.  Without force, only when the oldest result known
 * is past the limit.  Returns the number of results removed.
 */
extern int64 juhe_ledger_prune(bool force);

#endif							/* JUHEID_LEDGER_H */
