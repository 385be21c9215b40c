/*
 * check.h
 *		The one assertion macro of the C unit tests: counts instead of
 *		aborting, so a run reports every failure and ends with
 *		"N passed, N failed".
 */
#ifndef JUHEID_TEST_CHECK_H
#define JUHEID_TEST_CHECK_H

#include <stdio.h>

static int	passed = 0;
static int	failed = 0;

#define CHECK(cond, what) \
	do { \
		if (cond) passed++; \
		else { failed++; fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, what); } \
	} while (0)

#endif							/* JUHEID_TEST_CHECK_H */
