/*-------------------------------------------------------------------------
 *
 * idcard.h
 *	  Chinese resident ID numbers (GB 11643-1999): normalisation, check
 *	  digit, birth date, region code (GB/T 2260, historical), information
 *	  extraction and masking.  Pure C (libc only), input is UTF-8 given as
 *	  pointer + length.
 *
 * What is accepted (see idcard.c for the details):
 *	- normalisation trims white space (see juhe_is_trim_space), folds
 *	  full-width digits U+FF10-FF19 and full-width X/x to ASCII, x to X,
 *	  and upgrades a 15-digit legacy ID to 18 digits (insert "19" before
 *	  the YYMMDD birth date, append the check digit);
 *	- an 18-character ID needs a matching check digit, a real birth date
 *	  from 1800-01-01 to "today" inclusive, and a region code that appears
 *	  in the GB/T 2260 timeline table with any period (retired codes stay
 *	  valid).  Strict mode also requires a period covering the birth year;
 *	- special prefixes: 710000 (Taiwan, not in the table) is accepted as a
 *	  region that is always in use; 810000, 820000 and 830000 (residence
 *	  permits of Hong Kong, Macau and Taiwan residents) come from the table.
 *	  Other 71xxxx/81xxxx/82xxxx/83xxxx codes are unknown regions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef JUHE_IDCARD_H
#define JUHE_IDCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JUHE_IDCARD_LEN			18
#define JUHE_IDCARD_BUFSZ		(JUHE_IDCARD_LEN + 1)
/* buffer size that holds any output of juhe_mask_idcard() plus its NUL */
#define JUHE_MASK_IDCARD_BUFSZ	64
/* earliest birth year accepted */
#define JUHE_IDCARD_MIN_YEAR	1800

typedef struct juhe_date
{
	int			year;
	int			month;			/* 1..12 */
	int			day;			/* 1..31 */
} juhe_date;

typedef enum juhe_idcard_status
{
	JUHE_IDCARD_OK = 0,
	JUHE_IDCARD_BAD_FORMAT,		/* not 18 (or 15) digits, last may be X */
	JUHE_IDCARD_BAD_CHECKSUM,	/* check digit does not match */
	JUHE_IDCARD_BAD_DATE,		/* birth date is not a real date */
	JUHE_IDCARD_FUTURE_DATE,	/* birth date after today */
	JUHE_IDCARD_UNKNOWN_REGION, /* region code never existed */
	JUHE_IDCARD_REGION_NOT_IN_USE	/* strict: code not in use in birth year */
} juhe_idcard_status;

typedef struct juhe_idcard_info
{
	char		idcard[JUHE_IDCARD_BUFSZ];	/* normalised, NUL-terminated */
	int32_t		region_code;	/* e.g. 110101 */
	/* names in use in the birth year; NULL when unknown (static strings) */
	const char *province;
	const char *city;
	const char *county;
	juhe_date	birth;
	char		sex;			/* 'M' (odd 17th digit) or 'F' */
	int			age;			/* full years on "today" */
	bool		residence_permit;	/* 81/82/83 prefix */
} juhe_idcard_info;

/*
 * Normalise: on success writes the 18-character ID plus NUL to out and
 * returns true; returns false (out = "") when the input does not have the
 * shape of an ID.  Does not check the check digit, date or region of an
 * 18-digit input.
 */
extern bool juhe_idcard_normalize(const char *in, size_t len, char *out);

/* check digit ('0'..'9' or 'X') of 17 ASCII digits */
extern char juhe_idcard_check_digit(const char *first17);

/*
 * Full check.  today is the reference date for "not in the future" and
 * for the age.  If out is not NULL it receives the normalised ID when the
 * input could be normalised (even if a later check fails), else "".
 */
extern juhe_idcard_status juhe_idcard_check(const char *in, size_t len,
											const juhe_date *today,
											bool strict, char *out);

/* Full check plus information; info is filled only on JUHE_IDCARD_OK. */
extern juhe_idcard_status juhe_idcard_parse(const char *in, size_t len,
											const juhe_date *today,
											bool strict,
											juhe_idcard_info *info);

/* short English description of a status, e.g. "check digit does not match" */
extern const char *juhe_idcard_status_text(juhe_idcard_status status);

/*
 * Mask for display: a normalisable ID becomes its first 6 characters,
 * "********" and its last 4.  Other input (trimmed) shows at most its
 * first n/3 (max 6) and last n/4 (max 4) characters around "********",
 * so it is never shown whole; empty input gives "".  Invalid UTF-8 bytes
 * and control characters are shown as '?'.  out must hold
 * JUHE_MASK_IDCARD_BUFSZ bytes; returns the length written.
 */
extern size_t juhe_mask_idcard(const char *in, size_t len, char *out);

/*
 * CURRENT_DATE (transaction start, session time zone) as a juhe_date.
 * Defined in toolkit.c: backend code only, not part of the pure-C library.
 */
extern const juhe_date *juhe_current_date(void);

/* ---- date helpers ---- */
extern bool juhe_date_valid(int year, int month, int day);
/* <0, 0, >0 like strcmp */
extern int	juhe_date_cmp(const juhe_date *a, const juhe_date *b);
/* full years from birth to today (negative if birth is after today) */
extern int	juhe_age_on(const juhe_date *birth, const juhe_date *today);

/* ---- region table (GB/T 2260 timeline) ---- */

/* true if code appears in the table with any period (or is 710000) */
extern bool juhe_region_exists(int32_t code);
/* true if a period of code covers year */
extern bool juhe_region_in_use(int32_t code, int year);
/*
 * Name of code in year: the period covering year (the earliest-starting
 * one if the table has overlapping periods), else the nearest period;
 * NULL if the code is unknown.  Placeholder names of the table such as
 * "市辖区" or "省直辖县级行政单位" are returned as NULL when
 * skip_placeholder is true.
 */
extern const char *juhe_region_name(int32_t code, int year,
									bool skip_placeholder);

/*
 * The generated table (src/regions_data.c, made by tools/gen_regions.py):
 * rows sorted by (code, start_year); name is an offset into
 * juhe_region_names, with JUHE_REGION_PLACEHOLDER set for placeholders.
 */
typedef struct juhe_region
{
	int32_t		code;
	int16_t		start_year;		/* JUHE_REGION_OPEN_START if open */
	int16_t		end_year;		/* JUHE_REGION_OPEN_END if still in use */
	uint32_t	name;
} juhe_region;

#define JUHE_REGION_OPEN_START	0
#define JUHE_REGION_OPEN_END	32767
#define JUHE_REGION_PLACEHOLDER	0x80000000u

extern const juhe_region juhe_regions[];
extern const int juhe_nregions;
extern const char juhe_region_names[];

#endif							/* JUHE_IDCARD_H */
