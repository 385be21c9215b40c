/*
 * memo.c
 *		Answers already paid for in this transaction.
 *
 * SELECT (juhe_verify(n, i)).* calls the function once per output column,
 * and a trigger may see the same person twice in one COPY.  Each billed
 * answer (error_code 0), and each answer given again (reuse.c), is
 * remembered until the end of the transaction, keyed
 * by an HMAC-SHA-256 of (mode, base URL, key, name, ID) under a random
 * per-backend salt: the memo never holds a plaintext name or ID, and it lives
 * in transaction memory, gone at commit or abort.
 */
#include "postgres.h"

#include "access/xact.h"
#include "lib/stringinfo.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "counters.h"
#include "memo.h"

typedef struct MemoEntry
{
	uint8		digest[JUHE_DIGEST_LEN];	/* hash key */
	JuheAnswer	answer;
} MemoEntry;

static HTAB *memo = NULL;
static bool callback_registered = false;
static bool salt_ready = false;
static uint8 salt[32];

/*
 * A rollback throws away rows that hold billed answers.  Every one of them
 * is in the ledger already (with the transaction's outcome); one LOG line
 * says how many, without the statement (it may hold names).
 */
static void
log_discarded_answers(void)
{
	HASH_SEQ_STATUS seq;
	MemoEntry  *e;
	long		n = 0;

	/* answers given again (reuse.c) were billed, and listed, before */
	hash_seq_init(&seq, memo);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (e->answer.reused_at == 0)
			n++;
	if (n == 0)
		return;
	ereport(LOG,
			(errmsg_plural("juheid: transaction rolled back after %ld billed verification; the juhe_ledger view lists it with outcome \"aborted\"",
						   "juheid: transaction rolled back after %ld billed verifications; the juhe_ledger view lists them with outcome \"aborted\"",
						   n, n),
			 errhidestmt(true)));
}

static void
memo_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (memo != NULL)
				log_discarded_answers();
			memo = NULL;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			/* the memory goes with TopTransactionContext */
			memo = NULL;
			break;
		default:
			break;
	}
}

void
juhe_memo_digest(const JuheConfig *cfg, const char *name, const char *idcard,
				 uint8 *digest)
{
	StringInfoData buf;

	if (!salt_ready)
	{
		if (!juhe_random_bytes(salt, sizeof(salt)))
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("could not generate random bytes")));
		salt_ready = true;
	}
	/* length-prefixed fields, so no two inputs share an encoding */
	initStringInfo(&buf);
	appendStringInfo(&buf, "%d|%zu:%s|%zu:%s|%zu:%s|%zu:%s",
					 (int) cfg->mode,
					 strlen(cfg->base_url), cfg->base_url,
					 strlen(cfg->key), cfg->key,
					 strlen(name), name,
					 strlen(idcard), idcard);
	if (!juhe_hmac_sha256(salt, sizeof(salt), (uint8 *) buf.data, buf.len, digest))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not compute a memo key")));
	explicit_bzero(buf.data, buf.len);
	pfree(buf.data);
}

bool
juhe_memo_lookup(const uint8 *digest, JuheAnswer *answer)
{
	MemoEntry  *e;

	if (memo == NULL)
		return false;
	e = hash_search(memo, digest, HASH_FIND, NULL);
	if (e == NULL)
		return false;
	*answer = e->answer;
	juhe_backend_count(JUHE_BC_MEMO_HITS, 1);
	return true;
}

void
juhe_memo_store(const uint8 *digest, const JuheAnswer *answer)
{
	MemoEntry  *e;

	if (answer->error_code != JUHE_CODE_BILLED)
		return;
	if (!IsTransactionState())
		return;
	if (memo == NULL)
	{
		HASHCTL		ctl;

		if (!callback_registered)
		{
			RegisterXactCallback(memo_xact_callback, NULL);
			callback_registered = true;
		}
		ctl.keysize = JUHE_DIGEST_LEN;
		ctl.entrysize = sizeof(MemoEntry);
		ctl.hcxt = TopTransactionContext;
		memo = hash_create("juheid memo", 64, &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(memo, digest, HASH_ENTER, NULL);
	e->answer = *answer;
}
