/*
 * fuzz_response.c
 *		libFuzzer harness for the answer parser (src/response.c): any bytes
 *		from the network must parse or be refused, never crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "response.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	JuheAnswer	a;
	JuheParseStatus st = juhe_parse_answer((const char *) data, size, &a);

	if (st == JUHE_PARSE_OK)
	{
		/* invariants the callers rely on */
		if (a.error_code == 0 && a.res != 1 && a.res != 2)
			__builtin_trap();
		if (a.error_code != 0 && a.res != 0)
			__builtin_trap();
		if (strlen(a.reason) >= JUHE_REASON_MAX || strlen(a.orderid) >= JUHE_ORDERID_MAX)
			__builtin_trap();
	}
	return 0;
}
