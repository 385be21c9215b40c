/*
 * fuzz_idcard.c
 *		libFuzzer harness for the ID and name toolkit (src/idcard.c,
 *		src/name.c): arbitrary bytes must be normalised, validated, parsed
 *		and masked without crashing, and the results must keep the
 *		invariants the SQL functions and juhe_verify rely on.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idcard.h"
#include "name.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_idcard(const char *in, size_t size)
{
	static const juhe_date today = {2024, 6, 15};
	char		id[JUHE_IDCARD_BUFSZ];
	char		again[JUHE_IDCARD_BUFSZ];
	char		mask[JUHE_MASK_IDCARD_BUFSZ];
	juhe_idcard_info info;
	juhe_idcard_status st;
	juhe_idcard_status st_strict;
	size_t		mlen;
	int			i;

	if (juhe_idcard_normalize(in, size, id))
	{
		if (strlen(id) != JUHE_IDCARD_LEN)
			__builtin_trap();
		for (i = 0; i < 17; i++)
			if (id[i] < '0' || id[i] > '9')
				__builtin_trap();
		if (!((id[17] >= '0' && id[17] <= '9') || id[17] == 'X'))
			__builtin_trap();
		/* idempotent */
		if (!juhe_idcard_normalize(id, JUHE_IDCARD_LEN, again) || strcmp(id, again) != 0)
			__builtin_trap();
	}
	else if (id[0] != '\0')
		__builtin_trap();

	st = juhe_idcard_check(in, size, &today, false, NULL);
	st_strict = juhe_idcard_check(in, size, &today, true, NULL);
	/* strict accepts a subset */
	if (st_strict == JUHE_IDCARD_OK && st != JUHE_IDCARD_OK)
		__builtin_trap();
	if (st != JUHE_IDCARD_OK && st_strict != st)
		__builtin_trap();
	(void) juhe_idcard_status_text(st);

	if (juhe_idcard_parse(in, size, &today, false, &info) != st)
		__builtin_trap();
	if (st == JUHE_IDCARD_OK)
	{
		if (strcmp(info.idcard, id) != 0 || info.age < 0 ||
			(info.sex != 'M' && info.sex != 'F') ||
			!juhe_date_valid(info.birth.year, info.birth.month, info.birth.day) ||
			juhe_date_cmp(&info.birth, &today) > 0 ||
			!juhe_region_exists(info.region_code))
			__builtin_trap();
		if (info.province)
			(void) strlen(info.province);
		if (info.city)
			(void) strlen(info.city);
		if (info.county)
			(void) strlen(info.county);
	}
	(void) juhe_idcard_check(in, size, NULL, false, NULL);

	mlen = juhe_mask_idcard(in, size, mask);
	if (mlen >= JUHE_MASK_IDCARD_BUFSZ || strlen(mask) != mlen)
		__builtin_trap();
	/* a non-empty input is never shown without stars */
	if (mlen > 0 && strstr(mask, "********") == NULL)
		__builtin_trap();
}

static void
fuzz_name(const char *in, size_t size)
{
	char		norm[JUHE_NAME_BUFSZ];
	char		again[JUHE_NAME_BUFSZ];
	char	   *mask;
	juhe_name_status st;
	size_t		mlen;

	st = juhe_name_normalize(in, size, norm);
	(void) juhe_name_status_text(st);
	if (st == JUHE_NAME_OK)
	{
		size_t		n = strlen(norm);

		if (n == 0 || n >= JUHE_NAME_BUFSZ)
			__builtin_trap();
		/* idempotent, and valid() agrees */
		if (juhe_name_normalize(norm, n, again) != JUHE_NAME_OK ||
			strcmp(norm, again) != 0 || !juhe_name_valid(in, size))
			__builtin_trap();
	}
	else if (norm[0] != '\0' || juhe_name_valid(in, size))
		__builtin_trap();

	/* exactly the documented minimum, so ASan sees any overrun */
	mask = malloc(size + 1);
	if (mask == NULL)
		return;
	mlen = juhe_mask_name(in, size, mask);
	if (mlen > size || strlen(mask) != mlen)
		__builtin_trap();
	free(mask);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a private copy, so reads past the end are caught */
	char	   *in = malloc(size ? size : 1);

	if (in == NULL)
		return 0;
	if (size)
		memcpy(in, data, size);
	fuzz_idcard(in, size);
	fuzz_name(in, size);
	free(in);
	return 0;
}
