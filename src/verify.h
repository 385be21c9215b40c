/*
 * verify.h
 *		One verification through the pipeline (verify.c): the item that
 *		carries a name and an ID in and an answer, or the reason there is
 *		none, out.
 */
#ifndef JUHEID_VERIFY_H
#define JUHEID_VERIFY_H

#include "postgres.h"

#include "account.h"
#include "guc.h"
#include "response.h"
#include "transport.h"

typedef enum JuheFailure
{
	JUHE_FAIL_NONE = 0,
	JUHE_FAIL_NOT_SENT,			/* transport failed before the request was
								 * complete (resolve, connect, TLS): not billed */
	JUHE_FAIL_LOST,				/* request sent, then no complete answer
								 * (timeout, dropped connection): may be billed */
	JUHE_FAIL_HTTP,				/* non-2xx status */
	JUHE_FAIL_TOO_LARGE,		/* answer over juhe.max_response_kb */
	JUHE_FAIL_PARSE,			/* malformed JSON or unknown res */
	JUHE_FAIL_DAILY_CAP,		/* juhe.max_billed_per_day reached: not sent */
	JUHE_FAIL_STATEMENT_CAP,	/* juhe.max_requests_per_statement reached:
								 * not sent */
	JUHE_FAIL_NO_LEDGER			/* its "sent" record could not be written:
								 * not sent */
} JuheFailure;

typedef struct JuheItem
{
	/* input: NUL-terminated UTF-8, already normalised */
	const char *name;
	const char *idcard;
	/* output */
	JuheAnswer	answer;			/* valid when done */
	bool		done;
	bool		local;			/* answered by local validation */
	/* why there is no answer (done = false), for juhe_report_failure() */
	JuheFailure failure;
	JuheHttpPhase phase;		/* how far the last attempt got */
	int			curl_code;
	long		http_status;
	int			parse_status;
	int			attempts;		/* requests started for this item */
	int			saved_errno;	/* JUHE_FAIL_NO_LEDGER: why */
	bool		unrecorded;		/* its billed answer is not in the ledger
								 * file yet (kept in shared memory) */
	int			timeout_ms;		/* the limits in force */
	int			connect_timeout_ms;
	size_t		max_response_bytes;
} JuheItem;

/* the most requests one bulk call may keep in flight */
#define JUHE_MAX_PARALLEL 64

/* error unless 1 <= parallel <= JUHE_MAX_PARALLEL */
extern void juhe_check_parallel(int parallel);

/* the item failed in a way that cannot have been billed */
extern bool juhe_item_never_billed(const JuheItem *it);

/*
 * reuse: an answer billed earlier for the same person within
 * juhe.reuse_answers_for is given again without a request (reuse.c)
 */
extern void juhe_verify_items(JuheItem *items, int nitems, JuheMode mode,
							  int max_parallel, JuheVia via, bool reuse);

#endif							/* JUHEID_VERIFY_H */
