/*
 * input.c
 *		From SQL arguments to the normalised UTF-8 strings that are sent.
 *
 * Names arrive in the database encoding and are sent as UTF-8.  Both
 * inputs are normalised by the ID toolkit (src/idcard.c, src/name.c):
 * white space trimmed, full-width digits and a lowercase x folded, 15-digit
 * IDs upgraded, middle-dot variants folded to U+00B7.
 *
 * Two levels of checks answer input locally with error_code 210304 and a
 * reason naming the field; no request is sent and nothing is billed:
 *
 *	always     the input converts to UTF-8; the ID has the shape of an ID
 *	           (15 or 18 characters, digits, a final X); the name is 1 to
 *	           JUHE_SEND_NAME_MAX_CHARS characters without control
 *	           characters.  The service must reject anything else, and a
 *	           20,000-character name must not become a paid request.
 *	validate_locally (default on)
 *	           the toolkit's full rules: check digit, birth date, region,
 *	           CJK names with well-placed dots.
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "compat.h"
#include "counters.h"
#include "encoding.h"
#include "idcard.h"
#include "input.h"
#include "name.h"


/* the longest name ever sent, in characters, whatever the settings say */
#define JUHE_SEND_NAME_MAX_CHARS 64

/* what the always-on checks found wrong with a name, or NULL */
static const char *
name_shape_problem(const char *s, size_t len)
{
	size_t		pos = 0;
	int			chars = 0;

	if (len == 0)
		return juhe_name_status_text(JUHE_NAME_EMPTY);
	while (pos < len)
	{
		uint32_t	cp;
		int			l = juhe_utf8_decode((const unsigned char *) s + pos, len - pos, &cp);

		if (l == 0)
			return juhe_name_status_text(JUHE_NAME_BAD_ENCODING);
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return juhe_name_status_text(JUHE_NAME_CONTROL);
		if (++chars > JUHE_SEND_NAME_MAX_CHARS)
			return "name is longer than " CppAsString2(JUHE_SEND_NAME_MAX_CHARS) " characters";
		pos += l;
	}
	return NULL;
}

/*
 * At most the first JUHE_SEND_NAME_MAX_CHARS + 1 characters of s, so that
 * whatever is kept of an input that is not sent (for masked messages) is
 * bounded.
 */
static char *
bounded_copy(const char *s, size_t len)
{
	size_t		pos = 0;
	int			chars = 0;

	while (pos < len && chars <= JUHE_SEND_NAME_MAX_CHARS)
	{
		uint32_t	cp;
		int			l = juhe_utf8_decode((const unsigned char *) s + pos, len - pos, &cp);

		pos += l > 0 ? l : 1;
		chars++;
	}
	return pnstrdup(s, pos);
}

static void
answer_locally(JuheItem *item, const char *id_problem, const char *name_problem,
			   bool count)
{
	StringInfoData reason;

	initStringInfo(&reason);
	if (id_problem)
		appendStringInfo(&reason, "idcard: %s; ", id_problem);
	if (name_problem)
		appendStringInfo(&reason, "realname: %s; ", name_problem);
	appendStringInfoString(&reason, "checked locally, no request sent");

	item->done = true;
	item->local = true;
	item->answer.error_code = JUHE_CODE_BAD_PARAM;
	item->answer.res = 0;
	item->answer.has_orderid = false;
	strlcpy(item->answer.reason, reason.data, sizeof(item->answer.reason));
	pfree(reason.data);
	if (count)
		juhe_backend_count(JUHE_BC_LOCAL_ANSWERS, 1);
}

static void
prepare(JuheItem *item, text *realname, text *idcard, bool count)
{
	size_t		name_len = 0,
				id_len = 0;
	char	   *name = juhe_server_to_utf8(VARDATA_ANY(realname),
										   VARSIZE_ANY_EXHDR(realname), &name_len);
	char	   *id = juhe_server_to_utf8(VARDATA_ANY(idcard),
										 VARSIZE_ANY_EXHDR(idcard), &id_len);
	char	   *nname = palloc(JUHE_NAME_BUFSZ);
	char	   *nid = palloc(JUHE_IDCARD_BUFSZ);
	const char *tname;
	const char *id_problem = NULL;
	const char *name_problem = NULL;
	juhe_idcard_status id_st;
	juhe_name_status name_st;

	/* the always-on checks */
	if (id == NULL)
		id_problem = "not valid in the database encoding";
	else if (!juhe_idcard_normalize(id, id_len, nid))
		id_problem = juhe_idcard_status_text(JUHE_IDCARD_BAD_FORMAT);
	if (name == NULL)
	{
		name_problem = "not valid in the database encoding";
		tname = "";
		name_len = 0;
	}
	else
	{
		tname = juhe_utf8_trim(name, &name_len);
		name_problem = name_shape_problem(tname, name_len);
	}

	/* the toolkit's full rules, unless turned off */
	if (juhe_validate_locally && id_problem == NULL)
	{
		id_st = juhe_idcard_check(id, id_len, juhe_current_date(), false, nid);
		if (id_st != JUHE_IDCARD_OK)
			id_problem = juhe_idcard_status_text(id_st);
	}
	name_st = name_problem ? JUHE_NAME_EMPTY : juhe_name_normalize(tname, name_len, nname);
	if (juhe_validate_locally && name_problem == NULL && name_st != JUHE_NAME_OK)
		name_problem = juhe_name_status_text(name_st);

	/* what is sent, or (bounded) kept for masked messages */
	if (id_problem == NULL)
		item->idcard = nid;
	else if (id != NULL)
	{
		const char *tid = juhe_utf8_trim(id, &id_len);

		item->idcard = bounded_copy(tid, id_len);
	}
	else
		item->idcard = "";
	item->name = name_st == JUHE_NAME_OK ? nname : bounded_copy(tname, name_len);
	if (id_problem || name_problem)
		answer_locally(item, id_problem, name_problem, count);
}

void
juhe_prepare_item(JuheItem *item, text *realname, text *idcard)
{
	prepare(item, realname, idcard, true);
}

bool
juhe_same_identity(text *realname, text *idcard, const char *name, const char *id)
{
	JuheItem	other;

	memset(&other, 0, sizeof(other));
	prepare(&other, realname, idcard, false);
	return strcmp(other.name, name) == 0 && strcmp(other.idcard, id) == 0;
}

/*
 * masked "name, ID" for messages, in the database encoding.  Bounded:
 * at most 65 characters of an input that is not sent are kept.
 */
char *
juhe_masked_person(const JuheItem *item)
{
	size_t		len = strlen(item->name);
	char	   *mname = palloc(len + 1);	/* what juhe_mask_name needs */
	char		mid[JUHE_MASK_IDCARD_BUFSZ];
	char	   *s;

	juhe_mask_name(item->name, len, mname);
	juhe_mask_idcard(item->idcard, strlen(item->idcard), mid);
	s = psprintf("name \"%s\", ID \"%s\"", mname, mid);
	return juhe_service_text(s);
}

bool
juhe_reuse_arg(FunctionCallInfo fcinfo, int argno)
{
	return PG_NARGS() <= argno || PG_ARGISNULL(argno) || PG_GETARG_BOOL(argno);
}
