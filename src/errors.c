/*
 * errors.c
 *		How failed verifications are reported, and the personal-data guard.
 *
 * A failure is sorted by what it means for the bill, because that decides
 * what the application may do next:
 *
 *	JH010  nothing was sent (resolve, connect, TLS, connect timeout):
 *	       nothing billed, safe to try again later
 *	JH011  the request was sent and no complete answer came back (timeout,
 *	       dropped connection): it may have been billed; juheid does not
 *	       send it again, and the caller should reconcile before retrying
 *	JH012  the service answered something unusable (HTTP error status,
 *	       not JSON, too large)
 *	JH013  a billed answer (error_code 0) without a known result; the
 *	       detail keeps the order id
 *	JH020  juhe.max_billed_per_day is reached: nothing sent
 *	JH021  juhe.max_requests_per_statement is reached: nothing sent
 *
 * The spending limits always fail the statement, whatever the trigger's
 * on_failure says: they exist to stop it.
 *
 * No message shows libcurl's own error text (it names the host of the
 * superuser-only juhe.base_url) or any byte of the input: how far a
 * failed transfer got is decided from libcurl's timing information, and
 * each case has sentences of its own.
 *
 * Every report is an ereport() written out where it is raised, its
 * message, detail and hint literals, so that grep finds each of them.
 * Two things are added to each: the primary message goes through
 * errmsg_for(), which puts in front what became of the row (nothing when
 * the call fails), and every detail ends in "%s" for sfx, the trigger's
 * sentence about itself and the masked person after one space ("" when
 * there is none).
 */
#include "postgres.h"

#include <curl/curl.h>

#include "access/xlog.h"
#include "lib/stringinfo.h"

#include "encoding.h"
#include "errors.h"
#include "verify.h"

static int	errmsg_for(JuheOutcome outcome, const char *fmt,...) pg_attribute_printf(2, 3);

/*
 * The primary message of a failure report, for use in ereport() like
 * errmsg(): fmt formatted, after the prefix that says what became of the
 * row; alone when the call fails.
 */
static int
errmsg_for(JuheOutcome outcome, const char *fmt,...)
{
	StringInfoData msg;

	initStringInfo(&msg);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&msg, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&msg, needed);
	}

	if (outcome == JUHE_OUTCOME_ACCEPTED)
		errmsg("row accepted without verification: %s", msg.data);
	else if (outcome == JUHE_OUTCOME_SKIPPED)
		errmsg("row skipped without verification: %s", msg.data);
	else if (outcome == JUHE_OUTCOME_DEFERRED)
		errmsg("row accepted, to be verified later: %s", msg.data);
	else
		errmsg_internal("%s", msg.data);
	pfree(msg.data);
	return 0;					/* return value does not matter */
}

/* a transfer that failed before the request was completely sent */
static void
report_not_sent(int elevel, const JuheItem *it, JuheOutcome outcome, const char *sfx)
{
	int			n = Max(it->attempts, 1);
	bool		timeout = it->curl_code == CURLE_OPERATION_TIMEDOUT;
	int			cto = it->connect_timeout_ms;

	switch (it->phase)
	{
		case JUHE_PHASE_RESOLVE:
			ereport(elevel,
					errcode(ERRCODE_JUHE_NOT_SENT),
					errmsg_for(outcome, "could not resolve the host name of the Juhe service"),
					timeout ?
					errdetail_plural("The host name was not resolved within juhe.connect_timeout_ms (%d ms); nothing was sent (%d attempt).%s",
									 "The host name was not resolved within juhe.connect_timeout_ms (%d ms); nothing was sent (%d attempts).%s",
									 n, cto, n, sfx) :
					errdetail_plural("The host name could not be resolved; nothing was sent (%d attempt).%s",
									 "The host name could not be resolved; nothing was sent (%d attempts).%s",
									 n, n, sfx),
					errhint("Check the host in juhe.base_url and the database server's name resolution."),
					errhidestmt(true));
			break;
		case JUHE_PHASE_CONNECT:
			ereport(elevel,
					errcode(ERRCODE_JUHE_NOT_SENT),
					errmsg_for(outcome, "could not connect to the Juhe service"),
					timeout ?
					errdetail_plural("No connection within juhe.connect_timeout_ms (%d ms); nothing was sent (%d attempt).%s",
									 "No connection within juhe.connect_timeout_ms (%d ms); nothing was sent (%d attempts).%s",
									 n, cto, n, sfx) :
					errdetail_plural("The connection was refused or failed (libcurl error %d); nothing was sent (%d attempt).%s",
									 "The connection was refused or failed (libcurl error %d); nothing was sent (%d attempts).%s",
									 n, it->curl_code, n, sfx),
					errhint("Check juhe.base_url, juhe.proxy and that the service is reachable from the database server."),
					errhidestmt(true));
			break;
		case JUHE_PHASE_TLS:
			ereport(elevel,
					errcode(ERRCODE_JUHE_NOT_SENT),
					errmsg_for(outcome, "could not establish a TLS connection to the Juhe service"),
					timeout ?
					errdetail_plural("The TLS handshake did not finish within juhe.connect_timeout_ms (%d ms); nothing was sent (%d attempt).%s",
									 "The TLS handshake did not finish within juhe.connect_timeout_ms (%d ms); nothing was sent (%d attempts).%s",
									 n, cto, n, sfx) :
					errdetail_plural("The TLS handshake failed or the certificate was not trusted (libcurl error %d); nothing was sent (%d attempt).%s",
									 "The TLS handshake failed or the certificate was not trusted (libcurl error %d); nothing was sent (%d attempts).%s",
									 n, it->curl_code, n, sfx),
					it->curl_code == CURLE_SSL_CACERT_BADFILE ?
					errhint("The CA certificates could not be read: install the ca-certificates package, or set juhe.ca_file to a readable PEM file.") :
					errhint("Check juhe.ca_file if the service uses a private CA, and juhe.base_url."),
					errhidestmt(true));
			break;
		case JUHE_PHASE_GATEWAY:
			if (timeout)
				ereport(elevel,
						errcode(ERRCODE_JUHE_NOT_SENT),
						errmsg_for(outcome, "no connection of the juheid gateway worker came free in time"),
						errdetail_plural("The request waited juhe.connect_timeout_ms (%d ms) for one of the worker's connections; nothing was sent (%d attempt).%s",
										 "The request waited juhe.connect_timeout_ms (%d ms) for one of the worker's connections; nothing was sent (%d attempts).%s",
										 n, cto, n, sfx),
						errhint("Raise juhe.gateway_connections, or juhe.connect_timeout_ms."),
						errhidestmt(true));
			else
				ereport(elevel,
						errcode(ERRCODE_JUHE_NOT_SENT),
						errmsg_for(outcome, "the juheid gateway worker did not take the request up"),
						errdetail_plural("Nothing was sent (%d attempt).%s",
										 "Nothing was sent (%d attempts).%s",
										 n, n, sfx),
						errhint("Check that the worker runs (pg_stat_activity, backend_type 'juheid gateway'), or set juhe.gateway = off."),
						errhidestmt(true));
			break;
		case JUHE_PHASE_SEND:
		case JUHE_PHASE_ANSWER:
			ereport(elevel,
					errcode(ERRCODE_JUHE_NOT_SENT),
					errmsg_for(outcome, "could not send the request to the Juhe service"),
					timeout ?
					errdetail_plural("The request was not sent completely within juhe.timeout_ms (%d ms); the service cannot have processed it (%d attempt).%s",
									 "The request was not sent completely within juhe.timeout_ms (%d ms); the service cannot have processed it (%d attempts).%s",
									 n, it->timeout_ms, n, sfx) :
					errdetail_plural("The request was not sent completely (libcurl error %d); the service cannot have processed it (%d attempt).%s",
									 "The request was not sent completely (libcurl error %d); the service cannot have processed it (%d attempts).%s",
									 n, it->curl_code, n, sfx),
					errhint("Check the network path to the service."),
					errhidestmt(true));
			break;
	}
}

void
juhe_report_failure(const JuheItem *it, JuheOutcome outcome, const char *who)
{
	int			elevel = outcome == JUHE_OUTCOME_FAILED ? ERROR : WARNING;
	int			n = Max(it->attempts, 1);
	char	   *who_sentence = who ? psprintf(" %s", who) : NULL;
	const char *sfx = who_sentence ? who_sentence : "";

	if (it->failure == JUHE_FAIL_DAILY_CAP || it->failure == JUHE_FAIL_STATEMENT_CAP ||
		it->failure == JUHE_FAIL_NO_LEDGER)
	{
		elevel = ERROR;
		outcome = JUHE_OUTCOME_FAILED;
	}

	switch (it->failure)
	{
		case JUHE_FAIL_DAILY_CAP:
			ereport(elevel,
					errcode(ERRCODE_JUHE_DAILY_CAP),
					errmsg_for(outcome, "the daily limit of billed verifications is reached"),
					errdetail("juhe.max_billed_per_day is %d, counted per day in juhe.billing_timezone (%s) over the whole cluster, requests in doubt included; nothing was sent.%s",
							  juhe_max_billed_per_day, juhe_billing_timezone, sfx),
					errhint("Raise juhe.max_billed_per_day, or wait for the next day; the juhe_billing view shows today's count."),
					errhidestmt(true));
			break;

		case JUHE_FAIL_STATEMENT_CAP:
			ereport(elevel,
					errcode(ERRCODE_JUHE_STATEMENT_CAP),
					errmsg_for(outcome, "this statement reached its limit of requests"),
					errdetail("juhe.max_requests_per_statement is %d; nothing more was sent.%s",
							  juhe_max_requests_per_statement, sfx),
					errhint("To verify that many rows on purpose, SET juhe.max_requests_per_statement to a higher value (0: no limit)."),
					errhidestmt(true));
			break;

		case JUHE_FAIL_NO_LEDGER:
			errno = it->saved_errno;
			ereport(ERROR,
					errcode_for_file_access(),
					errmsg("juheid: could not write to file \"%s\": %m", "juheid/ledger"),
					errdetail("Nothing was sent: a request is sent only once it is in the ledger.%s", sfx),
					errhint("Free space where the data directory is, or check the permissions of $PGDATA/juheid."),
					errhidestmt(true));
			break;

		case JUHE_FAIL_NOT_SENT:
			report_not_sent(elevel, it, outcome, sfx);
			break;

		case JUHE_FAIL_LOST:
			if (it->phase == JUHE_PHASE_GATEWAY)
				ereport(elevel,
						errcode(ERRCODE_JUHE_MAYBE_BILLED),
						errmsg_for(outcome, "lost the request in the juheid gateway worker"),
						errdetail("The worker stopped, or did not answer in time, while the request was in flight; it may have been billed, so it was not sent again.%s", sfx),
						errhint("Reconcile with the provider before verifying this person again."),
						errhidestmt(true));
			else if (it->curl_code == CURLE_OPERATION_TIMEDOUT)
				ereport(elevel,
						errcode(ERRCODE_JUHE_MAYBE_BILLED),
						errmsg_for(outcome, "timed out waiting for the Juhe service"),
						errdetail("The request was sent, but no complete answer came within juhe.timeout_ms (%d ms); it may have been billed, so it was not sent again.%s",
								  it->timeout_ms, sfx),
						errhint("Reconcile with the provider before verifying this person again; raise juhe.timeout_ms if the service is slow."),
						errhidestmt(true));
			else
				ereport(elevel,
						errcode(ERRCODE_JUHE_MAYBE_BILLED),
						errmsg_for(outcome, "lost the connection to the Juhe service after sending the request"),
						errdetail("The connection closed or failed before a complete answer came back; the request may have been billed, so it was not sent again.%s", sfx),
						errhint("Reconcile with the provider before verifying this person again."),
						errhidestmt(true));
			break;

		case JUHE_FAIL_HTTP:
			if (it->http_status == 503 || it->http_status == 429)
				ereport(elevel,
						errcode(ERRCODE_JUHE_BAD_ANSWER),
						errmsg_for(outcome, "the Juhe service answered with HTTP status %ld", it->http_status),
						errdetail_plural("The service turned the request away (%d attempt); nothing was billed.%s",
										 "The service turned the request away (%d attempts); nothing was billed.%s",
										 n, n, sfx),
						errhint("Try again later, or raise juhe.retries."),
						errhidestmt(true));
			else
				ereport(elevel,
						errcode(ERRCODE_JUHE_BAD_ANSWER),
						errmsg_for(outcome, "the Juhe service answered with HTTP status %ld", it->http_status),
						errdetail("The request was not sent again: the service may have processed it.%s", sfx),
						errhint("Check juhe.base_url; redirects are not followed."),
						errhidestmt(true));
			break;

		case JUHE_FAIL_TOO_LARGE:
			ereport(elevel,
					errcode(ERRCODE_JUHE_BAD_ANSWER),
					errmsg_for(outcome, "the answer of the Juhe service is larger than %zu kB",
							   it->max_response_bytes / 1024),
					errdetail("The answer was discarded unread; the request may have been billed.%s", sfx),
					errhint("Check juhe.base_url, or raise juhe.max_response_kb."),
					errhidestmt(true));
			break;

		case JUHE_FAIL_PARSE:
			if (it->parse_status == JUHE_PARSE_BAD_RES)
				ereport(elevel,
						errcode(ERRCODE_JUHE_BILLED_UNKNOWN),
						errmsg_for(outcome, "the Juhe service answered error_code 0 without a known result"),
						errdetail("The answer has error_code 0 but no \"res\" of 1 or 2. The answer is billed: order id \"%s\".%s",
								  it->answer.has_orderid ?
								  juhe_service_text(it->answer.orderid) : "(none)", sfx),
						errhint("Keep the order id to reconcile with the provider."),
						errhidestmt(true));
			else
			{
				/* verify.c sets JUHE_FAIL_PARSE only with a status not OK */
				Assert(it->parse_status == JUHE_PARSE_NOT_JSON ||
					   it->parse_status == JUHE_PARSE_NOT_OBJECT ||
					   it->parse_status == JUHE_PARSE_NO_ERROR_CODE);
				ereport(elevel,
						errcode(ERRCODE_JUHE_BAD_ANSWER),
						errmsg_for(outcome, "could not parse the answer of the Juhe service"),
						it->parse_status == JUHE_PARSE_NOT_JSON ?
						errdetail("The body is not complete, valid JSON (HTTP status %ld); the request may have been billed.%s",
								  it->http_status, sfx) :
						it->parse_status == JUHE_PARSE_NOT_OBJECT ?
						errdetail("The JSON value is not an object (HTTP status %ld); the request may have been billed.%s",
								  it->http_status, sfx) :
						errdetail("The JSON object has no integer \"error_code\" (HTTP status %ld); the request may have been billed.%s",
								  it->http_status, sfx),
						errhint("Check juhe.base_url."),
						errhidestmt(true));
			}
			break;

		case JUHE_FAIL_NONE:
			elog(ERROR, "juheid: item has neither an answer nor a failure");
	}

	if (who_sentence)
		pfree(who_sentence);
}

void
juhe_require_primary(void)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				errcode(ERRCODE_JUHE_STANDBY),
				errmsg("juheid does not verify on a standby server"),
				errdetail("This server is in recovery: a request sent from here would be billed without being in the primary's ledger or under its daily limit. Nothing was sent."),
				errhint("Verify on the primary server."),
				errhidestmt(true));
}

static void
guard_callback(void *arg)
{
	errhidestmt(true);
	errhidecontext(true);
}

void
juhe_guard_push(ErrorContextCallback *cb)
{
	cb->callback = guard_callback;
	cb->arg = NULL;
	cb->previous = error_context_stack;
	error_context_stack = cb;
}

void
juhe_guard_pop(ErrorContextCallback *cb)
{
	Assert(error_context_stack == cb);
	error_context_stack = cb->previous;
}
