/*
 * idcheck.c -- juheid's ID check as a filter, for the differential test
 * against python-stdnum (test/differential/stdnum_diff.py).
 *
 * Usage: idcheck YYYY-MM-DD < ids > statuses
 *
 * Reads one ID per line (the line without its '\n' is passed as is, so
 * white space around it is the toolkit's to trim) and prints, per line,
 * the juhe_idcard_status of the default check (juhe_idcard_valid(text))
 * and of the strict check (juhe_idcard_valid(text, true)), separated by a
 * space.  The argument is the fixed "today" of the run; the toolkit never
 * reads the clock itself (juhe_current_date() is backend code and is not
 * linked here).  Links the pure-C toolkit only:
 * src/idcard.c src/name.c src/regions_data.c.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idcard.h"

int
main(int argc, char **argv)
{
	juhe_date	today;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;
	char		tail;

	if (argc != 2 ||
		sscanf(argv[1], "%4d-%2d-%2d%c", &today.year, &today.month,
			   &today.day, &tail) != 3 ||
		!juhe_date_valid(today.year, today.month, today.day))
	{
		fprintf(stderr, "usage: %s YYYY-MM-DD < ids\n", argv[0]);
		return 2;
	}

	while ((n = getline(&line, &cap, stdin)) >= 0)
	{
		juhe_idcard_status st;
		juhe_idcard_status strict;

		if (n > 0 && line[n - 1] == '\n')
			n--;
		st = juhe_idcard_check(line, (size_t) n, &today, false, NULL);
		strict = juhe_idcard_check(line, (size_t) n, &today, true, NULL);
		printf("%d %d\n", (int) st, (int) strict);
	}
	free(line);
	if (ferror(stdin) || fflush(stdout) != 0)
	{
		perror("idcheck");
		return 1;
	}
	return 0;
}
