/*
 * replay.h
 *		juheid's WAL resource manager (replay.c): the ledger and the daily
 *		count replayed on standbys and in recovery.
 */
#ifndef JUHEID_REPLAY_H
#define JUHEID_REPLAY_H

#include "postgres.h"

/* _PG_init, while preloading */
extern void juhe_replay_register(void);

#endif							/* JUHEID_REPLAY_H */
