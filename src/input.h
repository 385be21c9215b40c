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

#endif							/* JUHEID_INPUT_H */
