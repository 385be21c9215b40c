/*
 * table_job.h
 *		Resumable table jobs (table_job.c): their shared-memory progress,
 *		set up by the module startup (juheid.c).
 */
#ifndef JUHEID_TABLE_JOB_H
#define JUHEID_TABLE_JOB_H

#include "postgres.h"

extern Size juhe_jobs_shmem_size(void);
extern void juhe_jobs_shmem_init(void);

#endif							/* JUHEID_TABLE_JOB_H */
