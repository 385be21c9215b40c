/*
 * input.c
 *		From SQL arguments to the normalised UTF-8 strings that are sent.
 *
 * Names arrive in the database encoding and are sent as UTF-8.  Both
 * inputs are normalised (white space trimmed, a lowercase x upper-cased);
 * with juhe.validate_locally on, input the service would reject is answered
 * here with error_code 210304 and no request is sent.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "juheid.h"

#define LOCAL_ERROR_CODE 210304

static char *
to_utf8(text *t)
{
	char	   *s = text_to_cstring(t);
	char	   *u = pg_server_to_any(s, strlen(s), PG_UTF8);

	return u;
}

static char *
trim_ascii(char *s)
{
	char	   *end;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
					   end[-1] == '\r' || end[-1] == '\f' || end[-1] == '\v'))
		*--end = '\0';
	return s;
}

static void
answer_locally(JuheItem *item, const char *reason)
{
	item->done = true;
	item->local = true;
	item->answer.error_code = LOCAL_ERROR_CODE;
	item->answer.res = 0;
	item->answer.has_orderid = false;
	strlcpy(item->answer.reason, reason, sizeof(item->answer.reason));
	juhe_counters.local_answers++;
}

void
juhe_prepare_item(JuheItem *item, text *realname, text *idcard)
{
	char	   *name = trim_ascii(to_utf8(realname));
	char	   *id = trim_ascii(to_utf8(idcard));
	size_t		idlen = strlen(id);

	if (idlen > 0 && id[idlen - 1] == 'x')
		id[idlen - 1] = 'X';
	item->name = name;
	item->idcard = id;

	if (!juhe_validate_locally)
		return;
	if (idlen != 18)
		answer_locally(item, "idcard is not a valid resident ID number (checked locally)");
	else if (name[0] == '\0')
		answer_locally(item, "realname is empty (checked locally)");
}
