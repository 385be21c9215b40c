/*-------------------------------------------------------------------------
 *
 * idcard.c
 *	  Chinese resident ID numbers (GB 11643-1999): normalisation, check
 *	  digit, birth date and region checks, information extraction and
 *	  masking.  Pure C: no PostgreSQL headers, no allocation, safe on
 *	  arbitrary bytes.  The accepted input is described in idcard.h; the
 *	  region table is generated into regions_data.c.
 *
 *-------------------------------------------------------------------------
 */
#include "idcard.h"
#include "name.h"

#include <string.h>

/* Taiwan: in GB/T 2260 but not in the timeline table */
#define REGION_TAIWAN		710000
#define REGION_TAIWAN_NAME	"台湾省"

/* ---- dates ---- */

static int
days_in_month(int year, int month)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month == 2 &&
		((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		return 29;
	return mdays[month - 1];
}

bool
juhe_date_valid(int year, int month, int day)
{
	if (year < 1 || month < 1 || month > 12 || day < 1)
		return false;
	return day <= days_in_month(year, month);
}

int
juhe_date_cmp(const juhe_date *a, const juhe_date *b)
{
	if (a->year != b->year)
		return a->year < b->year ? -1 : 1;
	if (a->month != b->month)
		return a->month < b->month ? -1 : 1;
	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	return 0;
}

int
juhe_age_on(const juhe_date *birth, const juhe_date *today)
{
	int			age = today->year - birth->year;

	/* a 29 February birthday is reached on 1 March in common years */
	if (today->month < birth->month ||
		(today->month == birth->month && today->day < birth->day))
		age--;
	return age;
}

/* ---- region table ---- */

/* index of the first row for code, or -1 */
static int
region_first(int32_t code)
{
	int			lo = 0;
	int			hi = juhe_nregions;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (juhe_regions[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < juhe_nregions && juhe_regions[lo].code == code)
		return lo;
	return -1;
}

bool
juhe_region_exists(int32_t code)
{
	return code == REGION_TAIWAN || region_first(code) >= 0;
}

bool
juhe_region_in_use(int32_t code, int year)
{
	int			i = region_first(code);

	if (code == REGION_TAIWAN)
		return true;
	if (i < 0)
		return false;
	for (; i < juhe_nregions && juhe_regions[i].code == code; i++)
	{
		if (juhe_regions[i].start_year <= year &&
			year <= juhe_regions[i].end_year)
			return true;
	}
	return false;
}

const char *
juhe_region_name(int32_t code, int year, bool skip_placeholder)
{
	int			i = region_first(code);
	int			best = -1;
	int			best_dist = 0;

	if (i < 0)
		return code == REGION_TAIWAN ? REGION_TAIWAN_NAME : NULL;

	/*
	 * Rows are sorted by start year, so the first covering row is the
	 * earliest-starting one; without one, take the nearest period (the
	 * earlier one on a tie).
	 */
	for (; i < juhe_nregions && juhe_regions[i].code == code; i++)
	{
		const juhe_region *r = &juhe_regions[i];
		int			dist;

		if (year < r->start_year)
			dist = r->start_year - year;
		else if (year > r->end_year)
			dist = year - r->end_year;
		else
			dist = 0;
		if (best < 0 || dist < best_dist)
		{
			best = i;
			best_dist = dist;
			if (dist == 0)
				break;
		}
	}

	if (skip_placeholder && (juhe_regions[best].name & JUHE_REGION_PLACEHOLDER))
		return NULL;
	return juhe_region_names + (juhe_regions[best].name & ~JUHE_REGION_PLACEHOLDER);
}

/* ---- normalisation ---- */

char
juhe_idcard_check_digit(const char *first17)
{
	static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	static const char digits[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
	int			sum = 0;
	int			i;

	for (i = 0; i < 17; i++)
		sum += (first17[i] - '0') * weights[i];
	return digits[sum % 11];
}

/* map one code point to an ID character, or 0 */
static char
id_char(uint32_t cp)
{
	if (cp >= '0' && cp <= '9')
		return (char) cp;
	if (cp >= 0xFF10 && cp <= 0xFF19)	/* full-width digits */
		return (char) ('0' + (cp - 0xFF10));
	if (cp == 'X' || cp == 'x' || cp == 0xFF38 || cp == 0xFF58)
		return 'X';
	return 0;
}

bool
juhe_idcard_normalize(const char *in, size_t len, char *out)
{
	const unsigned char *s;
	size_t		n = len;
	size_t		pos = 0;
	char		buf[JUHE_IDCARD_LEN];
	int			count = 0;
	int			i;

	out[0] = '\0';
	s = (const unsigned char *) juhe_utf8_trim(in, &n);
	while (pos < n)
	{
		uint32_t	cp;
		int			l = juhe_utf8_decode(s + pos, n - pos, &cp);
		char		c;

		if (l == 0 || count == JUHE_IDCARD_LEN || (c = id_char(cp)) == 0)
			return false;
		buf[count++] = c;
		pos += l;
	}

	if (count == JUHE_IDCARD_LEN)
	{
		for (i = 0; i < 17; i++)
			if (buf[i] == 'X')
				return false;
		memcpy(out, buf, JUHE_IDCARD_LEN);
	}
	else if (count == 15)
	{
		/* legacy: region(6) YYMMDD(6) sequence(3), born 19YY */
		for (i = 0; i < 15; i++)
			if (buf[i] == 'X')
				return false;
		memcpy(out, buf, 6);
		out[6] = '1';
		out[7] = '9';
		memcpy(out + 8, buf + 6, 9);
		out[17] = juhe_idcard_check_digit(out);
	}
	else
		return false;
	out[JUHE_IDCARD_LEN] = '\0';
	return true;
}

/* ---- checks ---- */

static int
digits_value(const char *s, int n)
{
	int			v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/* checks on a normalised ID; fills birth and region */
static juhe_idcard_status
check_normalized(const char *id, const juhe_date *today, bool strict,
				 juhe_date *birth, int32_t *region)
{
	if (juhe_idcard_check_digit(id) != id[17])
		return JUHE_IDCARD_BAD_CHECKSUM;

	birth->year = digits_value(id + 6, 4);
	birth->month = digits_value(id + 10, 2);
	birth->day = digits_value(id + 12, 2);
	if (birth->year < JUHE_IDCARD_MIN_YEAR ||
		!juhe_date_valid(birth->year, birth->month, birth->day))
		return JUHE_IDCARD_BAD_DATE;
	if (today != NULL && juhe_date_cmp(birth, today) > 0)
		return JUHE_IDCARD_FUTURE_DATE;

	*region = digits_value(id, 6);
	if (!juhe_region_exists(*region))
		return JUHE_IDCARD_UNKNOWN_REGION;
	if (strict && !juhe_region_in_use(*region, birth->year))
		return JUHE_IDCARD_REGION_NOT_IN_USE;
	return JUHE_IDCARD_OK;
}

juhe_idcard_status
juhe_idcard_check(const char *in, size_t len, const juhe_date *today,
				  bool strict, char *out)
{
	char		id[JUHE_IDCARD_BUFSZ];
	juhe_date	birth;
	int32_t		region;

	if (!juhe_idcard_normalize(in, len, id))
	{
		if (out)
			out[0] = '\0';
		return JUHE_IDCARD_BAD_FORMAT;
	}
	if (out)
		memcpy(out, id, JUHE_IDCARD_BUFSZ);
	return check_normalized(id, today, strict, &birth, &region);
}

juhe_idcard_status
juhe_idcard_parse(const char *in, size_t len, const juhe_date *today,
				  bool strict, juhe_idcard_info *info)
{
	char		id[JUHE_IDCARD_BUFSZ];
	juhe_date	birth;
	int32_t		region;
	juhe_idcard_status st;
	int			prefix;

	if (!juhe_idcard_normalize(in, len, id))
		return JUHE_IDCARD_BAD_FORMAT;
	st = check_normalized(id, today, strict, &birth, &region);
	if (st != JUHE_IDCARD_OK)
		return st;

	memset(info, 0, sizeof(*info));
	memcpy(info->idcard, id, JUHE_IDCARD_BUFSZ);
	info->region_code = region;
	info->birth = birth;
	info->sex = ((id[16] - '0') % 2 == 1) ? 'M' : 'F';
	info->age = today ? juhe_age_on(&birth, today) : -1;

	prefix = region / 10000;
	info->residence_permit = (prefix == 81 || prefix == 82 || prefix == 83);
	info->province = juhe_region_name(prefix * 10000, birth.year, true);
	if (region % 10000 != 0)
		info->city = juhe_region_name(region / 100 * 100, birth.year, true);
	if (region % 100 != 0)
		info->county = juhe_region_name(region, birth.year, true);
	return JUHE_IDCARD_OK;
}

const char *
juhe_idcard_status_text(juhe_idcard_status status)
{
	switch (status)
	{
		case JUHE_IDCARD_OK:
			return "ID number is valid";
		case JUHE_IDCARD_BAD_FORMAT:
			return "ID number is not 18 digits (the last may be X) or 15 digits";
		case JUHE_IDCARD_BAD_CHECKSUM:
			return "ID number check digit does not match";
		case JUHE_IDCARD_BAD_DATE:
			return "ID number birth date is not a real date";
		case JUHE_IDCARD_FUTURE_DATE:
			return "ID number birth date is in the future";
		case JUHE_IDCARD_UNKNOWN_REGION:
			return "ID number region code is unknown";
		case JUHE_IDCARD_REGION_NOT_IN_USE:
			return "ID number region code was not in use in the birth year";
	}
	return "ID number is not valid";
}

/* ---- masking ---- */

#define MASK_STARS	"********"

/* append one character of the input, or '?' if it is not printable */
static size_t
mask_copy_char(const unsigned char *s, size_t n, char *out)
{
	uint32_t	cp;
	int			l = juhe_utf8_decode(s, n, &cp);

	if (l == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
	{
		*out = '?';
		return 1;
	}
	memcpy(out, s, l);
	return (size_t) l;
}

size_t
juhe_mask_idcard(const char *in, size_t len, char *out)
{
	char		id[JUHE_IDCARD_BUFSZ];
	const unsigned char *s;
	size_t		n = len;
	size_t		pos;
	size_t		olen = 0;
	size_t		nchars = 0;
	size_t		pre;
	size_t		suf;
	size_t		i;

	if (juhe_idcard_normalize(in, len, id))
	{
		memcpy(out, id, 6);
		memcpy(out + 6, MASK_STARS, 8);
		memcpy(out + 14, id + 14, 4);
		out[18] = '\0';
		return 18;
	}

	s = (const unsigned char *) juhe_utf8_trim(in, &n);
	if (n == 0)
	{
		out[0] = '\0';
		return 0;
	}

	/* count characters; an invalid byte counts as one */
	for (pos = 0; pos < n; nchars++)
	{
		uint32_t	cp;
		int			l = juhe_utf8_decode(s + pos, n - pos, &cp);

		pos += (l == 0) ? 1 : (size_t) l;
	}
	pre = nchars / 3;
	if (pre > 6)
		pre = 6;
	suf = nchars / 4;
	if (suf > 4)
		suf = 4;

	for (pos = 0, i = 0; pos < n; i++)
	{
		uint32_t	cp;
		int			l = juhe_utf8_decode(s + pos, n - pos, &cp);
		size_t		clen = (l == 0) ? 1 : (size_t) l;

		if (i < pre || i >= nchars - suf)
			olen += mask_copy_char(s + pos, n - pos, out + olen);
		if (i + 1 == pre || (pre == 0 && i == 0))
		{
			memcpy(out + olen, MASK_STARS, 8);
			olen += 8;
		}
		pos += clen;
	}
	out[olen] = '\0';
	return olen;
}
