/*
 * input.h
 *		From SQL arguments to the normalised UTF-8 strings that are sent
 *		(input.c).
 */
#ifndef JUHEID_INPUT_H
#define JUHEID_INPUT_H

#include "postgres.h"

#include "verify.h"

extern void juhe_prepare_item(JuheItem *item, text *realname, text *idcard);

/*
 * Do realname and idcard, normalised as juhe_prepare_item does it, give
 * exactly name and id (an item's)?  Counts nothing.
 */
/* the item's person, masked ("name \"张*\", ID \"110105********002X\""), for messages */
extern char *juhe_masked_person(const JuheItem *item);

extern bool juhe_same_identity(text *realname, text *idcard, const char *name,
							   const char *id);

#endif							/* JUHEID_INPUT_H */
