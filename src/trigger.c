/*
 * trigger.c
 *		juhe_verify_trigger(): a BEFORE INSERT OR UPDATE ... FOR EACH ROW
 *		trigger that verifies a name and an ID column of the new row.
 *
 *	CREATE TRIGGER users_verify BEFORE INSERT OR UPDATE ON users
 *	  FOR EACH ROW EXECUTE FUNCTION
 *	  juhe_verify_trigger('realname', 'idcard', 'result=verification',
 *	                      'on_mismatch=reject', 'on_error=reject', ...);
 *
 * Options are parsed once per statement (cached in fn_extra).  Rejections
 * raise SQLSTATEs of class JH (see README), with the person masked.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "idcard.h"
#include "juheid.h"
#include "name.h"

#define ERRCODE_JUHE_MISMATCH		MAKE_SQLSTATE('J','H','0','0','1')
#define ERRCODE_JUHE_NOT_VERIFIED	MAKE_SQLSTATE('J','H','0','0','2')
#define ERRCODE_JUHE_INVALID		MAKE_SQLSTATE('J','H','0','0','3')
#define ERRCODE_JUHE_MISSING		MAKE_SQLSTATE('J','H','0','0','4')

PG_FUNCTION_INFO_V1(juhe_verify_trigger);

typedef enum Action
{
	ACT_REJECT,
	ACT_ACCEPT,
	ACT_SKIP
} Action;

typedef enum ResultKind
{
	RESULT_NONE,
	RESULT_COMPOSITE,
	RESULT_INTEGER,
	RESULT_JSONB
} ResultKind;

typedef struct TriggerConfig
{
	Oid			tgoid;			/* the trigger these options belong to */
	int			name_att;		/* attribute numbers, 1-based */
	int			idcard_att;
	int			result_att;		/* 0 = none */
	ResultKind	result_kind;
	Oid			result_type;
	int			orderid_att;
	int			verified_at_att;
	Action		on_mismatch;
	Action		on_error;
	Action		on_failure;
	Action		on_null;
	bool		mode_set;
	JuheMode	mode;
} TriggerConfig;

static const char *const action_names[] = {"reject", "accept", "skip"};

static void
definition_error(Trigger *tg, const char *fmt, const char *arg, const char *hint)
	pg_attribute_noreturn();

static void
definition_error(Trigger *tg, const char *fmt, const char *arg, const char *hint)
{
	char	   *msg = psprintf(fmt, arg);

	ereport(ERROR,
			(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
			 errmsg("trigger \"%s\": %s", tg->tgname, msg),
			 hint ? errhint("%s", hint) : 0));
	pg_unreachable();
}

static int
column(Trigger *tg, TupleDesc td, const char *colname, const char *role)
{
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(td, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), colname) == 0)
		{
			if (a->attgenerated)
				definition_error(tg, "column \"%s\" is generated", colname, NULL);
			return i + 1;
		}
	}
	definition_error(tg, psprintf("%s column \"%%s\" does not exist", role), colname,
					 "Name an existing column of the table.");
	return 0;
}

static Oid
column_base_type(TupleDesc td, int att)
{
	return getBaseType(TupleDescAttr(td, att - 1)->atttypid);
}

static bool
is_texty(Oid t)
{
	return t == TEXTOID || t == VARCHAROID || t == BPCHAROID;
}

/* the extension's juhe_result, in whatever schema it was installed */
static bool
is_juhe_result(Oid t)
{
	HeapTuple	tup;
	bool		match;

	if (!type_is_rowtype(t))
		return false;
	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(t));
	if (!HeapTupleIsValid(tup))
		return false;
	match = strcmp(NameStr(((Form_pg_type) GETSTRUCT(tup))->typname), "juhe_result") == 0;
	ReleaseSysCache(tup);
	return match;
}

static Action
parse_action(Trigger *tg, const char *opt, const char *val, bool allow_skip)
{
	for (int a = 0; a < (int) lengthof(action_names); a++)
		if (pg_strcasecmp(val, action_names[a]) == 0 && (allow_skip || a != ACT_SKIP))
			return (Action) a;
	definition_error(tg, psprintf("invalid value \"%%s\" for option \"%s\"", opt), val,
					 allow_skip ? "Use reject, accept or skip." : "Use reject or accept.");
	return ACT_REJECT;
}

static TriggerConfig *
parse_config(Trigger *tg, Relation rel, MemoryContext mcxt)
{
	TupleDesc	td = RelationGetDescr(rel);
	TriggerConfig *cfg = MemoryContextAllocZero(mcxt, sizeof(TriggerConfig));

	cfg->tgoid = tg->tgoid;
	cfg->on_mismatch = ACT_REJECT;
	cfg->on_error = ACT_REJECT;
	cfg->on_failure = ACT_REJECT;
	cfg->on_null = ACT_ACCEPT;

	if (tg->tgnargs < 2)
		definition_error(tg, "%s", "expected at least two arguments, the name column and the ID column",
						 "EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard' [, 'option=value' ...])");

	cfg->name_att = column(tg, td, tg->tgargs[0], "name");
	cfg->idcard_att = column(tg, td, tg->tgargs[1], "ID");
	if (!is_texty(column_base_type(td, cfg->name_att)))
		definition_error(tg, "name column \"%s\" must be of type text or varchar",
						 tg->tgargs[0], NULL);
	if (!is_texty(column_base_type(td, cfg->idcard_att)))
		definition_error(tg, "ID column \"%s\" must be of type text or varchar",
						 tg->tgargs[1], NULL);

	for (int i = 2; i < tg->tgnargs; i++)
	{
		char	   *opt = pstrdup(tg->tgargs[i]);
		char	   *eq = strchr(opt, '=');
		char	   *val;

		if (eq == NULL)
			definition_error(tg, "option \"%s\" is not of the form key=value", opt, NULL);
		*eq = '\0';
		val = eq + 1;

		if (strcmp(opt, "result") == 0)
		{
			Oid			t;

			cfg->result_att = column(tg, td, val, "result");
			t = column_base_type(td, cfg->result_att);
			cfg->result_type = TupleDescAttr(td, cfg->result_att - 1)->atttypid;
			if (t == INT4OID)
				cfg->result_kind = RESULT_INTEGER;
			else if (t == JSONBOID)
				cfg->result_kind = RESULT_JSONB;
			else if (is_juhe_result(t))
				cfg->result_kind = RESULT_COMPOSITE;
			else
				definition_error(tg, "result column \"%s\" must be of type juhe_result, integer or jsonb",
								 val, NULL);
		}
		else if (strcmp(opt, "orderid") == 0)
		{
			cfg->orderid_att = column(tg, td, val, "orderid");
			if (!is_texty(column_base_type(td, cfg->orderid_att)))
				definition_error(tg, "orderid column \"%s\" must be of type text or varchar", val, NULL);
		}
		else if (strcmp(opt, "verified_at") == 0)
		{
			cfg->verified_at_att = column(tg, td, val, "verified_at");
			if (column_base_type(td, cfg->verified_at_att) != TIMESTAMPTZOID)
				definition_error(tg, "verified_at column \"%s\" must be of type timestamptz", val, NULL);
		}
		else if (strcmp(opt, "on_mismatch") == 0)
			cfg->on_mismatch = parse_action(tg, opt, val, true);
		else if (strcmp(opt, "on_error") == 0)
			cfg->on_error = parse_action(tg, opt, val, true);
		else if (strcmp(opt, "on_failure") == 0)
			cfg->on_failure = parse_action(tg, opt, val, true);
		else if (strcmp(opt, "on_null") == 0)
			cfg->on_null = parse_action(tg, opt, val, true);
		else if (strcmp(opt, "mode") == 0)
		{
			if (!juhe_mode_lookup(val, &cfg->mode))
				definition_error(tg, "invalid value \"%s\" for option \"mode\"", val,
								 "Use plain, aes or rsa; without the option juhe.mode applies.");
			cfg->mode_set = true;
		}
		else
			definition_error(tg, "unknown option \"%s\"", opt,
							 "Options are result, orderid, verified_at, on_mismatch, on_error, on_failure, on_null and mode.");
	}
	return cfg;
}

static bool
same_value(HeapTuple a, HeapTuple b, TupleDesc td, int att)
{
	bool		na,
				nb;
	Datum		da = heap_getattr(a, att, td, &na);
	Datum		db = heap_getattr(b, att, td, &nb);

	if (na || nb)
		return na && nb;
	{
		text	   *ta = DatumGetTextPP(da);
		text	   *tb = DatumGetTextPP(db);

		return VARSIZE_ANY_EXHDR(ta) == VARSIZE_ANY_EXHDR(tb) &&
			memcmp(VARDATA_ANY(ta), VARDATA_ANY(tb), VARSIZE_ANY_EXHDR(ta)) == 0;
	}
}

/* masked "name, ID" for messages, in the database encoding */
static char *
masked_person(const JuheItem *item)
{
	size_t		len = strlen(item->name);
	char	   *mname = palloc(len + 1);	/* what juhe_mask_name needs */
	char		mid[JUHE_MASK_IDCARD_BUFSZ];
	char	   *s;

	juhe_mask_name(item->name, len, mname);
	juhe_mask_idcard(item->idcard, strlen(item->idcard), mid);
	s = psprintf("name \"%s\", ID \"%s\"", mname, mid);
	return pg_any_to_server(s, strlen(s), PG_UTF8);
}

/* never fails on a reason the database encoding cannot hold */
static char *
server_reason(const JuheAnswer *a)
{
	return juhe_service_cstring(a->reason);
}

static Datum
result_datum(const TriggerConfig *cfg, const JuheAnswer *a)
{
	switch (cfg->result_kind)
	{
		case RESULT_INTEGER:
			return Int32GetDatum(a->res);
		case RESULT_COMPOSITE:
			{
				TupleDesc	td = lookup_rowtype_tupdesc(getBaseType(cfg->result_type), -1);
				Datum		values[4];
				bool		nulls[4];
				HeapTuple	tup;

				juhe_result_values(a, values, nulls);
				tup = heap_form_tuple(td, values, nulls);
				ReleaseTupleDesc(td);
				return HeapTupleGetDatum(tup);
			}
		case RESULT_JSONB:
			{
				StringInfoData buf;

				initStringInfo(&buf);
				appendStringInfoString(&buf, "{\"res\": ");
				if (a->error_code == 0)
					appendStringInfo(&buf, "%d", a->res);
				else
					appendStringInfoString(&buf, "null");
				appendStringInfoString(&buf, ", \"orderid\": ");
				if (a->has_orderid)
					escape_json(&buf, a->orderid);
				else
					appendStringInfoString(&buf, "null");
				appendStringInfo(&buf, ", \"error_code\": %d, \"reason\": ", a->error_code);
				escape_json(&buf, server_reason(a));
				appendStringInfoChar(&buf, '}');
				return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data));
			}
		case RESULT_NONE:
			break;
	}
	return (Datum) 0;
}

/* set the result columns of the row: answer, or NULLs when a == NULL */
static HeapTuple
record(const TriggerConfig *cfg, HeapTuple tuple, TupleDesc td, const JuheAnswer *a)
{
	int			cols[3];
	Datum		values[3];
	bool		nulls[3];
	int			n = 0;

	if (cfg->result_att)
	{
		cols[n] = cfg->result_att;
		nulls[n] = a == NULL || (cfg->result_kind == RESULT_INTEGER && a->error_code != 0);
		values[n] = nulls[n] ? (Datum) 0 : result_datum(cfg, a);
		n++;
	}
	if (cfg->orderid_att)
	{
		cols[n] = cfg->orderid_att;
		nulls[n] = a == NULL || !a->has_orderid;
		values[n] = nulls[n] ? (Datum) 0 : CStringGetTextDatum(a->orderid);
		n++;
	}
	if (cfg->verified_at_att)
	{
		cols[n] = cfg->verified_at_att;
		nulls[n] = a == NULL || a->error_code != 0;
		values[n] = nulls[n] ? (Datum) 0 : TimestampTzGetDatum(GetCurrentTimestamp());
		n++;
	}
	if (n == 0)
		return tuple;
	return heap_modify_tuple_by_cols(tuple, td, n, cols, values, nulls);
}

Datum
juhe_verify_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	Trigger    *tg;
	TupleDesc	tupdesc;
	HeapTuple	newtuple;
	TriggerConfig *cfg;
	bool		name_null,
				id_null;
	Datum		name_d,
				id_d;
	JuheItem	item;
	Action		act = ACT_ACCEPT;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("juhe_verify_trigger: not called by trigger manager")));
	td = (TriggerData *) fcinfo->context;
	tg = td->tg_trigger;
	if (!TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("trigger \"%s\": juhe_verify_trigger must be fired FOR EACH ROW",
						tg->tgname)));
	if (!TRIGGER_FIRED_BEFORE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("trigger \"%s\": juhe_verify_trigger must be fired BEFORE the row is written",
						tg->tgname),
				 errhint("Use CREATE TRIGGER ... BEFORE INSERT OR UPDATE ... FOR EACH ROW.")));
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		newtuple = td->tg_trigtuple;
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		newtuple = td->tg_newtuple;
	else
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
				 errmsg("trigger \"%s\": juhe_verify_trigger must be fired on INSERT or UPDATE",
						tg->tgname)));

	tupdesc = RelationGetDescr(td->tg_relation);
	cfg = (TriggerConfig *) fcinfo->flinfo->fn_extra;
	if (cfg == NULL || cfg->tgoid != tg->tgoid)
	{
		cfg = parse_config(tg, td->tg_relation, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = cfg;
	}

	/* UPDATE that leaves the identity alone keeps its stored result */
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) &&
		same_value(td->tg_trigtuple, newtuple, tupdesc, cfg->name_att) &&
		same_value(td->tg_trigtuple, newtuple, tupdesc, cfg->idcard_att))
		return PointerGetDatum(newtuple);

	name_d = heap_getattr(newtuple, cfg->name_att, tupdesc, &name_null);
	id_d = heap_getattr(newtuple, cfg->idcard_att, tupdesc, &id_null);
	if (name_null || id_null)
	{
		if (cfg->on_null == ACT_REJECT)
			ereport(ERROR,
					(errcode(ERRCODE_JUHE_MISSING),
					 errmsg("identity not verified: %s is NULL",
							name_null ? "the name" : "the ID number"),
					 errdetail("Trigger \"%s\" on table \"%s\" requires both.",
							   tg->tgname, RelationGetRelationName(td->tg_relation))));
		if (cfg->on_null == ACT_SKIP)
			return PointerGetDatum(NULL);
		return PointerGetDatum(record(cfg, newtuple, tupdesc, NULL));
	}

	memset(&item, 0, sizeof(item));
	juhe_prepare_item(&item, DatumGetTextPP(name_d), DatumGetTextPP(id_d));
	juhe_verify_items(&item, 1, cfg->mode_set ? cfg->mode : (JuheMode) juhe_mode, 1);

	if (!item.done)
	{
		if (cfg->on_failure == ACT_REJECT)
			juhe_raise_failure(&item);
		/* accepted or skipped: say so, the row carries no result */
		PG_TRY();
		{
			juhe_raise_failure(&item);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
			edata = CopyErrorData();
			FlushErrorState();
			ereport(WARNING,
					(errcode(edata->sqlerrcode),
					 errmsg("row %s without verification: %s",
							cfg->on_failure == ACT_SKIP ? "skipped" : "accepted",
							edata->message),
					 errdetail("Trigger \"%s\", %s.", tg->tgname, masked_person(&item))));
			FreeErrorData(edata);
		}
		PG_END_TRY();
		if (cfg->on_failure == ACT_SKIP)
			return PointerGetDatum(NULL);
		return PointerGetDatum(record(cfg, newtuple, tupdesc, NULL));
	}

	if (item.answer.error_code == 0 && item.answer.res == 2)
	{
		act = cfg->on_mismatch;
		if (act == ACT_REJECT)
			ereport(ERROR,
					(errcode(ERRCODE_JUHE_MISMATCH),
					 errmsg("identity does not match: the name and the ID number do not belong together"),
					 errdetail("Trigger \"%s\", %s, order id \"%s\".", tg->tgname,
							   masked_person(&item),
							   item.answer.has_orderid ? item.answer.orderid : "")));
	}
	else if (item.answer.error_code != 0)
	{
		act = cfg->on_error;
		if (act == ACT_REJECT && item.local)
			ereport(ERROR,
					(errcode(ERRCODE_JUHE_INVALID),
					 errmsg("identity not verified: the input is not valid"),
					 errdetail("Trigger \"%s\", %s: %s.", tg->tgname,
							   masked_person(&item), server_reason(&item.answer)),
					 errhint("No request was sent.")));
		if (act == ACT_REJECT)
			ereport(ERROR,
					(errcode(ERRCODE_JUHE_NOT_VERIFIED),
					 errmsg("identity not verified: the service answered error %d",
							item.answer.error_code),
					 errdetail("Trigger \"%s\", %s: %s.", tg->tgname,
							   masked_person(&item), server_reason(&item.answer))));
	}
	if (act == ACT_SKIP)
		return PointerGetDatum(NULL);
	return PointerGetDatum(record(cfg, newtuple, tupdesc, &item.answer));
}
