/*
 * stats.c
 *		The cluster's statistics, in shared memory (this backend's own
 *		counters are counters.c's).
 *
 *	juhe_stats_rows()    → one row per database, role and mode (the
 *	                        juhe_stats view joins the names)
 *	juhe_stats_reset()
 *
 * The cluster's counters live in a shared hash table under one LWLock (an
 * update is a few additions, next to an HTTP request).  They are saved to
 * pg_stat/juheid.stat when the server shuts down cleanly and read back at
 * the next start, as pg_stat_statements does; the file is removed once
 * read, so a crash loses them rather than bringing back stale ones.  A file
 * whose checksum does not match is ignored.
 */
#include "postgres.h"

#include <unistd.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/hsearch.h"
#include "utils/tuplestore.h"

#include "preload.h"
#include "result.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(juhe_stats_rows);
PG_FUNCTION_INFO_V1(juhe_stats_reset);

#define STATS_MAX_ENTRIES	1000
#define STATS_CODES			16	/* service error codes kept per entry */
#define STATS_BUCKETS		12
#define STATS_FILE			"pg_stat/juheid.stat"
#define STATS_FILE_TMP		"pg_stat/juheid.stat.tmp"
#define STATS_MAGIC			0x4A485331	/* "JHS1" */

/* upper bounds of the latency buckets, ms; the last one is open */
static const double bucket_ms[STATS_BUCKETS] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, -1
};

typedef struct StatsKey
{
	Oid			dbid;
	Oid			roleid;
	int32		mode;			/* -1: entries that did not fit */
} StatsKey;

typedef struct StatsEntry
{
	StatsKey	key;
	int64		c[JUHE_CS_NUM];
	double		total_time_ms;
	int64		buckets[STATS_BUCKETS];
	int32		codes[STATS_CODES]; /* 0 = unused slot; the last slot also
									 * takes every code that did not fit */
	int64		code_counts[STATS_CODES];
} StatsEntry;

typedef struct StatsFileHeader
{
	uint32		magic;
	uint32		entry_size;
	int32		n;
} StatsFileHeader;

static HTAB *stats_hash = NULL;
static LWLock *stats_lock = NULL;

Size
juhe_stats_shmem_size(void)
{
	return hash_estimate_size(STATS_MAX_ENTRIES + 1, sizeof(StatsEntry));
}

void
juhe_stats_shmem_init(LWLock *lock)
{
	HASHCTL		ctl;

	stats_lock = lock;
	ctl.keysize = sizeof(StatsKey);
	ctl.entrysize = sizeof(StatsEntry);
	stats_hash = ShmemInitHash("juheid stats", STATS_MAX_ENTRIES + 1,
							   STATS_MAX_ENTRIES + 1, &ctl,
							   HASH_ELEM | HASH_BLOBS);
}

/* the entry of a key, created if need be; caller holds the lock exclusively */
static StatsEntry *
entry_for(Oid dbid, Oid roleid, int mode)
{
	StatsKey	key;
	StatsEntry *e;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.dbid = dbid;
	key.roleid = roleid;
	key.mode = mode;
	if (hash_get_num_entries(stats_hash) >= STATS_MAX_ENTRIES)
	{
		e = hash_search(stats_hash, &key, HASH_FIND, NULL);
		if (e)
			return e;
		/* full: count it under the catch-all entry */
		key.dbid = InvalidOid;
		key.roleid = InvalidOid;
		key.mode = -1;
	}
	e = hash_search(stats_hash, &key, HASH_ENTER_NULL, &found);
	if (e == NULL)
		return NULL;
	if (!found)
	{
		memset(((char *) e) + sizeof(StatsKey), 0, sizeof(StatsEntry) - sizeof(StatsKey));
	}
	return e;
}

void
juhe_stats_count(JuheMode mode, JuheClusterStat which, int64 n)
{
	StatsEntry *e;

	if (stats_hash == NULL || n == 0)
		return;
	LWLockAcquire(stats_lock, LW_EXCLUSIVE);
	e = entry_for(MyDatabaseId, GetUserId(), (int) mode);
	if (e)
		e->c[which] += n;
	LWLockRelease(stats_lock);
}

static void
count_code(StatsEntry *e, int code)
{
	for (int i = 0; i < STATS_CODES; i++)
	{
		if (e->codes[i] == code || e->codes[i] == 0 || i == STATS_CODES - 1)
		{
			if (e->codes[i] == 0)
				e->codes[i] = (i == STATS_CODES - 1) ? -1 : code;
			else if (i == STATS_CODES - 1 && e->codes[i] != code)
				e->codes[i] = -1;
			e->code_counts[i]++;
			return;
		}
	}
}

void
juhe_stats_settled(const JuheTag *tag, JuheFate fate, int res, int error_code,
				   bool transport_failure, double elapsed_ms)
{
	StatsEntry *e;
	int			b;

	if (stats_hash == NULL)
		return;
	LWLockAcquire(stats_lock, LW_EXCLUSIVE);
	e = entry_for(tag->dbid, tag->roleid, tag->mode);
	if (e)
	{
		if (fate == JUHE_FATE_BILLED)
		{
			e->c[JUHE_CS_BILLED]++;
			if (res == 1)
				e->c[JUHE_CS_MATCHES]++;
			else if (res == 2)
				e->c[JUHE_CS_MISMATCHES]++;
		}
		else if (fate == JUHE_FATE_IN_DOUBT)
			e->c[JUHE_CS_IN_DOUBT]++;
		if (transport_failure)
			e->c[JUHE_CS_TRANSPORT_FAILURES]++;
		else if (error_code > 0)
		{
			e->c[JUHE_CS_SERVICE_ERRORS]++;
			count_code(e, error_code);
		}
		e->total_time_ms += elapsed_ms;
		for (b = 0; b < STATS_BUCKETS - 1; b++)
			if (elapsed_ms <= bucket_ms[b])
				break;
		e->buckets[b]++;
	}
	LWLockRelease(stats_lock);
}

/* ---------------------------------------------------------------- file */

/*
 * An entry as 1.1 saved it: one counter fewer (no reuses), the rest the
 * same, 8 bytes earlier.  Read into the current layout with reuses 0.
 */
#define STATS_ENTRY_1_1_SIZE (sizeof(StatsEntry) - sizeof(int64))

static void
entry_from_1_1(StatsEntry *e, const char *old)
{
	size_t		head = offsetof(StatsEntry, c) + sizeof(int64) * JUHE_CS_REUSES;
	size_t		tail = offsetof(StatsEntry, total_time_ms);

	memset(e, 0, sizeof(*e));
	memcpy(e, old, head);
	memcpy((char *) e + tail, old + head, sizeof(StatsEntry) - tail);
}

void
juhe_stats_load(void)
{
	FILE	   *f = AllocateFile(STATS_FILE, PG_BINARY_R);
	StatsFileHeader h;
	char	   *buf = NULL;
	size_t		esize;
	pg_crc32c	crc,
				stored;

	if (f == NULL)
		return;
	if (fread(&h, sizeof(h), 1, f) != 1 || h.magic != STATS_MAGIC ||
		(h.entry_size != sizeof(StatsEntry) && h.entry_size != STATS_ENTRY_1_1_SIZE) ||
		h.n < 0 || h.n > STATS_MAX_ENTRIES + 1)
		goto bad;
	esize = h.entry_size;
	buf = palloc(esize * Max(h.n, 1));
	if (h.n > 0 && fread(buf, esize, h.n, f) != (size_t) h.n)
		goto bad;
	if (fread(&stored, sizeof(stored), 1, f) != 1)
		goto bad;
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &h, sizeof(h));
	COMP_CRC32C(crc, buf, esize * h.n);
	FIN_CRC32C(crc);
	if (!EQ_CRC32C(crc, stored))
		goto bad;
	for (int i = 0; i < h.n; i++)
	{
		bool		found;
		StatsEntry	one;
		StatsEntry *e;

		if (esize == sizeof(StatsEntry))
			memcpy(&one, buf + i * esize, sizeof(one));
		else
			entry_from_1_1(&one, buf + i * esize);
		e = hash_search(stats_hash, &one.key, HASH_ENTER_NULL, &found);
		if (e)
			*e = one;
	}
	FreeFile(f);
	pfree(buf);
	unlink(STATS_FILE);
	return;
bad:
	ereport(LOG,
			(errmsg("juheid: ignoring file \"%s\": not a valid statistics file", STATS_FILE)));
	FreeFile(f);
	if (buf)
		pfree(buf);
	unlink(STATS_FILE);
}

void
juhe_stats_save(void)
{
	FILE	   *f;
	HASH_SEQ_STATUS seq;
	StatsEntry *e;
	StatsFileHeader h;
	pg_crc32c	crc;

	if (stats_hash == NULL)
		return;
	f = AllocateFile(STATS_FILE_TMP, PG_BINARY_W);
	if (f == NULL)
		goto error;
	memset(&h, 0, sizeof(h));
	h.magic = STATS_MAGIC;
	h.entry_size = sizeof(StatsEntry);
	h.n = (int32) hash_get_num_entries(stats_hash);
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &h, sizeof(h));
	if (fwrite(&h, sizeof(h), 1, f) != 1)
		goto error;
	hash_seq_init(&seq, stats_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		COMP_CRC32C(crc, e, sizeof(StatsEntry));
		if (fwrite(e, sizeof(StatsEntry), 1, f) != 1)
		{
			hash_seq_term(&seq);
			goto error;
		}
	}
	FIN_CRC32C(crc);
	if (fwrite(&crc, sizeof(crc), 1, f) != 1 || FreeFile(f) != 0)
	{
		f = NULL;
		goto error;
	}
	f = NULL;
	(void) durable_rename(STATS_FILE_TMP, STATS_FILE, LOG);
	return;
error:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("juheid: could not write file \"%s\": %m", STATS_FILE_TMP)));
	if (f)
		FreeFile(f);
	unlink(STATS_FILE_TMP);
}

/* ---------------------------------------------------------------- SQL */

/* the upper bound of the bucket holding the q-quantile, ms; NULL if empty */
static bool
quantile(const StatsEntry *e, double q, double *out)
{
	int64		total = 0,
				seen = 0;

	for (int b = 0; b < STATS_BUCKETS; b++)
		total += e->buckets[b];
	if (total == 0)
		return false;
	for (int b = 0; b < STATS_BUCKETS; b++)
	{
		seen += e->buckets[b];
		if ((double) seen >= q * (double) total)
		{
			/* in the open bucket: above the last bound */
			*out = bucket_ms[b] >= 0 ? bucket_ms[b] : get_float8_infinity();
			return true;
		}
	}
	return false;
}

#define NCOLS (3 + JUHE_CS_NUM + 5 + 2)

Datum
juhe_stats_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	StatsEntry *e;
	StatsEntry *copy;
	int			n = 0,
				cap;

	juhe_require_reader("juheid's statistics");
	InitMaterializedSRF(fcinfo, 0);

	/* copy under the lock, build rows after */
	LWLockAcquire(stats_lock, LW_SHARED);
	cap = (int) hash_get_num_entries(stats_hash);
	copy = palloc(sizeof(StatsEntry) * Max(cap, 1));
	hash_seq_init(&seq, stats_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (n < cap)
			copy[n++] = *e;
	}
	LWLockRelease(stats_lock);

	for (int i = 0; i < n; i++)
	{
		Datum		v[NCOLS];
		bool		nl[NCOLS] = {0};
		Datum		bk[STATS_BUCKETS];
		Datum		codes[STATS_CODES];
		Datum		counts[STATS_CODES];
		int			nc = 0;
		int			k = 0;
		double		p;

		e = &copy[i];
		v[k++] = ObjectIdGetDatum(e->key.dbid);
		v[k++] = ObjectIdGetDatum(e->key.roleid);
		if (e->key.mode >= 0 && e->key.mode < JUHE_NUM_MODES)
			v[k++] = CStringGetTextDatum(juhe_mode_name((JuheMode) e->key.mode));
		else
			nl[k++] = true;
		/* 1.1's counters, in their order; reuses comes last */
		for (int c = 0; c < JUHE_CS_REUSES; c++)
			v[k++] = Int64GetDatum(e->c[c]);
		v[k++] = Float8GetDatum(e->total_time_ms);
		if (quantile(e, 0.5, &p))
			v[k++] = Float8GetDatum(p);
		else
			nl[k++] = true;
		if (quantile(e, 0.95, &p))
			v[k++] = Float8GetDatum(p);
		else
			nl[k++] = true;
		if (quantile(e, 0.99, &p))
			v[k++] = Float8GetDatum(p);
		else
			nl[k++] = true;
		for (int b = 0; b < STATS_BUCKETS; b++)
			bk[b] = Int64GetDatum(e->buckets[b]);
		v[k++] = PointerGetDatum(construct_array(bk, STATS_BUCKETS, INT8OID, 8,
												 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		for (int c = 0; c < STATS_CODES; c++)
			if (e->codes[c] != 0)
			{
				codes[nc] = Int32GetDatum(e->codes[c]);
				counts[nc] = Int64GetDatum(e->code_counts[c]);
				nc++;
			}
		v[k++] = PointerGetDatum(construct_array(codes, nc, INT4OID, 4, true, TYPALIGN_INT));
		v[k++] = PointerGetDatum(construct_array(counts, nc, INT8OID, 8,
												 FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		/* 1.2; a 1.1 juhe_stats_rows() (not updated yet) has no column for it */
		v[k++] = Int64GetDatum(e->c[JUHE_CS_REUSES]);
		Assert(k == NCOLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, nl);
	}
	PG_RETURN_VOID();
}

Datum
juhe_stats_reset(PG_FUNCTION_ARGS)
{
	HASH_SEQ_STATUS seq;
	StatsEntry *e;

	juhe_require_preloaded();
	LWLockAcquire(stats_lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, stats_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
		hash_search(stats_hash, &e->key, HASH_REMOVE, NULL);
	LWLockRelease(stats_lock);
	PG_RETURN_VOID();
}
