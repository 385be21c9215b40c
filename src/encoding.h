/*
 * encoding.h
 *		Conversions between the database encoding and UTF-8 that never raise
 *		an error (core's conversion errors print the offending bytes, which
 *		may be a name).
 */
#ifndef JUHEID_ENCODING_H
#define JUHEID_ENCODING_H

#include "postgres.h"

/*
 * len bytes in the database encoding as palloc'd, NUL-terminated UTF-8, or
 * NULL if they are not valid or have no UTF-8 equivalent.
 */
extern char *juhe_server_to_utf8(const char *s, size_t len, size_t *outlen);

/*
 * len bytes of UTF-8 as palloc'd, NUL-terminated text in the database
 * encoding, or NULL if some character cannot be represented.
 */
extern char *juhe_utf8_to_server(const char *s, size_t len, size_t *outlen);

/* true if the database holds UTF-8 (or bytes taken as UTF-8: SQL_ASCII) */
extern bool juhe_db_is_utf8(void);

/*
 * Every byte outside printable ASCII becomes '?', in place: for order ids
 * in log lines written where no encoding conversion may run (catalog
 * access is impossible while a transaction aborts).
 */
extern void juhe_ascii_printable(char *s, size_t len);

/*
 * A string from the service, in the database encoding.  Never fails:
 * invalid UTF-8 and characters the database cannot hold become '?'.  Every
 * string the service sends (order id, reason) goes through this before it
 * reaches a result, a row or a message.
 */
extern char *juhe_service_text(const char *utf8);

#endif							/* JUHEID_ENCODING_H */
