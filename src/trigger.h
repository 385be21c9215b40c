/*
 * trigger.h
 *		What other stages need of the signup trigger (trigger.c).
 */
#ifndef JUHEID_TRIGGER_H
#define JUHEID_TRIGGER_H

#include "postgres.h"

/*
 * While juheid's own table job (table_job.c) writes the answers it got
 * into a table, the juhe_verify_trigger on that table lets the UPDATE
 * through unchanged (it would otherwise keep the old, empty result).  Set
 * only around that UPDATE, from C: nothing in SQL can set it.
 */
extern Oid	juhe_trigger_passthrough_relid;

#endif							/* JUHEID_TRIGGER_H */
