/*-------------------------------------------------------------------------
 *
 * name.c
 *	  Personal-name normalisation, validation and masking on UTF-8, and the
 *	  UTF-8 helpers shared with idcard.c.  Pure C: no PostgreSQL headers,
 *	  no allocation, safe on arbitrary bytes.  The rules are listed in
 *	  name.h.
 *
 *-------------------------------------------------------------------------
 */
#include "name.h"

#include <string.h>

#define MIDDLE_DOT	0x00B7

/*
 * Decode one UTF-8 sequence.  Strict: rejects overlong forms, surrogates,
 * code points above U+10FFFF and truncated sequences.
 */
int
juhe_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t	c;
	int			len;
	int			i;

	if (n == 0)
		return 0;
	c = s[0];
	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	else if (c >= 0xC2 && c <= 0xDF)
	{
		len = 2;
		c &= 0x1F;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		len = 3;
		c &= 0x0F;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		len = 4;
		c &= 0x07;
	}
	else
		return 0;				/* continuation byte, C0/C1, F5..FF */

	if (n < (size_t) len)
		return 0;
	for (i = 1; i < len; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000))
		return 0;				/* overlong */
	if (c >= 0xD800 && c <= 0xDFFF)
		return 0;				/* surrogate */
	if (c > 0x10FFFF)
		return 0;
	*cp = c;
	return len;
}

bool
juhe_is_trim_space(uint32_t cp)
{
	switch (cp)
	{
		case ' ':
		case '\t':
		case '\n':
		case '\v':
		case '\f':
		case '\r':
		case 0x00A0:			/* no-break space */
		case 0x200B:			/* zero width space */
		case 0x3000:			/* ideographic (full-width) space */
		case 0xFEFF:			/* byte order mark / zero width no-break */
			return true;
		default:
			return false;
	}
}

const char *
juhe_utf8_trim(const char *in, size_t *len)
{
	const unsigned char *s = (const unsigned char *) in;
	size_t		n = *len;
	size_t		start = 0;
	size_t		end;
	size_t		pos;
	uint32_t	cp;
	int			l;

	/* leading */
	while (start < n)
	{
		l = juhe_utf8_decode(s + start, n - start, &cp);
		if (l == 0 || !juhe_is_trim_space(cp))
			break;
		start += l;
	}

	/* trailing: scan forward, remembering the end of the last non-space */
	end = start;
	pos = start;
	while (pos < n)
	{
		l = juhe_utf8_decode(s + pos, n - pos, &cp);
		if (l == 0)
		{
			pos++;
			end = pos;
			continue;
		}
		pos += l;
		if (!juhe_is_trim_space(cp))
			end = pos;
	}

	*len = end - start;
	return in + start;
}

/* dot variants folded to U+00B7 */
static bool
is_dot_variant(uint32_t cp)
{
	switch (cp)
	{
		case '.':
		case 0x00B7:			/* middle dot (the target) */
		case 0x0387:			/* Greek ano teleia (NFC of U+00B7) */
		case 0x2022:			/* bullet */
		case 0x2024:			/* one dot leader */
		case 0x2027:			/* hyphenation point */
		case 0x2219:			/* bullet operator */
		case 0x22C5:			/* dot operator */
		case 0x2E31:			/* word separator middle dot */
		case 0x30FB:			/* katakana middle dot */
		case 0xFE52:			/* small full stop */
		case 0xFF0E:			/* full-width full stop */
		case 0xFF65:			/* half-width katakana middle dot */
			return true;
		default:
			return false;
	}
}

/* characters accepted as part of a name (besides the middle dot) */
static bool
is_name_ideograph(uint32_t cp)
{
	if (cp >= 0x4E00 && cp <= 0x9FFF)	/* CJK Unified Ideographs */
		return true;
	if (cp >= 0x3400 && cp <= 0x4DBF)	/* Extension A */
		return true;
	if ((cp >= 0xF900 && cp <= 0xFA6D) ||
		(cp >= 0xFA70 && cp <= 0xFAD9))	/* compatibility ideographs */
		return true;
	if (cp == 0x3007)			/* ideographic number zero */
		return true;
	/* SIP and TIP (Extensions B..I, compat. supplement, later ones) */
	if (cp >= 0x20000 && cp <= 0x3FFFD && (cp & 0xFFFE) != 0xFFFE)
		return true;
	return false;
}

static bool
is_control_or_format(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
		return true;
	if (cp == 0x00AD || cp == 0x061C || cp == 0x180E)
		return true;
	if ((cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) ||
		(cp >= 0x2060 && cp <= 0x206F))
		return true;
	if (cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB))
		return true;
	if (cp >= 0xE0000 && cp <= 0xE007F)	/* tags */
		return true;
	return false;
}

static bool
is_digit_char(uint32_t cp)
{
	return (cp >= '0' && cp <= '9') || (cp >= 0xFF10 && cp <= 0xFF19);
}

static bool
is_inner_space(uint32_t cp)
{
	return juhe_is_trim_space(cp) || cp == 0x1680 ||
		(cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F;
}

static int
utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

juhe_name_status
juhe_name_normalize(const char *in, size_t len, char *out)
{
	const unsigned char *s;
	size_t		n = len;
	size_t		pos = 0;
	size_t		olen = 0;
	int			nchars = 0;
	bool		prev_dot = false;

	out[0] = '\0';
	s = (const unsigned char *) juhe_utf8_trim(in, &n);
	if (n == 0)
		return JUHE_NAME_EMPTY;

	while (pos < n)
	{
		uint32_t	cp;
		int			l = juhe_utf8_decode(s + pos, n - pos, &cp);

		if (l == 0)
			goto fail_encoding;
		pos += l;
		if (++nchars > JUHE_NAME_MAX_CHARS)
		{
			out[0] = '\0';
			return JUHE_NAME_TOO_LONG;
		}

		if (is_dot_variant(cp))
		{
			/* leading or doubled dot */
			if (nchars == 1 || prev_dot)
				goto fail_dot;
			prev_dot = true;
			cp = MIDDLE_DOT;
		}
		else if (is_name_ideograph(cp))
			prev_dot = false;
		else
		{
			juhe_name_status st;

			if (is_control_or_format(cp))
				st = JUHE_NAME_CONTROL;
			else if (is_digit_char(cp))
				st = JUHE_NAME_DIGIT;
			else if (is_inner_space(cp))
				st = JUHE_NAME_SPACE;
			else
				st = JUHE_NAME_BAD_CHAR;
			out[0] = '\0';
			return st;
		}
		/* at most 30 characters of at most 4 bytes: fits JUHE_NAME_BUFSZ */
		olen += utf8_encode(cp, out + olen);
	}
	if (prev_dot)
		goto fail_dot;				/* trailing dot */

	out[olen] = '\0';
	return JUHE_NAME_OK;

fail_encoding:
	out[0] = '\0';
	return JUHE_NAME_BAD_ENCODING;
fail_dot:
	out[0] = '\0';
	return JUHE_NAME_BAD_DOT;
}

bool
juhe_name_valid(const char *in, size_t len)
{
	char		buf[JUHE_NAME_BUFSZ];

	return juhe_name_normalize(in, len, buf) == JUHE_NAME_OK;
}

const char *
juhe_name_status_text(juhe_name_status status)
{
	switch (status)
	{
		case JUHE_NAME_OK:
			return "name is valid";
		case JUHE_NAME_EMPTY:
			return "name is empty";
		case JUHE_NAME_TOO_LONG:
			return "name is longer than 30 characters";
		case JUHE_NAME_BAD_ENCODING:
			return "name is not valid UTF-8";
		case JUHE_NAME_CONTROL:
			return "name contains a control character";
		case JUHE_NAME_DIGIT:
			return "name contains a digit";
		case JUHE_NAME_SPACE:
			return "name contains white space";
		case JUHE_NAME_BAD_CHAR:
			return "name contains a character that is not a Chinese character or middle dot";
		case JUHE_NAME_BAD_DOT:
			return "name has a middle dot at the start or end or two in a row";
	}
	return "name is not valid";
}

size_t
juhe_mask_name(const char *in, size_t len, char *out)
{
	const unsigned char *s;
	size_t		n = len;
	size_t		pos = 0;
	size_t		olen = 0;
	size_t		first_len;
	uint32_t	cp;
	int			l;

	s = (const unsigned char *) juhe_utf8_trim(in, &n);
	if (n == 0)
	{
		out[0] = '\0';
		return 0;
	}

	l = juhe_utf8_decode(s, n, &cp);
	first_len = (l == 0) ? 1 : (size_t) l;
	pos = first_len;

	if (pos >= n)
	{
		/* a single character: hide it completely */
		out[0] = '*';
		out[1] = '\0';
		return 1;
	}

	if (l == 0 || is_control_or_format(cp))
		out[olen++] = '?';
	else
	{
		memcpy(out, s, first_len);
		olen = first_len;
	}

	while (pos < n)
	{
		l = juhe_utf8_decode(s + pos, n - pos, &cp);
		pos += (l == 0) ? 1 : (size_t) l;
		out[olen++] = '*';
	}
	out[olen] = '\0';
	return olen;
}
