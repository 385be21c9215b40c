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
 *
 * No message shows libcurl's own error text (it names the host of the
 * superuser-only juhe.base_url) or any byte of the input.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "lib/stringinfo.h"

#include "encoding.h"
#include "errors.h"
#include "juheid.h"

static bool
curl_code_is_tls(int code)
{
	switch (code)
	{
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
			return true;
		default:
			return false;
	}
}

static void
append_extra(StringInfo d, const char *extra)
{
	if (extra)
		appendStringInfo(d, " %s", extra);
}

void
juhe_report_failure(int elevel, const JuheItem *item, const char *outcome,
					const char *extra_detail)
{
	StringInfoData d;
	int			code = 0;
	const char *msg = NULL;
	const char *hint = NULL;
	int			n = Max(item->attempts, 1);

	initStringInfo(&d);
	switch (item->failure)
	{
		case JUHE_FAIL_NOT_SENT:
			code = ERRCODE_JUHE_NOT_SENT;
			if (curl_code_is_tls(item->curl_code))
			{
				msg = "could not establish a TLS connection to the Juhe service";
				hint = "Check juhe.ca_file if the service uses a private CA, and juhe.base_url.";
			}
			else if (item->curl_code == CURLE_OPERATION_TIMEDOUT)
			{
				msg = "timed out connecting to the Juhe service";
				hint = "Raise juhe.connect_timeout_ms, or check that the host of juhe.base_url resolves and is reachable.";
			}
			else
			{
				msg = "could not connect to the Juhe service";
				hint = "Check juhe.base_url, juhe.proxy and that the service is reachable from the database server.";
			}
			if (item->curl_code == CURLE_OPERATION_TIMEDOUT)
				appendStringInfo(&d, "No connection within juhe.connect_timeout_ms (%d ms).",
								 item->connect_timeout_ms);
			else
				appendStringInfo(&d, "%s.", curl_easy_strerror(item->curl_code));
			appendStringInfo(&d, " Nothing was sent (%d %s).", n,
							 n == 1 ? "attempt" : "attempts");
			break;

		case JUHE_FAIL_LOST:
			code = ERRCODE_JUHE_MAYBE_BILLED;
			if (item->curl_code == CURLE_OPERATION_TIMEDOUT)
			{
				msg = "timed out waiting for the Juhe service";
				appendStringInfo(&d, "The request was sent, but no complete answer came within juhe.timeout_ms (%d ms).",
								 item->timeout_ms);
			}
			else
			{
				msg = "lost the connection to the Juhe service after sending the request";
				appendStringInfo(&d, "The connection failed before a complete answer came back (libcurl error %d).",
								 item->curl_code);
			}
			appendStringInfoString(&d, " The request may have been billed, so it was not sent again.");
			hint = "Reconcile with the provider before verifying this person again; raise juhe.timeout_ms if the service is slow.";
			break;

		case JUHE_FAIL_HTTP:
			code = ERRCODE_JUHE_BAD_ANSWER;
			msg = psprintf("Juhe service answered with HTTP status %ld", item->http_status);
			if (item->http_status == 503 || item->http_status == 429)
				appendStringInfo(&d, "The service turned the request away (%d %s); nothing was billed.",
								 n, n == 1 ? "attempt" : "attempts");
			else
				appendStringInfoString(&d, "The request was not sent again: the service may have processed it.");
			hint = "Check juhe.base_url; redirects are not followed.";
			break;

		case JUHE_FAIL_TOO_LARGE:
			code = ERRCODE_JUHE_BAD_ANSWER;
			msg = psprintf("answer from the Juhe service is larger than %zu kB",
						   item->max_response_bytes / 1024);
			appendStringInfoString(&d, "The answer was discarded unread; the request may have been billed.");
			hint = "Check juhe.base_url, or raise juhe.max_response_kb.";
			break;

		case JUHE_FAIL_PARSE:
			if (item->parse_status == JUHE_PARSE_BAD_RES)
			{
				code = ERRCODE_JUHE_BILLED_UNKNOWN;
				msg = "Juhe service answered error_code 0 without a known result";
				appendStringInfo(&d, "%s. The answer is billed: order id \"%s\".",
								 juhe_parse_status_text(item->parse_status),
								 item->answer.has_orderid ?
								 juhe_service_text(item->answer.orderid) : "(none)");
				hint = "Keep the order id to reconcile with the provider.";
			}
			else
			{
				code = ERRCODE_JUHE_BAD_ANSWER;
				msg = "could not parse the answer of the Juhe service";
				appendStringInfo(&d, "%s (HTTP status %ld); the request may have been billed.",
								 juhe_parse_status_text(item->parse_status),
								 item->http_status);
				hint = "Check juhe.base_url.";
			}
			break;

		case JUHE_FAIL_NONE:
			elog(ERROR, "juheid: item has neither an answer nor a failure");
	}
	append_extra(&d, extra_detail);
	ereport(elevel,
			errcode(code),
			outcome ? errmsg("%s: %s", outcome, msg) : errmsg("%s", msg),
			errdetail_internal("%s", d.data),
			errhint("%s", hint),
			errhidestmt(true));
	pfree(d.data);
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
