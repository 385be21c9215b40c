/*
 * crypto.h
 *		Request encryption for the Juhe API: key derivation, AES-ECB/CBC,
 *		RSA PKCS#1 v1.5, Base64.
 *
 * This file and crypto.c use only libc and OpenSSL (no PostgreSQL headers),
 * so the C unit tests can link them directly.  Functions never throw: they
 * return false/NULL and leave a short message in errbuf.  Returned strings
 * are malloc'd and must be released with juhe_crypto_free().
 */
#ifndef JUHEID_CRYPTO_H
#define JUHEID_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define JUHE_K16_LEN 16
#define JUHE_CRYPTO_ERRLEN 256

typedef struct evp_pkey_st *JuhePublicKey;	/* EVP_PKEY */

/* k16: first 16 characters of the lowercase hex MD5 of openid */
extern bool juhe_derive_k16(const char *openid, size_t len, char k16[JUHE_K16_LEN + 1]);

/* Base64(AES-128-ECB/PKCS#7(plain, key)) */
extern char *juhe_aes_ecb_b64(const char *plain, size_t len,
							  const char key[JUHE_K16_LEN],
							  char *errbuf, size_t errlen);

/* Base64(AES-128-CBC/PKCS#7(plain, key, iv)) */
extern char *juhe_aes_cbc_b64(const char *plain, size_t len,
							  const char key[JUHE_K16_LEN],
							  const char iv[JUHE_K16_LEN],
							  char *errbuf, size_t errlen);

/* A fresh 16-character [A-Za-z0-9] key from the CSPRNG */
extern bool juhe_random_aes_key(char key[JUHE_K16_LEN + 1]);

/*
 * Parse an RSA public key given as PEM ("PUBLIC KEY" or "RSA PUBLIC KEY",
 * line breaks optional) or as bare Base64 DER (SubjectPublicKeyInfo or
 * PKCS#1), as the Juhe console shows it.
 */
extern JuhePublicKey juhe_parse_public_key(const char *text,
										   char *errbuf, size_t errlen);
extern void juhe_free_public_key(JuhePublicKey key);

/* Base64(RSA-PKCS#1-v1.5-encrypt(pub, data)) */
extern char *juhe_rsa_encrypt_b64(JuhePublicKey pub, const char *data, size_t len,
								  char *errbuf, size_t errlen);

/* HMAC-SHA-256, for memo keys */
extern bool juhe_hmac_sha256(const unsigned char *key, size_t keylen,
							 const unsigned char *data, size_t len,
							 unsigned char out[32]);

extern bool juhe_random_bytes(unsigned char *buf, size_t len);

/* Standard Base64 decode (whitespace skipped); malloc'd, *outlen set */
extern unsigned char *juhe_b64_decode(const char *text, size_t len, size_t *outlen);

extern void juhe_crypto_free(void *p);

#endif							/* JUHEID_CRYPTO_H */
