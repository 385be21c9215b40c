/*
 * errors.h
 *		juheid's SQLSTATEs, the reporting of failed verifications, and the
 *		guard that keeps statement text out of the server log.
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

struct JuheItem;

/*
 * Report why an item has no answer, at elevel (ERROR does not return).
 * outcome, if not NULL, leads the message ("row accepted without
 * verification: ..."); extra_detail, if not NULL, is appended to the detail
 * (the trigger names itself and the masked person there).
 */
extern void juhe_report_failure(int elevel, const struct JuheItem *item,
								const char *outcome, const char *extra_detail);

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
