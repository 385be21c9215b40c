/*
 * trigger.h
 *		What other stages need of the signup trigger (trigger.c).
 */
#ifndef JUHEID_TRIGGER_H
#define JUHEID_TRIGGER_H

#include "postgres.h"

#include "storage/itemptr.h"

#include "response.h"

/*
 * juheid's table job (table_job.c) writing the answer it got for one row:
 * the juhe_verify_trigger of that table writes the answer into the columns
 * it owns, instead of keeping their old values, if and only if the UPDATE
 * is of exactly that row (relation and ctid), leaves the trigger's own name
 * and ID columns as they were, and they are the identity that was verified
 * (name and idcard as sent, normalised).  Anything else is any other
 * UPDATE.  A permit serves one row once; set from C only, around one
 * UPDATE, with juhe_trigger_permit() and juhe_trigger_permit_end().
 */
typedef struct JuheTriggerPermit
{
	Oid			relid;
	ItemPointerData ctid;
	const char *name;
	const char *idcard;
	const JuheAnswer *answer;
	bool		used;			/* set by the trigger that applied it */
} JuheTriggerPermit;

extern void juhe_trigger_permit(JuheTriggerPermit *permit);
extern void juhe_trigger_permit_end(void);

#endif							/* JUHEID_TRIGGER_H */
