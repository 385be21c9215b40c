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
 *
 * The result columns (result=, orderid=, verified_at=) belong to the
 * trigger: on every row it fires for, they hold what it wrote, never what
 * the statement supplied.  When an UPDATE leaves the identity alone they
 * are copied from the old row; so a trigger that owns columns must fire on
 * UPDATE too, for every column and without a WHEN condition.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_trigger.h"
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

#include "encoding.h"
#include "errors.h"
#include "guc.h"
#include "idcard.h"
#include "input.h"
#include "name.h"
#include "result.h"
#include "trigger.h"
#include "verify.h"

PG_FUNCTION_INFO_V1(juhe_verify_trigger);

typedef enum Action
{
	ACT_REJECT,
	ACT_ACCEPT,
	ACT_SKIP,
	ACT_DEFER					/* on_failure only: accept now, verify later */
} Action;

typedef struct TriggerConfig
{
	Oid			tgoid;			/* the trigger these options belong to */
	int			name_att;		/* attribute numbers, 1-based */
	int			idcard_att;
	int			result_att;		/* 0 = none */
	JuheResultKind result_kind;
	int			orderid_att;
	int			verified_at_att;
	Action		on_mismatch;
	Action		on_error;
	Action		on_failure;
	Action		on_null;
	bool		mode_set;
	JuheMode	mode;
	bool		reuse;			/* reuse=off: always a fresh answer */
} TriggerConfig;

static const char *const action_names[] = {"reject", "accept", "skip", "defer"};

static int
column(Trigger *tg, TupleDesc td, const char *colname, const char *role)
{
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(td, i);

		if (!a->attisdropped && strcmp(NameStr(a->attname), colname) == 0)
		{
			if (a->attgenerated)
				ereport(ERROR,
						errcode(ERRCODE_INVALID_COLUMN_DEFINITION),
						errmsg("trigger \"%s\": column \"%s\" is generated",
							   tg->tgname, colname));
			return i + 1;
		}
	}
	ereport(ERROR,
			errcode(ERRCODE_UNDEFINED_COLUMN),
			errmsg("trigger \"%s\": %s column \"%s\" does not exist",
				   tg->tgname, role, colname),
			errhint("Name an existing column of the table."));
	return 0;
}

static Oid
column_base_type(TupleDesc td, int att)
{
	return getBaseType(TupleDescAttr(td, att - 1)->atttypid);
}

static Action
parse_action(Trigger *tg, const char *opt, const char *val, bool allow_skip,
			 bool allow_defer)
{
	for (int a = 0; a < (int) lengthof(action_names); a++)
		if (pg_strcasecmp(val, action_names[a]) == 0 &&
			(allow_skip || a != ACT_SKIP) && (allow_defer || a != ACT_DEFER))
			return (Action) a;
	ereport(ERROR,
			errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			errmsg("trigger \"%s\": invalid value \"%s\" for option \"%s\"",
				   tg->tgname, val, opt),
			errhint(allow_defer ? "Use reject, accept, skip or defer." :
					allow_skip ? "Use reject, accept or skip." : "Use reject or accept."));
	return ACT_REJECT;
}

static void
require_text_column(Trigger *tg, TupleDesc td, int att, const char *role,
					const char *colname)
{
	Oid			t = column_base_type(td, att);

	if (!juhe_is_text_type(t))
		ereport(ERROR,
				errcode(ERRCODE_DATATYPE_MISMATCH),
				errmsg("trigger \"%s\": %s column \"%s\" is of type %s, not text or varchar",
					   tg->tgname, role, colname,
					   format_type_be(TupleDescAttr(td, att - 1)->atttypid)));
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
	cfg->reuse = true;

	if (tg->tgnargs < 2)
		ereport(ERROR,
				errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				errmsg("trigger \"%s\": expected at least two arguments, the name column and the ID column",
					   tg->tgname),
				errhint("EXECUTE FUNCTION juhe_verify_trigger('realname', 'idcard' [, 'option=value' ...])"));

	cfg->name_att = column(tg, td, tg->tgargs[0], "name");
	cfg->idcard_att = column(tg, td, tg->tgargs[1], "ID");
	require_text_column(tg, td, cfg->name_att, "name", tg->tgargs[0]);
	require_text_column(tg, td, cfg->idcard_att, "ID", tg->tgargs[1]);

	for (int i = 2; i < tg->tgnargs; i++)
	{
		char	   *opt = pstrdup(tg->tgargs[i]);
		char	   *eq = strchr(opt, '=');
		char	   *val;

		if (eq == NULL)
			ereport(ERROR,
					errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("trigger \"%s\": option \"%s\" is not of the form key=value",
						   tg->tgname, opt));
		*eq = '\0';
		val = eq + 1;

		if (strcmp(opt, "result") == 0)
		{
			Oid			declared;

			cfg->result_att = column(tg, td, val, "result");
			declared = TupleDescAttr(td, cfg->result_att - 1)->atttypid;
			cfg->result_kind = juhe_result_kind_of(declared);
			if (cfg->result_kind == JUHE_RESULT_NONE)
				ereport(ERROR,
						errcode(ERRCODE_DATATYPE_MISMATCH),
						errmsg("trigger \"%s\": result column \"%s\" is of type %s",
							   tg->tgname, val,
							   format_type_extended(declared, -1, FORMAT_TYPE_FORCE_QUALIFY)),
						errhint("Use the juhe_result type of the juheid extension, integer or jsonb."));
		}
		else if (strcmp(opt, "orderid") == 0)
		{
			cfg->orderid_att = column(tg, td, val, "orderid");
			require_text_column(tg, td, cfg->orderid_att, "orderid", val);
		}
		else if (strcmp(opt, "verified_at") == 0)
		{
			cfg->verified_at_att = column(tg, td, val, "verified_at");
			if (column_base_type(td, cfg->verified_at_att) != TIMESTAMPTZOID)
				ereport(ERROR,
						errcode(ERRCODE_DATATYPE_MISMATCH),
						errmsg("trigger \"%s\": verified_at column \"%s\" is of type %s, not timestamptz",
							   tg->tgname, val,
							   format_type_be(TupleDescAttr(td, cfg->verified_at_att - 1)->atttypid)));
		}
		else if (strcmp(opt, "on_mismatch") == 0)
			cfg->on_mismatch = parse_action(tg, opt, val, true, false);
		else if (strcmp(opt, "on_error") == 0)
			cfg->on_error = parse_action(tg, opt, val, true, false);
		else if (strcmp(opt, "on_failure") == 0)
			cfg->on_failure = parse_action(tg, opt, val, true, true);
		else if (strcmp(opt, "on_null") == 0)
			cfg->on_null = parse_action(tg, opt, val, true, false);
		else if (strcmp(opt, "mode") == 0)
		{
			if (!juhe_mode_lookup(val, &cfg->mode))
				ereport(ERROR,
						errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("trigger \"%s\": invalid value \"%s\" for option \"mode\"",
							   tg->tgname, val),
						errhint("Use %s; without the option juhe.mode applies.", juhe_mode_list()));
			cfg->mode_set = true;
		}
		else if (strcmp(opt, "reuse") == 0)
		{
			if (!parse_bool(val, &cfg->reuse))
				ereport(ERROR,
						errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("trigger \"%s\": invalid value \"%s\" for option \"reuse\"",
							   tg->tgname, val),
						errhint("Use on or off; without the option an answer billed within juhe.reuse_answers_for is given again."));
		}
		else
			ereport(ERROR,
					errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("trigger \"%s\": unknown option \"%s\"", tg->tgname, opt),
					errhint("Options are result, orderid, verified_at, on_mismatch, on_error, on_failure, on_null, mode and reuse."));
	}

	/*
	 * Owned columns must be written by the trigger on every change of the
	 * row, or an UPDATE could set them to anything.
	 */
	if (cfg->result_att || cfg->orderid_att || cfg->verified_at_att)
	{
		if (!TRIGGER_FOR_UPDATE(tg->tgtype) || tg->tgnattr > 0 || tg->tgqual != NULL)
			ereport(ERROR,
					errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					errmsg("trigger \"%s\": a trigger that writes result, orderid or verified_at columns must fire on every UPDATE",
						   tg->tgname),
					errhint("Use CREATE TRIGGER ... BEFORE INSERT OR UPDATE ON ... FOR EACH ROW, without UPDATE OF or WHEN."));
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

/* the columns the trigger owns, in the order of cols[] */
static int
owned_columns(const TriggerConfig *cfg, int *cols)
{
	int			n = 0;

	if (cfg->result_att)
		cols[n++] = cfg->result_att;
	if (cfg->orderid_att)
		cols[n++] = cfg->orderid_att;
	if (cfg->verified_at_att)
		cols[n++] = cfg->verified_at_att;
	return n;
}

/* set the owned columns of the row: answer, or NULLs when a == NULL */
static HeapTuple
record(const TriggerConfig *cfg, HeapTuple tuple, TupleDesc td, const JuheAnswer *a)
{
	int			cols[3];
	Datum		values[3];
	bool		nulls[3];
	int			n = 0;

	if (cfg->result_att)
	{
		nulls[n] = true;
		values[n] = a ? juhe_result_column(cfg->result_kind, a, &nulls[n]) : (Datum) 0;
		n++;
	}
	if (cfg->orderid_att)
	{
		nulls[n] = a == NULL || !a->has_orderid;
		values[n] = nulls[n] ? (Datum) 0 : CStringGetTextDatum(juhe_service_text(a->orderid));
		n++;
	}
	if (cfg->verified_at_att)
	{
		nulls[n] = a == NULL || a->error_code != JUHE_CODE_BILLED;
		values[n] = nulls[n] ? (Datum) 0 : TimestampTzGetDatum(juhe_answered_at(a));
		n++;
	}
	if (owned_columns(cfg, cols) == 0)
		return tuple;
	return heap_modify_tuple_by_cols(tuple, td, n, cols, values, nulls);
}

/* an UPDATE that does not verify again keeps the old row's owned columns */
static HeapTuple
keep_old(const TriggerConfig *cfg, HeapTuple oldtuple, HeapTuple newtuple, TupleDesc td)
{
	int			cols[3];
	Datum		values[3];
	bool		nulls[3];
	int			n = owned_columns(cfg, cols);

	if (n == 0)
		return newtuple;
	for (int i = 0; i < n; i++)
		values[i] = heap_getattr(oldtuple, cols[i], td, &nulls[i]);
	return heap_modify_tuple_by_cols(newtuple, td, n, cols, values, nulls);
}

static JuheTriggerPermit *permit = NULL;

void
juhe_trigger_permit(JuheTriggerPermit *p)
{
	p->used = false;
	permit = p;
}

void
juhe_trigger_permit_end(void)
{
	permit = NULL;
}

/*
 * Is this UPDATE the table job's write of the answer for the identity this
 * trigger verifies?  The exact row, its name and ID columns unchanged, and
 * they normalise to what was verified.
 */
static bool
permitted(TriggerData *td, const TriggerConfig *cfg, HeapTuple newtuple, TupleDesc tupdesc)
{
	bool		nn,
				in;
	Datum		name,
				id;

	if (permit == NULL || permit->used ||
		RelationGetRelid(td->tg_relation) != permit->relid ||
		!ItemPointerEquals(&td->tg_trigtuple->t_self, &permit->ctid))
		return false;
	if (!same_value(td->tg_trigtuple, newtuple, tupdesc, cfg->name_att) ||
		!same_value(td->tg_trigtuple, newtuple, tupdesc, cfg->idcard_att))
		return false;
	name = heap_getattr(newtuple, cfg->name_att, tupdesc, &nn);
	id = heap_getattr(newtuple, cfg->idcard_att, tupdesc, &in);
	if (nn || in)
		return false;
	return juhe_same_identity(DatumGetTextPP(name), DatumGetTextPP(id),
							  permit->name, permit->idcard);
}

static Datum juhe_verify_trigger_guarded(FunctionCallInfo fcinfo);

Datum
juhe_verify_trigger(PG_FUNCTION_ARGS)
{
	ErrorContextCallback guard;
	Datum		result;

	juhe_guard_push(&guard);
	result = juhe_verify_trigger_guarded(fcinfo);
	juhe_guard_pop(&guard);
	return result;
}

static Datum
juhe_verify_trigger_guarded(FunctionCallInfo fcinfo)
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
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\": juhe_verify_trigger must be fired FOR EACH ROW",
						tg->tgname)));
	if (!TRIGGER_FIRED_BEFORE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\": juhe_verify_trigger must be fired BEFORE the row is written",
						tg->tgname),
				 errhint("Use CREATE TRIGGER ... BEFORE INSERT OR UPDATE ... FOR EACH ROW.")));
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		newtuple = td->tg_trigtuple;
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		newtuple = td->tg_newtuple;
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\": juhe_verify_trigger must be fired on INSERT or UPDATE",
						tg->tgname)));

	/*
	 * A row applied by logical replication (session_replication_role =
	 * replica, superuser-only: the apply worker, a data-only restore with
	 * --disable-triggers) comes with the answer the publisher paid for:
	 * kept as it is, nothing sent, whether the trigger is enabled REPLICA
	 * or ALWAYS.
	 */
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
		return PointerGetDatum(newtuple);
	juhe_require_primary();

	tupdesc = RelationGetDescr(td->tg_relation);
	cfg = (TriggerConfig *) fcinfo->flinfo->fn_extra;
	if (cfg == NULL || cfg->tgoid != tg->tgoid)
	{
		cfg = parse_config(tg, td->tg_relation, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = cfg;
	}

	/*
	 * juheid's table job writing the answer for this row's own identity:
	 * the trigger records it in its columns, as if it had verified the row
	 */
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) &&
		permitted(td, cfg, newtuple, tupdesc))
	{
		permit->used = true;
		return PointerGetDatum(record(cfg, newtuple, tupdesc, permit->answer));
	}

	/*
	 * UPDATE that leaves the identity alone keeps its stored result, whatever
	 * the statement wrote into the owned columns.
	 */
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) &&
		same_value(td->tg_trigtuple, newtuple, tupdesc, cfg->name_att) &&
		same_value(td->tg_trigtuple, newtuple, tupdesc, cfg->idcard_att))
		return PointerGetDatum(keep_old(cfg, td->tg_trigtuple, newtuple, tupdesc));

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
	juhe_verify_items(&item, 1, cfg->mode_set ? cfg->mode : (JuheMode) juhe_mode, 1,
					  JUHE_VIA_TRIGGER, cfg->reuse);

	if (!item.done)
	{
		char	   *who = psprintf("Trigger \"%s\", %s.", tg->tgname, juhe_masked_person(&item));
		JuheOutcome outcome;

		/*
		 * rejected: an ERROR; accepted or skipped: a WARNING, no result;
		 * deferred (the service could not be reached, nothing billed): a
		 * WARNING, no result, for juhe_verify_table to fill in later; a
		 * deferral is refused when the request may have been billed (a
		 * later verification could pay twice): rejected
		 */
		switch (cfg->on_failure)
		{
			case ACT_ACCEPT:
				outcome = JUHE_OUTCOME_ACCEPTED;
				break;
			case ACT_SKIP:
				outcome = JUHE_OUTCOME_SKIPPED;
				break;
			case ACT_DEFER:
				outcome = juhe_item_never_billed(&item) ?
					JUHE_OUTCOME_DEFERRED : JUHE_OUTCOME_FAILED;
				break;
			default:
				outcome = JUHE_OUTCOME_FAILED;
				break;
		}
		juhe_report_failure(&item, outcome, who);
		if (cfg->on_failure == ACT_SKIP)
			return PointerGetDatum(NULL);
		return PointerGetDatum(record(cfg, newtuple, tupdesc, NULL));
	}

	if (item.answer.error_code == JUHE_CODE_BILLED && item.answer.res == 2)
	{
		act = cfg->on_mismatch;
		if (act == ACT_REJECT)
			ereport(ERROR,
					(errcode(ERRCODE_JUHE_MISMATCH),
					 errmsg("identity does not match: the name and the ID number do not belong together"),
					 errdetail("Trigger \"%s\", %s, order id \"%s\".", tg->tgname,
							   juhe_masked_person(&item),
							   item.answer.has_orderid ? juhe_service_text(item.answer.orderid) : "")));
	}
	else if (item.answer.error_code != JUHE_CODE_BILLED)
	{
		act = cfg->on_error;
		if (act == ACT_REJECT && item.local)
			ereport(ERROR,
					(errcode(ERRCODE_JUHE_INVALID),
					 errmsg("identity not verified: the input is not valid"),
					 errdetail("Trigger \"%s\", %s: %s.", tg->tgname,
							   juhe_masked_person(&item), juhe_service_text(item.answer.reason)),
					 errhint("No request was sent.")));
		if (act == ACT_REJECT)
			ereport(ERROR,
					(errcode(ERRCODE_JUHE_NOT_VERIFIED),
					 errmsg("identity not verified: the service answered error %d",
							item.answer.error_code),
					 errdetail("Trigger \"%s\", %s: %s.", tg->tgname,
							   juhe_masked_person(&item), juhe_service_text(item.answer.reason))));
	}
	if (act == ACT_SKIP)
		return PointerGetDatum(NULL);
	return PointerGetDatum(record(cfg, newtuple, tupdesc, &item.answer));
}
