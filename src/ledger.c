/*
 * ledger.c
 *		The ledger file: $PGDATA/juheid/ledger.
 *
 *	juhe_ledger_rows() → SETOF (id, orderid, sent_at, billed_at, datname,
 *	                     rolname, mode, via, status, res, error_code, xid, pid)
 *
 * Why a file and not a table: a record must survive the caller's ROLLBACK,
 * be written by the gateway worker (which has no database), and be written
 * the moment an answer arrives, before the caller can be cancelled.  Like
 * pg_stat_statements' query texts, it lives beside the data, outside WAL:
 * a standby or a base backup has its own.
 *
 * Every process appends whole 256-byte records with one write() on a
 * descriptor opened with O_APPEND, so records of different processes never
 * interleave.  A crash can leave a torn record at the end; readers accept
 * only records whose magic number and CRC-32C match and skip anything else
 * byte by byte, so nothing torn is ever misread.  At server start (in the
 * postmaster, before any backend runs) the file is checked: "sent" records
 * without a result become "in doubt", results older than
 * juhe.ledger_retention_days are dropped, and the file is rewritten
 * without the "sent" records and unreadable bytes.
 *
 * While the server runs, the gateway worker prunes the same way (keeping
 * the "sent" records of requests still on their way): it rewrites the file
 * under the ledger lock held exclusively and bumps a generation number;
 * appenders hold the lock shared and reopen the file when the generation
 * changed, so no record goes to the replaced file.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/transam.h"
#include "catalog/pg_type.h"
#include "common/file_perm.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/xid8.h"

#include "account.h"
#include "encoding.h"
#include "guc.h"
#include "ledger.h"

StaticAssertDecl(sizeof(JuheLedgerRecord) == 256, "ledger records are 256 bytes");

#define REC_SIZE	sizeof(JuheLedgerRecord)
#define READ_CHUNK	(1024 * 1024)

PG_FUNCTION_INFO_V1(juhe_ledger_rows);

static int	ledger_fd = -1;
static uint32 ledger_gen = 0;	/* generation ledger_fd belongs to */
static JuheLedgerShared *ledger_shared = NULL;
static LWLock *ledger_lock = NULL;

void
juhe_ledger_shmem_init(JuheLedgerShared *shared, LWLock *lock, bool found,
					   TimestampTz oldest_at)
{
	ledger_shared = shared;
	ledger_lock = lock;
	if (!found)
	{
		pg_atomic_init_u32(&shared->generation, 0);
		shared->oldest_at = oldest_at;
	}
}

/* ---------------------------------------------------------------- records */

static pg_crc32c
record_crc(const JuheLedgerRecord *rec)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, ((const char *) rec) + sizeof(pg_crc32c),
				REC_SIZE - sizeof(pg_crc32c));
	FIN_CRC32C(crc);
	return crc;
}

static void
seal(JuheLedgerRecord *rec)
{
	rec->magic = JUHE_LEDGER_MAGIC;
	rec->crc = record_crc(rec);
}

static bool
record_valid(const JuheLedgerRecord *rec)
{
	return rec->magic == JUHE_LEDGER_MAGIC &&
		rec->fate >= JUHE_FATE_SENT && rec->fate <= JUHE_FATE_NOT_BILLED &&
		EQ_CRC32C(rec->crc, record_crc(rec));
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
	if (orderid)
	{
		strlcpy(rec->orderid, orderid, JUHE_LEDGER_ORDERID_LEN);
		juhe_ascii_printable(rec->orderid, strlen(rec->orderid));
	}
}

/* ---------------------------------------------------------------- reading */

typedef struct LedgerReader
{
	int			fd;
	char	   *buf;
	size_t		len;			/* bytes in buf */
	size_t		pos;			/* next byte to look at */
	off_t		base;			/* file offset of buf[0] */
	bool		eof;
	int64		skipped;		/* bytes that were no valid record */
	off_t		valid_end;		/* end of the last valid record */
} LedgerReader;

static void
reader_open(LedgerReader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->buf = palloc(READ_CHUNK + REC_SIZE);
}

static bool
reader_next(LedgerReader *r, JuheLedgerRecord *out)
{
	for (;;)
	{
		if (r->len - r->pos < REC_SIZE)
		{
			ssize_t		got;

			if (r->eof)
			{
				r->skipped += r->len - r->pos;
				r->pos = r->len;
				return false;
			}
			/* keep the unread tail, read on after it */
			memmove(r->buf, r->buf + r->pos, r->len - r->pos);
			r->base += r->pos;
			r->len -= r->pos;
			r->pos = 0;
			got = pg_pread(r->fd, r->buf + r->len, READ_CHUNK, r->base + r->len);
			if (got < 0)
				ereport(ERROR,
						(errcode_for_file_access(),
						 errmsg("could not read file \"%s\": %m", JUHE_LEDGER_FILE)));
			if (got == 0)
				r->eof = true;
			r->len += got;
			continue;
		}
		memcpy(out, r->buf + r->pos, REC_SIZE);
		if (record_valid(out))
		{
			r->pos += REC_SIZE;
			r->valid_end = r->base + r->pos;
			return true;
		}
		r->pos++;				/* not a record here: look one byte on */
		r->skipped++;
	}
}

/* ---------------------------------------------------------------- writing */

/* caller holds the ledger lock (shared) if there is one */
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
		ledger_fd = BasicOpenFilePerm(JUHE_LEDGER_FILE,
									  O_WRONLY | O_APPEND | O_CREAT | PG_BINARY,
									  pg_file_create_mode);
	return ledger_fd;
}

bool
juhe_ledger_append(const JuheLedgerRecord *rec)
{
	JuheLedgerRecord copy = *rec;
	ssize_t		w = -1;
	int			save;

	seal(&copy);
	if (ledger_lock)
		LWLockAcquire(ledger_lock, LW_SHARED);
	errno = 0;
	if (open_for_append() >= 0)
		w = write(ledger_fd, &copy, REC_SIZE);
	save = errno;
	if (ledger_lock)
		LWLockRelease(ledger_lock);
	errno = save;
	if (w == (ssize_t) REC_SIZE)
		return true;
	if (w >= 0 && errno == 0)
		errno = ENOSPC;			/* a short write: readers skip its bytes */
	return false;
}

void
juhe_ledger_sync(void)
{
	int			rc = 0;

	if (ledger_lock)
		LWLockAcquire(ledger_lock, LW_SHARED);
	if (open_for_append() >= 0)
		rc = pg_fdatasync(ledger_fd);
	if (ledger_lock)
		LWLockRelease(ledger_lock);
	if (rc != 0)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("juheid: could not sync file \"%s\": %m", JUHE_LEDGER_FILE)));
}

/* ---------------------------------------------------------------- start */

typedef struct OpenEntry
{
	uint64		id;
	JuheLedgerRecord rec;
} OpenEntry;

/* the requests of a scan that have a "sent" record and no result (yet) */
static HTAB *
open_requests(MemoryContext cxt)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(uint64);
	ctl.entrysize = sizeof(OpenEntry);
	ctl.hcxt = cxt;
	return hash_create("juheid open requests", 256, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* follow one record in a scan: true if it was a "sent" record */
static bool
track_open(HTAB *open, const JuheLedgerRecord *rec)
{
	if (rec->fate == JUHE_FATE_SENT)
	{
		OpenEntry  *oe = hash_search(open, &rec->id, HASH_ENTER, NULL);

		oe->rec = *rec;
		return true;
	}
	hash_search(open, &rec->id, HASH_REMOVE, NULL);
	return false;
}

/*
 * Rewrite the file (read through fd) without unreadable bytes, results
 * older than cutoff (0: none) and "sent" records that are not in open (the
 * requests still on their way; NULL: none), then put it in place.
 */
static bool
compact(int fd, TimestampTz cutoff, HTAB *open)
{
	const char *tmp = JUHE_LEDGER_FILE ".tmp";
	int			out = BasicOpenFilePerm(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY,
										pg_file_create_mode);
	bool		ok = out >= 0;
	LedgerReader rd;
	JuheLedgerRecord rec;

	reader_open(&rd, fd);
	while (ok && reader_next(&rd, &rec))
	{
		if (rec.fate == JUHE_FATE_SENT)
		{
			if (open == NULL || hash_search(open, &rec.id, HASH_FIND, NULL) == NULL)
				continue;
		}
		else if (cutoff != 0 && rec.at < cutoff)
			continue;
		ok = write(out, &rec, REC_SIZE) == (ssize_t) REC_SIZE;
	}
	pfree(rd.buf);
	if (ok)
		ok = pg_fsync(out) == 0;
	if (out >= 0)
		close(out);
	if (!ok || durable_rename(tmp, JUHE_LEDGER_FILE, LOG) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("juheid: could not compact file \"%s\": %m", JUHE_LEDGER_FILE)));
		unlink(tmp);
		return false;
	}
	return true;
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

static bool
counts_today(const JuheLedgerRecord *rec, int32 today)
{
	return (rec->fate == JUHE_FATE_BILLED || rec->fate == JUHE_FATE_IN_DOUBT) &&
		juhe_billing_day(rec->at) == today;
}

/*
 * Runs in the postmaster (shmem startup), at every start and after a
 * crash, before any process can append.  Errors here must not stop the
 * server: they are logged and the ledger is left as it is.
 */
void
juhe_ledger_startup(JuheLedgerSummary *sum)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "juheid ledger start",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz cutoff = 0;
	HTAB	   *open;
	HASH_SEQ_STATUS seq;
	OpenEntry  *oe;
	LedgerReader rd;
	JuheLedgerRecord rec;
	int64		sent = 0,
				records = 0;
	struct stat st;
	int			fd;

	/* after a crash, what the postmaster knew belongs to the old memory */
	ledger_shared = NULL;
	ledger_lock = NULL;
	if (ledger_fd >= 0)
		close(ledger_fd);
	ledger_fd = -1;

	memset(sum, 0, sizeof(*sum));
	sum->day = juhe_billing_day(now);
	if (juhe_ledger_retention_days > 0)
		cutoff = now - (TimestampTz) juhe_ledger_retention_days * USECS_PER_DAY;

	if (stat(JUHE_LEDGER_DIR, &st) != 0 && MakePGDirectory(JUHE_LEDGER_DIR) != 0 &&
		errno != EEXIST)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("juheid: could not create directory \"%s\": %m", JUHE_LEDGER_DIR)));
		goto done;
	}
	fd = BasicOpenFilePerm(JUHE_LEDGER_FILE, O_RDWR | O_CREAT | PG_BINARY,
						   pg_file_create_mode);
	if (fd < 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("juheid: could not open file \"%s\": %m", JUHE_LEDGER_FILE)));
		goto done;
	}

	open = open_requests(cxt);
	reader_open(&rd, fd);
	while (reader_next(&rd, &rec))
	{
		records++;
		sum->max_id = Max(sum->max_id, rec.id);
		if (track_open(open, &rec))
		{
			sent++;
			continue;
		}
		if (counts_today(&rec, sum->day))
			sum->billed_today++;
		if (cutoff != 0 && rec.at < cutoff)
			sum->pruned++;
		else if (sum->oldest_at == 0 || rec.at < sum->oldest_at)
			sum->oldest_at = rec.at;
	}
	sum->skipped_bytes = rd.skipped;

	/* a torn record at the end: cut it off before anything is appended */
	if (fstat(fd, &st) == 0 && st.st_size > rd.valid_end &&
		ftruncate(fd, rd.valid_end) != 0)
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("juheid: could not truncate file \"%s\": %m", JUHE_LEDGER_FILE)));

	/* requests whose process died before their fate was known */
	hash_seq_init(&seq, open);
	while ((oe = hash_seq_search(&seq)) != NULL)
	{
		JuheTag		tag;

		tag_from_record(&tag, &oe->rec);
		juhe_ledger_fill_record(&rec, &tag, JUHE_FATE_IN_DOUBT, 0, -1, NULL, now);
		if (juhe_ledger_append(&rec))
		{
			sum->orphans++;
			sum->billed_today++;
			if (sum->oldest_at == 0)
				sum->oldest_at = now;
		}
	}

	/* compact: results only, within the retention, no unreadable bytes */
	if (sent > 0 || sum->pruned > 0 || sum->skipped_bytes > 0)
	{
		hash_destroy(open);		/* every request has its result now */
		if (!compact(fd, cutoff, NULL))
			sum->pruned = 0;
	}
	else if (sum->orphans > 0)
		(void) pg_fsync(fd);
	close(fd);
	if (ledger_fd >= 0)
	{
		close(ledger_fd);		/* the postmaster appended: children reopen */
		ledger_fd = -1;
	}

	if (sum->oldest_at == 0)
		sum->oldest_at = now;
	if (sum->orphans > 0 || sum->skipped_bytes > 0 || sum->pruned > 0)
		ereport(LOG,
				(errmsg("juheid: ledger checked: %lld records, %lld requests whose answer never arrived now marked in doubt, %lld unreadable bytes skipped, %lld results past juhe.ledger_retention_days removed",
						(long long) records, (long long) sum->orphans,
						(long long) sum->skipped_bytes, (long long) sum->pruned)));
done:
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

/* ---------------------------------------------------------------- prune */

int64
juhe_ledger_prune(bool force)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz cutoff;
	TimestampTz oldest = 0;
	MemoryContext cxt,
				old;
	HTAB	   *open;
	LedgerReader rd;
	JuheLedgerRecord rec;
	int64		pruned = 0;
	int			fd;

	if (juhe_ledger_retention_days <= 0 || ledger_shared == NULL)
		return 0;
	cutoff = now - (TimestampTz) juhe_ledger_retention_days * USECS_PER_DAY;
	LWLockAcquire(ledger_lock, LW_SHARED);
	oldest = ledger_shared->oldest_at;
	LWLockRelease(ledger_lock);
	if (!force && oldest >= cutoff)
		return 0;				/* nothing old enough */

	cxt = AllocSetContextCreate(CurrentMemoryContext, "juheid ledger prune",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	LWLockAcquire(ledger_lock, LW_EXCLUSIVE);
	fd = BasicOpenFilePerm(JUHE_LEDGER_FILE, O_RDONLY | PG_BINARY, 0);
	if (fd >= 0)
	{
		open = open_requests(cxt);
		oldest = 0;
		reader_open(&rd, fd);
		while (reader_next(&rd, &rec))
		{
			if (track_open(open, &rec))
				continue;
			if (rec.at < cutoff)
				pruned++;
			else if (oldest == 0 || rec.at < oldest)
				oldest = rec.at;
		}
		if (compact(fd, cutoff, open))
		{
			pg_atomic_fetch_add_u32(&ledger_shared->generation, 1);
			ledger_shared->oldest_at = oldest ? oldest : now;
		}
		else
			pruned = 0;
		close(fd);
	}
	LWLockRelease(ledger_lock);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	if (pruned > 0)
		ereport(LOG,
				(errmsg("juheid: removed %lld results older than juhe.ledger_retention_days (%d) from the ledger",
						(long long) pruned, juhe_ledger_retention_days)));
	return pruned;
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

static void
put_row(ReturnSetInfo *rsinfo, const JuheLedgerRecord *rec, uint64 next_xid)
{
	Datum		v[13];
	bool		n[13] = {0};

	v[0] = Int64GetDatum((int64) rec->id);
	if (rec->orderid[0])
		v[1] = CStringGetTextDatum(rec->orderid);
	else
		n[1] = true;
	v[2] = TimestampTzGetDatum(rec->sent_at);
	if (rec->fate == JUHE_FATE_SENT)
		n[3] = true;
	else
		v[3] = TimestampTzGetDatum(rec->at);
	v[4] = CStringGetTextDatum(rec->datname);
	v[5] = CStringGetTextDatum(rec->rolname);
	v[6] = CStringGetTextDatum(rec->mode < JUHE_NUM_MODES ?
							   juhe_mode_name((JuheMode) rec->mode) : "unknown");
	v[7] = CStringGetTextDatum(via_name(rec->via));
	v[8] = CStringGetTextDatum(fate_name(rec->fate));
	if (rec->fate == JUHE_FATE_BILLED && (rec->res == 1 || rec->res == 2))
		v[9] = Int32GetDatum(rec->res);
	else
		n[9] = true;
	if (rec->error_code >= 0)
		v[10] = Int32GetDatum(rec->error_code);
	else
		n[10] = true;
	/* pg_xact_status() errors on an xid from the future (another cluster's) */
	if (rec->xid != 0 && rec->xid < next_xid)
		v[11] = FullTransactionIdGetDatum(FullTransactionIdFromU64(rec->xid));
	else
		n[11] = true;
	v[12] = Int32GetDatum(rec->pid);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
}

Datum
juhe_ledger_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint64		next_xid = U64FromFullTransactionId(ReadNextFullTransactionId());
	HTAB	   *open;
	HASH_SEQ_STATUS seq;
	OpenEntry  *oe;
	LedgerReader rd;
	JuheLedgerRecord rec;
	int			fd;

	juhe_account_require_reader("the juheid ledger");
	InitMaterializedSRF(fcinfo, 0);

	fd = BasicOpenFilePerm(JUHE_LEDGER_FILE, O_RDONLY | PG_BINARY, 0);
	if (fd < 0)
	{
		if (errno == ENOENT)
			PG_RETURN_VOID();
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", JUHE_LEDGER_FILE)));
	}
	open = open_requests(CurrentMemoryContext);
	reader_open(&rd, fd);
	PG_TRY();
	{
		while (reader_next(&rd, &rec))
		{
			CHECK_FOR_INTERRUPTS();
			if (track_open(open, &rec))
				continue;
			if (rec.fate == JUHE_FATE_BILLED || rec.fate == JUHE_FATE_IN_DOUBT)
				put_row(rsinfo, &rec, next_xid);
		}
		/* requests on their way right now */
		hash_seq_init(&seq, open);
		while ((oe = hash_seq_search(&seq)) != NULL)
			put_row(rsinfo, &oe->rec, next_xid);
	}
	PG_FINALLY();
	{
		close(fd);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}
