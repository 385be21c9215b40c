/*
 * tag.h
 *		The vocabulary of a request, shared by whoever records it: which
 *		entry point sent it, who sent it (the tag it carries, also into the
 *		gateway's slot), and how it ended.  The ledger (ledger.c) writes
 *		these into its records, the cluster statistics (stats.c) count by
 *		them, accounting (account.c) fills them in.
 */
#ifndef JUHEID_TAG_H
#define JUHEID_TAG_H

#include "postgres.h"

#include "datatype/timestamp.h"

/* which entry point a request came from */
typedef enum JuheVia
{
	JUHE_VIA_FUNCTION = 1,		/* juhe_verify() */
	JUHE_VIA_TRIGGER,			/* juhe_verify_trigger() */
	JUHE_VIA_BULK				/* batch entry points */
} JuheVia;

#define JUHE_TAG_NAME_LEN 64
#define JUHE_TAG_DIGEST_LEN 32	/* HMAC-SHA-256 */

/* who sent a request, carried with it (also into the gateway's slot) */
typedef struct JuheTag
{
	uint64		id;				/* ledger id; 0 once settled */
	TimestampTz sent_at;
	uint64		xid;			/* FullTransactionId of the caller's
								 * (sub)transaction; 0 if none */
	Oid			dbid;
	Oid			roleid;
	int32		pid;
	uint8		via;			/* JuheVia */
	uint8		mode;			/* JuheMode */
	char		datname[JUHE_TAG_NAME_LEN];
	char		rolname[JUHE_TAG_NAME_LEN];
	bool		has_digest;		/* digest is the person's (reuse.c), kept
								 * with a billed answer */
	uint8		digest[JUHE_TAG_DIGEST_LEN];
} JuheTag;

/* how a request ended, for the ledger */
typedef enum JuheFate
{
	JUHE_FATE_SENT = 1,			/* ledger only: opened, not settled yet */
	JUHE_FATE_BILLED,			/* error_code 0 */
	JUHE_FATE_IN_DOUBT,			/* sent, no usable answer: may be billed */
	JUHE_FATE_NOT_BILLED		/* never sent, turned away, or a service error */
} JuheFate;

#endif							/* JUHEID_TAG_H */
