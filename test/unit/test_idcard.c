/*
 * test_idcard.c
 *		C unit tests for src/idcard.c, src/name.c and the generated region
 *		table: check digits, dates, regions (strict and not), 15-digit
 *		upgrade, full-width input, information, names and masking.
 *
 * Built and run under AddressSanitizer/UBSan by test/unit/run.sh.
 * Prints "N passed, N failed"; exits non-zero on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idcard.h"
#include "name.h"
#include "check.h"


static const juhe_date today = {2024, 6, 15};

static juhe_idcard_status
check(const char *s, bool strict)
{
	return juhe_idcard_check(s, strlen(s), &today, strict, NULL);
}

static bool
norm_is(const char *in, const char *expect)
{
	char		out[JUHE_IDCARD_BUFSZ];
	bool		ok = juhe_idcard_normalize(in, strlen(in), out);

	if (expect == NULL)
		return !ok && out[0] == '\0';
	return ok && strcmp(out, expect) == 0;
}

static bool
name_is(const char *in, juhe_name_status st, const char *expect)
{
	char		out[JUHE_NAME_BUFSZ];
	juhe_name_status got = juhe_name_normalize(in, strlen(in), out);

	if (got != st)
	{
		fprintf(stderr, "  name status %d, expected %d\n", (int) got, (int) st);
		return false;
	}
	return expect == NULL ? out[0] == '\0' : strcmp(out, expect) == 0;
}

static bool
mask_id_is(const char *in, size_t len, const char *expect)
{
	char		out[JUHE_MASK_IDCARD_BUFSZ];
	size_t		n = juhe_mask_idcard(in, len, out);

	if (n != strlen(out) || strcmp(out, expect) != 0)
	{
		fprintf(stderr, "  mask \"%s\", expected \"%s\"\n", out, expect);
		return false;
	}
	return true;
}

static bool
mask_name_is(const char *in, const char *expect)
{
	size_t		len = strlen(in);
	char	   *out = malloc(len + 1);	/* the documented minimum */
	size_t		n = juhe_mask_name(in, len, out);
	bool		ok = (n == strlen(out) && strcmp(out, expect) == 0);

	if (!ok)
		fprintf(stderr, "  mask \"%s\", expected \"%s\"\n", out, expect);
	free(out);
	return ok;
}

static void
test_check_digit(void)
{
	/* one ID per check-digit value (computed independently) */
	static const char *const ids[] = {
		"110101199001010090", "110101199001010031", "110101199001010082",
		"110101199001010023", "110101199001010074", "110101199001010015",
		"110101199001010066", "110101199001010197", "110101199001010058",
		"110101199001010189", "11010119900101004X",
	};
	int			i;

	for (i = 0; i < 11; i++)
	{
		char		bad[JUHE_IDCARD_BUFSZ];

		CHECK(juhe_idcard_check_digit(ids[i]) == ids[i][17], ids[i]);
		CHECK(check(ids[i], false) == JUHE_IDCARD_OK, ids[i]);
		/* any other final character fails the check */
		memcpy(bad, ids[i], sizeof(bad));
		bad[17] = (bad[17] == '0') ? '1' : '0';
		CHECK(check(bad, false) == JUHE_IDCARD_BAD_CHECKSUM, bad);
	}
	/* the examples of GB 11643-1999 */
	CHECK(juhe_idcard_check_digit("11010519491231002") == 'X', "GB example 1");
	CHECK(juhe_idcard_check_digit("44052418800101001") == '4', "GB example 2");
	CHECK(check("11010519491231002X", false) == JUHE_IDCARD_OK, "GB example 1 valid");
	CHECK(check("440524188001010014", false) == JUHE_IDCARD_OK, "GB example 2 valid");
	/* a single swapped digit is caught */
	CHECK(check("110101199001010009", false) == JUHE_IDCARD_BAD_CHECKSUM, "swap");
}

static void
test_dates(void)
{
	juhe_date	a = {2000, 2, 29};
	juhe_date	b = {2001, 2, 28};
	juhe_date	c = {2001, 3, 1};

	CHECK(juhe_date_valid(2000, 2, 29), "2000-02-29");
	CHECK(juhe_date_valid(2004, 2, 29), "2004-02-29");
	CHECK(!juhe_date_valid(1900, 2, 29), "1900-02-29");
	CHECK(!juhe_date_valid(2001, 2, 29), "2001-02-29");
	CHECK(!juhe_date_valid(2001, 4, 31), "2001-04-31");
	CHECK(!juhe_date_valid(2001, 13, 1), "month 13");
	CHECK(!juhe_date_valid(2001, 0, 1), "month 0");
	CHECK(!juhe_date_valid(2001, 1, 0), "day 0");
	CHECK(juhe_date_valid(2001, 12, 31), "2001-12-31");

	CHECK(check("110105200002291235", false) == JUHE_IDCARD_OK, "leap 2000");
	CHECK(check("110105200402291234", false) == JUHE_IDCARD_OK, "leap 2004");
	CHECK(check("110105190002291239", false) == JUHE_IDCARD_BAD_DATE, "1900 not leap");
	CHECK(check("110105200102291232", false) == JUHE_IDCARD_BAD_DATE, "2001 not leap");
	CHECK(check("110105190002281233", false) == JUHE_IDCARD_OK, "1900-02-28");
	CHECK(check("110105200102281237", false) == JUHE_IDCARD_OK, "2001-02-28");
	CHECK(check("110105180001011232", false) == JUHE_IDCARD_OK, "1800-01-01");
	CHECK(check("110105179912311238", false) == JUHE_IDCARD_BAD_DATE, "1799");
	/* future relative to the given today; NULL today skips the check */
	CHECK(check("110103299901011233", false) == JUHE_IDCARD_FUTURE_DATE, "2999");
	CHECK(juhe_idcard_check("110103299901011233", 18, NULL, false, NULL) ==
		  JUHE_IDCARD_OK, "2999 without today");

	CHECK(juhe_age_on(&a, &b) == 0, "age 29 Feb -> 28 Feb");
	CHECK(juhe_age_on(&a, &c) == 1, "age 29 Feb -> 1 Mar");
	CHECK(juhe_date_cmp(&a, &b) < 0 && juhe_date_cmp(&c, &b) > 0 &&
		  juhe_date_cmp(&a, &a) == 0, "date_cmp");
}

static void
test_future_edge(void)
{
	/* born exactly on "today" is fine, the day after is not */
	char		id[JUHE_IDCARD_BUFSZ];
	juhe_date	t = {2012, 1, 1};

	memcpy(id, "11010320120101123", 17);
	id[17] = juhe_idcard_check_digit(id);
	id[18] = '\0';
	CHECK(juhe_idcard_check(id, 18, &t, false, NULL) == JUHE_IDCARD_OK, "born today");
	t.year = 2011;
	t.month = 12;
	t.day = 31;
	CHECK(juhe_idcard_check(id, 18, &t, false, NULL) == JUHE_IDCARD_FUTURE_DATE,
		  "born tomorrow");
}

static void
test_regions(void)
{
	const char *n;

	CHECK(juhe_region_exists(110101), "110101 exists");
	CHECK(juhe_region_exists(110103), "retired 110103 exists");
	CHECK(!juhe_region_exists(990101), "990101 unknown");
	CHECK(!juhe_region_exists(110199), "110199 unknown");
	CHECK(juhe_region_exists(710000), "Taiwan 710000");
	CHECK(!juhe_region_exists(710100), "710100 unknown");
	CHECK(juhe_region_exists(810000) && juhe_region_exists(820000) &&
		  juhe_region_exists(830000), "81/82/83");
	CHECK(!juhe_region_exists(0) && !juhe_region_exists(-1) &&
		  !juhe_region_exists(999999), "out of range codes");
	/* first and last rows of the table are found */
	CHECK(juhe_region_exists(juhe_regions[0].code), "first row");
	CHECK(juhe_region_exists(juhe_regions[juhe_nregions - 1].code), "last row");

	CHECK(juhe_region_in_use(110103, 2008), "110103 in 2008");
	CHECK(juhe_region_in_use(110103, 2009), "110103 in 2009");
	CHECK(!juhe_region_in_use(110103, 2010), "110103 not in 2010");
	CHECK(juhe_region_in_use(110103, 1950), "open start");
	CHECK(!juhe_region_in_use(110118, 2014) && juhe_region_in_use(110118, 2015),
		  "110118 starts 2015");

	n = juhe_region_name(110103, 2000, true);
	CHECK(n && strcmp(n, "崇文区") == 0, "name 110103");
	n = juhe_region_name(110103, 2020, true);
	CHECK(n && strcmp(n, "崇文区") == 0, "nearest period of a retired code");
	/* a code reused with different names */
	n = juhe_region_name(152626, 1980, true);
	CHECK(n && strcmp(n, "西乌珠穆沁旗") == 0, "152626 in 1980");
	n = juhe_region_name(152626, 1990, true);
	CHECK(n && strcmp(n, "商都县") == 0, "152626 in 1990");
	n = juhe_region_name(110100, 1990, true);
	CHECK(n == NULL, "placeholder skipped");
	n = juhe_region_name(110100, 1990, false);
	CHECK(n && strcmp(n, "市辖区") == 0, "placeholder kept");
	CHECK(juhe_region_name(990000, 1990, false) == NULL, "unknown name");
	n = juhe_region_name(710000, 1990, true);
	CHECK(n && strcmp(n, "台湾省") == 0, "Taiwan name");

	/* the table is sorted and binary-searchable */
	{
		int			i;
		bool		sorted = true;

		for (i = 1; i < juhe_nregions; i++)
			if (juhe_regions[i - 1].code > juhe_regions[i].code ||
				(juhe_regions[i - 1].code == juhe_regions[i].code &&
				 juhe_regions[i - 1].start_year > juhe_regions[i].start_year))
				sorted = false;
		CHECK(sorted, "table sorted");
	}

	CHECK(check("990101199001011230", false) == JUHE_IDCARD_UNKNOWN_REGION, "unknown province");
	/* retired 110103 (ended 2009): valid, strict only up to 2009 */
	CHECK(check("110103200801011233", false) == JUHE_IDCARD_OK, "110103 born 2008");
	CHECK(check("110103200801011233", true) == JUHE_IDCARD_OK, "110103 born 2008 strict");
	CHECK(check("110103201201011234", false) == JUHE_IDCARD_OK, "110103 born 2012");
	CHECK(check("110103201201011234", true) == JUHE_IDCARD_REGION_NOT_IN_USE,
		  "110103 born 2012 strict");
	/* special prefixes */
	CHECK(check("710000198001011232", true) == JUHE_IDCARD_OK, "Taiwan");
	CHECK(check("810000198001011236", true) == JUHE_IDCARD_OK, "HK permit");
	CHECK(check("820000198001011238", true) == JUHE_IDCARD_OK, "Macau permit");
	CHECK(check("83000019800101123X", true) == JUHE_IDCARD_OK, "Taiwan permit");
	CHECK(check("810101198001011238", false) == JUHE_IDCARD_UNKNOWN_REGION, "810101");
}

static void
test_normalize(void)
{
	CHECK(norm_is("11010519491231002X", "11010519491231002X"), "plain");
	CHECK(norm_is("11010519491231002x", "11010519491231002X"), "lowercase x");
	CHECK(norm_is("  11010519491231002X\t\n", "11010519491231002X"), "ASCII spaces");
	CHECK(norm_is("\xe3\x80\x80" "11010519491231002X" "\xe3\x80\x80", "11010519491231002X"),
		  "ideographic spaces");
	CHECK(norm_is("\xc2\xa0\xef\xbb\xbf" "11010519491231002X", "11010519491231002X"),
		  "NBSP and BOM");
	/* full-width digits and X */
	CHECK(norm_is("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"), "full-width");
	CHECK(norm_is("１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"), "full-width x");
	CHECK(norm_is("110105１９４９1231002X", "11010519491231002X"), "mixed");
	/* 15 -> 18 */
	CHECK(norm_is("110105491231002", "11010519491231002X"), "15 digits");
	CHECK(norm_is("440524800101001", "440524188001010014") == false,
		  "15 digits are 19YY, not 18YY");
	CHECK(norm_is("440524800101001", "440524198001010013"), "15 -> 1980");
	CHECK(norm_is(" １１０１０５４９１２３１００２ ", "11010519491231002X"), "15 full-width");
	/* not IDs */
	CHECK(norm_is("", NULL), "empty");
	CHECK(norm_is("   ", NULL), "blank");
	CHECK(norm_is("11010519491231002", NULL), "17 digits");
	CHECK(norm_is("11010519491231002XX", NULL), "19 chars");
	CHECK(norm_is("1101051949123100X2", NULL), "X not last");
	CHECK(norm_is("11010549123100X", NULL), "X in 15-digit");
	CHECK(norm_is("110105 19491231002X", NULL), "inner space");
	CHECK(norm_is("11010519491231002Y", NULL), "letter");
	CHECK(norm_is("11010519491231002X\xff", NULL), "invalid UTF-8");
	CHECK(norm_is("1101051949123100\xef\xbc", NULL), "truncated UTF-8");
	{
		/* an embedded NUL is just a bad character */
		char		out[JUHE_IDCARD_BUFSZ];

		CHECK(!juhe_idcard_normalize("11010519491231002\0X", 19, out), "NUL");
	}
	/* check() keeps the normalised form even if a later check fails */
	{
		char		out[JUHE_IDCARD_BUFSZ];

		CHECK(juhe_idcard_check(" 11010519491231002x ", 20, &today, false, out) ==
			  JUHE_IDCARD_OK && strcmp(out, "11010519491231002X") == 0, "check out");
		CHECK(juhe_idcard_check("110105194912310021", 18, &today, false, out) ==
			  JUHE_IDCARD_BAD_CHECKSUM && strcmp(out, "110105194912310021") == 0,
			  "check out on failure");
		CHECK(juhe_idcard_check("abc", 3, &today, false, out) ==
			  JUHE_IDCARD_BAD_FORMAT && out[0] == '\0', "check out bad format");
	}
	CHECK(check("11010519491231002x", false) == JUHE_IDCARD_OK, "lowercase valid");
	CHECK(check("110105491231002", false) == JUHE_IDCARD_OK, "15 valid");
	CHECK(check("110105491232002", false) == JUHE_IDCARD_BAD_DATE, "15 bad date");
}

static void
test_info(void)
{
	juhe_idcard_info info;

	CHECK(juhe_idcard_parse("11010519491231002X", 18, &today, false, &info) ==
		  JUHE_IDCARD_OK, "parse");
	CHECK(strcmp(info.idcard, "11010519491231002X") == 0, "info idcard");
	CHECK(info.region_code == 110105, "info region");
	CHECK(info.province && strcmp(info.province, "北京市") == 0, "info province");
	CHECK(info.city == NULL, "info city placeholder");
	CHECK(info.county && strcmp(info.county, "朝阳区") == 0, "info county");
	CHECK(info.birth.year == 1949 && info.birth.month == 12 && info.birth.day == 31,
		  "info birth");
	CHECK(info.sex == 'F', "info sex F (2)");
	CHECK(info.age == 74, "info age");
	CHECK(!info.residence_permit, "not a permit");

	CHECK(juhe_idcard_parse("440524188001010014", 18, &today, false, &info) ==
		  JUHE_IDCARD_OK, "parse 2");
	CHECK(info.sex == 'M', "info sex M (1)");
	CHECK(info.province && strcmp(info.province, "广东省") == 0, "province 44");
	CHECK(info.city && strcmp(info.city, "汕头市") == 0, "city 440500");
	CHECK(info.county && strcmp(info.county, "潮阳县") == 0, "county 440524");
	CHECK(info.age == 144, "age 144");

	CHECK(juhe_idcard_parse("110103201201011234", 18, &today, false, &info) ==
		  JUHE_IDCARD_OK && info.county && strcmp(info.county, "崇文区") == 0,
		  "retired code name");
	CHECK(juhe_idcard_parse("810000198001011236", 18, &today, false, &info) ==
		  JUHE_IDCARD_OK && info.residence_permit && info.city == NULL &&
		  info.county == NULL && info.province &&
		  strcmp(info.province, "香港特别行政区") == 0, "HK permit info");
	CHECK(juhe_idcard_parse("710000198001011232", 18, &today, false, &info) ==
		  JUHE_IDCARD_OK && !info.residence_permit && info.province &&
		  strcmp(info.province, "台湾省") == 0, "Taiwan info");
	CHECK(juhe_idcard_parse("11010519491231002X", 18, NULL, false, &info) ==
		  JUHE_IDCARD_OK && info.age == -1, "no today, no age");
	CHECK(juhe_idcard_parse("110105194912310021", 18, &today, false, &info) ==
		  JUHE_IDCARD_BAD_CHECKSUM, "parse invalid");
}

static void
test_names(void)
{
	/* plain, trimmed */
	CHECK(name_is("张三", JUHE_NAME_OK, "张三"), "plain");
	CHECK(name_is("  张三\t", JUHE_NAME_OK, "张三"), "trim ASCII");
	CHECK(name_is("\xe3\x80\x80张三\xe3\x80\x80", JUHE_NAME_OK, "张三"), "trim U+3000");
	CHECK(name_is("李", JUHE_NAME_OK, "李"), "one character");
	CHECK(name_is("欧阳成功奋发图强", JUHE_NAME_OK, "欧阳成功奋发图强"), "8 characters");
	/* every dot variant folds to U+00B7 */
	CHECK(name_is("阿依古丽·买买提", JUHE_NAME_OK, "阿依古丽·买买提"), "U+00B7");
	CHECK(name_is("阿依古丽•买买提", JUHE_NAME_OK, "阿依古丽·买买提"), "U+2022");
	CHECK(name_is("阿依古丽・买买提", JUHE_NAME_OK, "阿依古丽·买买提"), "U+30FB");
	CHECK(name_is("阿依古丽．买买提", JUHE_NAME_OK, "阿依古丽·买买提"), "U+FF0E");
	CHECK(name_is("阿依古丽‧买买提", JUHE_NAME_OK, "阿依古丽·买买提"), "U+2027");
	CHECK(name_is("阿依古丽･买买提", JUHE_NAME_OK, "阿依古丽·买买提"), "U+FF65");
	CHECK(name_is("阿依古丽﹒买买提", JUHE_NAME_OK, "阿依古丽·买买提"), "U+FE52");
	CHECK(name_is("阿依古丽.买买提", JUHE_NAME_OK, "阿依古丽·买买提"), "ASCII .");
	CHECK(name_is("阿依古丽∙买买提", JUHE_NAME_OK, "阿依古丽·买买提"), "U+2219");
	CHECK(name_is("阿依古丽⋅买买提", JUHE_NAME_OK, "阿依古丽·买买提"), "U+22C5");
	CHECK(name_is("阿依古丽\xce\x87买买提", JUHE_NAME_OK, "阿依古丽·买买提"), "U+0387");
	CHECK(name_is("米斯日古丽·阿不都·艾合买提", JUHE_NAME_OK, "米斯日古丽·阿不都·艾合买提"),
		  "two dots");
	/* dot placement */
	CHECK(name_is("·买买提", JUHE_NAME_BAD_DOT, NULL), "leading dot");
	CHECK(name_is("买买提·", JUHE_NAME_BAD_DOT, NULL), "trailing dot");
	CHECK(name_is("阿依古丽··买买提", JUHE_NAME_BAD_DOT, NULL), "double dot");
	CHECK(name_is("阿依古丽•・买买提", JUHE_NAME_BAD_DOT, NULL), "double mixed dot");
	CHECK(name_is("·", JUHE_NAME_BAD_DOT, NULL), "dot only");
	/* rare characters */
	CHECK(name_is("\xe3\x90\x80", JUHE_NAME_OK, "\xe3\x90\x80"), "Ext A U+3400");
	CHECK(name_is("王\xe4\xb6\xb5", JUHE_NAME_OK, "王\xe4\xb6\xb5"), "Ext A U+4DB5");
	CHECK(name_is("王\xf0\xa0\x80\x80", JUHE_NAME_OK, "王\xf0\xa0\x80\x80"), "Ext B U+20000");
	CHECK(name_is("王\xf0\xaa\x9b\x96", JUHE_NAME_OK, "王\xf0\xaa\x9b\x96"), "Ext B U+2A6D6");
	CHECK(name_is("王\xf0\xab\x9d\x80", JUHE_NAME_OK, "王\xf0\xab\x9d\x80"), "Ext D U+2B740");
	CHECK(name_is("王\xf0\xb0\x80\x80", JUHE_NAME_OK, "王\xf0\xb0\x80\x80"), "Ext G U+30000");
	CHECK(name_is("王\xef\xa4\x80", JUHE_NAME_OK, "王\xef\xa4\x80"), "compat U+F900");
	CHECK(name_is("王\xf0\xaf\xa0\x80", JUHE_NAME_OK, "王\xf0\xaf\xa0\x80"), "compat sup U+2F800");
	CHECK(name_is("李〇", JUHE_NAME_OK, "李〇"), "U+3007");
	CHECK(name_is("王\xf0\xaf\xbf\xbe", JUHE_NAME_BAD_CHAR, NULL), "noncharacter U+2FFFE");
	CHECK(name_is("王\xf3\xa0\x84\x80", JUHE_NAME_BAD_CHAR, NULL), "variation selector");
	/* rejects */
	CHECK(name_is("", JUHE_NAME_EMPTY, NULL), "empty");
	CHECK(name_is(" \xe3\x80\x80 ", JUHE_NAME_EMPTY, NULL), "blank");
	CHECK(name_is("张3", JUHE_NAME_DIGIT, NULL), "digit");
	CHECK(name_is("张３", JUHE_NAME_DIGIT, NULL), "full-width digit");
	CHECK(name_is("张\t三", JUHE_NAME_CONTROL, NULL), "tab inside");
	CHECK(name_is("张\x01三", JUHE_NAME_CONTROL, NULL), "control");
	CHECK(name_is("张\xc2\x85三", JUHE_NAME_CONTROL, NULL), "C1 control");
	CHECK(name_is("张\xe2\x80\x8d三", JUHE_NAME_CONTROL, NULL), "ZWJ");
	CHECK(name_is("张 三", JUHE_NAME_SPACE, NULL), "inner space");
	CHECK(name_is("张\xe3\x80\x80三", JUHE_NAME_SPACE, NULL), "inner U+3000");
	CHECK(name_is("John", JUHE_NAME_BAD_CHAR, NULL), "Latin");
	CHECK(name_is("张-三", JUHE_NAME_BAD_CHAR, NULL), "hyphen");
	CHECK(name_is("さくら", JUHE_NAME_BAD_CHAR, NULL), "kana");
	CHECK(name_is("김", JUHE_NAME_BAD_CHAR, NULL), "Hangul");
	CHECK(name_is("张\xff", JUHE_NAME_BAD_ENCODING, NULL), "invalid byte");
	CHECK(name_is("张\xe4\xb8", JUHE_NAME_BAD_ENCODING, NULL), "truncated");
	CHECK(name_is("\xc0\xaf", JUHE_NAME_BAD_ENCODING, NULL), "overlong");
	CHECK(name_is("\xe0\x80\xaf", JUHE_NAME_BAD_ENCODING, NULL), "overlong 3");
	CHECK(name_is("\xed\xa0\x80", JUHE_NAME_BAD_ENCODING, NULL), "surrogate");
	CHECK(name_is("\xf4\x90\x80\x80", JUHE_NAME_BAD_ENCODING, NULL), "> U+10FFFF");
	/* length: 30 characters (dots included) is the limit */
	{
		char		buf[256];
		int			i;

		buf[0] = '\0';
		for (i = 0; i < 30; i++)
			strcat(buf, "\xf0\xa0\x80\x80");	/* 4-byte characters */
		CHECK(name_is(buf, JUHE_NAME_OK, buf), "30 characters of 4 bytes");
		strcat(buf, "王");
		CHECK(name_is(buf, JUHE_NAME_TOO_LONG, NULL), "31 characters");
		buf[0] = '\0';
		for (i = 0; i < 15; i++)
			strcat(buf, "阿.");
		CHECK(name_is(buf, JUHE_NAME_BAD_DOT, NULL), "30 with trailing dot");
		buf[strlen(buf) - 1] = '\0';
		strcat(buf, "\xe3\x83\xbb");		/* U+30FB (3 bytes) -> U+00B7 */
		strcat(buf, "阿");
		CHECK(name_is(buf, JUHE_NAME_TOO_LONG, NULL), "31 with dots");
	}
	CHECK(juhe_name_valid("张三", 6) && !juhe_name_valid("张3", 4), "valid()");
	CHECK(juhe_name_valid("张三\0", 7) == false, "embedded NUL");
	CHECK(strcmp(juhe_name_status_text(JUHE_NAME_DIGIT), "name contains a digit") == 0,
		  "status text");
}

static void
test_mask(void)
{
	char		out[JUHE_MASK_IDCARD_BUFSZ];

	CHECK(mask_id_is("11010519491231002X", 18, "110105********002X"), "mask 18");
	CHECK(mask_id_is(" 11010519491231002x ", 20, "110105********002X"), "mask normalises");
	CHECK(mask_id_is("110105491231002", 15, "110105********002X"), "mask 15 upgraded");
	CHECK(mask_id_is("", 0, ""), "mask empty");
	CHECK(mask_id_is("1", 1, "********"), "mask 1");
	CHECK(mask_id_is("12", 2, "********"), "mask 2");
	CHECK(mask_id_is("1234", 4, "1********4"), "mask 4");
	CHECK(mask_id_is("1234567890", 10, "123********90"), "mask 10");
	CHECK(mask_id_is("12345678901234567", 17, "12345********4567"), "mask 17");
	CHECK(mask_id_is("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 26, "ABCDEF********WXYZ"), "mask 26");
	CHECK(mask_id_is("张三李四王五", 18, "张三********五"), "mask UTF-8 chars");
	CHECK(mask_id_is("\xff\xfe\xfd\xfc", 4, "?********?"), "mask invalid bytes");
	CHECK(mask_id_is("a\x01" "cdef", 6, "a?********f"), "mask control");
	/* never the whole input, whatever its length */
	{
		char		in[64];
		int			n;
		bool		ok = true;

		for (n = 1; n < 60; n++)
		{
			memset(in, 'A', n);
			in[n] = '\0';
			size_t		shown = 0;
			const char *p;

			juhe_mask_idcard(in, n, out);
			for (p = out; *p; p++)
				shown += (*p == 'A');
			if (strstr(out, "********") == NULL || shown > 10 ||
				(int) shown >= n)
				ok = false;
		}
		CHECK(ok, "mask always hides");
	}

	CHECK(mask_name_is("张三", "张*"), "name 2");
	CHECK(mask_name_is("张三丰", "张**"), "name 3");
	CHECK(mask_name_is("李", "*"), "name 1");
	CHECK(mask_name_is(" 李 ", "*"), "name 1 trimmed");
	CHECK(mask_name_is("", ""), "name empty");
	CHECK(mask_name_is("阿依古丽·买买提", "阿*******"), "name with dot");
	CHECK(mask_name_is("\xf0\xa0\x80\x80王", "\xf0\xa0\x80\x80*"), "name Ext B");
	CHECK(mask_name_is("\xff王", "?*"), "name invalid first byte");
	CHECK(mask_name_is("\xff", "*"), "name invalid single byte");
}

int
main(void)
{
	test_check_digit();
	test_dates();
	test_future_edge();
	test_regions();
	test_normalize();
	test_info();
	test_names();
	test_mask();
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
