/*
 * gateway.h
 *		The gateway worker (gateway.c): one background worker holds the
 *		connections to the provider for every backend.
 *
 * A backend still normalises, validates, consults the memo and builds the
 * (encrypted) body itself; it hands the worker only the URL, the body and
 * the per-call limits through a slot in shared memory and waits on its
 * latch.  The worker runs the transport engine (curl multi) on the
 * requests of all backends over a few warm connections.
 */
#ifndef JUHEID_GATEWAY_H
#define JUHEID_GATEWAY_H

#include "postgres.h"

#include "transport.h"

/* the module startup (juheid.c): the slots, and the worker */
extern Size juhe_gateway_shmem_size(void);
extern void juhe_gateway_shmem_init(void);
extern void juhe_gateway_register_worker(void);

/*
 * Can these requests go through the gateway?  juhe.gateway on, juheid
 * preloaded, the worker running, and each request small enough for a slot
 * (URL, body, CA file and proxy names, answer cap); otherwise the backend
 * calls the provider itself.
 */
extern bool juhe_gateway_usable(JuheHttp **reqs, int n, const JuheHttpOptions *opts);

/*
 * Like juhe_http_run, through the worker: requests are opened when they
 * are handed over; the worker applies juhe.max_requests_per_second when it
 * starts them, single calls and triggers before bulk requests.
 */
extern void juhe_gateway_run(JuheHttp **reqs, int n, int max_parallel,
							 const JuheHttpOptions *opts, const JuheHttpHooks *hooks);

PGDLLEXPORT void juhe_gateway_main(Datum arg);

#endif							/* JUHEID_GATEWAY_H */
