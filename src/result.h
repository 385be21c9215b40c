/*
 * result.h
 *		The composite rows juheid returns (result.c): juhe_result, and the
 *		check every composite it fills goes through.
 */
#ifndef JUHEID_RESULT_H
#define JUHEID_RESULT_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "datatype/timestamp.h"
#include "fmgr.h"

#include "response.h"

/* juhe_result: (res integer, orderid text, error_code integer, reason text) */
#define JUHE_RESULT_NATTS 4
extern const Oid juhe_result_types[JUHE_RESULT_NATTS];

/* the four columns; service text in the database encoding */
extern void juhe_result_values(const JuheAnswer *a, Datum *values, bool *nulls);

/* a juhe_result row of the calling function */
extern Datum juhe_result_datum(FunctionCallInfo fcinfo, const JuheAnswer *a);

/* a row of the calling function's result type, checked against types */
extern Datum juhe_result_row(FunctionCallInfo fcinfo, Datum *values, bool *nulls,
							 const Oid *types, int natts, const char *what);

/* error unless td has exactly natts live columns of these types */
extern void juhe_check_result_desc(TupleDesc td, const Oid *types, int natts,
								   const char *what);

/* the extension's own juhe_result type, found through the extension */
extern Oid	juhe_result_type_oid(void);

/*
 * A column that receives an answer (the trigger's result=, the table job's
 * result column): the extension's juhe_result, integer (res, NULL unless
 * billed) or jsonb ({"res", "orderid", "error_code", "reason"}).
 */
typedef enum JuheResultKind
{
	JUHE_RESULT_NONE,			/* not a type juheid writes */
	JUHE_RESULT_COMPOSITE,
	JUHE_RESULT_INTEGER,
	JUHE_RESULT_JSONB
} JuheResultKind;

extern JuheResultKind juhe_result_kind_of(Oid type);

/*
 * A billed answer's verified_at: now, or for an answer given again
 * (reuse.c) when the original was received
 */
extern TimestampTz juhe_answered_at(const JuheAnswer *a);

/* a column juheid reads names and IDs from, or writes order ids to */
extern bool juhe_is_text_type(Oid type);
extern Datum juhe_result_column(JuheResultKind kind, const JuheAnswer *a, bool *isnull);

#endif							/* JUHEID_RESULT_H */
