/*-------------------------------------------------------------------------
 *
 * toolkit.c
 *	  SQL wrappers of the ID/name toolkit (idcard.c, name.c):
 *	  juhe_idcard_normalize, juhe_idcard_valid (plain and strict),
 *	  juhe_idcard_info, juhe_name_normalize, juhe_name_valid,
 *	  juhe_mask_idcard and juhe_mask_name.
 *
 * Arguments arrive in the database encoding and are converted to UTF-8 for
 * the pure-C code; results are converted back.  Conversions never raise an
 * error that would print the input's bytes: input that cannot be converted
 * is treated as invalid, a result that cannot be represented is NULL (a
 * region name such as 硚口区 in an EUC_CN database).  Where the database
 * encoding has no U+00B7, juhe_name_normalize spells the middle dot as
 * U+30FB, which is how EUC_CN stores GB 2312's middle dot (A1A4).
 * "Today" (future birth dates, age) is the date of the transaction start in
 * the session time zone, i.e. CURRENT_DATE.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "encoding.h"
#include "idcard.h"
#include "name.h"
#include "result.h"

PG_FUNCTION_INFO_V1(juhe_idcard_normalize_sql);
PG_FUNCTION_INFO_V1(juhe_idcard_valid_sql);
PG_FUNCTION_INFO_V1(juhe_idcard_valid_strict_sql);
PG_FUNCTION_INFO_V1(juhe_idcard_info_sql);
PG_FUNCTION_INFO_V1(juhe_name_normalize_sql);
PG_FUNCTION_INFO_V1(juhe_name_valid_sql);
PG_FUNCTION_INFO_V1(juhe_mask_idcard_sql);
PG_FUNCTION_INFO_V1(juhe_mask_name_sql);

#define JUHE_INFO_NATTS 8
static const Oid info_types[JUHE_INFO_NATTS] = {
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, DATEOID, TEXTOID, INT4OID
};

/* argument as UTF-8 (not necessarily NUL-terminated); NULL if impossible */
static const char *
arg_utf8(text *t, size_t *len)
{
	const char *p = VARDATA_ANY(t);
	size_t		n = VARSIZE_ANY_EXHDR(t);

	if (juhe_db_is_utf8())
	{
		*len = n;
		return p;
	}
	return juhe_server_to_utf8(p, n, len);
}

/* UTF-8 result (NUL-terminated) as text in the database encoding, or NULL */
static text *
result_text(const char *utf8)
{
	size_t		len = strlen(utf8);
	char	   *s;

	if (juhe_db_is_utf8())
		return cstring_to_text_with_len(utf8, len);
	s = juhe_utf8_to_server(utf8, len, &len);
	if (s == NULL)
		return NULL;
	return cstring_to_text_with_len(s, len);
}

/* juhe_idcard_normalize(text) → text, NULL when it cannot be an ID */
Datum
juhe_idcard_normalize_sql(PG_FUNCTION_ARGS)
{
	size_t		len;
	const char *in = arg_utf8(PG_GETARG_TEXT_PP(0), &len);
	char		id[JUHE_IDCARD_BUFSZ];

	if (in == NULL || !juhe_idcard_normalize(in, len, id))
		PG_RETURN_NULL();
	/* ASCII only: valid in every server encoding */
	PG_RETURN_TEXT_P(cstring_to_text_with_len(id, JUHE_IDCARD_LEN));
}

static bool
idcard_valid(text *t, bool strict)
{
	size_t		len;
	const char *in = arg_utf8(t, &len);

	if (in == NULL)
		return false;
	return juhe_idcard_check(in, len, juhe_current_date(), strict, NULL) ==
		JUHE_IDCARD_OK;
}

/* juhe_idcard_valid(text) → boolean */
Datum
juhe_idcard_valid_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(idcard_valid(PG_GETARG_TEXT_PP(0), false));
}

/* juhe_idcard_valid(text, strict boolean) → boolean */
Datum
juhe_idcard_valid_strict_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(idcard_valid(PG_GETARG_TEXT_PP(0), PG_GETARG_BOOL(1)));
}

/* a region name as a nullable text datum */
static Datum
name_datum(const char *utf8, bool *isnull)
{
	text	   *t;

	*isnull = true;
	if (utf8 == NULL)
		return (Datum) 0;
	t = result_text(utf8);
	if (t == NULL)
		return (Datum) 0;		/* not representable in this encoding */
	*isnull = false;
	return PointerGetDatum(t);
}

/* juhe_idcard_info(text) → juhe_idcard_info, NULL when invalid */
Datum
juhe_idcard_info_sql(PG_FUNCTION_ARGS)
{
	size_t		len;
	const char *in = arg_utf8(PG_GETARG_TEXT_PP(0), &len);
	juhe_idcard_info info;
	TupleDesc	tupdesc;
	Datum		values[JUHE_INFO_NATTS];
	bool		nulls[JUHE_INFO_NATTS];
	char		code[16];
	HeapTuple	tuple;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	juhe_check_result_desc(tupdesc, info_types, JUHE_INFO_NATTS, "juhe_idcard_info");
	tupdesc = BlessTupleDesc(tupdesc);

	if (in == NULL ||
		juhe_idcard_parse(in, len, juhe_current_date(), false, &info) != JUHE_IDCARD_OK)
		PG_RETURN_NULL();

	memset(nulls, 0, sizeof(nulls));
	snprintf(code, sizeof(code), "%06d", (int) info.region_code);
	values[0] = PointerGetDatum(cstring_to_text(info.idcard));
	values[1] = PointerGetDatum(cstring_to_text(code));
	values[2] = name_datum(info.province, &nulls[2]);
	values[3] = name_datum(info.city, &nulls[3]);
	values[4] = name_datum(info.county, &nulls[4]);
	values[5] = DateADTGetDatum(date2j(info.birth.year, info.birth.month,
									   info.birth.day) - POSTGRES_EPOCH_JDATE);
	values[6] = PointerGetDatum(cstring_to_text(info.sex == 'M' ? "M" : "F"));
	values[7] = Int32GetDatum(info.age);

	tuple = heap_form_tuple(tupdesc, values, nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}

/* juhe_name_normalize(text) → text, NULL when it is not a valid name */
Datum
juhe_name_normalize_sql(PG_FUNCTION_ARGS)
{
	size_t		len;
	const char *in = arg_utf8(PG_GETARG_TEXT_PP(0), &len);
	char		out[JUHE_NAME_BUFSZ];
	text	   *result;

	if (in == NULL || juhe_name_normalize(in, len, out) != JUHE_NAME_OK)
		PG_RETURN_NULL();
	result = result_text(out);
	if (result == NULL)
	{
		/*
		 * The database encoding has no U+00B7 (EUC_CN maps its middle dot,
		 * GB 2312 A1A4, to U+30FB): spell the dot the way it can.
		 */
		char		alt[JUHE_NAME_MAX_CHARS * 4 + 1];
		size_t		i;
		size_t		j = 0;

		for (i = 0; out[i] != '\0'; i++)
		{
			if ((unsigned char) out[i] == 0xC2 && (unsigned char) out[i + 1] == 0xB7)
			{
				memcpy(alt + j, "\xE3\x83\xBB", 3);
				j += 3;
				i++;
			}
			else
				alt[j++] = out[i];
		}
		alt[j] = '\0';
		result = result_text(alt);
	}
	if (result == NULL)
		PG_RETURN_NULL();		/* cannot happen: the input was representable */
	PG_RETURN_TEXT_P(result);
}

/* juhe_name_valid(text) → boolean */
Datum
juhe_name_valid_sql(PG_FUNCTION_ARGS)
{
	size_t		len;
	const char *in = arg_utf8(PG_GETARG_TEXT_PP(0), &len);

	PG_RETURN_BOOL(in != NULL && juhe_name_valid(in, len));
}

/* juhe_mask_idcard(text) → text */
Datum
juhe_mask_idcard_sql(PG_FUNCTION_ARGS)
{
	size_t		len;
	const char *in = arg_utf8(PG_GETARG_TEXT_PP(0), &len);
	char		out[JUHE_MASK_IDCARD_BUFSZ];
	text	   *result = NULL;

	if (in != NULL)
	{
		juhe_mask_idcard(in, len, out);
		result = result_text(out);
	}
	/* only characters of the input and '*': cannot fail, but never leak */
	if (result == NULL)
		result = cstring_to_text("********");
	PG_RETURN_TEXT_P(result);
}

/* juhe_mask_name(text) → text */
Datum
juhe_mask_name_sql(PG_FUNCTION_ARGS)
{
	size_t		len;
	const char *in = arg_utf8(PG_GETARG_TEXT_PP(0), &len);
	text	   *result = NULL;

	if (in != NULL)
	{
		char	   *out = palloc(len + 1);

		juhe_mask_name(in, len, out);
		result = result_text(out);
	}
	if (result == NULL)
		result = cstring_to_text("*");
	PG_RETURN_TEXT_P(result);
}
