/*
 * input.h
 *		From SQL arguments to the normalised UTF-8 strings that are sent
 *		(input.c).
 */
#ifndef JUHEID_INPUT_H
#define JUHEID_INPUT_H

#include "postgres.h"

#include "fmgr.h"

#include "verify.h"

extern void juhe_prepare_item(JuheItem *item, text *realname, text *idcard);

/*
 * The reuse argument of 1.2's overloads, at 0-based argno: true when the
 * caller has no such argument (1.1's form) or passes NULL
 */
extern bool juhe_reuse_arg(FunctionCallInfo fcinfo, int argno);

/*
 * Do realname and idcard, normalised as juhe_prepare_item does it, give
 * exactly name and id (an item's)?  Counts nothing.
 */
/* the item's person, masked ("name \"张*\", ID \"110105********002X\""), for messages */
extern char *juhe_masked_person(const JuheItem *item);

extern bool juhe_same_identity(text *realname, text *idcard, const char *name,
							   const char *id);

#endif							/* JUHEID_INPUT_H */
