/*
 * preload.h
 *		Whether juheid was loaded by shared_preload_libraries (preload.c),
 *		and who may read what it keeps there.  Nothing may be sent without
 *		it: the ledger, the daily cap and the cluster statistics live in
 *		shared memory.
 */
#ifndef JUHEID_PRELOAD_H
#define JUHEID_PRELOAD_H

#include "postgres.h"

/* the module startup (juheid.c), once shared memory is set up */
extern void juhe_preload_done(void);

extern bool juhe_preloaded(void);

/* ERROR (55000) unless preloaded */
extern void juhe_require_preloaded(void);

/* ... and unless the caller may read what it costs (pg_read_all_stats) */
extern void juhe_require_reader(const char *what);

#endif							/* JUHEID_PRELOAD_H */
