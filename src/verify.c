/*
 * verify.c
 *		The pipeline for a batch of verifications: settings snapshot, memo,
 *		request bodies, transport with retries, answer parsing.
 *
 * SQL functions, the trigger and bulk jobs all come through
 * juhe_verify_items(); they differ only in where inputs come from and
 * where answers go.  Items already marked done (answered locally) are
 * skipped.  Identical items in one batch share one request.
 *
 * Every request is opened with the accounting (account.h) before it goes
 * out, which may stop it (spending limits), and settled when it ends, by
 * this backend or, for requests handed to it, by the gateway worker.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/hsearch.h"

#include "account.h"
#include "counters.h"
#include "gateway.h"
#include "memo.h"
#include "request.h"
#include "reuse.h"
#include "stats.h"
#include "transport.h"
#include "verify.h"

#define BACKOFF_BASE_MS 200
#define BACKOFF_MAX_MS 2000

/* what the done callback needs to find an item's place */
typedef struct RunState
{
	JuheItem   *items;
	JuheHttp   *http;			/* http[i] belongs to items[i] */
	JuheTag    *tags;			/* tags[i] is http[i]'s */
	const uint8 *digests;
	const uint8 *persons;		/* the person's digest (reuse.c), for the
								 * ledger; NULL: no juhe.digest_key */
	JuheMode	mode;
	JuheVia		via;
} RunState;

/*
 * Classify one finished transfer, at once (called by the transport as each
 * transfer finishes).  A billed answer goes into the memo right here, so a
 * cancel arriving in the same pass cannot lose it: the memo's abort
 * callback logs its order id for reconciliation.
 */
static void
take_result(JuheHttp *h, void *arg)
{
	RunState   *rs = (RunState *) arg;
	int			i = (int) (h - rs->http);
	JuheItem   *it = &rs->items[i];
	JuheParseStatus st;

	/* into the ledger first: the answer is recorded before anything else */
	if (h->accounted)
		h->tag->id = 0;			/* the gateway worker settled it */
	else
		h->recorded = (int8) juhe_account_settle(h->tag, h->curl_code, h->status,
												 h->request_complete, h->too_large,
												 h->response, h->response_len);
	if (h->recorded != JUHE_RECORDED)
		it->unrecorded = true;

	it->failure = JUHE_FAIL_NONE;
	it->done = false;
	if (h->curl_code != CURLE_OK)
	{
		if (h->too_large)
			it->failure = JUHE_FAIL_TOO_LARGE;
		else
		{
			/* the whole request may have reached the service: never resend */
			it->failure = h->request_complete ? JUHE_FAIL_LOST : JUHE_FAIL_NOT_SENT;
			it->curl_code = h->curl_code;
			it->phase = h->phase;
		}
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
	juhe_memo_store(rs->digests + i * JUHE_DIGEST_LEN, &it->answer);
}

/*
 * Worth another attempt: only what cannot have been billed.  A request that
 * never completely left (resolve, connect, TLS, connect timeout), a 503 or
 * 429 (the service refused to work on it), and error 210305 (the provider's
 * upstream failed; not billed).  Timeouts and dropped connections after
 * sending are not retried: there is no idempotency key.
 */
static bool
retryable(const JuheItem *it)
{
	if (it->done)
		return it->answer.error_code == JUHE_CODE_NETWORK;
	if (it->failure == JUHE_FAIL_NOT_SENT)
		return true;
	return it->failure == JUHE_FAIL_HTTP &&
		(it->http_status == 503 || it->http_status == 429);
}

void
juhe_check_parallel(int parallel)
{
	if (parallel < 1 || parallel > JUHE_MAX_PARALLEL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("parallel must be between 1 and %d", JUHE_MAX_PARALLEL)));
}

bool
juhe_item_never_billed(const JuheItem *it)
{
	if (it->done)
		return false;
	switch (it->failure)
	{
		case JUHE_FAIL_NOT_SENT:
		case JUHE_FAIL_DAILY_CAP:
		case JUHE_FAIL_STATEMENT_CAP:
		case JUHE_FAIL_NO_LEDGER:
			return true;
		case JUHE_FAIL_HTTP:
			return it->http_status == 503 || it->http_status == 429;
		default:
			return false;
	}
}

/*
 * Just before a request goes out or is handed over: the accounting may
 * stop it (a spending limit, a ledger that cannot be written).
 */
static bool
open_request(JuheHttp *h, void *arg)
{
	RunState   *rs = (RunState *) arg;
	JuheItem   *it = &rs->items[h - rs->http];

	h->recorded = JUHE_RECORDED;
	switch (juhe_account_open(h, rs->via, rs->mode))
	{
		case JUHE_OPEN_OK:
			it->attempts++;
			/* kept with a billed answer, whoever settles it */
			if (rs->persons)
			{
				memcpy(h->tag->digest, rs->persons + (h - rs->http) * JUHE_TAG_DIGEST_LEN,
					   JUHE_TAG_DIGEST_LEN);
				h->tag->has_digest = true;
			}
			return true;
		case JUHE_OPEN_STATEMENT_CAP:
			it->failure = JUHE_FAIL_STATEMENT_CAP;
			break;
		case JUHE_OPEN_DAILY_CAP:
			it->failure = JUHE_FAIL_DAILY_CAP;
			break;
		case JUHE_OPEN_NO_LEDGER:
			it->failure = JUHE_FAIL_NO_LEDGER;
			it->saved_errno = errno;
			break;
	}
	it->done = false;
	return false;
}

/* the "sent" records of a wave, durable before anything of it is sent */
static void
opened_requests(void *arg)
{
	juhe_account_flush_to_send();
}

/*
 * Send every leader item, then again those worth another attempt, with
 * back-off, up to `retries` times.
 */
static void
send_with_retries(RunState *rs, int n, const int *leader,
				  const JuheHttpOptions *opts, int retries, int max_parallel)
{
	JuheItem   *items = rs->items;
	JuheHttp  **batch = palloc(n * sizeof(JuheHttp *));
	JuheHttpHooks hooks = {open_request, opened_requests, take_result, rs};

	for (int attempt = 0; attempt <= retries; attempt++)
	{
		int			nb = 0;

		for (int i = 0; i < n; i++)
		{
			if (leader[i] != i || !(attempt == 0 || retryable(&items[i])))
				continue;
			rs->http[i].body_pos = 0;
			batch[nb++] = &rs->http[i];
		}
		if (nb == 0)
			break;
		if (attempt > 0)
		{
			juhe_http_sleep(Min(BACKOFF_BASE_MS << (attempt - 1), BACKOFF_MAX_MS));
			juhe_backend_count(JUHE_BC_RETRIES, nb);
			juhe_stats_count(rs->mode, JUHE_CS_RETRIES, nb);
		}
		if (juhe_gateway_usable(batch, nb, opts))
			juhe_gateway_run(batch, nb, max_parallel, opts, &hooks);
		else
			juhe_http_run(batch, nb, max_parallel, opts, &hooks);
		juhe_account_flush();	/* results before any answer is returned */
	}
	pfree(batch);
}

/* duplicates within a batch: digest -> the item that sends */
typedef struct LeaderEntry
{
	uint8		digest[JUHE_DIGEST_LEN];
	int			leader;
} LeaderEntry;

/* the bodies hold the key and personal data: wiped, also on cancel */
static void
wipe_bodies(JuheHttp *http, int n)
{
	for (int i = 0; i < n; i++)
		if (http[i].body)
		{
			explicit_bzero((char *) http[i].body, http[i].body_len);
			pfree((char *) http[i].body);
			http[i].body = NULL;
		}
}

void
juhe_verify_items(JuheItem *items, int n, JuheMode mode, int max_parallel,
				  JuheVia via, bool reuse)
{
	JuheConfig	cfg;
	uint8	   *digests;
	uint8	   *volatile persons = NULL;
	volatile bool want_reuse;
	int		   *leader;
	JuheHttp   *http;
	char	   *url;
	JuheHttpOptions opts;
	RunState	rs;
	JuheTag    *tags;
	HTAB	   *volatile seen = NULL;
	volatile int64 local = 0,
				memo_hits = 0,
				reused = 0;
	volatile int unrecorded = 0;

	/* everything that can be wrong with the settings fails before sending */
	juhe_config_load(&cfg, mode);
	want_reuse = juhe_config_reuses(&cfg, reuse);

	digests = palloc(n * JUHE_DIGEST_LEN);
	leader = palloc(n * sizeof(int));
	http = palloc0(n * sizeof(JuheHttp));
	tags = palloc0(n * sizeof(JuheTag));
	if (cfg.digest_key)
		persons = palloc(n * JUHE_TAG_DIGEST_LEN);
	url = juhe_request_url(&cfg);

	opts.timeout_ms = cfg.timeout_ms;
	opts.connect_timeout_ms = cfg.connect_timeout_ms;
	opts.max_response_bytes = cfg.max_response_bytes;
	opts.ca_file = cfg.ca_file;
	opts.proxy = cfg.proxy;
	opts.bulk = via == JUHE_VIA_BULK;
	rs.items = items;
	rs.http = http;
	rs.digests = digests;
	rs.persons = persons;
	rs.tags = tags;
	rs.mode = mode;
	rs.via = via;

	PG_TRY();
	{
		/* memo, duplicates within the batch, request bodies */
		for (int i = 0; i < n; i++)
		{
			uint8	   *d = digests + i * JUHE_DIGEST_LEN;

			leader[i] = -1;
			items[i].timeout_ms = cfg.timeout_ms;
			items[i].connect_timeout_ms = cfg.connect_timeout_ms;
			items[i].max_response_bytes = cfg.max_response_bytes;
			http[i].tag = &tags[i];
			if (items[i].done)
			{
				local += items[i].local ? 1 : 0;
				continue;
			}
			juhe_memo_digest(&cfg, items[i].name, items[i].idcard, d);
			if (juhe_memo_lookup(d, &items[i].answer))
			{
				items[i].done = true;
				memo_hits++;
				continue;
			}
			/* an answer about the person billed earlier, anywhere */
			if (persons)
			{
				uint8	   *p = persons + i * JUHE_TAG_DIGEST_LEN;

				(void) juhe_reuse_digest(&cfg, items[i].name, items[i].idcard, p);
				if (want_reuse && juhe_reuse_lookup(&cfg, p, &items[i].answer))
				{
					items[i].done = true;
					reused++;
					/* the same answer for the rest of the transaction */
					juhe_memo_store(d, &items[i].answer);
					continue;
				}
			}
			/* the first item with this digest leads; the others follow it */
			if (seen == NULL && n > 1)
			{
				HASHCTL		ctl;

				ctl.keysize = JUHE_DIGEST_LEN;
				ctl.entrysize = sizeof(LeaderEntry);
				ctl.hcxt = CurrentMemoryContext;
				seen = hash_create("juheid batch duplicates", Min(n, 1024), &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
			}
			leader[i] = i;
			if (seen)
			{
				bool		found;
				LeaderEntry *e = hash_search(seen, d, HASH_ENTER, &found);

				if (found)
					leader[i] = e->leader;
				else
					e->leader = i;
			}
			if ((i & 1023) == 1023)
				CHECK_FOR_INTERRUPTS();
			if (leader[i] == i)
			{
				http[i].url = url;
				http[i].body = juhe_request_body(&cfg, items[i].name, items[i].idcard,
												 &http[i].body_len);
			}
		}

		juhe_stats_count(mode, JUHE_CS_LOCAL_ANSWERS, local);
		juhe_stats_count(mode, JUHE_CS_MEMO_HITS, memo_hits);
		juhe_stats_count(mode, JUHE_CS_REUSES, reused);

		juhe_account_track(http, n);
		send_with_retries(&rs, n, leader, &opts, cfg.retries, max_parallel);
		juhe_account_untrack();
	}
	PG_CATCH();
	{
		/* settle what was opened and will have no result */
		juhe_account_abandon_run();
		juhe_account_untrack();
		wipe_bodies(http, n);
		juhe_config_release(&cfg);
		PG_RE_THROW();
	}
	PG_END_TRY();
	wipe_bodies(http, n);
	juhe_config_release(&cfg);

	for (int i = 0; i < n; i++)
		if (leader[i] == i && items[i].unrecorded)
			unrecorded++;
	if (unrecorded > 0)
		ereport(WARNING,
				(errcode(ERRCODE_IO_ERROR),
				 errmsg_plural("juheid: %d billed answer is not in the ledger file yet",
							   "juheid: %d billed answers are not in the ledger file yet",
							   unrecorded, unrecorded),
				 errdetail("The file could not be written; the answers are kept in shared memory, written as soon as it can be, and count against juhe.max_billed_per_day. The server log has their order ids."),
				 errhint("Free space where the data directory is; juheid sends nothing more until the ledger can be written.")));

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
			items[i].attempts = l->attempts;
			items[i].phase = l->phase;
			items[i].saved_errno = l->saved_errno;
		}
	}
	pfree(digests);
	if (persons)
		pfree(persons);
	pfree(leader);
	pfree(http);
	pfree(tags);
	if (seen)
		hash_destroy(seen);
	pfree(url);
}
