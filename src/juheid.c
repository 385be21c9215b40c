/*
 * juheid.c
 *		Module entry points: _PG_init and juhe_verify().
 *
 *	juhe_verify(realname text, idcard text, mode text DEFAULT NULL) → juhe_result
 *
 * The other SQL entry points live with their stage: juhe_verify_trigger()
 * in trigger.c, juhe_backend_stats() in stats.c, the ID toolkit in
 * toolkit.c, the batch entry point in batch.c.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "account.h"
#include "compat.h"
#include "errors.h"
#include "gateway.h"
#include "guc.h"
#include "input.h"
#include "result.h"
#include "verify.h"

JUHE_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(juhe_verify);

void		_PG_init(void);

void
_PG_init(void)
{
	juhe_define_gucs();
	if (process_shared_preload_libraries_in_progress)
	{
		juhe_account_register();
		juhe_gateway_register();
	}
}

Datum
juhe_verify(PG_FUNCTION_ARGS)
{
	JuheMode	mode;
	JuheItem	item;
	ErrorContextCallback guard;
	Datum		result;

	/* a NULL name or ID: nothing to verify, nothing sent */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();

	/* from here on no message logs the statement (it may hold the input) */
	juhe_guard_push(&guard);
	if (PG_ARGISNULL(2))
		mode = (JuheMode) juhe_mode;
	else
		mode = juhe_mode_from_text(text_to_cstring(PG_GETARG_TEXT_PP(2)));

	memset(&item, 0, sizeof(item));
	juhe_prepare_item(&item, PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1));
	juhe_verify_items(&item, 1, mode, 1, JUHE_VIA_FUNCTION);
	if (!item.done)
		juhe_report_failure(&item, JUHE_OUTCOME_FAILED, NULL);
	result = juhe_result_datum(fcinfo, &item.answer);
	juhe_guard_pop(&guard);
	PG_RETURN_DATUM(result);
}
