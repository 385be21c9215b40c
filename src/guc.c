/*
 * guc.c
 *		The juhe.* settings, and the snapshot of them that one call uses.
 *
 * Secrets (key, openid) and everything that decides where the key is sent
 * (base_url, ca_file) are PGC_SUSET + GUC_SUPERUSER_ONLY: only superusers
 * can read or change them.  The RSA public key is validated when set and
 * parsed once per backend; the parsed key is reused until the setting
 * changes.
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "pgtime.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "counters.h"
#include "guc.h"

/* read only here: a call takes them through its snapshot (JuheConfig) */
static char *juhe_key = NULL;
static char *juhe_openid = NULL;
static char *juhe_rsa_public_key = NULL;
static char *juhe_base_url = NULL;
static char *juhe_ca_file = NULL;
static char *juhe_proxy = NULL;
static int	juhe_timeout_ms = 5000;
static int	juhe_connect_timeout_ms = 2000;
static int	juhe_retries = 1;
static int	juhe_max_response_kb = 64;
static char *juhe_digest_key = NULL;
static int	juhe_reuse_answers_for = 0;

/* read where they act */
int			juhe_mode = JUHE_MODE_PLAIN;
bool		juhe_validate_locally = true;
bool		juhe_ledger_sync_on = true;
int			juhe_ledger_retention_days = 0;
int			juhe_max_billed_per_day = 0;
char	   *juhe_billing_timezone = NULL;
int			juhe_max_requests_per_statement = 10000;
int			juhe_max_requests_per_second = 0;
bool		juhe_gateway = true;
int			juhe_gateway_connections = 8;
int			juhe_reuse_max_answers = 20000;

/* the modes: name (juhe.mode, juhe_verify's argument) and endpoint */
static const struct
{
	const char *name;
	const char *endpoint;
}			modes[JUHE_NUM_MODES] = {
	[JUHE_MODE_PLAIN] = {"plain", "/idcard/query"},
	[JUHE_MODE_AES] = {"aes", "/idcard/queryEncry"},
	[JUHE_MODE_RSA] = {"rsa", "/idcard/queryEncryV2"},
};

/* juhe.mode's options, filled from modes[] */
static struct config_enum_entry mode_options[JUHE_NUM_MODES + 1];

/* parsed RSA key and the setting text it came from */
static JuhePublicKey cached_key = NULL;
static char *cached_key_text = NULL;

static bool
check_rsa_public_key(char **newval, void **extra, GucSource source)
{
	char		errbuf[JUHE_CRYPTO_ERRLEN];
	JuhePublicKey key;

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	key = juhe_parse_public_key(*newval, errbuf, sizeof(errbuf));
	if (key == NULL)
	{
		GUC_check_errmsg("invalid value for parameter \"juhe.rsa_public_key\"");
		GUC_check_errdetail("%s.", errbuf);
		GUC_check_errhint("Paste the public key from the Juhe console, as Base64 or PEM.");
		return false;
	}
	juhe_free_public_key(key);
	return true;
}

/*
 * Secrets may live in postgresql.conf (ALTER SYSTEM) or a superuser's SET,
 * never in the catalogs: ALTER ROLE/DATABASE ... SET stores the value in
 * pg_db_role_setting and a function's SET clause in pg_proc.proconfig, both
 * readable by every role.  Those commands validate with PGC_S_TEST; values
 * stored before this check are applied at login with the DATABASE/USER
 * sources (refused there with a WARNING, so they never take effect).
 */
static bool
check_secret(char **newval, GucSource source, const char *name)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	switch (source)
	{
		case PGC_S_TEST:
		case PGC_S_DATABASE:
		case PGC_S_USER:
		case PGC_S_DATABASE_USER:
		case PGC_S_GLOBAL:
			GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
			GUC_check_errmsg("parameter \"%s\" cannot be stored in the catalogs", name);
			GUC_check_errdetail("ALTER ROLE, ALTER DATABASE and function SET clauses keep values where every role can read them.");
			GUC_check_errhint("Set %s in postgresql.conf or with ALTER SYSTEM.", name);
			return false;
		default:
			return true;
	}
}

static bool
check_key(char **newval, void **extra, GucSource source)
{
	return check_secret(newval, source, "juhe.key");
}

static bool
check_openid(char **newval, void **extra, GucSource source)
{
	return check_secret(newval, source, "juhe.openid");
}

/* a URL of the form scheme://host[:port][/path]; NULL if fine, else why not */
static const char *
url_problem(const char *u, bool allow_empty)
{
	const char *rest;

	if (u == NULL || (allow_empty && u[0] == '\0'))
		return NULL;
	if (strncmp(u, "https://", 8) == 0)
		rest = u + 8;
	else if (strncmp(u, "http://", 7) == 0)
		rest = u + 7;
	else
		return "The URL must start with https:// (or http:// for a local test service).";
	if (*rest == '\0' || *rest == '/')
		return "The URL has no host.";
	for (const char *p = rest; *p; p++)
		if (*p == '?' || *p == '#' || *p == '@' || (unsigned char) *p <= ' ')
			return "The URL must be scheme://host[:port][/path], without user, query or fragment.";
	return NULL;
}

static bool
check_base_url(char **newval, void **extra, GucSource source)
{
	const char *problem;

	if (*newval == NULL)
		return false;
	problem = url_problem(*newval, false);
	if (problem == NULL)
		return true;			/* nothing formatted: no memory used */
	/* never echo the value: it could carry credentials */
	GUC_check_errmsg("invalid value for parameter \"juhe.base_url\"");
	GUC_check_errdetail("%s", problem);
	return false;
}

static bool
check_proxy(char **newval, void **extra, GucSource source)
{
	const char *u = *newval;

	if (u == NULL || u[0] == '\0')
		return true;
	/* http://, https://, socks5h:// ... with a host; never echoed */
	if (strstr(u, "://") == NULL || strstr(u, "://")[3] == '\0')
	{
		GUC_check_errmsg("invalid value for parameter \"juhe.proxy\"");
		GUC_check_errdetail("The proxy must be a URL such as http://proxy.example:3128.");
		return false;
	}
	return true;
}

/* a time zone name PostgreSQL knows (a day boundary must be exact) */
static bool
check_billing_timezone(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || pg_tzset(*newval) == NULL)
	{
		GUC_check_errmsg("invalid value for parameter \"juhe.billing_timezone\"");
		GUC_check_errdetail("It must be a time zone name such as Asia/Shanghai.");
		return false;
	}
	return true;
}

/*
 * The key of the answers' digests (reuse.c): at least 32 characters, set
 * where only superusers can read it (PGC_SIGHUP: postgresql.conf or ALTER
 * SYSTEM); never echoed.
 */
static bool
check_digest_key(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (strlen(*newval) < JUHE_DIGEST_KEY_MIN)
	{
		GUC_check_errmsg("invalid value for parameter \"juhe.digest_key\"");
		GUC_check_errdetail("The key must be at least %d characters long.", JUHE_DIGEST_KEY_MIN);
		GUC_check_errhint("Generate one with: openssl rand -hex 32");
		return false;
	}
	return true;
}

void
juhe_define_gucs(void)
{
	for (int m = 0; m < JUHE_NUM_MODES; m++)
	{
		mode_options[m].name = modes[m].name;
		mode_options[m].val = m;
		mode_options[m].hidden = false;
	}

	DefineCustomStringVariable("juhe.key",
							   "API key of the Juhe account.",
							   NULL,
							   &juhe_key,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   check_key, NULL, NULL);

	DefineCustomStringVariable("juhe.openid",
							   "OpenID of the Juhe account, used to derive the AES keys.",
							   NULL,
							   &juhe_openid,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   check_openid, NULL, NULL);

	DefineCustomStringVariable("juhe.rsa_public_key",
							   "RSA public key for the rsa mode (Base64 DER or PEM).",
							   NULL,
							   &juhe_rsa_public_key,
							   "",
							   PGC_SUSET,
							   GUC_NOT_IN_SAMPLE,
							   check_rsa_public_key, NULL, NULL);

	DefineCustomStringVariable("juhe.base_url",
							   "Base URL of the Juhe service.",
							   NULL,
							   &juhe_base_url,
							   "https://op.juhe.cn",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   check_base_url, NULL, NULL);

	DefineCustomStringVariable("juhe.ca_file",
							   "File of trusted CA certificates for https (empty: the system's).",
							   NULL,
							   &juhe_ca_file,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("juhe.proxy",
							   "Proxy for requests to the Juhe service (empty: none; http_proxy and friends in the server's environment are ignored).",
							   NULL,
							   &juhe_proxy,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   check_proxy, NULL, NULL);

	DefineCustomBoolVariable("juhe.gateway",
							 "Send requests through the gateway worker (needs shared_preload_libraries).",
							 "Off: each backend connects to the service itself.",
							 &juhe_gateway,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("juhe.gateway_connections",
							"Most connections the gateway worker keeps to the service.",
							"Requests beyond them wait in the worker's queue.",
							&juhe_gateway_connections,
							8, 1, 64,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("juhe.mode",
							 "Default verification mode: plain, aes or rsa.",
							 NULL,
							 &juhe_mode,
							 JUHE_MODE_PLAIN,
							 mode_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("juhe.timeout_ms",
							"Time limit for one request to the Juhe service.",
							NULL,
							&juhe_timeout_ms,
							5000, 100, 120000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("juhe.connect_timeout_ms",
							"Time limit for connecting to the Juhe service.",
							NULL,
							&juhe_connect_timeout_ms,
							2000, 100, 60000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("juhe.retries",
							"Extra attempts for requests that cannot have been billed: not sent, HTTP 503 or 429, error 210305.",
							NULL,
							&juhe_retries,
							1, 0, 5,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("juhe.max_response_kb",
							"Largest answer accepted from the Juhe service.",
							NULL,
							&juhe_max_response_kb,
							64, 1, 8192,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("juhe.validate_locally",
							 "Answer malformed names and ID numbers locally, without a paid request.",
							 NULL,
							 &juhe_validate_locally,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("juhe.ledger_sync",
							 "Make each ledger record durable (fdatasync) before the answer is returned.",
							 "Off: records are written at once, and reach the disk with the operating system's next flush.",
							 &juhe_ledger_sync_on,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("juhe.ledger_retention_days",
							"Days the ledger keeps a request; older ones are removed at server start (0: kept for ever).",
							NULL,
							&juhe_ledger_retention_days,
							0, 0, 36500,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("juhe.max_billed_per_day",
							"Most requests billed (or in doubt) per day, for the whole cluster (0: no limit).",
							"Days are counted in juhe.billing_timezone.",
							&juhe_max_billed_per_day,
							0, 0, INT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("juhe.billing_timezone",
							   "Time zone in which juhe.max_billed_per_day counts days (the provider's).",
							   NULL,
							   &juhe_billing_timezone,
							   "Asia/Shanghai",
							   PGC_SIGHUP,
							   0,
							   check_billing_timezone, NULL, NULL);

	DefineCustomIntVariable("juhe.max_requests_per_statement",
							"Most requests one statement may send (0: no limit).",
							"A guard against verifying a whole table by accident.",
							&juhe_max_requests_per_statement,
							10000, 0, INT_MAX,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("juhe.max_requests_per_second",
							"Most requests per second the whole cluster sends to the service (0: no limit).",
							"The provider limits the account, not the backend: every path (function, trigger, bulk) waits its turn.",
							&juhe_max_requests_per_second,
							0, 0, 100000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("juhe.reuse_answers_for",
							"Return a billed answer again, without a request, for the same name and ID number within this time (0: never).",
							"Any backend, database or transaction; needs juhe.digest_key.",
							&juhe_reuse_answers_for,
							0, 0, INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("juhe.digest_key",
							   "Key of the keyed digest (HMAC-SHA-256) of name and ID number kept with each billed answer (empty: none kept).",
							   "Rotating it ends the reuse of every earlier answer.",
							   &juhe_digest_key,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   check_digest_key, NULL, NULL);

	/* PostgreSQL allows a PGC_POSTMASTER setting only while preloading */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("juhe.reuse_max_answers",
								"Most billed answers the shared-memory index of juhe.reuse_answers_for holds (0: none).",
								"When full, the oldest eighth is dropped.",
								&juhe_reuse_max_answers,
								20000, 0, 10000000,
								PGC_POSTMASTER,
								0,
								NULL, NULL, NULL);

	MarkGUCPrefixReserved("juhe");
}

bool
juhe_mode_lookup(const char *s, JuheMode *mode)
{
	for (int m = 0; m < JUHE_NUM_MODES; m++)
		if (pg_strcasecmp(s, modes[m].name) == 0)
		{
			*mode = (JuheMode) m;
			return true;
		}
	return false;
}

const char *
juhe_mode_name(JuheMode mode)
{
	return modes[mode].name;
}

const char *
juhe_mode_endpoint(JuheMode mode)
{
	return modes[mode].endpoint;
}

/* "plain, aes or rsa", for hints */
const char *
juhe_mode_list(void)
{
	static char list[64];

	if (list[0] == '\0')
	{
		for (int m = 0; m < JUHE_NUM_MODES; m++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 m == 0 ? "" : (m == JUHE_NUM_MODES - 1 ? " or " : ", "),
					 modes[m].name);
	}
	return list;
}

JuheMode
juhe_mode_from_text(const char *s)
{
	JuheMode	mode;

	if (juhe_mode_lookup(s, &mode))
		return mode;
	ereport(ERROR,
			errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			errmsg("unknown verification mode \"%s\"", s),
			errhint("Use %s, or pass NULL to use juhe.mode.", juhe_mode_list()));
	return JUHE_MODE_PLAIN;		/* keep compiler quiet */
}

static void
require(const char *value, const char *setting, JuheMode mode)
{
	if (value == NULL || value[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s is not set", setting),
				 errdetail("Mode \"%s\" needs it; no request was sent.",
						   juhe_mode_name(mode)),
				 errhint("A superuser must set %s, for example in postgresql.conf or with ALTER SYSTEM.",
						 setting)));
}

/* the parsed public key for the current setting, parsed at most once */
static JuhePublicKey
current_public_key(void)
{
	char		errbuf[JUHE_CRYPTO_ERRLEN];
	JuhePublicKey key;
	char	   *volatile text_copy = NULL;

	if (cached_key && cached_key_text &&
		strcmp(cached_key_text, juhe_rsa_public_key) == 0)
		return cached_key;

	key = juhe_parse_public_key(juhe_rsa_public_key, errbuf, sizeof(errbuf));
	if (key == NULL)			/* the check hook makes this unlikely */
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for parameter \"juhe.rsa_public_key\""),
				 errdetail("%s.", errbuf)));
	/*
	 * Copy the text before giving anything up: if the copy fails (out of
	 * memory), the old pair stays consistent and the new key is freed.
	 */
	PG_TRY();
	{
		text_copy = MemoryContextStrdup(TopMemoryContext, juhe_rsa_public_key);
	}
	PG_CATCH();
	{
		juhe_free_public_key(key);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (cached_key)
		juhe_free_public_key(cached_key);
	if (cached_key_text)
		pfree(cached_key_text);
	cached_key = key;
	cached_key_text = text_copy;
	juhe_backend_count(JUHE_BC_KEY_LOADS, 1);
	return cached_key;
}

void
juhe_config_load(JuheConfig *cfg, JuheMode mode)
{
	size_t		len;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = mode;

	require(juhe_key, "juhe.key", mode);
	if (mode != JUHE_MODE_PLAIN)
		require(juhe_openid, "juhe.openid", mode);
	if (mode == JUHE_MODE_RSA)
		require(juhe_rsa_public_key, "juhe.rsa_public_key", mode);

	cfg->key = pstrdup(juhe_key);
	cfg->base_url = pstrdup(juhe_base_url);
	len = strlen(cfg->base_url);
	while (len > 0 && cfg->base_url[len - 1] == '/')
		cfg->base_url[--len] = '\0';
	cfg->ca_file = (juhe_ca_file && juhe_ca_file[0]) ? pstrdup(juhe_ca_file) : NULL;
	cfg->proxy = (juhe_proxy && juhe_proxy[0]) ? pstrdup(juhe_proxy) : NULL;
	cfg->timeout_ms = juhe_timeout_ms;
	cfg->connect_timeout_ms = Min(juhe_connect_timeout_ms, juhe_timeout_ms);
	cfg->retries = juhe_retries;
	cfg->max_response_bytes = (size_t) juhe_max_response_kb * 1024;
	cfg->reuse_for_s = juhe_reuse_answers_for;
	cfg->digest_key = (juhe_digest_key && juhe_digest_key[0]) ? pstrdup(juhe_digest_key) : NULL;

	if (mode != JUHE_MODE_PLAIN &&
		!juhe_derive_k16(juhe_openid, strlen(juhe_openid), cfg->k16))
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not derive the AES key from juhe.openid")));
	if (mode == JUHE_MODE_RSA)
		cfg->pubkey = current_public_key();
}

/* wipe the secrets in the snapshot */
void
juhe_config_release(JuheConfig *cfg)
{
	if (cfg->key)
	{
		explicit_bzero(cfg->key, strlen(cfg->key));
		pfree(cfg->key);
	}
	if (cfg->digest_key)
	{
		explicit_bzero(cfg->digest_key, strlen(cfg->digest_key));
		pfree(cfg->digest_key);
	}
	explicit_bzero(cfg->k16, sizeof(cfg->k16));
	cfg->key = NULL;
	cfg->digest_key = NULL;
}

bool
juhe_config_reuses(JuheConfig *cfg, bool asked)
{
	if (!asked || cfg->reuse_for_s <= 0)
		return false;
	if (cfg->digest_key != NULL)
		return true;
	juhe_config_release(cfg);	/* the secrets wiped first */
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("juhe.digest_key is not set"),
			 errdetail("juhe.reuse_answers_for finds earlier answers by a digest under this key; no request was sent."),
			 errhint("A superuser must set juhe.digest_key in postgresql.conf (at least %d characters), or set juhe.reuse_answers_for to 0.",
					 JUHE_DIGEST_KEY_MIN)));
	return false;				/* keep compiler quiet */
}
