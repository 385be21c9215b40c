/*
 * reuse.h
 *		Billed answers given again without a request (reuse.c): the keyed
 *		digest of a person, and the index in shared memory of the answers
 *		the ledger keeps, by digest.
 *
 * The ledger keeps the digest with each billed answer about the person
 * (res 1 or 2); the index is built from the file at the server start,
 * follows every append (and, on a standby, every replayed record), and
 * loses what the ledger's retention prunes.
 */
#ifndef JUHEID_REUSE_H
#define JUHEID_REUSE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/lwlock.h"

#include "guc.h"
#include "ledger.h"
#include "response.h"

extern Size juhe_reuse_shmem_size(void);
extern void juhe_reuse_shmem_init(LWLock *lock);

/*
 * The person's digest: HMAC-SHA-256 under juhe.digest_key of the base URL,
 * the normalised name and ID number.  False (nothing written) without a key.
 */
extern bool juhe_reuse_digest(const JuheConfig *cfg, const char *name,
							  const char *idcard, uint8 *digest);

/* a ledger record appended, replayed or read at the start */
extern void juhe_reuse_note(const JuheLedgerRecord *rec);

/*
 * The billed answer for this digest received within juhe.reuse_answers_for
 * (and juhe.ledger_retention_days), as a reused answer; false if none.
 */
extern bool juhe_reuse_lookup(const JuheConfig *cfg, const uint8 *digest,
							  JuheAnswer *answer);

/* answers received before cutoff go (a prune); or all (recovery's cut) */
extern void juhe_reuse_forget_before(TimestampTz cutoff);
extern void juhe_reuse_forget_all(void);

#endif							/* JUHEID_REUSE_H */
