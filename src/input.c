/*
 * input.c
 *		From SQL arguments to the normalised UTF-8 strings that are sent.
 *
 * Names arrive in the database encoding and are sent as UTF-8.  Both
 * inputs are normalised by the ID toolkit (src/idcard.c, src/name.c):
 * white space trimmed, full-width digits and a lowercase x folded, 15-digit
 * IDs upgraded, middle-dot variants folded to U+00B7.  With
 * juhe.validate_locally on (the default), input the service would reject is
 * answered here with error_code 210304 and a reason naming the field; no
 * request is sent and nothing is billed.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "idcard.h"
#include "juheid.h"
#include "name.h"

#define LOCAL_ERROR_CODE 210304

static char *
to_utf8(text *t, size_t *len)
{
	char	   *s = text_to_cstring(t);
	char	   *u = pg_server_to_any(s, strlen(s), PG_UTF8);

	*len = strlen(u);
	return u;
}

/* without local validation: normalise what can be normalised, send the rest */
static char *
lenient(const char *s, size_t len)
{
	const char *t = juhe_utf8_trim(s, &len);

	return pnstrdup(t, len);
}

void
juhe_prepare_item(JuheItem *item, text *realname, text *idcard)
{
	size_t		name_len,
				id_len;
	char	   *name = to_utf8(realname, &name_len);
	char	   *id = to_utf8(idcard, &id_len);
	char	   *nname = palloc(JUHE_NAME_BUFSZ);
	char	   *nid = palloc(JUHE_IDCARD_BUFSZ);
	juhe_idcard_status id_st;
	juhe_name_status name_st;
	StringInfoData reason;

	if (!juhe_validate_locally)
	{
		item->idcard = juhe_idcard_normalize(id, id_len, nid) ? nid : lenient(id, id_len);
		item->name = juhe_name_normalize(name, name_len, nname) == JUHE_NAME_OK ?
			nname : lenient(name, name_len);
		return;
	}

	id_st = juhe_idcard_check(id, id_len, juhe_current_date(), false, nid);
	name_st = juhe_name_normalize(name, name_len, nname);
	item->idcard = nid[0] ? nid : lenient(id, id_len);
	item->name = nname[0] ? nname : lenient(name, name_len);
	if (id_st == JUHE_IDCARD_OK && name_st == JUHE_NAME_OK)
		return;

	initStringInfo(&reason);
	if (id_st != JUHE_IDCARD_OK)
		appendStringInfo(&reason, "idcard: %s; ", juhe_idcard_status_text(id_st));
	if (name_st != JUHE_NAME_OK)
		appendStringInfo(&reason, "realname: %s; ", juhe_name_status_text(name_st));
	appendStringInfoString(&reason, "checked locally, no request sent");

	item->done = true;
	item->local = true;
	item->answer.error_code = LOCAL_ERROR_CODE;
	item->answer.res = 0;
	item->answer.has_orderid = false;
	strlcpy(item->answer.reason, reason.data, sizeof(item->answer.reason));
	juhe_counters.local_answers++;
}
