/*
 * memo.h
 *		Answers already paid for in this transaction (memo.c).
 */
#ifndef JUHEID_MEMO_H
#define JUHEID_MEMO_H

#include "postgres.h"

#include "guc.h"
#include "response.h"

#define JUHE_DIGEST_LEN 32

extern void juhe_memo_digest(const JuheConfig *cfg, const char *name,
							 const char *idcard, uint8 *digest);
extern bool juhe_memo_lookup(const uint8 *digest, JuheAnswer *answer);
extern void juhe_memo_store(const uint8 *digest, const JuheAnswer *answer);

#endif							/* JUHEID_MEMO_H */
