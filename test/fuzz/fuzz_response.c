/*
 * fuzz_response.c
 *		libFuzzer harness for the answer parser (src/response.c): any bytes
 *		from the network must parse or be refused, never crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "response.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* strict UTF-8 check, written independently of src/response.c */
static int
valid_utf8(const unsigned char *s)
{
	while (*s)
	{
		unsigned int c = *s, cp, n;

		if (c < 0x80)
		{
			s++;
			continue;
		}
		if ((c & 0xE0) == 0xC0)
			n = 1, cp = c & 0x1F;
		else if ((c & 0xF0) == 0xE0)
			n = 2, cp = c & 0x0F;
		else if ((c & 0xF8) == 0xF0)
			n = 3, cp = c & 0x07;
		else
			return 0;
		for (unsigned int i = 1; i <= n; i++)
		{
			if ((s[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i] & 0x3F);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
			cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		s += n + 1;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	JuheAnswer	a;
	JuheParseStatus st = juhe_parse_answer((const char *) data, size, &a);

	if (st == JUHE_PARSE_OK)
	{
		/* invariants the callers rely on */
		if (a.error_code == 0 && a.res != 1 && a.res != 2)
			__builtin_trap();
		if (a.error_code != 0 && a.res != 0)
			__builtin_trap();
		if (strlen(a.reason) >= JUHE_REASON_MAX || strlen(a.orderid) >= JUHE_ORDERID_MAX)
			__builtin_trap();
		/* whatever the service sends, the strings are valid UTF-8 */
		if (!valid_utf8((const unsigned char *) a.reason) ||
			!valid_utf8((const unsigned char *) a.orderid))
			__builtin_trap();
	}
	return 0;
}
