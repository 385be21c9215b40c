/*
 * guc.h
 *		The juhe.* settings, the verification modes, and the snapshot of the
 *		settings that one call uses (guc.c).
 */
#ifndef JUHEID_GUC_H
#define JUHEID_GUC_H

#include "postgres.h"

#include "crypto.h"

typedef enum JuheMode
{
	JUHE_MODE_PLAIN,
	JUHE_MODE_AES,
	JUHE_MODE_RSA
} JuheMode;

#define JUHE_NUM_MODES 3

/*
 * The settings read where they act; the others (key, openid, RSA key,
 * base URL, CA file, proxy, time limits, retries, answer cap) are read only
 * through a call's snapshot, juhe_config_load().
 */
extern int	juhe_mode;
extern bool juhe_validate_locally;
extern bool juhe_ledger_sync_on;
extern int	juhe_ledger_retention_days;
extern int	juhe_max_billed_per_day;
extern char *juhe_billing_timezone;
extern int	juhe_max_requests_per_statement;
extern int	juhe_max_requests_per_second;
extern bool juhe_gateway;
extern int	juhe_gateway_connections;
extern int	juhe_reuse_max_answers;

/* juhe.digest_key's shortest value */
#define JUHE_DIGEST_KEY_MIN 32

extern void juhe_define_gucs(void);

/* modes: one table (guc.c) gives their names and endpoints */
extern bool juhe_mode_lookup(const char *s, JuheMode *mode);
extern JuheMode juhe_mode_from_text(const char *s);
extern const char *juhe_mode_name(JuheMode mode);
extern const char *juhe_mode_endpoint(JuheMode mode);
extern const char *juhe_mode_list(void);	/* "plain, aes or rsa" */

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
	int			reuse_for_s;	/* juhe.reuse_answers_for; 0 = off */
	char	   *digest_key;		/* juhe.digest_key; NULL = none */
} JuheConfig;

extern void juhe_config_load(JuheConfig *cfg, JuheMode mode);
extern void juhe_config_release(JuheConfig *cfg);

/*
 * Whether a call that asks for reuse gets it (juhe.reuse_answers_for on);
 * an error, the snapshot released first, if it would but has no digest key
 */
extern bool juhe_config_reuses(JuheConfig *cfg, bool asked);

#endif							/* JUHEID_GUC_H */
