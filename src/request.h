/*
 * request.h
 *		The URL and form body of one request, per mode (request.c).
 */
#ifndef JUHEID_REQUEST_H
#define JUHEID_REQUEST_H

#include "postgres.h"

#include "guc.h"

extern char *juhe_request_url(const JuheConfig *cfg);
extern char *juhe_request_body(const JuheConfig *cfg, const char *name,
							   const char *idcard, size_t *len);

#endif							/* JUHEID_REQUEST_H */
