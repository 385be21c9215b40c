/*
 * reuse.c
 *		Billed answers given again without a request.
 *
 * With juhe.digest_key set, each billed answer about the person (res 1 or
 * 2) carries into the ledger a digest of the person: HMAC-SHA-256 under
 * that key of "juheid-answer-v1|" and the length-prefixed base URL,
 * normalised name and ID number.  The ledger never holds the name or the
 * ID number; without the key the digest cannot be recomputed, and the key
 * is readable by superusers only.
 *
 * The index here maps a digest to the newest such answer (when, which
 * ledger record, res, order id).  It lives in shared memory, a fixed-size
 * hash table of juhe.reuse_max_answers entries under one LWLock, and is
 * built from the ledger file at every server start (juhe_ledger_startup's
 * scan), kept up by every append (account.c) and, during recovery, by
 * every replayed record; recovery's cut of the file empties it and
 * rebuilds it from what is left.  When it is full the oldest eighth is
 * dropped: an answer that is no longer in the index only costs a new
 * request.
 *
 * A lookup gives an answer received within juhe.reuse_answers_for (and
 * within juhe.ledger_retention_days, whose prune removes the digests with
 * their records).  Two backends that verify the same person at the same
 * moment both send: there is no waiting for another backend's answer.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "storage/shmem.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "reuse.h"

typedef struct ReuseEntry
{
	uint8		digest[JUHE_TAG_DIGEST_LEN];	/* hash key */
	TimestampTz at;				/* when the answer was received */
	uint64		id;				/* its ledger record */
	int8		res;
	char		orderid[JUHE_LEDGER_ORDERID_LEN];
} ReuseEntry;

static HTAB *reuse_hash = NULL;
static LWLock *reuse_lock = NULL;

Size
juhe_reuse_shmem_size(void)
{
	if (juhe_reuse_max_answers <= 0)
		return 0;
	return hash_estimate_size(juhe_reuse_max_answers, sizeof(ReuseEntry));
}

void
juhe_reuse_shmem_init(LWLock *lock)
{
	HASHCTL		ctl;

	reuse_lock = lock;
	if (juhe_reuse_max_answers <= 0)
		return;
	ctl.keysize = JUHE_TAG_DIGEST_LEN;
	ctl.entrysize = sizeof(ReuseEntry);
	reuse_hash = ShmemInitHash("juheid answers to reuse",
							   juhe_reuse_max_answers, juhe_reuse_max_answers,
							   &ctl, HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
}

bool
juhe_reuse_digest(const JuheConfig *cfg, const char *name, const char *idcard,
				  uint8 *digest)
{
	StringInfoData buf;
	bool		ok;

	if (cfg->digest_key == NULL)
		return false;
	/* length-prefixed fields, so no two inputs share an encoding */
	initStringInfo(&buf);
	appendStringInfo(&buf, "juheid-answer-v1|%zu:%s|%zu:%s|%zu:%s",
					 strlen(cfg->base_url), cfg->base_url,
					 strlen(name), name,
					 strlen(idcard), idcard);
	ok = juhe_hmac_sha256((const unsigned char *) cfg->digest_key,
						  strlen(cfg->digest_key),
						  (const unsigned char *) buf.data, buf.len, digest);
	explicit_bzero(buf.data, buf.len);
	pfree(buf.data);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not compute the digest of an answer")));
	return true;
}

static bool
digest_is_zero(const uint8 *d)
{
	for (int i = 0; i < JUHE_TAG_DIGEST_LEN; i++)
		if (d[i] != 0)
			return false;
	return true;
}

static int
cmp_ts(const void *a, const void *b)
{
	TimestampTz x = *(const TimestampTz *) a;
	TimestampTz y = *(const TimestampTz *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* caller holds the lock exclusively: drop the oldest eighth */
static void
make_room(void)
{
	long		n = hash_get_num_entries(reuse_hash);
	TimestampTz *ats;
	TimestampTz limit;
	HASH_SEQ_STATUS seq;
	ReuseEntry *e;
	long		k = 0;

	if (n == 0)
		return;
	ats = palloc(sizeof(TimestampTz) * n);
	hash_seq_init(&seq, reuse_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (k < n)
			ats[k++] = e->at;
	qsort(ats, k, sizeof(TimestampTz), cmp_ts);
	limit = ats[Min(k - 1, Max(k / 8, 1) - 1)];
	pfree(ats);
	hash_seq_init(&seq, reuse_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (e->at <= limit)
			hash_search(reuse_hash, e->digest, HASH_REMOVE, NULL);
}

void
juhe_reuse_note(const JuheLedgerRecord *rec)
{
	ReuseEntry *e;
	bool		found;

	if (reuse_hash == NULL || rec->fate != JUHE_FATE_BILLED ||
		rec->error_code != 0 || (rec->res != 1 && rec->res != 2) ||
		digest_is_zero(rec->digest))
		return;
	LWLockAcquire(reuse_lock, LW_EXCLUSIVE);
	e = hash_search(reuse_hash, rec->digest, HASH_FIND, NULL);
	if (e == NULL)
	{
		if (hash_get_num_entries(reuse_hash) >= juhe_reuse_max_answers)
			make_room();
		e = hash_search(reuse_hash, rec->digest, HASH_ENTER_NULL, &found);
		if (e == NULL)
		{
			LWLockRelease(reuse_lock);
			return;
		}
		e->at = PG_INT64_MIN;
	}
	/* the newest answer about the person is the one given again */
	if (rec->at >= e->at)
	{
		e->at = rec->at;
		e->id = rec->id;
		e->res = rec->res;
		memcpy(e->orderid, rec->orderid, JUHE_LEDGER_ORDERID_LEN);
		e->orderid[JUHE_LEDGER_ORDERID_LEN - 1] = '\0';
	}
	LWLockRelease(reuse_lock);
}

bool
juhe_reuse_lookup(const JuheConfig *cfg, const uint8 *digest, JuheAnswer *answer)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz not_before;
	ReuseEntry *e;
	ReuseEntry	hit;
	struct pg_tm tm;
	fsec_t		fsec;

	if (reuse_hash == NULL || cfg->reuse_for_s <= 0)
		return false;
	not_before = Max(now - (TimestampTz) cfg->reuse_for_s * USECS_PER_SEC,
					 juhe_ledger_retention_cutoff(now));

	LWLockAcquire(reuse_lock, LW_SHARED);
	e = hash_search(reuse_hash, digest, HASH_FIND, NULL);
	if (e != NULL)
		hit = *e;
	LWLockRelease(reuse_lock);
	if (e == NULL || hit.at < not_before)
		return false;

	memset(answer, 0, sizeof(*answer));
	answer->error_code = 0;
	answer->res = hit.res;
	strlcpy(answer->orderid, hit.orderid, sizeof(answer->orderid));
	answer->has_orderid = answer->orderid[0] != '\0';
	answer->reused_at = hit.at;
	if (timestamp2tm(hit.at, NULL, &tm, &fsec, NULL, NULL) != 0)
		memset(&tm, 0, sizeof(tm));
	snprintf(answer->reason, sizeof(answer->reason),
			 "reused answer of %04d-%02d-%02d %02d:%02d:%02d UTC (ledger id " UINT64_FORMAT "), no request sent",
			 tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 hit.id);
	return true;
}

void
juhe_reuse_forget_before(TimestampTz cutoff)
{
	HASH_SEQ_STATUS seq;
	ReuseEntry *e;

	/* PG_INT64_MIN: no retention, nothing to forget */
	if (reuse_hash == NULL || cutoff == PG_INT64_MIN)
		return;
	LWLockAcquire(reuse_lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, reuse_hash);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (e->at < cutoff)
			hash_search(reuse_hash, e->digest, HASH_REMOVE, NULL);
	LWLockRelease(reuse_lock);
}

void
juhe_reuse_forget_all(void)
{
	juhe_reuse_forget_before(PG_INT64_MAX);
}
