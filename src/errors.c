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
 */
#include "postgres.h"

#include <curl/curl.h>


#include "encoding.h"
#include "errors.h"
#include "verify.h"

/*
 * The detail sentences are complete format strings; the trigger's sentence
 * about itself and the masked person, if any, follows as a sentence of its
 * own.
 */
#define DETAIL(fmt, ...) \
	(who ? errdetail(fmt " %s", __VA_ARGS__, who) : errdetail(fmt, __VA_ARGS__))
#define DETAIL0(fmt) \
	(who ? errdetail(fmt " %s", who) : errdetail(fmt))
#define DETAIL_N(sing, plur, n, ...) \
	(who ? errdetail_plural(sing " %s", plur " %s", n, __VA_ARGS__, who) : \
	 errdetail_plural(sing, plur, n, __VA_ARGS__))

#define REPORT(code, msg, detail, hint) \
	ereport(elevel, \
			errcode(code), \
			outcome == JUHE_OUTCOME_ACCEPTED ? \
			errmsg("row accepted without verification: %s", msg) : \
			outcome == JUHE_OUTCOME_SKIPPED ? \
			errmsg("row skipped without verification: %s", msg) : \
			outcome == JUHE_OUTCOME_DEFERRED ? \
			errmsg("row accepted, to be verified later: %s", msg) : \
			errmsg("%s", msg), \
			detail, \
			errhint("%s", hint), \
			errhidestmt(true))

/* a transfer that failed before the request was completely sent */
static void
report_not_sent(int elevel, const JuheItem *it, JuheOutcome outcome, const char *who)
{
	int			n = Max(it->attempts, 1);
	bool		timeout = it->curl_code == CURLE_OPERATION_TIMEDOUT;
	int			cto = it->connect_timeout_ms;

	switch (it->phase)
	{
		case JUHE_PHASE_RESOLVE:
			REPORT(ERRCODE_JUHE_NOT_SENT,
				   "could not resolve the host name of the Juhe service",
				   timeout ?
				   DETAIL_N("The host name was not resolved within juhe.connect_timeout_ms (%d ms); nothing was sent (%d attempt).",
							"The host name was not resolved within juhe.connect_timeout_ms (%d ms); nothing was sent (%d attempts).",
							n, cto, n) :
				   DETAIL_N("The host name could not be resolved; nothing was sent (%d attempt).",
							"The host name could not be resolved; nothing was sent (%d attempts).",
							n, n),
				   "Check the host in juhe.base_url and the database server's name resolution.");
			break;
		case JUHE_PHASE_CONNECT:
			REPORT(ERRCODE_JUHE_NOT_SENT,
				   "could not connect to the Juhe service",
				   timeout ?
				   DETAIL_N("No connection within juhe.connect_timeout_ms (%d ms); nothing was sent (%d attempt).",
							"No connection within juhe.connect_timeout_ms (%d ms); nothing was sent (%d attempts).",
							n, cto, n) :
				   DETAIL_N("The connection was refused or failed (libcurl error %d); nothing was sent (%d attempt).",
							"The connection was refused or failed (libcurl error %d); nothing was sent (%d attempts).",
							n, it->curl_code, n),
				   "Check juhe.base_url, juhe.proxy and that the service is reachable from the database server.");
			break;
		case JUHE_PHASE_TLS:
			REPORT(ERRCODE_JUHE_NOT_SENT,
				   "could not establish a TLS connection to the Juhe service",
				   timeout ?
				   DETAIL_N("The TLS handshake did not finish within juhe.connect_timeout_ms (%d ms); nothing was sent (%d attempt).",
							"The TLS handshake did not finish within juhe.connect_timeout_ms (%d ms); nothing was sent (%d attempts).",
							n, cto, n) :
				   DETAIL_N("The TLS handshake failed or the certificate was not trusted (libcurl error %d); nothing was sent (%d attempt).",
							"The TLS handshake failed or the certificate was not trusted (libcurl error %d); nothing was sent (%d attempts).",
							n, it->curl_code, n),
				   it->curl_code == CURLE_SSL_CACERT_BADFILE ?
				   "The CA certificates could not be read: install the ca-certificates package, or set juhe.ca_file to a readable PEM file." :
				   "Check juhe.ca_file if the service uses a private CA, and juhe.base_url.");
			break;
		case JUHE_PHASE_GATEWAY:
			if (timeout)
				REPORT(ERRCODE_JUHE_NOT_SENT,
					   "no connection of the juheid gateway worker came free in time",
					   DETAIL_N("The request waited juhe.connect_timeout_ms (%d ms) for one of the worker's connections; nothing was sent (%d attempt).",
								"The request waited juhe.connect_timeout_ms (%d ms) for one of the worker's connections; nothing was sent (%d attempts).",
								n, cto, n),
					   "Raise juhe.gateway_connections, or juhe.connect_timeout_ms.");
			else
				REPORT(ERRCODE_JUHE_NOT_SENT,
					   "the juheid gateway worker did not take the request up",
					   DETAIL_N("Nothing was sent (%d attempt).",
								"Nothing was sent (%d attempts).",
								n, n),
					   "Check that the worker runs (pg_stat_activity, backend_type 'juheid gateway'), or set juhe.gateway = off.");
			break;
		case JUHE_PHASE_SEND:
		case JUHE_PHASE_ANSWER:
			REPORT(ERRCODE_JUHE_NOT_SENT,
				   "could not send the request to the Juhe service",
				   timeout ?
				   DETAIL_N("The request was not sent completely within juhe.timeout_ms (%d ms); the service cannot have processed it (%d attempt).",
							"The request was not sent completely within juhe.timeout_ms (%d ms); the service cannot have processed it (%d attempts).",
							n, it->timeout_ms, n) :
				   DETAIL_N("The request was not sent completely (libcurl error %d); the service cannot have processed it (%d attempt).",
							"The request was not sent completely (libcurl error %d); the service cannot have processed it (%d attempts).",
							n, it->curl_code, n),
				   "Check the network path to the service.");
			break;
	}
}

void
juhe_report_failure(const JuheItem *it, JuheOutcome outcome, const char *who)
{
	int			elevel = outcome == JUHE_OUTCOME_FAILED ? ERROR : WARNING;
	int			n = Max(it->attempts, 1);

	if (it->failure == JUHE_FAIL_DAILY_CAP || it->failure == JUHE_FAIL_STATEMENT_CAP ||
		it->failure == JUHE_FAIL_NO_LEDGER)
	{
		elevel = ERROR;
		outcome = JUHE_OUTCOME_FAILED;
	}

	switch (it->failure)
	{
		case JUHE_FAIL_DAILY_CAP:
			REPORT(ERRCODE_JUHE_DAILY_CAP,
				   "the daily limit of billed verifications is reached",
				   DETAIL("juhe.max_billed_per_day is %d, counted per day in juhe.billing_timezone (%s) over the whole cluster, requests in doubt included; nothing was sent.",
						  juhe_max_billed_per_day, juhe_billing_timezone),
				   "Raise juhe.max_billed_per_day, or wait for the next day; the juhe_billing view shows today's count.");
			break;

		case JUHE_FAIL_STATEMENT_CAP:
			REPORT(ERRCODE_JUHE_STATEMENT_CAP,
				   "this statement reached its limit of requests",
				   DETAIL("juhe.max_requests_per_statement is %d; nothing more was sent.",
						  juhe_max_requests_per_statement),
				   "To verify that many rows on purpose, SET juhe.max_requests_per_statement to a higher value (0: no limit).");
			break;

		case JUHE_FAIL_NO_LEDGER:
			errno = it->saved_errno;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("juheid: could not write to file \"%s\": %m", "juheid/ledger"),
					 DETAIL0("Nothing was sent: a request is sent only once it is in the ledger."),
					 errhint("Free space where the data directory is, or check the permissions of $PGDATA/juheid."),
					 errhidestmt(true)));
			break;

		case JUHE_FAIL_NOT_SENT:
			report_not_sent(elevel, it, outcome, who);
			break;

		case JUHE_FAIL_LOST:
			if (it->phase == JUHE_PHASE_GATEWAY)
				REPORT(ERRCODE_JUHE_MAYBE_BILLED,
					   "lost the request in the juheid gateway worker",
					   DETAIL0("The worker stopped, or did not answer in time, while the request was in flight; it may have been billed, so it was not sent again."),
					   "Reconcile with the provider before verifying this person again.");
			else if (it->curl_code == CURLE_OPERATION_TIMEDOUT)
				REPORT(ERRCODE_JUHE_MAYBE_BILLED,
					   "timed out waiting for the Juhe service",
					   DETAIL("The request was sent, but no complete answer came within juhe.timeout_ms (%d ms); it may have been billed, so it was not sent again.",
							  it->timeout_ms),
					   "Reconcile with the provider before verifying this person again; raise juhe.timeout_ms if the service is slow.");
			else
				REPORT(ERRCODE_JUHE_MAYBE_BILLED,
					   "lost the connection to the Juhe service after sending the request",
					   DETAIL0("The connection closed or failed before a complete answer came back; the request may have been billed, so it was not sent again."),
					   "Reconcile with the provider before verifying this person again.");
			break;

		case JUHE_FAIL_HTTP:
			if (it->http_status == 503 || it->http_status == 429)
				REPORT(ERRCODE_JUHE_BAD_ANSWER,
					   psprintf("the Juhe service answered with HTTP status %ld", it->http_status),
					   DETAIL_N("The service turned the request away (%d attempt); nothing was billed.",
								"The service turned the request away (%d attempts); nothing was billed.",
								n, n),
					   "Try again later, or raise juhe.retries.");
			else
				REPORT(ERRCODE_JUHE_BAD_ANSWER,
					   psprintf("the Juhe service answered with HTTP status %ld", it->http_status),
					   DETAIL0("The request was not sent again: the service may have processed it."),
					   "Check juhe.base_url; redirects are not followed.");
			break;

		case JUHE_FAIL_TOO_LARGE:
			REPORT(ERRCODE_JUHE_BAD_ANSWER,
				   psprintf("the answer of the Juhe service is larger than %zu kB",
							it->max_response_bytes / 1024),
				   DETAIL0("The answer was discarded unread; the request may have been billed."),
				   "Check juhe.base_url, or raise juhe.max_response_kb.");
			break;

		case JUHE_FAIL_PARSE:
			if (it->parse_status == JUHE_PARSE_BAD_RES)
				REPORT(ERRCODE_JUHE_BILLED_UNKNOWN,
					   "the Juhe service answered error_code 0 without a known result",
					   DETAIL("%s. The answer is billed: order id \"%s\".",
							  juhe_parse_status_text(it->parse_status),
							  it->answer.has_orderid ?
							  juhe_service_text(it->answer.orderid) : "(none)"),
					   "Keep the order id to reconcile with the provider.");
			else
				REPORT(ERRCODE_JUHE_BAD_ANSWER,
					   "could not parse the answer of the Juhe service",
					   DETAIL("%s (HTTP status %ld); the request may have been billed.",
							  juhe_parse_status_text(it->parse_status),
							  it->http_status),
					   "Check juhe.base_url.");
			break;

		case JUHE_FAIL_NONE:
			elog(ERROR, "juheid: item has neither an answer nor a failure");
	}
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
