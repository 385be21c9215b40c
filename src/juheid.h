/*
 * juheid.h
 *		Types shared by the stages of a verification: settings snapshot,
 *		request, transport, memo.  See README "Architecture".
 */
#ifndef JUHEID_H
#define JUHEID_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"

#include "crypto.h"
#include "response.h"

typedef enum JuheMode
{
	JUHE_MODE_PLAIN,
	JUHE_MODE_AES,
	JUHE_MODE_RSA
} JuheMode;

/* ---- settings (guc.c) ---- */
extern char *juhe_key;
extern char *juhe_openid;
extern char *juhe_rsa_public_key;
extern char *juhe_base_url;
extern char *juhe_ca_file;
extern int	juhe_mode;
extern int	juhe_timeout_ms;
extern int	juhe_connect_timeout_ms;
extern int	juhe_retries;
extern int	juhe_max_response_kb;
extern bool juhe_validate_locally;
extern char *juhe_proxy;

extern void juhe_define_gucs(void);
extern JuheMode juhe_mode_from_text(const char *s);
extern bool juhe_mode_lookup(const char *s, JuheMode *mode);

/* what one call needs, checked before anything is sent */
typedef struct JuheConfig
{
	JuheMode	mode;
	char	   *key;
	char	   *base_url;		/* without trailing slash */
	char	   *ca_file;		/* NULL = system default */
	char	   *proxy;			/* NULL = none (the environment is ignored) */
	char		k16[JUHE_K16_LEN + 1];	/* aes, rsa */
	JuhePublicKey pubkey;		/* rsa; owned by the cache in guc.c */
	int			timeout_ms;
	int			connect_timeout_ms;
	int			retries;
	size_t		max_response_bytes;
} JuheConfig;

extern void juhe_config_load(JuheConfig *cfg, JuheMode mode);
extern void juhe_config_release(JuheConfig *cfg);

/* ---- per-backend counters (juhe_backend_stats()) ---- */
typedef struct JuheCounters
{
	int64		requests;		/* HTTP requests sent */
	int64		connections;	/* new TCP connections opened */
	int64		retries;		/* extra attempts */
	int64		memo_hits;		/* answers served from the memo */
	int64		local_answers;	/* answered by local validation */
	int64		key_loads;		/* RSA public key parses */
} JuheCounters;

extern JuheCounters juhe_counters;

/* ---- one verification through the pipeline (verify.c) ---- */
typedef enum JuheFailure
{
	JUHE_FAIL_NONE = 0,
	JUHE_FAIL_NOT_SENT,			/* transport failed before the request was
								 * complete (resolve, connect, TLS): not billed */
	JUHE_FAIL_LOST,				/* request sent, then no complete answer
								 * (timeout, dropped connection): may be billed */
	JUHE_FAIL_HTTP,				/* non-2xx status */
	JUHE_FAIL_TOO_LARGE,		/* answer over juhe.max_response_kb */
	JUHE_FAIL_PARSE				/* malformed JSON or unknown res */
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
	int			curl_code;
	long		http_status;
	int			parse_status;
	int			attempts;		/* requests started for this item */
	int			timeout_ms;		/* the limits in force */
	int			connect_timeout_ms;
	size_t		max_response_bytes;
} JuheItem;

extern void juhe_verify_items(JuheItem *items, int nitems, JuheMode mode,
							  int max_parallel);

/* ---- request bodies (request.c) ---- */
extern char *juhe_request_url(const JuheConfig *cfg);
extern char *juhe_request_body(const JuheConfig *cfg, const char *name,
							   const char *idcard, size_t *len);

/* ---- memo (memo.c) ---- */
#define JUHE_DIGEST_LEN 32
extern void juhe_memo_digest(const JuheConfig *cfg, const char *name,
							 const char *idcard, uint8 *digest);
extern bool juhe_memo_lookup(const uint8 *digest, JuheAnswer *answer);
extern void juhe_memo_store(const uint8 *digest, const JuheAnswer *answer);

/* ---- input (input.c) ---- */
extern void juhe_prepare_item(JuheItem *item, text *realname, text *idcard);

/* ---- results (juheid.c) ---- */
#define JUHE_RESULT_NATTS 4
extern Datum juhe_result_datum(FunctionCallInfo fcinfo, const JuheAnswer *a);
extern void juhe_result_values(const JuheAnswer *a, Datum *values, bool *nulls);
extern void juhe_check_result_desc(TupleDesc td, const Oid *types, int natts,
								   const char *what);
extern Oid	juhe_result_type_oid(void);

#endif							/* JUHEID_H */
