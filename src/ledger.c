/*
 * ledger.c
 *		The ledger file: $PGDATA/juheid/ledger, kept in step with the WAL.
 *
 *	juhe_ledger_rows() → SETOF (id, orderid, sent_at, billed_at, datname,
 *	                     rolname, mode, via, status, res, error_code, xid, pid)
 *
 * Why a file and not a table: a record must survive the caller's ROLLBACK,
 * be written by the gateway worker (which has no database), be readable
 * from every database, and be written the moment an answer arrives, before
 * the caller can be cancelled.
 *
 * Why it survives standbys, failover and point-in-time recovery: every
 * change is WAL-logged with juheid's own resource manager (replay.c) before
 * it is made to the file: an appended record (XLOG_JUHE_APPEND), a prune
 * (XLOG_JUHE_PRUNE), the requests of an earlier run marked in doubt
 * (XLOG_JUHE_DOUBT).  Each record in the file carries the end of its WAL
 * record and the system identifier of the cluster that wrote it.  When
 * recovery starts, records of this cluster whose WAL ends after the point
 * replay starts from are cut (juhe_ledger_cut): replay writes them again if
 * their WAL is there, and if it is not (a base backup copied the file after
 * the WAL it replays ends, the WAL after a restore point is not replayed,
 * an unflushed record was lost in a crash) they must not survive.  Redo
 * then appends every record it replays.  A record from another cluster (a
 * file carried over by pg_upgrade) is never cut.
 *
 * There is no checkpoint hook, so the file is durable by itself before a
 * checkpoint can pass its records: an append holds DELAY_CHKPT_START from
 * before its WAL record is inserted until the record is in the file and,
 * with juhe.ledger_sync, synced; a checkpoint whose redo point is past the
 * WAL record waits for that.
 *
 * Every process appends whole 384-byte records with one write() on a
 * descriptor opened with O_APPEND, so records of different processes never
 * interleave.  A crash can leave a torn record at the end; readers accept
 * only records whose magic number and CRC-32C match and skip anything else
 * byte by byte, so nothing torn is ever misread.  Records of the 256-byte
 * format of 1.1.0 are still read.
 *
 * At server start (in the postmaster, before any backend runs) the file is
 * checked: a torn end is cut off, "sent" records without a result are
 * counted (found with two bitmaps over the ids, so memory stays bounded
 * whatever the file holds), and, when there are none, the file is rewritten
 * without the answered "sent" records and unreadable bytes.  Nothing is
 * written to WAL there: once recovery is over, the gateway worker marks the
 * requests of an earlier run that have no result "in doubt"
 * (juhe_ledger_mark_orphans), and prunes results older than
 * juhe.ledger_retention_days, both WAL-logged.
 *
 * While the server runs:
 *	- a result that cannot be written (a full disk) is kept in shared
 *	  memory and written by the next append, or by the gateway worker within
 *	  a second; it counts against the daily cap all the same, and its
 *	  "sent" record makes it "in doubt" at the next start if it is never
 *	  written;
 *	- every append checks that the file is still the one the server writes
 *	  to; a file removed or replaced is restored from an open descriptor
 *	  (the gateway worker keeps one) and the event logged;
 *	- the gateway worker prunes old results: it copies the file without the
 *	  ledger lock, then locks appends out only to copy the records appended
 *	  meanwhile and to put the new file in place, and bumps a generation
 *	  number; appenders hold the lock shared and reopen the file when the
 *	  generation changed, so no record goes to the replaced file.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xloginsert.h"
#include "catalog/pg_type.h"
#include "common/file_perm.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "replication/syncrep.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/fd.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/xid8.h"

#include "compat.h"
#include "encoding.h"
#include "guc.h"
#include "ledger.h"
#include "preload.h"

StaticAssertDecl(sizeof(JuheLedgerRecord) == 384, "ledger records are 384 bytes");

#define REC_SIZE	sizeof(JuheLedgerRecord)
#define V1_SIZE		256
#define V1_ORDERID	64			/* the 1.1.0 record's order id field */
#define READ_CHUNK	(1024 * 1024)
#define WRITE_CHUNK (64 * 1024)
/* ids one bitmap window of the start covers (two bitmaps: 8 MB) */
#define WINDOW_IDS	((uint64) 32 * 1024 * 1024)

PG_FUNCTION_INFO_V1(juhe_ledger_rows);

typedef struct JuheLedgerShared
{
	pg_atomic_uint32 generation;	/* bumped by every rewrite of the file */
	pg_atomic_uint32 npending;	/* read without the lock as a hint */
	pg_atomic_uint64 last_lsn;	/* end of the last WAL record appended */
	TimestampTz oldest_at;		/* under the lock; 0 = none */
	uint64		first_id;		/* the first id of this server run */
	JuheLedgerRecord pending[JUHE_LEDGER_PENDING];	/* exclusive lock */
} JuheLedgerShared;

static int	ledger_fd = -1;
static uint32 ledger_gen = 0;	/* generation ledger_fd belongs to */
static dev_t ledger_dev;
static ino_t ledger_ino;
static JuheLedgerShared *ledger_shared = NULL;
static LWLock *ledger_lock = NULL;

Size
juhe_ledger_shmem_size(void)
{
	return MAXALIGN(sizeof(JuheLedgerShared));
}

void
juhe_ledger_shmem_init(LWLock *lock, const JuheLedgerSummary *sum)
{
	bool		found;

	ledger_shared = ShmemInitStruct("juheid ledger", sizeof(JuheLedgerShared), &found);
	ledger_lock = lock;
	if (!found)
	{
		pg_atomic_init_u32(&ledger_shared->generation, 0);
		pg_atomic_init_u32(&ledger_shared->npending, 0);
		pg_atomic_init_u64(&ledger_shared->last_lsn, 0);
		ledger_shared->oldest_at = sum->oldest_at;
		ledger_shared->first_id = sum->max_id + 1;
	}
}

/*
 * The lock, where there is one to take: the postmaster (the start, the
 * shutdown) has no PGPROC and no other process runs then.
 */
static bool
lock_ledger(LWLockMode mode)
{
	if (ledger_lock == NULL || MyProc == NULL)
		return false;
	LWLockAcquire(ledger_lock, mode);
	return true;
}

static void
unlock_ledger(bool locked)
{
	if (locked)
		LWLockRelease(ledger_lock);
}

/* ---------------------------------------------------------------- records */

static pg_crc32c
crc_of(const char *rec, size_t size)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, rec + sizeof(pg_crc32c), size - sizeof(pg_crc32c));
	FIN_CRC32C(crc);
	return crc;
}

static void
seal(JuheLedgerRecord *rec)
{
	rec->magic = JUHE_LEDGER_MAGIC;
	rec->crc = crc_of((const char *) rec, REC_SIZE);
}

static bool
fate_valid(uint8 fate)
{
	return fate >= JUHE_FATE_SENT && fate <= JUHE_FATE_NOT_BILLED;
}

/*
 * The record at p (avail bytes there), in either format, into out: its
 * size, or 0 if no valid record starts at p.
 */
static size_t
decode(const char *p, size_t avail, JuheLedgerRecord *out)
{
	uint32		magic;

	if (avail < V1_SIZE)
		return 0;
	memcpy(&magic, p + offsetof(JuheLedgerRecord, magic), sizeof(magic));
	if (magic == JUHE_LEDGER_MAGIC && avail >= REC_SIZE)
	{
		memcpy(out, p, REC_SIZE);
		if (fate_valid(out->fate) && EQ_CRC32C(out->crc, crc_of(p, REC_SIZE)))
			return REC_SIZE;
	}
	else if (magic == JUHE_LEDGER_MAGIC_V1)
	{
		pg_crc32c	crc;

		memcpy(&crc, p, sizeof(crc));
		if (!EQ_CRC32C(crc, crc_of(p, V1_SIZE)))
			return 0;
		/* the same fields, then a shorter order id */
		memset(out, 0, REC_SIZE);
		memcpy(out, p, offsetof(JuheLedgerRecord, orderid));
		memcpy(out->orderid, p + offsetof(JuheLedgerRecord, orderid), V1_ORDERID);
		out->orderid[V1_ORDERID - 1] = '\0';
		if (fate_valid(out->fate))
			return V1_SIZE;
	}
	return 0;
}

void
juhe_ledger_fill_record(JuheLedgerRecord *rec, const JuheTag *tag,
						JuheFate fate, int res, int error_code,
						const char *orderid, TimestampTz at)
{
	memset(rec, 0, REC_SIZE);
	rec->fate = (uint8) fate;
	rec->via = tag->via;
	rec->mode = tag->mode;
	rec->res = (int8) res;
	rec->error_code = error_code;
	rec->id = tag->id;
	rec->sent_at = tag->sent_at;
	rec->at = at;
	rec->xid = tag->xid;
	rec->dbid = tag->dbid;
	rec->roleid = tag->roleid;
	rec->pid = tag->pid;
	memcpy(rec->datname, tag->datname, JUHE_TAG_NAME_LEN);
	memcpy(rec->rolname, tag->rolname, JUHE_TAG_NAME_LEN);
	rec->datname[JUHE_TAG_NAME_LEN - 1] = '\0';
	rec->rolname[JUHE_TAG_NAME_LEN - 1] = '\0';
	/* the order id as the caller gets it (response.c made it valid UTF-8) */
	if (orderid)
		strlcpy(rec->orderid, orderid, JUHE_LEDGER_ORDERID_LEN);
	/* the person's digest only with an answer about the person */
	if (tag->has_digest && fate == JUHE_FATE_BILLED && (res == 1 || res == 2))
		memcpy(rec->digest, tag->digest, JUHE_LEDGER_DIGEST_LEN);
}

/* the ledger's orderid field, always terminated */
static const char *
record_orderid(JuheLedgerRecord *rec)
{
	rec->orderid[JUHE_LEDGER_ORDERID_LEN - 1] = '\0';
	return rec->orderid;
}

/* ---------------------------------------------------------------- reading */

typedef struct LedgerReader
{
	int			fd;
	char	   *buf;
	size_t		len;			/* bytes in buf */
	size_t		pos;			/* next byte to look at */
	off_t		base;			/* file offset of buf[0] */
	off_t		limit;			/* read no further (-1: to the end) */
	bool		eof;
	int64		skipped;		/* bytes that were no valid record */
	off_t		valid_end;		/* end of the last valid record */
	size_t		last_size;		/* size of the last record returned */
} LedgerReader;

static void
reader_open(LedgerReader *r, int fd, off_t limit)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->limit = limit;
	r->buf = palloc(READ_CHUNK + REC_SIZE);
}

static void
reader_close(LedgerReader *r)
{
	pfree(r->buf);
	r->buf = NULL;
}

static bool
reader_next(LedgerReader *r, JuheLedgerRecord *out)
{
	for (;;)
	{
		size_t		avail = r->len - r->pos;
		size_t		size;

		if (avail < REC_SIZE && !r->eof)
		{
			ssize_t		got;
			size_t		want = READ_CHUNK;

			/* keep the unread tail, read on after it */
			memmove(r->buf, r->buf + r->pos, avail);
			r->base += r->pos;
			r->len = avail;
			r->pos = 0;
			if (r->limit >= 0)
				want = (size_t) Min((off_t) want, Max(r->limit - (r->base + (off_t) r->len), 0));
			got = want > 0 ? pg_pread(r->fd, r->buf + r->len, want, r->base + r->len) : 0;
			if (got < 0)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not read file \"%s\": %m", JUHE_LEDGER_FILE)));
			if (got == 0)
				r->eof = true;
			r->len += got;
			continue;
		}
		if (avail < V1_SIZE)
		{
			r->skipped += avail;
			r->pos = r->len;
			return false;
		}
		size = decode(r->buf + r->pos, avail, out);
		if (size > 0)
		{
			r->pos += size;
			r->valid_end = r->base + r->pos;
			r->last_size = size;
			return true;
		}
		r->pos++;				/* not a record here: look one byte on */
		r->skipped++;
	}
}

/* ---------------------------------------------------------------- writing */

/* whole records into fd, buffered; a failed write sticks */
typedef struct LedgerWriter
{
	int			fd;
	char	   *buf;
	size_t		len;
	bool		failed;
	int			save_errno;
	int64		records;
} LedgerWriter;

static void
writer_open(LedgerWriter *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->buf = palloc(WRITE_CHUNK);
}

static void
writer_flush(LedgerWriter *w)
{
	if (w->len > 0 && !w->failed)
	{
		ssize_t		n;

		errno = 0;
		n = write(w->fd, w->buf, w->len);
		if (n != (ssize_t) w->len)
		{
			w->failed = true;
			w->save_errno = errno ? errno : ENOSPC;
		}
	}
	w->len = 0;
}

static void
writer_put(LedgerWriter *w, const JuheLedgerRecord *rec)
{
	JuheLedgerRecord copy = *rec;

	seal(&copy);				/* also converts a 1.1.0 record */
	if (w->len + REC_SIZE > WRITE_CHUNK)
		writer_flush(w);
	memcpy(w->buf + w->len, &copy, REC_SIZE);
	w->len += REC_SIZE;
	w->records++;
}

static bool
writer_close(LedgerWriter *w)
{
	writer_flush(w);
	pfree(w->buf);
	w->buf = NULL;
	if (w->failed)
		errno = w->save_errno;
	return !w->failed;
}

/* remember which file ledger_fd is */
static void
note_identity(void)
{
	struct stat st;

	if (ledger_fd >= 0 && fstat(ledger_fd, &st) == 0)
	{
		ledger_dev = st.st_dev;
		ledger_ino = st.st_ino;
	}
}

/*
 * The descriptor to append to, reopened after a rewrite.  The file is
 * never created here: the server start creates it, and a file that
 * disappeared is restored (see restore_file), not started anew.  Caller
 * holds the ledger lock.
 */
static int
open_for_append(void)
{
	if (ledger_shared != NULL)
	{
		uint32		gen = pg_atomic_read_u32(&ledger_shared->generation);

		if (ledger_fd >= 0 && gen != ledger_gen)
		{
			close(ledger_fd);	/* the file was rewritten */
			ledger_fd = -1;
		}
		ledger_gen = gen;
	}
	if (ledger_fd < 0)
	{
		ledger_fd = BasicOpenFile(JUHE_LEDGER_FILE, O_RDWR | O_APPEND | PG_BINARY);
		note_identity();
	}
	return ledger_fd;
}

/* is ledger_fd still the file at JUHE_LEDGER_FILE? */
static bool
file_is_ours(void)
{
	struct stat fst,
				pst;

	if (ledger_fd < 0)
		return false;
	if (fstat(ledger_fd, &fst) != 0 || fst.st_nlink == 0)
		return false;			/* removed */
	if (stat(JUHE_LEDGER_FILE, &pst) != 0)
		return false;
	return pst.st_dev == fst.st_dev && pst.st_ino == fst.st_ino;
}

/*
 * Put the ledger back in place: the records of the file this process has
 * open (which may have been removed), and of a file that replaced it the
 * records newer than those (ids only grow), into a new file at the
 * ledger's path; a replacement is moved aside, not destroyed.  With
 * nothing open, only may_create makes an empty file.  Caller holds the
 * ledger lock exclusively.  False if it could not be done (errno set).
 */
static bool
restore_file(bool may_create)
{
	const char *tmp = JUHE_LEDGER_FILE ".restore";
	struct stat pst;
	bool		replaced;
	char		aside[MAXPGPATH] = "";
	int			out;
	int			other = -1;
	LedgerReader rd;
	LedgerWriter wr;
	JuheLedgerRecord rec;
	uint64		max_id = 0;
	int64		kept = 0,
				newer = 0;
	bool		ok;

	/* another process did it already */
	if (ledger_shared != NULL &&
		pg_atomic_read_u32(&ledger_shared->generation) != ledger_gen)
	{
		if (ledger_fd >= 0)
			close(ledger_fd);
		ledger_fd = -1;
		return open_for_append() >= 0;
	}
	if (file_is_ours())
		return true;

	replaced = stat(JUHE_LEDGER_FILE, &pst) == 0;
	if (ledger_fd < 0)
	{
		/* nothing open to restore from: open what is there, or make one */
		if (replaced)
			return open_for_append() >= 0;
		if (!may_create)
		{
			errno = ENOENT;
			return false;
		}
	}

	out = BasicOpenFilePerm(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY, pg_file_create_mode);
	if (out < 0)
		return false;
	writer_open(&wr, out);
	if (ledger_fd >= 0)
	{
		reader_open(&rd, ledger_fd, -1);
		while (reader_next(&rd, &rec))
		{
			max_id = Max(max_id, rec.id);
			writer_put(&wr, &rec);
			kept++;
		}
		reader_close(&rd);
	}
	if (replaced)
	{
		other = BasicOpenFile(JUHE_LEDGER_FILE, O_RDONLY | PG_BINARY);
		if (other >= 0)
		{
			reader_open(&rd, other, -1);
			while (reader_next(&rd, &rec))
				if (rec.id > max_id || ledger_fd < 0)
				{
					writer_put(&wr, &rec);
					newer++;
				}
			reader_close(&rd);
			close(other);
		}
		snprintf(aside, sizeof(aside), "%s.replaced.%ld", JUHE_LEDGER_FILE, (long) time(NULL));
	}
	ok = writer_close(&wr) && pg_fsync(out) == 0;
	close(out);
	if (ok && replaced && rename(JUHE_LEDGER_FILE, aside) != 0)
		ok = false;
	if (!ok || durable_rename(tmp, JUHE_LEDGER_FILE, LOG) != 0)
	{
		int			save = errno;

		unlink(tmp);
		errno = save;
		return false;
	}
	if (ledger_fd >= 0)
		close(ledger_fd);
	ledger_fd = -1;
	if (ledger_shared != NULL)
		pg_atomic_fetch_add_u32(&ledger_shared->generation, 1);
	(void) open_for_append();

	if (replaced)
		ereport(WARNING,
				(errmsg("juheid: the ledger file \"%s\" was replaced while the server was running", JUHE_LEDGER_FILE),
				 errdetail("The replacement was moved to \"%s\"; the ledger was restored from an open descriptor (%lld records) with the %lld newer records of the replacement.",
						   aside, (long long) kept, (long long) newer)));
	else if (kept > 0 || ledger_fd >= 0)
		ereport(WARNING,
				(errmsg("juheid: the ledger file \"%s\" was removed while the server was running", JUHE_LEDGER_FILE),
				 errdetail("It was restored from an open descriptor, with all its %lld records.",
						   (long long) kept)));
	else
		ereport(WARNING,
				(errmsg("juheid: the ledger file \"%s\" was missing; a new, empty one was created", JUHE_LEDGER_FILE),
				 errdetail("No process had it open, so its records could not be restored.")));
	return ledger_fd >= 0;
}

/* one record into the file; caller holds the lock */
static bool
write_record(const JuheLedgerRecord *sealed)
{
	ssize_t		w = -1;

	errno = 0;
	if (open_for_append() >= 0)
		w = write(ledger_fd, sealed, REC_SIZE);
	if (w == (ssize_t) REC_SIZE)
		return true;
	if (w >= 0 && errno == 0)
		errno = ENOSPC;			/* a short write: readers skip its bytes */
	return false;
}

/* write what is kept in shared memory; caller holds the lock exclusively */
static void
drain_pending(void)
{
	uint32		n = pg_atomic_read_u32(&ledger_shared->npending);
	uint32		done = 0;

	while (done < n && write_record(&ledger_shared->pending[done]))
		done++;
	if (done > 0)
	{
		memmove(&ledger_shared->pending[0], &ledger_shared->pending[done],
				(n - done) * REC_SIZE);
		pg_atomic_write_u32(&ledger_shared->npending, n - done);
	}
}

/*
 * A process that never had the file open finds it missing: the gateway
 * worker (which keeps it open) restores it within a second; wait for that,
 * at most LEDGER_WAIT_MS, without the lock.
 */
#define LEDGER_WAIT_MS 2500

static void
wait_for_restore(void)
{
	struct stat st;

	for (int waited = 0; waited < LEDGER_WAIT_MS; waited += 50)
	{
		if (stat(JUHE_LEDGER_FILE, &st) == 0)
			return;
		pg_usleep(50 * 1000L);
		if (IsUnderPostmaster)
			CHECK_FOR_INTERRUPTS();
	}
}

/* may this process WAL-log what it appends?  (not the postmaster, not in recovery) */
static bool
wal_allowed(void)
{
	return ledger_lock != NULL && MyProc != NULL && !RecoveryInProgress();
}

static void
note_lsn(XLogRecPtr lsn)
{
	juhe_atomic_advance_u64(&ledger_shared->last_lsn, lsn);
}

/* a record as it goes into the file: where its WAL ends, whose it is */
static void
stamp(JuheLedgerRecord *rec, XLogRecPtr lsn)
{
	rec->lsn = lsn;
	rec->sysid = GetSystemIdentifier();
	seal(rec);
}

/* the WAL record of one append (the record without lsn, sysid, crc) */
static void
log_append(JuheLedgerRecord *copy)
{
	JuheLedgerRecord plain = *copy;
	XLogRecPtr	lsn;

	plain.crc = 0;
	plain.lsn = 0;
	plain.sysid = 0;
	XLogBeginInsert();
	XLogRegisterData((char *) &plain, REC_SIZE);
	lsn = XLogInsert(JUHE_RMGR_ID, XLOG_JUHE_APPEND);
	stamp(copy, lsn);
	note_lsn(lsn);
}

static JuheLedgerWrite append_once(JuheLedgerRecord *copy, bool keep, bool wal);

/*
 * Append one record: its WAL record first (a primary's processes), then
 * the file, with DELAY_CHKPT_START held until it is there (and synced, with
 * juhe.ledger_sync), so no checkpoint can pass a record the file may lose.
 */
JuheLedgerWrite
juhe_ledger_append(const JuheLedgerRecord *rec, bool keep)
{
	JuheLedgerRecord copy = *rec;
	JuheLedgerWrite w;
	bool		wal = wal_allowed();
	bool		delayed = false;

	copy.lsn = 0;
	copy.sysid = 0;
	seal(&copy);
	if (wal && (MyProc->delayChkptFlags & DELAY_CHKPT_START) == 0)
	{
		MyProc->delayChkptFlags |= DELAY_CHKPT_START;
		delayed = true;
	}
	PG_TRY();
	{
		w = append_once(&copy, keep, wal);
		if (w != JUHE_LEDGER_WRITTEN && errno == ENOENT && ledger_fd < 0 && ledger_lock != NULL)
		{
			wait_for_restore();
			w = append_once(&copy, keep, wal);
		}
		if (w == JUHE_LEDGER_WRITTEN && juhe_ledger_sync_on && ledger_fd >= 0)
		{
			int			save = errno;

			if (pg_fdatasync(ledger_fd) != 0)
				ereport(WARNING,
						(errcode_for_file_access(),
						 errmsg("juheid: could not sync file \"%s\": %m", JUHE_LEDGER_FILE)));
			errno = save;
		}
		else if (w == JUHE_LEDGER_FAILED && copy.lsn != 0 && copy.fate == JUHE_FATE_SENT)
		{
			int			save = errno;

			/*
			 * Its WAL record went out, the request will not: say so in
			 * the WAL too, so a standby does not keep it in flight
			 */
			copy.fate = JUHE_FATE_NOT_BILLED;
			copy.at = GetCurrentTimestamp();
			log_append(&copy);
			errno = save;
		}
	}
	PG_FINALLY();
	{
		if (delayed)
			MyProc->delayChkptFlags &= ~DELAY_CHKPT_START;
	}
	PG_END_TRY();
	return w;
}

static JuheLedgerWrite
append_once(JuheLedgerRecord *copy, bool keep, bool wal)
{
	bool		locked;
	bool		written;
	int			save;

	/* the quick way: nothing kept, the file in place */
	if (ledger_shared == NULL || pg_atomic_read_u32(&ledger_shared->npending) == 0)
	{
		locked = lock_ledger(LW_SHARED);
		if (open_for_append() >= 0 && file_is_ours())
		{
			if (wal && copy->lsn == 0)
				log_append(copy);
			if (write_record(copy))
			{
				unlock_ledger(locked);
				return JUHE_LEDGER_WRITTEN;
			}
		}
		unlock_ledger(locked);
	}

	/* the careful way, alone: restore the file, write what is kept, then this */
	locked = lock_ledger(LW_EXCLUSIVE);
	if (!file_is_ours())
		(void) restore_file(false);
	if (ledger_shared != NULL)
		drain_pending();
	if (wal && copy->lsn == 0 && (keep || file_is_ours()))
		log_append(copy);
	written = (ledger_shared == NULL || pg_atomic_read_u32(&ledger_shared->npending) == 0) &&
		file_is_ours() && write_record(copy);
	save = errno;
	if (!written && keep && ledger_shared != NULL)
	{
		uint32		n = pg_atomic_read_u32(&ledger_shared->npending);

		if (n < JUHE_LEDGER_PENDING)
		{
			ledger_shared->pending[n] = *copy;
			pg_atomic_write_u32(&ledger_shared->npending, n + 1);
			unlock_ledger(locked);
			errno = save;
			return JUHE_LEDGER_KEPT;
		}
	}
	unlock_ledger(locked);
	errno = save ? save : EIO;
	return written ? JUHE_LEDGER_WRITTEN : JUHE_LEDGER_FAILED;
}

/* the synchronous standbys have the WAL up to lsn, as synchronous_commit asks */
static bool
standbys_have(XLogRecPtr lsn)
{
	int			mode;
	bool		have;

	if (max_wal_senders == 0 || synchronous_commit <= SYNCHRONOUS_COMMIT_LOCAL_FLUSH)
		return true;
	/*
	 * as at commit, with interrupts held: the wait looks at a cancel or a
	 * termination itself, and ends early (with a WARNING) for either
	 */
	HOLD_INTERRUPTS();
	SyncRepWaitForLSN(lsn, false);
	RESUME_INTERRUPTS();
	mode = synchronous_commit == SYNCHRONOUS_COMMIT_REMOTE_WRITE ?
		SYNC_REP_WAIT_WRITE : SYNC_REP_WAIT_FLUSH;
	LWLockAcquire(SyncRepLock, LW_SHARED);
	have = !juhe_sync_standbys_defined() || WalSndCtl->lsn[mode] >= lsn;
	LWLockRelease(SyncRepLock);
	return have;
}

bool
juhe_ledger_sync(bool standbys)
{
	XLogRecPtr	lsn;

	if (ledger_shared == NULL || RecoveryInProgress())
		return true;
	lsn = pg_atomic_read_u64(&ledger_shared->last_lsn);
	if (lsn == InvalidXLogRecPtr)
		return true;
	XLogFlush(lsn);
	if (!standbys || MyBackendType != B_BACKEND)
		return true;
	return standbys_have(lsn);
}

void
juhe_ledger_maintain(void)
{
	bool		locked;

	if (ledger_shared == NULL)
		return;
	locked = lock_ledger(LW_SHARED);
	if (open_for_append() >= 0 && file_is_ours() &&
		pg_atomic_read_u32(&ledger_shared->npending) == 0)
	{
		unlock_ledger(locked);
		return;
	}
	unlock_ledger(locked);

	locked = lock_ledger(LW_EXCLUSIVE);
	if (!file_is_ours() && !restore_file(true))
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("juheid: could not restore the ledger file \"%s\": %m", JUHE_LEDGER_FILE),
				 errdetail("Nothing is sent until the ledger can be written.")));
	if (file_is_ours())
		drain_pending();
	unlock_ledger(locked);
}

void
juhe_ledger_shutdown(void)
{
	uint32		n;

	if (ledger_shared == NULL)
		return;
	if (pg_atomic_read_u32(&ledger_shared->npending) > 0)
	{
		if (open_for_append() >= 0)
			drain_pending();
		if (ledger_fd >= 0)
			(void) pg_fsync(ledger_fd);
	}
	n = pg_atomic_read_u32(&ledger_shared->npending);
	for (uint32 i = 0; i < n; i++)
	{
		JuheLedgerRecord *rec = &ledger_shared->pending[i];
		char		oid[JUHE_LEDGER_ORDERID_LEN];

		strlcpy(oid, record_orderid(rec), sizeof(oid));
		juhe_ascii_printable(oid, strlen(oid));
		ereport(LOG,
				(errmsg("juheid: a %s result could not be written to the ledger before shutdown",
						rec->fate == JUHE_FATE_BILLED ? "billed" : "possibly billed"),
				 errdetail("Request %llu, order id %s; the next start counts it as in doubt.",
						   (unsigned long long) rec->id, oid[0] ? oid : "(none)")));
	}
	if (ledger_fd >= 0)
		close(ledger_fd);
	ledger_fd = -1;
}

/* ---------------------------------------------------------------- start */

typedef struct OpenEntry
{
	uint64		id;
	JuheLedgerRecord rec;
} OpenEntry;

/* the requests of a scan that have a "sent" record and no result (yet) */
static HTAB *
open_requests(MemoryContext cxt, Size entrysize)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(uint64);
	ctl.entrysize = entrysize;
	ctl.hcxt = cxt;
	return hash_create("juheid open requests", 256, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* follow one record in a scan: true if it was a "sent" record */
static bool
track_open(HTAB *open, const JuheLedgerRecord *rec, bool keep_record)
{
	if (rec->fate == JUHE_FATE_SENT)
	{
		OpenEntry  *oe = hash_search(open, &rec->id, HASH_ENTER, NULL);

		if (keep_record)
			oe->rec = *rec;
		return true;
	}
	hash_search(open, &rec->id, HASH_REMOVE, NULL);
	return false;
}

/*
 * Rewrite the file (read through fd, up to limit) without unreadable
 * bytes, results older than cutoff (0: none) and "sent" records that are
 * not in open (the requests still on their way; NULL: none), into tmp,
 * synced.  The caller puts it in place.
 */
static bool
copy_compacted(int fd, off_t limit, const char *tmp, TimestampTz cutoff, HTAB *open,
			   int *out_fd)
{
	int			out = BasicOpenFilePerm(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY,
										pg_file_create_mode);
	LedgerReader rd;
	LedgerWriter wr;
	JuheLedgerRecord rec;
	bool		ok;

	*out_fd = out;
	if (out < 0)
		return false;
	writer_open(&wr, out);
	reader_open(&rd, fd, limit);
	while (!wr.failed && reader_next(&rd, &rec))
	{
		if (rec.fate == JUHE_FATE_SENT)
		{
			if (open == NULL || hash_search(open, &rec.id, HASH_FIND, NULL) == NULL)
				continue;
		}
		else if (cutoff != 0 && rec.at < cutoff)
			continue;
		writer_put(&wr, &rec);
	}
	reader_close(&rd);
	ok = writer_close(&wr) && pg_fsync(out) == 0;
	return ok;
}

static void
tag_from_record(JuheTag *tag, const JuheLedgerRecord *rec)
{
	memset(tag, 0, sizeof(*tag));
	tag->id = rec->id;
	tag->sent_at = rec->sent_at;
	tag->xid = rec->xid;
	tag->dbid = rec->dbid;
	tag->roleid = rec->roleid;
	tag->pid = rec->pid;
	tag->via = rec->via;
	tag->mode = rec->mode;
	memcpy(tag->datname, rec->datname, JUHE_TAG_NAME_LEN);
	memcpy(tag->rolname, rec->rolname, JUHE_TAG_NAME_LEN);
}

#define BIT_SET(map, i)	((map)[(i) >> 3] |= (uint8) (1 << ((i) & 7)))
#define BIT_ISSET(map, i) (((map)[(i) >> 3] & (1 << ((i) & 7))) != 0)

/*
 * The requests with ids in [lo_id, hi_id] and below `below` that have a
 * "sent" record and no result, one window of ids at a time (two bitmaps:
 * memory does not depend on the file): counted, and with ids collected
 * into a palloc'd array in ascending order.
 */
static int64
find_open(int fd, uint64 lo_id, uint64 hi_id, uint64 below, uint64 **ids)
{
	uint8	   *sent = palloc(WINDOW_IDS / 8);
	uint8	   *answered = palloc(WINDOW_IDS / 8);
	int64		n = 0,
				alloc = 0;
	LedgerReader rd;
	JuheLedgerRecord rec;

	if (ids)
		*ids = NULL;
	for (uint64 lo = lo_id; lo <= hi_id && lo < below; lo += WINDOW_IDS)
	{
		uint64		span = Min(WINDOW_IDS, Min(hi_id, below - 1) - lo + 1);

		memset(sent, 0, WINDOW_IDS / 8);
		memset(answered, 0, WINDOW_IDS / 8);
		reader_open(&rd, fd, -1);
		while (reader_next(&rd, &rec))
		{
			uint64		i;

			if (rec.id < lo || rec.id - lo >= span)
				continue;
			i = rec.id - lo;
			if (rec.fate == JUHE_FATE_SENT)
				BIT_SET(sent, i);
			else
				BIT_SET(answered, i);
		}
		reader_close(&rd);
		for (uint64 i = 0; i < span; i++)
		{
			if (sent[i >> 3] == 0)
			{
				i |= 7;			/* nothing sent in these eight */
				continue;
			}
			if (!BIT_ISSET(sent, i) || BIT_ISSET(answered, i))
				continue;
			if (ids)
			{
				if (n == alloc)
				{
					alloc = alloc ? alloc * 2 : 1024;
					*ids = *ids ? repalloc_huge(*ids, alloc * sizeof(uint64)) :
						palloc_extended(alloc * sizeof(uint64), MCXT_ALLOC_HUGE);
				}
				(*ids)[n] = lo + i;
			}
			n++;
		}
		if (hi_id - lo < WINDOW_IDS)
			break;
	}
	pfree(sent);
	pfree(answered);
	return n;
}

/*
 * What the file holds, for the daily count and the start: every record
 * read once (count() called for each billed or in-doubt result), then the
 * open requests counted.  rd is left closed, its counters valid.
 */
static void
summarize(int fd, JuheLedgerSummary *sum, JuheLedgerCountFn count, void *arg,
		  LedgerReader *rd)
{
	JuheLedgerRecord rec;
	int64		sent = 0;
	uint64		min_sent = PG_UINT64_MAX,
				max_sent = 0;

	memset(sum, 0, sizeof(*sum));
	reader_open(rd, fd, -1);
	while (reader_next(rd, &rec))
	{
		sum->records++;
		sum->max_id = Max(sum->max_id, rec.id);
		if (rec.fate == JUHE_FATE_SENT)
		{
			sent++;
			min_sent = Min(min_sent, rec.id);
			max_sent = Max(max_sent, rec.id);
			continue;
		}
		if (rec.fate == JUHE_FATE_BILLED || rec.fate == JUHE_FATE_IN_DOUBT)
			count(&rec, arg);
		if (sum->oldest_at == 0 || rec.at < sum->oldest_at)
			sum->oldest_at = rec.at;
	}
	reader_close(rd);
	sum->skipped_bytes = rd->skipped;
	if (sent > 0)
		sum->open = find_open(fd, min_sent, max_sent, PG_UINT64_MAX, NULL);
}

/*
 * Runs in the postmaster (shmem startup), at every start and after a
 * crash, before any process can append, and before recovery: it writes no
 * WAL and changes no record, only cuts a torn end.  (Dropping an answered
 * "sent" record here could lose the request: recovery may yet cut its
 * result.  The gateway worker's prune drops them, WAL-logged.)  Errors
 * here must not stop the server: they are logged and the ledger is left
 * as it is.
 */
void
juhe_ledger_startup(JuheLedgerSummary *sum, JuheLedgerCountFn count, void *arg)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "juheid ledger start",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	TimestampTz now = GetCurrentTimestamp();
	LedgerReader rd;
	struct stat st;
	bool		dir_existed;
	int			fd;

	/* after a crash, what the postmaster knew belongs to the old memory */
	ledger_shared = NULL;
	ledger_lock = NULL;
	if (ledger_fd >= 0)
		close(ledger_fd);
	ledger_fd = -1;

	memset(sum, 0, sizeof(*sum));
	dir_existed = stat(JUHE_LEDGER_DIR, &st) == 0;
	if (!dir_existed && MakePGDirectory(JUHE_LEDGER_DIR) != 0 && errno != EEXIST)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("juheid: could not create directory \"%s\": %m", JUHE_LEDGER_DIR)));
		goto done;
	}
	fd = BasicOpenFile(JUHE_LEDGER_FILE, O_RDWR | PG_BINARY);
	if (fd < 0 && errno == ENOENT)
	{
		fd = BasicOpenFilePerm(JUHE_LEDGER_FILE, O_RDWR | O_CREAT | PG_BINARY,
							   pg_file_create_mode);
		sum->created = fd >= 0;
		if (fd >= 0 && dir_existed)
			ereport(LOG,
					(errmsg("juheid: the ledger file \"%s\" did not exist; a new one was created",
							JUHE_LEDGER_FILE),
					 errdetail("The daily count starts from zero.")));
	}
	if (fd < 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("juheid: could not open file \"%s\": %m", JUHE_LEDGER_FILE)));
		goto done;
	}

	{
		bool		created = sum->created;

		summarize(fd, sum, count, arg, &rd);
		sum->created = created;
	}

	/* a torn record at the end: cut it off before anything is appended */
	if (fstat(fd, &st) == 0 && st.st_size > rd.valid_end &&
		ftruncate(fd, rd.valid_end) != 0)
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("juheid: could not truncate file \"%s\": %m", JUHE_LEDGER_FILE)));

	close(fd);

	if (sum->oldest_at == 0)
		sum->oldest_at = now;
	if (sum->open > 0 || sum->skipped_bytes > 0)
		ereport(LOG,
				(errmsg("juheid: ledger checked: %lld records, %lld requests without a result, %lld unreadable bytes skipped",
						(long long) sum->records, (long long) sum->open,
						(long long) sum->skipped_bytes)));
done:
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/* ---------------------------------------------------------------- recovery */

/* a record of this cluster whose WAL ends after `after` */
static bool
is_after(const JuheLedgerRecord *rec, XLogRecPtr after, uint64 sysid)
{
	return rec->sysid == sysid && rec->lsn > after;
}

bool
juhe_ledger_needs_cut(XLogRecPtr after)
{
	uint64		sysid = GetSystemIdentifier();
	LedgerReader rd;
	JuheLedgerRecord rec;
	bool		found = false;
	int			fd = BasicOpenFile(JUHE_LEDGER_FILE, O_RDONLY | PG_BINARY);

	if (fd < 0)
		return false;
	reader_open(&rd, fd, -1);
	while (!found && reader_next(&rd, &rec))
		found = is_after(&rec, after, sysid);
	reader_close(&rd);
	close(fd);
	return found;
}

void
juhe_ledger_cut(XLogRecPtr after, JuheLedgerSummary *sum, JuheLedgerCountFn count, void *arg)
{
	const char *tmp = JUHE_LEDGER_FILE ".cut";
	uint64		sysid = GetSystemIdentifier();
	LedgerReader rd;
	LedgerWriter wr;
	JuheLedgerRecord rec;
	int64		cut = 0;
	bool		ok;
	bool		locked = lock_ledger(LW_EXCLUSIVE);
	int			fd = BasicOpenFile(JUHE_LEDGER_FILE, O_RDONLY | PG_BINARY);
	int			out;

	if (fd < 0)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("juheid: could not open file \"%s\": %m", JUHE_LEDGER_FILE)));
	out = BasicOpenFilePerm(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY, pg_file_create_mode);
	if (out < 0)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("juheid: could not create file \"%s\": %m", tmp)));
	writer_open(&wr, out);
	reader_open(&rd, fd, -1);
	while (!wr.failed && reader_next(&rd, &rec))
	{
		if (is_after(&rec, after, sysid))
			cut++;
		else
			writer_put(&wr, &rec);
	}
	reader_close(&rd);
	close(fd);
	ok = writer_close(&wr) && pg_fsync(out) == 0;
	close(out);

	/*
	 * Replay must not add to records it would duplicate, nor leave a future
	 * it does not reach: recovery cannot go on without the cut.
	 */
	if (!ok || durable_rename(tmp, JUHE_LEDGER_FILE, LOG) != 0)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("juheid: could not write file \"%s\": %m", tmp),
				 errhint("Free space in the data directory, then start the server again.")));
	if (ledger_shared != NULL)
		pg_atomic_fetch_add_u32(&ledger_shared->generation, 1);
	if (ledger_fd >= 0)
		close(ledger_fd);
	ledger_fd = -1;

	fd = BasicOpenFile(JUHE_LEDGER_FILE, O_RDONLY | PG_BINARY);
	if (fd >= 0)
	{
		summarize(fd, sum, count, arg, &rd);
		close(fd);
	}
	if (ledger_shared != NULL)
		ledger_shared->oldest_at = sum->oldest_at ? sum->oldest_at : GetCurrentTimestamp();
	unlock_ledger(locked);
	ereport(LOG,
			(errmsg("juheid: recovery starts at %X/%X: %lld ledger records written after it were removed, replay writes again those it reaches",
					LSN_FORMAT_ARGS(after), (long long) cut)));
}

void
juhe_ledger_redo_append(const JuheLedgerRecord *rec, XLogRecPtr lsn)
{
	JuheLedgerRecord copy = *rec;
	JuheLedgerWrite w;

	if (!fate_valid(copy.fate))
		elog(PANIC, "juheid: replayed ledger record with fate %d", copy.fate);
	stamp(&copy, lsn);
	w = append_once(&copy, true, false);
	if (w == JUHE_LEDGER_WRITTEN)
	{
		if (juhe_ledger_sync_on && ledger_fd >= 0 && pg_fdatasync(ledger_fd) != 0)
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("juheid: could not sync file \"%s\": %m", JUHE_LEDGER_FILE)));
	}
	else
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("juheid: could not write a replayed record to file \"%s\": %m", JUHE_LEDGER_FILE),
				 errdetail("Request %llu; %s", (unsigned long long) copy.id,
						   w == JUHE_LEDGER_KEPT ? "it is kept in shared memory and written with the next record." :
						   "it is lost on this server.")));
}

void
juhe_ledger_redo_prune(TimestampTz cutoff)
{
	const char *tmp = JUHE_LEDGER_FILE ".tmp";
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "juheid ledger redo",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	HTAB	   *open = open_requests(cxt, sizeof(uint64));
	LedgerReader rd;
	JuheLedgerRecord rec;
	TimestampTz oldest = 0;
	bool		locked = lock_ledger(LW_EXCLUSIVE);
	int			fd = BasicOpenFile(JUHE_LEDGER_FILE, O_RDONLY | PG_BINARY);
	int			out = -1;

	if (fd >= 0)
	{
		reader_open(&rd, fd, -1);
		while (reader_next(&rd, &rec))
			if (!track_open(open, &rec, false) && rec.at >= cutoff &&
				(oldest == 0 || rec.at < oldest))
				oldest = rec.at;
		reader_close(&rd);
		if (!copy_compacted(fd, -1, tmp, cutoff, open, &out) ||
			(close(out), out = -1, durable_rename(tmp, JUHE_LEDGER_FILE, LOG) != 0))
		{
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("juheid: could not prune file \"%s\" as replayed: %m", JUHE_LEDGER_FILE)));
			if (out >= 0)
				close(out);
			unlink(tmp);
		}
		else if (ledger_shared != NULL)
		{
			pg_atomic_fetch_add_u32(&ledger_shared->generation, 1);
			ledger_shared->oldest_at = oldest ? oldest : GetCurrentTimestamp();
		}
		close(fd);
	}
	unlock_ledger(locked);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64		x = *(const uint64 *) a,
				y = *(const uint64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

void
juhe_ledger_set_first_id(uint64 id)
{
	if (ledger_shared != NULL)
		ledger_shared->first_id = id;
}

int64
juhe_ledger_mark_orphans(TimestampTz *at)
{
	uint64		below = ledger_shared->first_id;
	uint64		min_sent = PG_UINT64_MAX,
				max_sent = 0;
	uint64	   *ids = NULL;
	bool	   *done;
	int64		n,
				marked = 0;
	LedgerReader rd;
	JuheLedgerRecord rec;
	struct stat st;
	int			fd;
	bool		stop = false;

	*at = GetCurrentTimestamp();
	/* what is kept in memory first: a kept result is not in the file */
	if (!wal_allowed() || pg_atomic_read_u32(&ledger_shared->npending) > 0)
		return 0;
	fd = BasicOpenFile(JUHE_LEDGER_FILE, O_RDONLY | PG_BINARY);
	if (fd < 0)
		return 0;
	reader_open(&rd, fd, -1);
	while (reader_next(&rd, &rec))
		if (rec.fate == JUHE_FATE_SENT && rec.id < below)
		{
			min_sent = Min(min_sent, rec.id);
			max_sent = Max(max_sent, rec.id);
		}
	reader_close(&rd);
	n = min_sent <= max_sent ? find_open(fd, min_sent, max_sent, below, &ids) : 0;
	if (n == 0 || fstat(fd, &st) != 0)
	{
		close(fd);
		return 0;
	}

	/*
	 * Each an ordinary append (WAL-logged, kept in memory if the file
	 * cannot take it); the first that cannot even be kept ends the pass,
	 * and the worker tries again later.
	 */
	done = palloc_extended(n, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	reader_open(&rd, fd, st.st_size);
	while (!stop && reader_next(&rd, &rec))
	{
		uint64	   *hit;
		JuheTag		tag;
		JuheLedgerRecord doubt;
		JuheLedgerWrite w;

		if (rec.fate != JUHE_FATE_SENT)
			continue;
		hit = bsearch(&rec.id, ids, n, sizeof(uint64), cmp_u64);
		if (hit == NULL || done[hit - ids])
			continue;
		done[hit - ids] = true;
		tag_from_record(&tag, &rec);
		juhe_ledger_fill_record(&doubt, &tag, JUHE_FATE_IN_DOUBT, 0, -1, NULL, *at);
		w = juhe_ledger_append(&doubt, true);
		if (w == JUHE_LEDGER_FAILED)
			break;
		marked++;
		if (w == JUHE_LEDGER_KEPT)
		{
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("juheid: could not record a possibly billed request in file \"%s\": %m",
							JUHE_LEDGER_FILE),
					 errdetail("Request %llu of an earlier run; it is kept in shared memory and written as soon as the file can be written.",
							   (unsigned long long) rec.id)));
			stop = true;		/* the rest when the file takes records again */
		}
	}
	reader_close(&rd);
	close(fd);
	XLogFlush(pg_atomic_read_u64(&ledger_shared->last_lsn));
	pfree(done);
	pfree(ids);
	if (marked > 0)
		ereport(LOG,
				(errmsg("juheid: %lld requests of an earlier run whose answer never arrived are now in doubt",
						(long long) marked),
				 errdetail("They count against juhe.max_billed_per_day.")));
	if (marked < n)
		ereport(LOG,
				(errmsg("juheid: %lld requests of an earlier run are not recorded in doubt yet; they count against juhe.max_billed_per_day, and the gateway worker tries again",
						(long long) (n - marked))));
	return marked;
}

/* ---------------------------------------------------------------- prune */

/*
 * Pruning while the server runs, in slices, so the gateway worker goes on
 * serving requests between them: scan the file as it ended when the prune
 * began (which "sent" records are still open, what is old), copy what stays
 * into a new file, then, locked against appends, copy what was appended
 * meanwhile and put the new file in place.
 */
#define PRUNE_SLICE		1024	/* records per slice (384 kB) */

typedef enum PrunePhase
{
	PRUNE_IDLE,
	PRUNE_SCAN,
	PRUNE_COPY,
	PRUNE_TAIL					/* what was appended during the copy */
} PrunePhase;

/* the tail left for the locked step is at most this */
#define PRUNE_TAIL_LOCKED	(64 * 1024)

static struct
{
	PrunePhase	phase;
	MemoryContext cxt;
	int			fd;				/* the file as it was */
	off_t		end;			/* where it ended then */
	uint32		gen;
	TimestampTz cutoff;
	HTAB	   *open;
	LedgerReader rd;
	LedgerWriter wr;
	int			out;
	int64		pruned;
	TimestampTz oldest;
}			prune;

#define PRUNE_TMP JUHE_LEDGER_FILE ".tmp"

static void
prune_end(bool keep_tmp)
{
	if (prune.rd.buf)
		reader_close(&prune.rd);
	if (prune.wr.buf)
		(void) writer_close(&prune.wr);
	if (prune.out >= 0)
		close(prune.out);
	if (!keep_tmp)
		unlink(PRUNE_TMP);
	if (prune.fd >= 0)
		close(prune.fd);
	if (prune.cxt)
		MemoryContextDelete(prune.cxt);
	memset(&prune, 0, sizeof(prune));
	prune.fd = prune.out = -1;
	prune.phase = PRUNE_IDLE;
}

TimestampTz
juhe_ledger_retention_cutoff(TimestampTz now)
{
	if (juhe_ledger_retention_days <= 0)
		return PG_INT64_MIN;
	return now - (TimestampTz) juhe_ledger_retention_days * USECS_PER_DAY;
}

bool
juhe_ledger_prune_begin(bool force)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz oldest;
	struct stat st;
	bool		ok;

	if (prune.phase != PRUNE_IDLE || juhe_ledger_retention_days <= 0 || ledger_shared == NULL ||
		RecoveryInProgress())
		return false;
	prune.fd = prune.out = -1;
	prune.cutoff = juhe_ledger_retention_cutoff(now);
	LWLockAcquire(ledger_lock, LW_SHARED);
	oldest = ledger_shared->oldest_at;
	LWLockRelease(ledger_lock);
	if (!force && oldest >= prune.cutoff)
		return false;			/* nothing old enough */

	/* where the file ends now: appends are whole records under the lock */
	LWLockAcquire(ledger_lock, LW_EXCLUSIVE);
	prune.gen = pg_atomic_read_u32(&ledger_shared->generation);
	prune.fd = BasicOpenFile(JUHE_LEDGER_FILE, O_RDONLY | PG_BINARY);
	ok = prune.fd >= 0 && fstat(prune.fd, &st) == 0;
	prune.end = ok ? st.st_size : 0;
	LWLockRelease(ledger_lock);
	if (!ok)
	{
		prune_end(false);
		return false;
	}
	prune.cxt = AllocSetContextCreate(TopMemoryContext, "juheid ledger prune",
									  ALLOCSET_DEFAULT_SIZES);
	prune.open = open_requests(prune.cxt, sizeof(uint64));
	{
		MemoryContext old = MemoryContextSwitchTo(prune.cxt);

		reader_open(&prune.rd, prune.fd, prune.end);
		MemoryContextSwitchTo(old);
	}
	prune.phase = PRUNE_SCAN;
	return true;
}

/* lock appends out: the records appended meanwhile, then the new file */
static void
prune_finish(void)
{
	LedgerReader rd;
	JuheLedgerRecord rec;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz locked_at;
	double		locked_ms;
	bool		ok;
	int64		pruned = prune.pruned;

	/*
	 * On disk before appends are locked out, also with fsync = off: a file
	 * that replaces another by rename is written out by the rename itself
	 * (ext4), which would make the appends wait for it.
	 */
	ok = writer_close(&prune.wr) && fdatasync(prune.out) == 0 && pg_fsync(prune.out) == 0;
	LWLockAcquire(ledger_lock, LW_EXCLUSIVE);
	locked_at = GetCurrentTimestamp();
	if (ok && pg_atomic_read_u32(&ledger_shared->generation) != prune.gen)
		ok = false;				/* restored meanwhile: try again later */
	if (ok)
	{
		LedgerWriter wr;

		writer_open(&wr, prune.out);
		reader_open(&rd, prune.fd, -1);
		rd.base = prune.end;
		while (reader_next(&rd, &rec))
		{
			writer_put(&wr, &rec);
			if (rec.fate != JUHE_FATE_SENT && (prune.oldest == 0 || rec.at < prune.oldest))
				prune.oldest = rec.at;
		}
		reader_close(&rd);
		ok = writer_close(&wr);
	}
	close(prune.out);
	prune.out = -1;

	/*
	 * Standbys and recovery prune what they replayed the same way.  The
	 * prune's WAL record is flushed before the file is replaced: every
	 * result whose "sent" record the new file drops is then in the WAL, so
	 * recovery cannot cut a result without replaying it again.
	 */
	if (ok && wal_allowed())
	{
		JuheLedgerPrune pr;
		XLogRecPtr	lsn;

		pr.cutoff = prune.cutoff;
		XLogBeginInsert();
		XLogRegisterData((char *) &pr, sizeof(pr));
		lsn = XLogInsert(JUHE_RMGR_ID, XLOG_JUHE_PRUNE);
		note_lsn(lsn);
		XLogFlush(lsn);
	}
	if (ok && durable_rename(PRUNE_TMP, JUHE_LEDGER_FILE, LOG) == 0)
	{
		pg_atomic_fetch_add_u32(&ledger_shared->generation, 1);
		ledger_shared->oldest_at = prune.oldest ? prune.oldest : now;
	}
	else
	{
		unlink(PRUNE_TMP);
		pruned = 0;
	}
	locked_ms = (double) (GetCurrentTimestamp() - locked_at) / 1000.0;
	LWLockRelease(ledger_lock);
	prune_end(true);
	if (pruned > 0)
		ereport(LOG,
				(errmsg("juheid: removed %lld results older than juhe.ledger_retention_days (%d) from the ledger",
						(long long) pruned, juhe_ledger_retention_days),
				 errdetail("Appends waited for the rewrite at most %.1f ms.", locked_ms)));
}

static bool prune_tail_step(void);

bool
juhe_ledger_prune_step(void)
{
	JuheLedgerRecord rec;
	MemoryContext old;
	int			n = 0;

	if (prune.phase == PRUNE_IDLE)
		return false;
	if (prune.phase == PRUNE_TAIL)
		return prune_tail_step();
	old = MemoryContextSwitchTo(prune.cxt);
	if (prune.phase == PRUNE_SCAN)
	{
		while (n++ < PRUNE_SLICE && reader_next(&prune.rd, &rec))
		{
			if (track_open(prune.open, &rec, false))
				continue;
			if (rec.at < prune.cutoff)
				prune.pruned++;
			else if (prune.oldest == 0 || rec.at < prune.oldest)
				prune.oldest = rec.at;
		}
		if (n > PRUNE_SLICE)
		{
			MemoryContextSwitchTo(old);
			return true;		/* more to scan */
		}
		reader_close(&prune.rd);
		if (prune.pruned == 0)
		{
			MemoryContextSwitchTo(old);
			prune_end(false);	/* nothing to remove after all */
			return false;
		}
		prune.out = BasicOpenFilePerm(PRUNE_TMP, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY,
									  pg_file_create_mode);
		if (prune.out < 0)
		{
			MemoryContextSwitchTo(old);
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("juheid: could not create file \"%s\": %m", PRUNE_TMP)));
			prune_end(false);
			return false;
		}
		writer_open(&prune.wr, prune.out);
		reader_open(&prune.rd, prune.fd, prune.end);
		prune.phase = PRUNE_COPY;
		MemoryContextSwitchTo(old);
		return true;
	}

	/* PRUNE_COPY */
	while (n++ < PRUNE_SLICE && !prune.wr.failed && reader_next(&prune.rd, &rec))
	{
		if (rec.fate == JUHE_FATE_SENT)
		{
			if (hash_search(prune.open, &rec.id, HASH_FIND, NULL) == NULL)
				continue;
		}
		else if (rec.at < prune.cutoff)
			continue;
		writer_put(&prune.wr, &rec);
	}
	if (prune.wr.failed)
	{
		MemoryContextSwitchTo(old);
		errno = prune.wr.save_errno;
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("juheid: could not write file \"%s\": %m", PRUNE_TMP)));
		prune_end(false);
		return false;
	}
	if (n > PRUNE_SLICE)
	{
		/*
		 * to disk slice by slice (also with fsync = off), so that no
		 * later step writes out the whole file at once
		 */
		writer_flush(&prune.wr);
		(void) fdatasync(prune.out);
		MemoryContextSwitchTo(old);
		return true;
	}
	reader_close(&prune.rd);
	prune.phase = PRUNE_TAIL;
	MemoryContextSwitchTo(old);
	return true;
}

/*
 * Unlocked, what was appended since: whole records only (one being
 * written is left for the next round); once what is left is small, the
 * locked finish.
 */
static bool
prune_tail_step(void)
{
	struct stat st;
	LedgerReader rd;
	JuheLedgerRecord rec;
	MemoryContext old;

	if (fstat(prune.fd, &st) != 0 || st.st_size - prune.end <= PRUNE_TAIL_LOCKED)
	{
		prune_finish();
		return false;
	}
	old = MemoryContextSwitchTo(prune.cxt);
	reader_open(&rd, prune.fd, st.st_size);
	rd.base = prune.end;
	while (reader_next(&rd, &rec))
		writer_put(&prune.wr, &rec);
	if (rd.valid_end > prune.end)
		prune.end = rd.valid_end;
	reader_close(&rd);
	writer_flush(&prune.wr);
	(void) fdatasync(prune.out);
	MemoryContextSwitchTo(old);
	return true;
}

bool
juhe_ledger_pruning(void)
{
	return prune.phase != PRUNE_IDLE;
}

/* ---------------------------------------------------------------- SQL */

static const char *
fate_name(int fate)
{
	switch (fate)
	{
		case JUHE_FATE_BILLED:
			return "billed";
		case JUHE_FATE_IN_DOUBT:
			return "in doubt";
		case JUHE_FATE_SENT:
			return "in flight";
		default:
			return "not billed";
	}
}

static const char *
via_name(int via)
{
	switch (via)
	{
		case JUHE_VIA_FUNCTION:
			return "function";
		case JUHE_VIA_TRIGGER:
			return "trigger";
		case JUHE_VIA_BULK:
			return "bulk";
		default:
			return "unknown";
	}
}

typedef struct RowState
{
	ReturnSetInfo *rsinfo;
	MemoryContext row_cxt;		/* reset after every row */
	uint64		next_xid;
	uint64		first_id;
	bool		in_recovery;
} RowState;

static void
put_row(RowState *rs, JuheLedgerRecord *rec)
{
	Datum		v[13];
	bool		n[13] = {0};
	MemoryContext old = MemoryContextSwitchTo(rs->row_cxt);
	int			fate = rec->fate;
	const char *oid = record_orderid(rec);

	/*
	 * a "sent" record of an earlier run, not marked in doubt yet (on a
	 * standby, the primary's requests in flight)
	 */
	if (fate == JUHE_FATE_SENT && rec->id < rs->first_id && !rs->in_recovery)
		fate = JUHE_FATE_IN_DOUBT;

	v[0] = Int64GetDatum((int64) rec->id);
	if (oid[0])
		v[1] = CStringGetTextDatum(juhe_service_text(oid));
	else
		n[1] = true;
	v[2] = TimestampTzGetDatum(rec->sent_at);
	if (fate == JUHE_FATE_SENT)
		n[3] = true;
	else
		v[3] = TimestampTzGetDatum(rec->fate == JUHE_FATE_SENT ? rec->sent_at : rec->at);
	rec->datname[JUHE_TAG_NAME_LEN - 1] = '\0';
	rec->rolname[JUHE_TAG_NAME_LEN - 1] = '\0';
	v[4] = CStringGetTextDatum(rec->datname);
	v[5] = CStringGetTextDatum(rec->rolname);
	v[6] = CStringGetTextDatum(rec->mode < JUHE_NUM_MODES ?
							   juhe_mode_name((JuheMode) rec->mode) : "unknown");
	v[7] = CStringGetTextDatum(via_name(rec->via));
	v[8] = CStringGetTextDatum(fate_name(fate));
	if (fate == JUHE_FATE_BILLED && (rec->res == 1 || rec->res == 2))
		v[9] = Int32GetDatum(rec->res);
	else
		n[9] = true;
	if (rec->error_code >= 0)
		v[10] = Int32GetDatum(rec->error_code);
	else
		n[10] = true;
	/* pg_xact_status() errors on an xid from the future (another cluster's) */
	if (rec->xid != 0 && rec->xid < rs->next_xid)
		v[11] = FullTransactionIdGetDatum(FullTransactionIdFromU64(rec->xid));
	else
		n[11] = true;
	v[12] = Int32GetDatum(rec->pid);
	tuplestore_putvalues(rs->rsinfo->setResult, rs->rsinfo->setDesc, v, n);
	MemoryContextSwitchTo(old);
	MemoryContextReset(rs->row_cxt);
}

Datum
juhe_ledger_rows(PG_FUNCTION_ARGS)
{
	RowState	rs;
	HTAB	   *open;
	HASH_SEQ_STATUS seq;
	OpenEntry  *oe;
	LedgerReader rd;
	JuheLedgerRecord rec;
	JuheLedgerRecord *volatile pending = NULL;
	volatile uint32 npending = 0;
	int			fd;

	juhe_require_reader("the juheid ledger");
	InitMaterializedSRF(fcinfo, 0);
	rs.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	rs.next_xid = U64FromFullTransactionId(ReadNextFullTransactionId());
	rs.row_cxt = AllocSetContextCreate(CurrentMemoryContext, "juheid ledger row",
									   ALLOCSET_SMALL_SIZES);

	/* results kept in shared memory, not in the file yet */
	LWLockAcquire(ledger_lock, LW_SHARED);
	rs.first_id = ledger_shared->first_id;
	rs.in_recovery = RecoveryInProgress();
	npending = pg_atomic_read_u32(&ledger_shared->npending);
	if (npending > 0)
	{
		pending = palloc(npending * REC_SIZE);
		memcpy((JuheLedgerRecord *) pending, ledger_shared->pending, npending * REC_SIZE);
	}
	fd = BasicOpenFile(JUHE_LEDGER_FILE, O_RDONLY | PG_BINARY);
	LWLockRelease(ledger_lock);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", JUHE_LEDGER_FILE),
				 errhint("If it was removed, juheid's gateway worker restores it from its open descriptor within a second.")));

	open = open_requests(CurrentMemoryContext, sizeof(OpenEntry));
	reader_open(&rd, fd, -1);
	PG_TRY();
	{
		while (reader_next(&rd, &rec))
		{
			CHECK_FOR_INTERRUPTS();
			if (track_open(open, &rec, true))
				continue;
			if (rec.fate == JUHE_FATE_BILLED || rec.fate == JUHE_FATE_IN_DOUBT)
				put_row(&rs, &rec);
		}
		for (uint32 i = 0; i < npending; i++)
		{
			hash_search(open, &pending[i].id, HASH_REMOVE, NULL);
			put_row(&rs, &pending[i]);
		}
		/* requests on their way right now */
		hash_seq_init(&seq, open);
		while ((oe = hash_seq_search(&seq)) != NULL)
			put_row(&rs, &oe->rec);
	}
	PG_FINALLY();
	{
		close(fd);
	}
	PG_END_TRY();
	reader_close(&rd);
	MemoryContextDelete(rs.row_cxt);
	PG_RETURN_VOID();
}
