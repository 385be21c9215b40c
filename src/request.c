/*
 * request.c
 *		The URL and form body of one request, per mode.
 *
 *	plain  /idcard/query          idcard, realname, key, orderid=1
 *	aes    /idcard/queryEncry     idcard, realname = Base64(AES-ECB(k16)), key
 *	rsa    /idcard/queryEncryV2   key, aesKey = Base64(RSA(k)), idcard, realname
 *	                              = Base64(AES-CBC(k, iv = k16)), k fresh per request
 *
 * Every value is percent-encoded (Base64's '+' would otherwise arrive as a
 * space).  Nothing personal goes into the URL.
 */
#include "postgres.h"

#include <curl/curl.h>

#include "lib/stringinfo.h"

#include "request.h"


char *
juhe_request_url(const JuheConfig *cfg)
{
	return psprintf("%s%s", cfg->base_url, juhe_mode_endpoint(cfg->mode));
}

static void
add_field(StringInfo buf, const char *name, const char *value)
{
	char	   *esc = curl_easy_escape(NULL, value, (int) strlen(value));

	if (esc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (buf->len > 0)
		appendStringInfoChar(buf, '&');
	appendStringInfo(buf, "%s=%s", name, esc);
	explicit_bzero(esc, strlen(esc));
	curl_free(esc);
}

/* take ownership of a malloc'd crypto result: copy, wipe, free */
static char *
crypto_result(char *out, const char *errbuf)
{
	char	   *copy;

	if (out == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not encrypt the request"),
				 errdetail("%s.", errbuf)));
	copy = pstrdup(out);
	juhe_crypto_free(out);
	return copy;
}

char *
juhe_request_body(const JuheConfig *cfg, const char *name, const char *idcard,
				  size_t *len)
{
	StringInfoData buf;
	char		errbuf[JUHE_CRYPTO_ERRLEN] = "";

	initStringInfo(&buf);
	switch (cfg->mode)
	{
		case JUHE_MODE_PLAIN:
			add_field(&buf, "idcard", idcard);
			add_field(&buf, "realname", name);
			add_field(&buf, "key", cfg->key);
			add_field(&buf, "orderid", "1");
			break;

		case JUHE_MODE_AES:
			{
				char	   *eid = crypto_result(juhe_aes_ecb_b64(idcard, strlen(idcard), cfg->k16,
																 errbuf, sizeof(errbuf)), errbuf);
				char	   *ename = crypto_result(juhe_aes_ecb_b64(name, strlen(name), cfg->k16,
																   errbuf, sizeof(errbuf)), errbuf);

				add_field(&buf, "idcard", eid);
				add_field(&buf, "realname", ename);
				add_field(&buf, "key", cfg->key);
				break;
			}

		case JUHE_MODE_RSA:
			{
				char		k[JUHE_K16_LEN + 1];
				char	   *ekey;
				char	   *eid;
				char	   *ename;

				if (!juhe_random_aes_key(k))
					ereport(ERROR,
							(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
							 errmsg("could not generate a random AES key")));
				ekey = crypto_result(juhe_rsa_encrypt_b64(cfg->pubkey, k, JUHE_K16_LEN,
														  errbuf, sizeof(errbuf)), errbuf);
				eid = crypto_result(juhe_aes_cbc_b64(idcard, strlen(idcard), k, cfg->k16,
													 errbuf, sizeof(errbuf)), errbuf);
				ename = crypto_result(juhe_aes_cbc_b64(name, strlen(name), k, cfg->k16,
													   errbuf, sizeof(errbuf)), errbuf);
				explicit_bzero(k, sizeof(k));
				add_field(&buf, "key", cfg->key);
				add_field(&buf, "aesKey", ekey);
				add_field(&buf, "idcard", eid);
				add_field(&buf, "realname", ename);
				break;
			}
	}
	*len = buf.len;
	return buf.data;
}
