/*
 * compat.h
 *		Every difference between the PostgreSQL major versions juheid
 *		builds against (15 to 18), in one place.  Nothing outside this
 *		header tests PG_VERSION_NUM.
 *
 *	15, 18   built and tested on every change
 *	16, 17   written against their documented API changes, not tested
 */
#ifndef JUHEID_COMPAT_H
#define JUHEID_COMPAT_H

#include "postgres.h"

#include "port/atomics.h"
#include "storage/latch.h"
#include "utils/resowner.h"
#include "utils/wait_event.h"

#if PG_VERSION_NUM < 150000
#error "juheid needs PostgreSQL 15 or later"
#endif

/* varlena access macros (VARDATA_ANY ...) moved out of postgres.h in 16 */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * Module magic: 18 can carry the module's name and version, shown by
 * pg_get_loaded_modules().
 */
#if PG_VERSION_NUM >= 180000
#define JUHE_MODULE_MAGIC PG_MODULE_MAGIC_EXT(.name = "juheid", .version = EXTVERSION)
#else
#define JUHE_MODULE_MAGIC PG_MODULE_MAGIC
#endif

/*
 * A transactional WAL record that makes the current transaction id
 * durable (17 added the flush flag; juheid flushes itself).
 */
#if PG_VERSION_NUM >= 170000
#define juhe_log_xid_message(prefix) LogLogicalMessage((prefix), "", 0, true, false)
#else
#define juhe_log_xid_message(prefix) LogLogicalMessage((prefix), "", 0, true)
#endif

/*
 * A WaitEventSet juheid frees itself, on every path (17 takes a
 * ResourceOwner instead of a MemoryContext; NULL means "not tracked", so
 * no resource owner frees it a second time on error).
 */
static inline WaitEventSet *
juhe_create_wait_event_set(int nevents)
{
#if PG_VERSION_NUM >= 170000
	return CreateWaitEventSet(NULL, nevents);
#else
	return CreateWaitEventSet(CurrentMemoryContext, nevents);
#endif
}

/*
 * The wait events juheid shows in pg_stat_activity: from 17 on, custom
 * events of its own (wait_event_type "Extension", wait_event
 * "JuheidRequest" while a request is in flight, "JuheidBackoff" between
 * retries); before, the generic "Extension".
 */
/* this backend's index into ProcGlobal->allProcs (17 renamed it) */
#if PG_VERSION_NUM >= 170000
#define juhe_my_procno() (MyProcNumber)
#else
#define juhe_my_procno() (MyProc->pgprocno)
#endif

typedef enum JuheWait
{
	JUHE_WAIT_REQUEST,
	JUHE_WAIT_BACKOFF
} JuheWait;

static inline uint32
juhe_wait_event(JuheWait which)
{
#if PG_VERSION_NUM >= 170000
	static uint32 events[2];

	if (events[which] == 0)
		events[which] = WaitEventExtensionNew(which == JUHE_WAIT_REQUEST ?
											  "JuheidRequest" : "JuheidBackoff");
	return events[which];
#else
	return PG_WAIT_EXTENSION;
#endif
}

/*
 * Whether synchronous standbys are configured (the flag became a bit in
 * sync_standbys_status in the minor releases of 2025).  Caller holds
 * SyncRepLock.
 */
#include "replication/walsender_private.h"

static inline bool
juhe_sync_standbys_defined(void)
{
#ifdef SYNC_STANDBY_DEFINED
	return (WalSndCtl->sync_standbys_status & SYNC_STANDBY_DEFINED) != 0;
#else
	return WalSndCtl->sync_standbys_defined;
#endif
}

/* an atomic counter moved up to at least target, never down (17 has it) */
#if PG_VERSION_NUM >= 170000
#define juhe_atomic_advance_u64(ptr, target) \
	((void) pg_atomic_monotonic_advance_u64((ptr), (target)))
#else
static inline void
juhe_atomic_advance_u64(volatile pg_atomic_uint64 *ptr, uint64 target)
{
	uint64		cur = pg_atomic_read_u64(ptr);

	while (cur < target && !pg_atomic_compare_exchange_u64(ptr, &cur, target))
		;
}
#endif

#endif							/* JUHEID_COMPAT_H */
