/*
 * response.c
 *		Turn the service's JSON answer into a JuheAnswer.
 *
 *	{"reason":"成功","result":{"orderid":"J1...","res":1},"error_code":0}
 *
 * Numbers may arrive as strings ("0", "1"); both forms are accepted.  With
 * error_code 0 the answer is billed, so res must be 1 or 2: anything else is
 * reported (with the orderid kept) rather than guessed at.
 */
#include "response.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

/* an integer, or a string holding only an optionally signed integer */
static bool
json_to_int(struct json_object *v, int *out)
{
	if (v == NULL)
		return false;
	if (json_object_is_type(v, json_type_int))
	{
		int64_t		x = json_object_get_int64(v);

		if (x < INT32_MIN || x > INT32_MAX)
			return false;
		*out = (int) x;
		return true;
	}
	if (json_object_is_type(v, json_type_string))
	{
		const char *s = json_object_get_string(v);
		char	   *end;
		long		x;

		if (*s == '\0' || strlen(s) != (size_t) json_object_get_string_len(v))
			return false;
		errno = 0;
		x = strtol(s, &end, 10);
		if (errno != 0 || *end != '\0' || x < INT32_MIN || x > INT32_MAX)
			return false;
		*out = (int) x;
		return true;
	}
	return false;
}

/* length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t		l;
	uint32_t	cp;

	if (c < 0x80)
		return c == 0 ? 0 : 1;	/* an embedded NUL would cut the text */
	if (c >= 0xC2 && c <= 0xDF)
		l = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		l = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		l = 4, cp = c & 0x07;
	else
		return 0;
	if (l > n)
		return 0;
	for (size_t i = 1; i < l; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((l == 3 && cp < 0x800) || (l == 4 && cp < 0x10000) ||
		cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return l;
}

/*
 * Copy text from the service into dst (dstlen bytes with the NUL) as valid
 * UTF-8: a byte that does not start a valid sequence (or a NUL) becomes
 * '?', and the copy stops before a character that does not fit.  Nothing
 * the service sends can then make a row unreadable.
 */
static void
copy_utf8(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *) src;
	size_t		in = 0;
	size_t		out = 0;

	while (in < srclen)
	{
		size_t		l = utf8_seq_len(s + in, srclen - in);

		if (out + (l ? l : 1) > dstlen - 1)
			break;
		if (l == 0)
		{
			dst[out++] = '?';
			in++;
			continue;
		}
		memcpy(dst + out, s + in, l);
		out += l;
		in += l;
	}
	dst[out] = '\0';
}

JuheParseStatus
juhe_parse_answer(const char *body, size_t len, JuheAnswer *out)
{
	struct json_tokener *tok;
	struct json_object *root;
	struct json_object *v;
	struct json_object *result = NULL;
	JuheParseStatus st = JUHE_PARSE_OK;

	memset(out, 0, sizeof(*out));
	if (len > INT32_MAX)
		return JUHE_PARSE_NOT_JSON;

	tok = json_tokener_new();
	if (tok == NULL)
		return JUHE_PARSE_NOT_JSON;
	root = json_tokener_parse_ex(tok, body, (int) len);
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success)
	{
		/* incomplete ("continue") counts as malformed too */
		json_object_put(root);
		json_tokener_free(tok);
		return JUHE_PARSE_NOT_JSON;
	}
	/* nothing but white space may follow the value */
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
		if (!(body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
		{
			st = JUHE_PARSE_NOT_JSON;
			break;
		}
	json_tokener_free(tok);
	if (st != JUHE_PARSE_OK)
	{
		json_object_put(root);
		return st;
	}

	if (!json_object_is_type(root, json_type_object))
	{
		json_object_put(root);
		return JUHE_PARSE_NOT_OBJECT;
	}

	if (json_object_object_get_ex(root, "reason", &v) &&
		json_object_is_type(v, json_type_string))
		copy_utf8(out->reason, sizeof(out->reason), json_object_get_string(v),
				  (size_t) json_object_get_string_len(v));

	if (!json_object_object_get_ex(root, "error_code", &v) ||
		!json_to_int(v, &out->error_code))
	{
		json_object_put(root);
		return JUHE_PARSE_NO_ERROR_CODE;
	}

	if (json_object_object_get_ex(root, "result", &result) &&
		json_object_is_type(result, json_type_object))
	{
		if (json_object_object_get_ex(result, "orderid", &v) &&
			(json_object_is_type(v, json_type_string) ||
			 json_object_is_type(v, json_type_int)))
		{
			const char *s = json_object_get_string(v);
			size_t		slen = json_object_is_type(v, json_type_string) ?
				(size_t) json_object_get_string_len(v) : strlen(s);

			copy_utf8(out->orderid, sizeof(out->orderid), s, slen);
			out->has_orderid = out->orderid[0] != '\0';
		}
		if (out->error_code == JUHE_CODE_BILLED)
		{
			if (!json_object_object_get_ex(result, "res", &v) ||
				!json_to_int(v, &out->res) ||
				(out->res != 1 && out->res != 2))
				st = JUHE_PARSE_BAD_RES;
		}
	}
	else if (out->error_code == JUHE_CODE_BILLED)
		st = JUHE_PARSE_BAD_RES;

	if (st != JUHE_PARSE_OK || out->error_code != JUHE_CODE_BILLED)
		out->res = 0;
	json_object_put(root);
	return st;
}
