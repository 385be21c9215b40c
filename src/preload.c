/*
 * preload.c
 *		Whether juheid was loaded by shared_preload_libraries, and who may
 *		read what it keeps in shared memory.
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "miscadmin.h"
#include "utils/acl.h"

#include "preload.h"

static bool preloaded = false;

void
juhe_preload_done(void)
{
	preloaded = true;
}

bool
juhe_preloaded(void)
{
	return preloaded;
}

void
juhe_require_preloaded(void)
{
	if (!preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("juheid must be loaded via shared_preload_libraries"),
				 errdetail("Without it there is no ledger of billed answers, no spending limit and no cluster statistics, so juheid sends nothing."),
				 errhint("Add juheid to shared_preload_libraries in postgresql.conf and restart the server.")));
}

void
juhe_require_reader(const char *what)
{
	juhe_require_preloaded();
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read %s", what),
				 errhint("Only superusers and members of pg_read_all_stats may read juheid's statistics and ledger.")));
}
