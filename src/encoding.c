/*
 * encoding.c
 *		Quiet conversions between the database encoding and UTF-8.
 *
 * Names arrive in the database encoding and are sent as UTF-8; the
 * service's answers are UTF-8 and are stored in the database encoding.
 * Core's conversion functions raise "invalid byte sequence ... 0xd5 0xc5"
 * or "character with byte sequence ... has no equivalent", quoting the
 * input: for a name that is personal data in a message.  These helpers use
 * pg_do_encoding_conversion_buf with noError instead, and report failure to
 * the caller, which decides (input: answered locally as invalid; service
 * text: '?' for what cannot be shown).  SQL_ASCII databases hold bytes
 * without an encoding: they are taken as UTF-8 and checked as such.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"

#include "encoding.h"

static char *
convert_quietly(const char *src, size_t len, int from, int to, size_t *outlen)
{
	Oid			proc;
	size_t		destlen;
	char	   *dest;
	int			done;

	if (len > (MaxAllocSize - 2) / MAX_CONVERSION_GROWTH)
		return NULL;
	proc = FindDefaultConversionProc(from, to);
	if (!OidIsValid(proc))
		return NULL;

	/* room for the worst case, so the whole input is offered at once */
	destlen = len * MAX_CONVERSION_GROWTH + 2;
	dest = palloc(destlen);
	done = pg_do_encoding_conversion_buf(proc, from, to,
										 (unsigned char *) src, (int) len,
										 (unsigned char *) dest, (int) destlen,
										 true);
	if (done != (int) len)
	{
		pfree(dest);
		return NULL;
	}
	*outlen = strlen(dest);
	return dest;
}

static bool
valid_utf8(const char *s, size_t len)
{
	return len <= (size_t) PG_INT32_MAX &&
		pg_verify_mbstr(PG_UTF8, s, (int) len, true);
}

/* the database holds UTF-8 (or bytes we take as UTF-8) */
bool
juhe_db_is_utf8(void)
{
	int			enc = GetDatabaseEncoding();

	return enc == PG_UTF8 || enc == PG_SQL_ASCII;
}

void
juhe_ascii_printable(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7e)
			s[i] = '?';
}

char *
juhe_server_to_utf8(const char *s, size_t len, size_t *outlen)
{
	if (len == 0)
	{
		*outlen = 0;
		return pstrdup("");
	}
	if (juhe_db_is_utf8())
	{
		if (!valid_utf8(s, len))
			return NULL;
		*outlen = len;
		return pnstrdup(s, len);
	}
	if (!pg_verify_mbstr(GetDatabaseEncoding(), s, (int) Min(len, (size_t) PG_INT32_MAX), true))
		return NULL;
	return convert_quietly(s, len, GetDatabaseEncoding(), PG_UTF8, outlen);
}

char *
juhe_utf8_to_server(const char *s, size_t len, size_t *outlen)
{
	if (!valid_utf8(s, len))
		return NULL;
	if (len == 0 || juhe_db_is_utf8())
	{
		*outlen = len;
		return pnstrdup(s, len);
	}
	return convert_quietly(s, len, PG_UTF8, GetDatabaseEncoding(), outlen);
}

char *
juhe_service_text(const char *utf8)
{
	size_t		len = strlen(utf8);
	size_t		outlen;
	char	   *out;
	StringInfoData buf;

	out = juhe_utf8_to_server(utf8, len, &outlen);
	if (out != NULL)
		return out;

	/* character by character, '?' for what cannot be shown */
	initStringInfo(&buf);
	for (const char *p = utf8; *p;)
	{
		int			l = pg_utf_mblen((const unsigned char *) p);
		char	   *c;

		if ((size_t) l > strlen(p) || !valid_utf8(p, l))
		{
			appendStringInfoChar(&buf, '?');
			p++;
			continue;
		}
		c = juhe_utf8_to_server(p, l, &outlen);
		if (c != NULL)
			appendBinaryStringInfo(&buf, c, (int) outlen);
		else
			appendStringInfoChar(&buf, '?');
		p += l;
	}
	return buf.data;
}
