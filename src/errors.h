/*
 * errors.h
 *		juheid's SQLSTATEs, the reporting of failed verifications, and the
 *		guard that keeps statement text out of the server log (errors.c).
 *
 * Class JH is juheid's own (SQL reserves classes starting with I-Z for
 * implementations).  Provider failures never use class 08: connection
 * pools read 08xxx as "this database connection is dead".
 */
#ifndef JUHEID_ERRORS_H
#define JUHEID_ERRORS_H

#include "postgres.h"

/* verification outcomes the signup trigger rejects */
#define ERRCODE_JUHE_MISMATCH		MAKE_SQLSTATE('J','H','0','0','1')
#define ERRCODE_JUHE_NOT_VERIFIED	MAKE_SQLSTATE('J','H','0','0','2')
#define ERRCODE_JUHE_INVALID		MAKE_SQLSTATE('J','H','0','0','3')
#define ERRCODE_JUHE_MISSING		MAKE_SQLSTATE('J','H','0','0','4')

/* provider failures: what the caller may do next differs */
#define ERRCODE_JUHE_NOT_SENT		MAKE_SQLSTATE('J','H','0','1','0')	/* nothing billed: safe to retry */
#define ERRCODE_JUHE_MAYBE_BILLED	MAKE_SQLSTATE('J','H','0','1','1')	/* sent, no answer: may be billed */
#define ERRCODE_JUHE_BAD_ANSWER		MAKE_SQLSTATE('J','H','0','1','2')	/* answered, but unusable */
#define ERRCODE_JUHE_BILLED_UNKNOWN	MAKE_SQLSTATE('J','H','0','1','3')	/* billed, result unknown */

/* spending limits: nothing was sent */
#define ERRCODE_JUHE_DAILY_CAP		MAKE_SQLSTATE('J','H','0','2','0')	/* juhe.max_billed_per_day */
#define ERRCODE_JUHE_STATEMENT_CAP	MAKE_SQLSTATE('J','H','0','2','1')	/* juhe.max_requests_per_statement */

/* where nothing may be sent */
#define ERRCODE_JUHE_STANDBY		MAKE_SQLSTATE('J','H','0','3','0')	/* a hot standby */

struct JuheItem;

/* what became of the row (the trigger's on_failure) */
typedef enum JuheOutcome
{
	JUHE_OUTCOME_FAILED,		/* the call fails: elevel ERROR */
	JUHE_OUTCOME_ACCEPTED,		/* the row goes in unverified: WARNING */
	JUHE_OUTCOME_SKIPPED,		/* the row is dropped: WARNING */
	JUHE_OUTCOME_DEFERRED		/* the row goes in, to be verified later:
								 * WARNING */
} JuheOutcome;

/*
 * Report why an item has no answer.  ERROR for JUHE_OUTCOME_FAILED (does
 * not return), WARNING otherwise.  who, if not NULL, is a complete sentence
 * added to the detail (the trigger names itself and the masked person).
 */
extern void juhe_report_failure(const struct JuheItem *item, JuheOutcome outcome,
								const char *who);

/*
 * Every entry point that may send (juhe_verify, juhe_verify_many,
 * juhe_verify_table, the signup trigger), before anything else: ERROR
 * JH030 on a server in recovery.  A standby's requests would be billed
 * outside the primary's ledger and daily limit.
 */
extern void juhe_require_primary(void);

/*
 * The personal-data guard: an error context callback, pushed by every SQL
 * entry point that handles names and ID numbers, that marks every message
 * raised below it (juheid's own and PostgreSQL's) so the server log omits
 * the statement text and the context lines (which may quote literal names
 * and IDs).  The client still gets all of it.  Pop it on normal return; an
 * error unwinds it by itself.
 */
extern void juhe_guard_push(ErrorContextCallback *cb);
extern void juhe_guard_pop(ErrorContextCallback *cb);

#endif							/* JUHEID_ERRORS_H */
