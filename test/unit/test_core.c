/*
 * test_core.c
 *		C unit tests for src/crypto.c and src/response.c: the spec's known
 *		answers, every public key format, RSA round trips through the test
 *		private key, and the answer parser on well-formed and broken JSON.
 *
 * Built and run under AddressSanitizer/UBSan by test/unit/run_core.sh.
 * Prints "N passed, N failed".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "response.h"
#include "check.h"


static char *keys_dir;

static char *
slurp(const char *name)
{
	char		path[1024];
	FILE	   *f;
	long		n;
	char	   *buf;

	snprintf(path, sizeof(path), "%s/%s", keys_dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
	{
		fprintf(stderr, "cannot open %s\n", path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, n + 1);
	if (fread(buf, 1, n, f) != (size_t) n)
		exit(2);
	fclose(f);
	return buf;
}

static void
test_known_answers(void)
{
	char		k16[JUHE_K16_LEN + 1];
	char		err[JUHE_CRYPTO_ERRLEN];
	const char *openid = "JHtestOpenId0001";
	struct
	{
		const char *plain;
		const char *ecb;
	}			ecb[] = {
		{"张三", "IVgJKzi9aDBj8lAKC80bIQ=="},
		{"11010519491231002X", "2gaQWPN0v/Swy5GsIuBrBhb976hZhbkrAI+tHcPW9co="},
		{"阿卜杜热合曼·买买提", "H4iWkIbLFHli5pe1tB6RGOmDP3/68LBDho6G/odD2Ek="},
	};
	struct
	{
		const char *plain;
		const char *cbc;
	}			cbc[] = {
		{"张三", "Im1uQRICpb5Z6yeWtlWd+Q=="},
		{"650102198506152016", "MEiLbxpU7TK2S4ZiVQasK8avSKEnSRCMV4z4ARJk34U="},
	};

	CHECK(juhe_derive_k16(openid, strlen(openid), k16), "derive k16");
	CHECK(strcmp(k16, "d19967177d38848e") == 0, "k16 known answer");

	for (size_t i = 0; i < sizeof(ecb) / sizeof(ecb[0]); i++)
	{
		char	   *out = juhe_aes_ecb_b64(ecb[i].plain, strlen(ecb[i].plain), k16,
										   err, sizeof(err));

		CHECK(out && strcmp(out, ecb[i].ecb) == 0, "AES-ECB known answer");
		juhe_crypto_free(out);
	}
	for (size_t i = 0; i < sizeof(cbc) / sizeof(cbc[0]); i++)
	{
		char	   *out = juhe_aes_cbc_b64(cbc[i].plain, strlen(cbc[i].plain),
										   "0123456789abcdef", k16, err, sizeof(err));

		CHECK(out && strcmp(out, cbc[i].cbc) == 0, "AES-CBC known answer");
		juhe_crypto_free(out);
	}
	/* a block-sized plaintext gets a full block of padding */
	{
		char	   *out = juhe_aes_ecb_b64("0123456789abcdef", 16, k16, err, sizeof(err));

		CHECK(out && strlen(out) == 44, "16 bytes pad to 32 (44 Base64 chars)");
		juhe_crypto_free(out);
	}
	/* empty plaintext: one block of padding */
	{
		char	   *out = juhe_aes_ecb_b64("", 0, k16, err, sizeof(err));

		CHECK(out && strlen(out) == 24, "empty plaintext pads to one block");
		juhe_crypto_free(out);
	}
}

static void
test_random_key(void)
{
	char		a[JUHE_K16_LEN + 1];
	char		b[JUHE_K16_LEN + 1];
	int			ok = 1;

	CHECK(juhe_random_aes_key(a) && juhe_random_aes_key(b), "random keys");
	CHECK(strlen(a) == 16 && strlen(b) == 16, "16 characters");
	CHECK(strcmp(a, b) != 0, "two keys differ");
	for (int i = 0; i < 16; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= 'A' && a[i] <= 'Z') ||
			  (a[i] >= '0' && a[i] <= '9')))
			ok = 0;
	CHECK(ok, "letters and digits only");
}

/* decrypt aesKey with the test private key: our RSA output is usable */
static void
test_rsa_roundtrip(JuhePublicKey pub, const char *label)
{
	char		err[JUHE_CRYPTO_ERRLEN];
	char	   *priv_pem = slurp("test_rsa_private.pem");
	BIO		   *bio = BIO_new_mem_buf(priv_pem, -1);
	EVP_PKEY   *priv = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	char	   *ct_b64 = juhe_rsa_encrypt_b64(pub, "0123456789abcdef", 16, err, sizeof(err));
	size_t		ctlen = 0;
	unsigned char *ct = ct_b64 ? juhe_b64_decode(ct_b64, strlen(ct_b64), &ctlen) : NULL;
	unsigned char pt[512];
	size_t		ptlen = sizeof(pt);
	EVP_PKEY_CTX *ctx = priv ? EVP_PKEY_CTX_new(priv, NULL) : NULL;
	int			ok = 0;

	if (ctx && ct &&
		EVP_PKEY_decrypt_init(ctx) == 1 &&
		EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		EVP_PKEY_decrypt(ctx, pt, &ptlen, ct, ctlen) == 1)
		ok = ptlen == 16 && memcmp(pt, "0123456789abcdef", 16) == 0;
	CHECK(ctlen == 256, label);
	CHECK(ok, label);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(priv);
	BIO_free(bio);
	free(priv_pem);
	juhe_crypto_free(ct);
	juhe_crypto_free(ct_b64);
}

static void
test_public_keys(void)
{
	char		err[JUHE_CRYPTO_ERRLEN];
	const char *files[] = {"test_rsa_public.pem", "test_rsa_public_pkcs1.pem",
	"test_rsa_public.b64"};

	for (size_t i = 0; i < 3; i++)
	{
		char	   *text = slurp(files[i]);
		JuhePublicKey k = juhe_parse_public_key(text, err, sizeof(err));

		CHECK(k != NULL, files[i]);
		if (k)
			test_rsa_roundtrip(k, files[i]);
		juhe_free_public_key(k);

		/* the same key with its line breaks turned into spaces */
		for (char *p = text; *p; p++)
			if (*p == '\n')
				*p = ' ';
		k = juhe_parse_public_key(text, err, sizeof(err));
		CHECK(k != NULL, "one-line form");
		juhe_free_public_key(k);
		free(text);
	}

	{
		const char *bad[] = {"", "not a key", "AAAA", "-----BEGIN PUBLIC KEY-----\nAAAA\n",
			"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
			"-----BEGIN PUBLIC KEY", "====", "A===",
			/* EC key */
			"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEIrT1ynFWRIs4oQd835P69zKvy/qzx+rhvVmqVY4baZjqqRRbBJ/9+yn+kTHsqzOMLC3jyVjE8zHioMcxQyxIiw==",
			/* 512-bit RSA */
		"MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAJ9fuuuyXKGa2NhENpn8tsCC6BbWGb1apVvM5U8qsDWsiEr9V3benbZ/2dr+M4twkdz/6S9iikfwsD4OtyYSRykCAwEAAQ=="};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			JuhePublicKey k;

			err[0] = '\0';
			k = juhe_parse_public_key(bad[i], err, sizeof(err));
			CHECK(k == NULL && err[0] != '\0', "bad key refused with a reason");
			juhe_free_public_key(k);
		}
	}
	/* trailing garbage after a valid key is refused */
	{
		char	   *text = slurp("test_rsa_public.b64");
		char	   *longer = malloc(strlen(text) + 8);

		sprintf(longer, "%sAAAA", text);
		CHECK(juhe_parse_public_key(longer, err, sizeof(err)) == NULL, "trailing bytes refused");
		free(longer);
		free(text);
	}
}

static void
test_b64(void)
{
	size_t		n = 0;
	unsigned char *d;

	d = juhe_b64_decode("aGVsbG8=", 8, &n);
	CHECK(d && n == 5 && memcmp(d, "hello", 5) == 0, "b64 one pad");
	juhe_crypto_free(d);
	d = juhe_b64_decode("aGVs\nbG8h", 9, &n);
	CHECK(d && n == 6 && memcmp(d, "hello!", 6) == 0, "b64 with newline");
	juhe_crypto_free(d);
	d = juhe_b64_decode("aGVsbG", 6, &n);
	CHECK(d == NULL, "b64 bad length");
	d = juhe_b64_decode("aGV*bG8h", 8, &n);
	CHECK(d == NULL, "b64 bad character");
}

static void
test_hmac(void)
{
	unsigned char a[32],
				b[32],
				c[32];

	CHECK(juhe_hmac_sha256((const unsigned char *) "k", 1, (const unsigned char *) "x", 1, a), "hmac");
	CHECK(juhe_hmac_sha256((const unsigned char *) "k", 1, (const unsigned char *) "x", 1, b), "hmac");
	CHECK(juhe_hmac_sha256((const unsigned char *) "K", 1, (const unsigned char *) "x", 1, c), "hmac");
	CHECK(memcmp(a, b, 32) == 0 && memcmp(a, c, 32) != 0, "hmac keyed and stable");
}

static void
parse_case(const char *body, JuheParseStatus want_st, int want_code, int want_res,
		   const char *want_orderid, const char *what)
{
	JuheAnswer	a;
	JuheParseStatus st = juhe_parse_answer(body, strlen(body), &a);
	int			ok = st == want_st;

	if (ok && st == JUHE_PARSE_OK)
		ok = a.error_code == want_code && a.res == want_res &&
			(want_orderid ? (a.has_orderid && strcmp(a.orderid, want_orderid) == 0) : !a.has_orderid);
	CHECK(ok, what);
}

static void
test_parser(void)
{
	JuheAnswer	a;
	char	   *big;

	parse_case("{\"reason\":\"成功\",\"result\":{\"realname\":\"****\",\"idcard\":\"*****\",\"orderid\":\"J103202010151450419556\",\"res\":1},\"error_code\":0}",
			   JUHE_PARSE_OK, 0, 1, "J103202010151450419556", "spec example");
	parse_case("{\"reason\":\"成功\",\"result\":{\"orderid\":\"J1\",\"res\":2},\"error_code\":0}",
			   JUHE_PARSE_OK, 0, 2, "J1", "mismatch");
	parse_case("{\"reason\":\"成功\",\"result\":{\"res\":\"1\"},\"error_code\":\"0\"}",
			   JUHE_PARSE_OK, 0, 1, NULL, "numbers as strings");
	parse_case("{\"reason\":\"查询无此记录\",\"result\":null,\"error_code\":210301}",
			   JUHE_PARSE_OK, 210301, 0, NULL, "service error, result null");
	parse_case("{\"reason\":\"x\",\"error_code\":10001}",
			   JUHE_PARSE_OK, 10001, 0, NULL, "service error, no result");
	parse_case("{\"error_code\":\"210301\"}", JUHE_PARSE_OK, 210301, 0, NULL, "error_code as string");
	parse_case("  {\"error_code\":0,\"result\":{\"res\":1}}\r\n", JUHE_PARSE_OK, 0, 1, NULL, "white space around");
	parse_case("{\"error_code\":0,\"result\":{\"res\":3}}", JUHE_PARSE_BAD_RES, 0, 0, NULL, "unknown res");
	parse_case("{\"error_code\":0,\"result\":{\"res\":\"1x\"}}", JUHE_PARSE_BAD_RES, 0, 0, NULL, "res not a number");
	parse_case("{\"error_code\":0,\"result\":null}", JUHE_PARSE_BAD_RES, 0, 0, NULL, "success without result");
	parse_case("{\"error_code\":0,\"result\":{}}", JUHE_PARSE_BAD_RES, 0, 0, NULL, "success without res");
	parse_case("{\"error_code\":0,\"result\":{\"res\":true}}", JUHE_PARSE_BAD_RES, 0, 0, NULL, "res boolean");
	parse_case("{\"reason\":\"成功\",\"result\":{\"res\":1,\"ord", JUHE_PARSE_NOT_JSON, 0, 0, NULL, "truncated");
	parse_case("<html><body>502</body></html>", JUHE_PARSE_NOT_JSON, 0, 0, NULL, "html");
	parse_case("", JUHE_PARSE_NOT_JSON, 0, 0, NULL, "empty");
	parse_case("{} {}", JUHE_PARSE_NOT_JSON, 0, 0, NULL, "two values");
	parse_case("[1,2]", JUHE_PARSE_NOT_OBJECT, 0, 0, NULL, "array");
	parse_case("{\"reason\":\"x\"}", JUHE_PARSE_NO_ERROR_CODE, 0, 0, NULL, "no error_code");
	parse_case("{\"error_code\":1.5}", JUHE_PARSE_NO_ERROR_CODE, 0, 0, NULL, "fractional error_code");
	parse_case("{\"error_code\":99999999999}", JUHE_PARSE_NO_ERROR_CODE, 0, 0, NULL, "huge error_code");
	parse_case("{\"error_code\":\"\"}", JUHE_PARSE_NO_ERROR_CODE, 0, 0, NULL, "empty string error_code");
	parse_case("{\"error_code\":0,\"result\":{\"res\":1,\"orderid\":12345}}", JUHE_PARSE_OK, 0, 1, "12345", "numeric orderid");

	/* a body with an embedded NUL is not valid */
	CHECK(juhe_parse_answer("{\"error_code\":0}\0garbage", 24, &a) == JUHE_PARSE_NOT_JSON, "embedded NUL");

	/* a long reason is truncated on a UTF-8 boundary */
	big = malloc(3 * 1000 + 64);
	strcpy(big, "{\"error_code\":1,\"reason\":\"");
	for (int i = 0; i < 1000; i++)
		strcat(big, "错");
	strcat(big, "\"}");
	CHECK(juhe_parse_answer(big, strlen(big), &a) == JUHE_PARSE_OK, "long reason parses");
	CHECK(strlen(a.reason) < JUHE_REASON_MAX && strlen(a.reason) % 3 == 0, "reason cut on a character boundary");
	free(big);

	/* invalid UTF-8 from the service becomes '?', byte by byte */
	CHECK(juhe_parse_answer("{\"error_code\":0,\"reason\":\"\xe6\x88\x90\xff\xfe\",\"result\":{\"orderid\":\"J\xff\xfe" "1\",\"res\":1}}",
							strlen("{\"error_code\":0,\"reason\":\"\xe6\x88\x90\xff\xfe\",\"result\":{\"orderid\":\"J\xff\xfe" "1\",\"res\":1}}"),
							&a) == JUHE_PARSE_OK, "invalid UTF-8 parses");
	CHECK(strcmp(a.reason, "\xe6\x88\x90??") == 0, "invalid bytes in reason become ?");
	CHECK(strcmp(a.orderid, "J??1") == 0, "invalid bytes in orderid become ?");
	{
		const char *b = "{\"error_code\":1,\"reason\":\"\xc0\x80|\xed\xa0\x80|\xf4\x90\x80\x80|\xf0\x9f\x98\x80|\xe6\x88\"}";

		CHECK(juhe_parse_answer(b, strlen(b), &a) == JUHE_PARSE_OK, "odd sequences parse");
		CHECK(strcmp(a.reason, "??|???|????|\xf0\x9f\x98\x80|??") == 0,
			  "overlong, surrogate, > U+10FFFF and truncated sequences become ?; a valid 4-byte one stays");
	}
	CHECK(juhe_parse_answer("{\"error_code\":0,\"result\":{\"orderid\":\"J1\\u0000X\",\"res\":1}}",
							strlen("{\"error_code\":0,\"result\":{\"orderid\":\"J1\\u0000X\",\"res\":1}}"),
							&a) == JUHE_PARSE_OK && strcmp(a.orderid, "J1?X") == 0,
		  "an escaped NUL in the order id becomes ? instead of cutting it");
}

int
main(int argc, char **argv)
{
	keys_dir = argc > 1 ? argv[1] : "mock/keys";
	test_known_answers();
	test_random_key();
	test_public_keys();
	test_b64();
	test_hmac();
	test_parser();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
