/*
 * verify.c
 *		The pipeline for a batch of verifications: settings snapshot, memo,
 *		request bodies, transport with retries, answer parsing.
 *
 * SQL functions, the trigger and bulk jobs all come through
 * juhe_verify_items(); they differ only in where inputs come from and
 * where answers go.  Items already marked done (answered locally) are
 * skipped.  Identical items in one batch share one request.
 */
#include "postgres.h"

#include "miscadmin.h"

#include "juheid.h"
#include "transport.h"

#define BACKOFF_BASE_MS 200
#define BACKOFF_MAX_MS 2000

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

/* did the time run out before the connection was made? */
static bool
timed_out_connecting(const JuheItem *item)
{
	const char *e = item->curl_error;

	return e != NULL &&
		(strncmp(e, "Failed to connect", 17) == 0 ||
		 strncmp(e, "Connection timed out", 20) == 0 ||
		 strncmp(e, "Connection timeout", 18) == 0);
}

void
juhe_raise_failure(const JuheItem *item)
{
	switch (item->failure)
	{
		case JUHE_FAIL_CURL:
			if (curl_code_is_tls(item->curl_code))
				ereport(ERROR,
						(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
						 errmsg("could not establish a TLS connection to the Juhe service"),
						 errdetail("%s", item->curl_error && item->curl_error[0] ?
								   item->curl_error : curl_easy_strerror(item->curl_code)),
						 errhint("Check juhe.base_url, and juhe.ca_file if the service uses a private CA.")));
			else if (item->curl_code == CURLE_OPERATION_TIMEDOUT)
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("timed out waiting for the Juhe service"),
						 /* curl's own text names host and port: not shown */
						 timed_out_connecting(item) ?
						 errdetail("Could not connect within juhe.connect_timeout_ms (%d ms); %d attempt(s).",
								   Min(juhe_connect_timeout_ms, juhe_timeout_ms), juhe_retries + 1) :
						 errdetail("No complete answer within juhe.timeout_ms (%d ms); %d attempt(s).",
								   juhe_timeout_ms, juhe_retries + 1),
						 errhint("Raise juhe.timeout_ms or juhe.connect_timeout_ms, or check that juhe.base_url is reachable.")));
			else if (item->curl_code == CURLE_COULDNT_CONNECT ||
					 item->curl_code == CURLE_COULDNT_RESOLVE_HOST ||
					 item->curl_code == CURLE_COULDNT_RESOLVE_PROXY ||
					 item->curl_code == CURLE_UNSUPPORTED_PROTOCOL ||
					 item->curl_code == CURLE_URL_MALFORMAT)
				ereport(ERROR,
						(errcode(ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
						 errmsg("could not connect to the Juhe service"),
						 errdetail("%s.", curl_easy_strerror(item->curl_code)),
						 errhint("Check juhe.base_url and that the service is reachable from the database server.")));
			else
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("request to the Juhe service failed"),
						 errdetail("%s.", curl_easy_strerror(item->curl_code)),
						 errhint("Check juhe.base_url and the network path to the service.")));
			break;
		case JUHE_FAIL_HTTP:
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("Juhe service answered with HTTP status %ld", item->http_status),
					 errhint("Check juhe.base_url; redirects are not followed.")));
			break;
		case JUHE_FAIL_TOO_LARGE:
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("answer from the Juhe service is larger than %d kB",
							juhe_max_response_kb),
					 errhint("Check juhe.base_url, or raise juhe.max_response_kb.")));
			break;
		case JUHE_FAIL_PARSE:
			if (item->parse_status == JUHE_PARSE_BAD_RES)
				ereport(ERROR,
						(errcode(ERRCODE_PROTOCOL_VIOLATION),
						 errmsg("Juhe service answered error_code 0 without a known result"),
						 errdetail("%s. The answer is billed: order id \"%s\".",
								   juhe_parse_status_text(item->parse_status),
								   item->answer.has_orderid ? item->answer.orderid : "(none)"),
						 errhint("Keep the order id to reconcile with the provider.")));
			else
				ereport(ERROR,
						(errcode(ERRCODE_PROTOCOL_VIOLATION),
						 errmsg("could not parse the answer of the Juhe service"),
						 errdetail("%s (HTTP status %ld).",
								   juhe_parse_status_text(item->parse_status),
								   item->http_status),
						 errhint("Check juhe.base_url.")));
			break;
		case JUHE_FAIL_NONE:
			break;
	}
	elog(ERROR, "juheid: item has neither an answer nor a failure");
}

/* classify one finished transfer */
static void
take_result(JuheItem *it, JuheHttp *h)
{
	JuheParseStatus st;

	it->failure = JUHE_FAIL_NONE;
	it->done = false;
	if (h->curl_code != CURLE_OK)
	{
		if (h->too_large)
		{
			it->failure = JUHE_FAIL_TOO_LARGE;
			return;
		}
		it->failure = JUHE_FAIL_CURL;
		it->curl_code = h->curl_code;
		if (it->curl_error)
			pfree(it->curl_error);
		it->curl_error = pstrdup(h->errbuf);
		return;
	}
	it->http_status = h->status;
	if (h->status < 200 || h->status > 299)
	{
		it->failure = JUHE_FAIL_HTTP;
		return;
	}
	st = juhe_parse_answer(h->response, h->response_len, &it->answer);
	pfree(h->response);
	h->response = NULL;
	if (st != JUHE_PARSE_OK)
	{
		it->failure = JUHE_FAIL_PARSE;
		it->parse_status = st;
		return;
	}
	it->done = true;
}

/*
 * Send every leader item, then again those worth another attempt (transport
 * failure, HTTP 5xx, error 210305), with back-off, up to `retries` times.
 */
static void
send_with_retries(JuheItem *items, int n, const int *leader, JuheHttp *http,
				  const JuheHttpOptions *opts, int retries, int max_parallel)
{
	JuheHttp  **batch = palloc(n * sizeof(JuheHttp *));
	int		   *batch_item = palloc(n * sizeof(int));

	for (int attempt = 0; attempt <= retries; attempt++)
	{
		int			nb = 0;

		for (int i = 0; i < n; i++)
		{
			if (leader[i] != i)
				continue;
			/* first round: everyone; later: the retryable ones */
			if (attempt == 0 ||
				items[i].failure == JUHE_FAIL_CURL ||
				(items[i].failure == JUHE_FAIL_HTTP && items[i].http_status >= 500) ||
				(items[i].done && items[i].answer.error_code == 210305))
			{
				batch_item[nb] = i;
				batch[nb++] = &http[i];
			}
		}
		if (nb == 0)
			break;
		if (attempt > 0)
		{
			juhe_http_sleep(Min(BACKOFF_BASE_MS << (attempt - 1), BACKOFF_MAX_MS));
			juhe_counters.retries += nb;
		}
		juhe_http_run(batch, nb, max_parallel, opts);
		for (int k = 0; k < nb; k++)
			take_result(&items[batch_item[k]], batch[k]);
	}
	pfree(batch);
	pfree(batch_item);
}

void
juhe_verify_items(JuheItem *items, int n, JuheMode mode, int max_parallel)
{
	JuheConfig	cfg;
	uint8	   *digests;
	int		   *leader;
	JuheHttp   *http;
	char	   *url;
	JuheHttpOptions opts;

	/* everything that can be wrong with the settings fails before sending */
	juhe_config_load(&cfg, mode);

	digests = palloc(n * JUHE_DIGEST_LEN);
	leader = palloc(n * sizeof(int));
	http = palloc0(n * sizeof(JuheHttp));
	url = juhe_request_url(&cfg);

	opts.timeout_ms = cfg.timeout_ms;
	opts.connect_timeout_ms = cfg.connect_timeout_ms;
	opts.max_response_bytes = cfg.max_response_bytes;
	opts.ca_file = cfg.ca_file;

	PG_TRY();
	{
		/* memo, duplicates within the batch, request bodies */
		for (int i = 0; i < n; i++)
		{
			uint8	   *d = digests + i * JUHE_DIGEST_LEN;

			leader[i] = -1;
			if (items[i].done)
				continue;
			juhe_memo_digest(&cfg, items[i].name, items[i].idcard, d);
			if (juhe_memo_lookup(d, &items[i].answer))
			{
				items[i].done = true;
				continue;
			}
			leader[i] = i;
			for (int j = 0; j < i; j++)
				if (leader[j] == j &&
					memcmp(digests + j * JUHE_DIGEST_LEN, d, JUHE_DIGEST_LEN) == 0)
				{
					leader[i] = j;
					break;
				}
			if (leader[i] == i)
			{
				http[i].url = url;
				http[i].body = juhe_request_body(&cfg, items[i].name, items[i].idcard,
												 &http[i].body_len);
			}
		}

		send_with_retries(items, n, leader, http, &opts, cfg.retries, max_parallel);
	}
	PG_FINALLY();
	{
		/* wipe the bodies, also on cancel: they hold the key and personal data */
		for (int i = 0; i < n; i++)
			if (http[i].body)
			{
				explicit_bzero((char *) http[i].body, http[i].body_len);
				pfree((char *) http[i].body);
				http[i].body = NULL;
			}
		juhe_config_release(&cfg);
	}
	PG_END_TRY();

	for (int i = 0; i < n; i++)
	{
		if (leader[i] < 0)
			continue;
		if (leader[i] != i)
		{
			JuheItem   *l = &items[leader[i]];

			items[i].answer = l->answer;
			items[i].done = l->done;
			items[i].failure = l->failure;
			items[i].curl_code = l->curl_code;
			items[i].http_status = l->http_status;
			items[i].parse_status = l->parse_status;
			items[i].curl_error = l->curl_error;
		}
		else if (items[i].done)
			juhe_memo_store(digests + i * JUHE_DIGEST_LEN, &items[i].answer);
	}
	pfree(digests);
	pfree(leader);
	pfree(http);
	pfree(url);
}
