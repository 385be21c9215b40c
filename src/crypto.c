/*
 * crypto.c
 *		Encryption of request fields, as the Juhe API specifies it.
 *
 * AES mode: Base64(AES-128-ECB, PKCS#7, key k16), k16 = first 16 hex digits
 * of MD5(openid).  RSA mode: a fresh 16-character key per request encrypts
 * the fields with AES-128-CBC (IV k16) and itself travels RSA-encrypted
 * (PKCS#1 v1.5).  Everything goes through OpenSSL's EVP interface; this file
 * has no PostgreSQL dependency and never throws.
 */
#include "crypto.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

static void
set_err(char *errbuf, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();

	if (errbuf == NULL || errlen == 0)
	{
		ERR_clear_error();
		return;
	}
	if (e != 0)
		snprintf(errbuf, errlen, "%s: %s", what, ERR_reason_error_string(e) ?
				 ERR_reason_error_string(e) : "unknown OpenSSL error");
	else
		snprintf(errbuf, errlen, "%s", what);
	ERR_clear_error();
}

void
juhe_crypto_free(void *p)
{
	free(p);
}

bool
juhe_random_bytes(unsigned char *buf, size_t len)
{
	return RAND_bytes(buf, (int) len) == 1;
}

/* Base64 (standard alphabet, one line) of len bytes; malloc'd */
static char *
b64_encode(const unsigned char *data, size_t len)
{
	size_t		outlen = 4 * ((len + 2) / 3) + 1;
	char	   *out = malloc(outlen);

	if (out == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *) out, data, (int) len);
	return out;
}

unsigned char *
juhe_b64_decode(const char *text, size_t len, size_t *outlen)
{
	char	   *clean;
	size_t		n = 0;
	size_t		pad = 0;
	unsigned char *out;
	int			rc;

	clean = malloc(len + 1);
	if (clean == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) text[i];

		if (isspace(c))
			continue;
		if (!(isalnum(c) || c == '+' || c == '/' || c == '='))
		{
			free(clean);
			return NULL;
		}
		clean[n++] = (char) c;
	}
	clean[n] = '\0';
	if (n == 0 || n % 4 != 0)
	{
		free(clean);
		return NULL;
	}
	while (pad < 2 && clean[n - 1 - pad] == '=')
		pad++;
	out = malloc(n / 4 * 3 + 1);
	if (out == NULL)
	{
		free(clean);
		return NULL;
	}
	rc = EVP_DecodeBlock(out, (unsigned char *) clean, (int) n);
	free(clean);
	if (rc < 0 || (size_t) rc < pad)
	{
		free(out);
		return NULL;
	}
	*outlen = (size_t) rc - pad;
	return out;
}

bool
juhe_derive_k16(const char *openid, size_t len, char k16[JUHE_K16_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";

	if (EVP_Digest(openid, len, md, &mdlen, EVP_md5(), NULL) != 1 || mdlen < 8)
	{
		ERR_clear_error();
		return false;
	}
	for (int i = 0; i < JUHE_K16_LEN / 2; i++)
	{
		k16[2 * i] = hex[md[i] >> 4];
		k16[2 * i + 1] = hex[md[i] & 0xf];
	}
	k16[JUHE_K16_LEN] = '\0';
	return true;
}

static char *
aes_b64(const EVP_CIPHER *cipher, const char *plain, size_t len,
		const char key[JUHE_K16_LEN], const char *iv,
		char *errbuf, size_t errlen)
{
	EVP_CIPHER_CTX *ctx;
	unsigned char *ct;
	int			n1 = 0,
				n2 = 0;
	char	   *out = NULL;

	if (len > 65536)
	{
		set_err(errbuf, errlen, "The plaintext is too long");
		return NULL;
	}
	ct = malloc(len + 32);
	if (ct == NULL)
	{
		set_err(errbuf, errlen, "Out of memory");
		return NULL;
	}
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL ||
		EVP_EncryptInit_ex(ctx, cipher, NULL, (const unsigned char *) key,
						   (const unsigned char *) iv) != 1 ||
		EVP_EncryptUpdate(ctx, ct, &n1, (const unsigned char *) plain, (int) len) != 1 ||
		EVP_EncryptFinal_ex(ctx, ct + n1, &n2) != 1)
		set_err(errbuf, errlen, "AES encryption failed");
	else if ((out = b64_encode(ct, (size_t) n1 + n2)) == NULL)
		set_err(errbuf, errlen, "Out of memory");
	EVP_CIPHER_CTX_free(ctx);
	free(ct);
	return out;
}

char *
juhe_aes_ecb_b64(const char *plain, size_t len, const char key[JUHE_K16_LEN],
				 char *errbuf, size_t errlen)
{
	return aes_b64(EVP_aes_128_ecb(), plain, len, key, NULL, errbuf, errlen);
}

char *
juhe_aes_cbc_b64(const char *plain, size_t len, const char key[JUHE_K16_LEN],
				 const char iv[JUHE_K16_LEN], char *errbuf, size_t errlen)
{
	return aes_b64(EVP_aes_128_cbc(), plain, len, key, iv, errbuf, errlen);
}

bool
juhe_random_aes_key(char key[JUHE_K16_LEN + 1])
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char buf[64];
	int			n = 0;

	/* rejection sampling: 248 = 4 * 62, so b % 62 is uniform below it */
	while (n < JUHE_K16_LEN)
	{
		if (RAND_bytes(buf, sizeof(buf)) != 1)
		{
			ERR_clear_error();
			return false;
		}
		for (size_t i = 0; i < sizeof(buf) && n < JUHE_K16_LEN; i++)
			if (buf[i] < 248)
				key[n++] = alphabet[buf[i] % 62];
	}
	key[JUHE_K16_LEN] = '\0';
	OPENSSL_cleanse(buf, sizeof(buf));
	return true;
}

/* DER bytes: SubjectPublicKeyInfo first, then PKCS#1 RSAPublicKey */
static EVP_PKEY *
der_to_key(const unsigned char *der, size_t len, bool pkcs1_first)
{
	const unsigned char *p;
	EVP_PKEY   *pkey = NULL;

	for (int attempt = 0; attempt < 2 && pkey == NULL; attempt++)
	{
		bool		pkcs1 = (attempt == 0) == pkcs1_first;

		p = der;
		if (pkcs1)
			pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long) len);
		else
			pkey = d2i_PUBKEY(NULL, &p, (long) len);
		/* the whole input must be the key, nothing trailing */
		if (pkey != NULL && p != der + len)
		{
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	ERR_clear_error();
	return pkey;
}

JuhePublicKey
juhe_parse_public_key(const char *text, char *errbuf, size_t errlen)
{
	const char *body = text;
	size_t		bodylen = strlen(text);
	bool		pkcs1 = false;
	const char *begin = strstr(text, "-----BEGIN ");
	unsigned char *der;
	size_t		derlen = 0;
	EVP_PKEY   *pkey;

	if (begin != NULL)
	{
		const char *label = begin + strlen("-----BEGIN ");
		const char *label_end = strstr(label, "-----");
		const char *end;

		if (label_end == NULL)
		{
			set_err(errbuf, errlen, "The PEM header is malformed");
			return NULL;
		}
		if ((size_t) (label_end - label) == strlen("PUBLIC KEY") &&
			strncmp(label, "PUBLIC KEY", label_end - label) == 0)
			pkcs1 = false;
		else if ((size_t) (label_end - label) == strlen("RSA PUBLIC KEY") &&
				 strncmp(label, "RSA PUBLIC KEY", label_end - label) == 0)
			pkcs1 = true;
		else
		{
			set_err(errbuf, errlen,
					"The PEM block is not \"PUBLIC KEY\" or \"RSA PUBLIC KEY\"");
			return NULL;
		}
		body = label_end + 5;
		end = strstr(body, "-----END ");
		if (end == NULL)
		{
			set_err(errbuf, errlen, "The PEM block has no END line");
			return NULL;
		}
		bodylen = end - body;
	}

	der = juhe_b64_decode(body, bodylen, &derlen);
	if (der == NULL)
	{
		set_err(errbuf, errlen, "The key is not valid Base64");
		return NULL;
	}
	pkey = der_to_key(der, derlen, pkcs1);
	free(der);
	if (pkey == NULL)
	{
		set_err(errbuf, errlen, "The key is not a DER-encoded RSA public key");
		return NULL;
	}
	if (!EVP_PKEY_is_a(pkey, "RSA"))
	{
		EVP_PKEY_free(pkey);
		set_err(errbuf, errlen, "The key is not an RSA key");
		return NULL;
	}
	if (EVP_PKEY_get_bits(pkey) < 1024)
	{
		EVP_PKEY_free(pkey);
		set_err(errbuf, errlen, "The RSA key is shorter than 1024 bits");
		return NULL;
	}
	return pkey;
}

void
juhe_free_public_key(JuhePublicKey key)
{
	EVP_PKEY_free(key);
}

char *
juhe_rsa_encrypt_b64(JuhePublicKey pub, const char *data, size_t len,
					 char *errbuf, size_t errlen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pub, NULL);
	unsigned char *ct = NULL;
	size_t		ctlen = 0;
	char	   *out = NULL;

	if (ctx == NULL ||
		EVP_PKEY_encrypt_init(ctx) != 1 ||
		EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
		EVP_PKEY_encrypt(ctx, NULL, &ctlen, (const unsigned char *) data, len) != 1 ||
		(ct = malloc(ctlen)) == NULL ||
		EVP_PKEY_encrypt(ctx, ct, &ctlen, (const unsigned char *) data, len) != 1)
		set_err(errbuf, errlen, "RSA encryption failed");
	else if ((out = b64_encode(ct, ctlen)) == NULL)
		set_err(errbuf, errlen, "Out of memory");
	EVP_PKEY_CTX_free(ctx);
	free(ct);
	return out;
}

bool
juhe_hmac_sha256(const unsigned char *key, size_t keylen,
				 const unsigned char *data, size_t len, unsigned char out[32])
{
	unsigned int outlen = 0;

	if (HMAC(EVP_sha256(), key, (int) keylen, data, len, out, &outlen) == NULL ||
		outlen != 32)
	{
		ERR_clear_error();
		return false;
	}
	return true;
}
