/*
 * test/tools/ledger_gen.c -- append records to a juheid ledger file for the
 * TAP tests, written from the record format alone (with its own CRC-32C),
 * independently of the server's code: a million records in seconds.
 *
 *	ledger_gen FILE COUNT FATE FIRST_SECONDS_AGO STEP_SECONDS FIRST_ID PREFIX
 *
 * COUNT records of FATE (1 sent, 2 billed, 3 in doubt, 4 not billed), ids
 * FIRST_ID, FIRST_ID + 1, ..., the first FIRST_SECONDS_AGO seconds ago and
 * each STEP_SECONDS later (fractions allowed), order id PREFIX + the id for
 * billed ones, database and role "postgres", mode plain, via bulk.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define REC_SIZE 384
#define MAGIC 0x4A484C32u		/* "JHL2" */
#define PG_EPOCH_OFFSET 946684800LL /* 2000-01-01 in Unix seconds */

static uint32_t table[256];

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++)
	{
		uint32_t	c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		table[i] = c;
	}
}

static uint32_t
crc32c(const unsigned char *p, size_t n)
{
	uint32_t	c = 0xFFFFFFFFu;

	while (n--)
		c = table[(c ^ *p++) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char) (v >> (8 * i));
}

static void
put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char) (v >> (8 * i));
}

int
main(int argc, char **argv)
{
	FILE	   *f;
	long long	count;
	int			fate;
	double		ago,
				step;
	unsigned long long first_id;
	const char *prefix;
	struct timeval tv;
	int64_t		now_us;
	unsigned char rec[REC_SIZE];
	static unsigned char buf[REC_SIZE * 1024];
	size_t		used = 0;

	if (argc != 8)
	{
		fprintf(stderr, "usage: ledger_gen FILE COUNT FATE FIRST_SECONDS_AGO STEP_SECONDS FIRST_ID PREFIX\n");
		return 2;
	}
	count = atoll(argv[2]);
	fate = atoi(argv[3]);
	ago = atof(argv[4]);
	step = atof(argv[5]);
	first_id = strtoull(argv[6], NULL, 10);
	prefix = argv[7];
	f = fopen(argv[1], "ab");
	if (f == NULL)
	{
		perror(argv[1]);
		return 1;
	}
	crc_init();
	gettimeofday(&tv, NULL);
	now_us = ((int64_t) tv.tv_sec - PG_EPOCH_OFFSET) * 1000000 + tv.tv_usec;
	for (long long i = 0; i < count; i++)
	{
		int64_t		at = now_us - (int64_t) (ago * 1e6) + (int64_t) (i * step * 1e6);
		uint64_t	id = first_id + (uint64_t) i;

		memset(rec, 0, sizeof(rec));
		put32(rec + 4, MAGIC);
		rec[8] = (unsigned char) fate;	/* fate */
		rec[9] = 3;				/* via: bulk */
		rec[10] = 0;			/* mode: plain */
		rec[11] = fate == 2 ? 1 : 0;	/* res */
		put32(rec + 12, fate == 2 ? 0 : (uint32_t) -1);	/* error_code */
		put64(rec + 16, id);
		put64(rec + 24, (uint64_t) at);	/* sent_at */
		put64(rec + 32, (uint64_t) at);	/* at */
		/* xid, dbid, roleid, pid, reserved: 0 */
		memcpy(rec + 64, "postgres", 8);	/* datname */
		memcpy(rec + 128, "postgres", 8);	/* rolname */
		if (fate == 2)
			snprintf((char *) rec + 192, 128, "%s%llu", prefix, (unsigned long long) id);
		put32(rec, crc32c(rec + 4, REC_SIZE - 4));
		memcpy(buf + used, rec, REC_SIZE);
		used += REC_SIZE;
		if (used == sizeof(buf))
		{
			if (fwrite(buf, 1, used, f) != used)
				return 1;
			used = 0;
		}
	}
	if (used > 0 && fwrite(buf, 1, used, f) != used)
		return 1;
	return fclose(f) == 0 ? 0 : 1;
}
