/*
 * response.h
 *		Parsing the service's JSON answer into a small C struct.
 *
 * Pure C plus json-c (no PostgreSQL headers) so the unit tests and the fuzzer
 * can call it directly.
 */
#ifndef JUHEID_RESPONSE_H
#define JUHEID_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#define JUHE_ORDERID_MAX 128
#define JUHE_REASON_MAX 512

typedef enum JuheParseStatus
{
	JUHE_PARSE_OK = 0,			/* a well-formed answer (any error_code) */
	JUHE_PARSE_NOT_JSON,		/* body is not one complete JSON value */
	JUHE_PARSE_NOT_OBJECT,		/* JSON, but not an object */
	JUHE_PARSE_NO_ERROR_CODE,	/* error_code missing or not an integer */
	JUHE_PARSE_BAD_RES			/* error_code 0, but res is missing or unknown */
} JuheParseStatus;

/* the service's error_code values juheid acts on */
#define JUHE_CODE_BILLED		0		/* answered (res 1 or 2) and billed */
#define JUHE_CODE_BAD_PARAM		210304	/* bad parameter; also juheid's local answer */
#define JUHE_CODE_NETWORK		210305	/* provider's network error: not billed, retried */

typedef struct JuheAnswer
{
	int			error_code;
	int			res;			/* 1 match, 2 mismatch, 0 when error_code != 0 */
	bool		has_orderid;
	char		orderid[JUHE_ORDERID_MAX];
	char		reason[JUHE_REASON_MAX];	/* UTF-8, truncated on a character
											 * boundary */
	long long	reused_at;		/* a reused answer (reuse.c): when it was
								 * received (a TimestampTz); 0 = fresh */
} JuheAnswer;

extern JuheParseStatus juhe_parse_answer(const char *body, size_t len,
										 JuheAnswer *out);

#endif							/* JUHEID_RESPONSE_H */
