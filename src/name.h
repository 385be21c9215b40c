/*-------------------------------------------------------------------------
 *
 * name.h
 *	  Personal-name normalisation, validation and masking, plus the small
 *	  UTF-8 helpers shared with idcard.c.  Pure C (libc only): everything
 *	  works on UTF-8 byte strings given as pointer + length (no NUL needed).
 *
 * Rules (see name.c for the details):
 *	- surrounding white space is trimmed (ASCII white space, U+00A0,
 *	  U+3000 ideographic space, U+200B, U+FEFF);
 *	- dot variants (. U+2022 U+2024 U+2027 U+2219 U+22C5 U+0387 U+30FB
 *	  U+FE52 U+FF0E U+FF65 U+2E31) are folded to U+00B7 MIDDLE DOT;
 *	  nothing else is changed;
 *	- accepted characters: CJK Unified Ideographs (U+4E00-9FFF),
 *	  Extension A (U+3400-4DBF), compatibility ideographs (U+F900-FA6D,
 *	  U+FA70-FAD9), U+3007 (ideographic zero, used in some names) and the
 *	  whole Supplementary and Tertiary Ideographic Planes (U+20000-3FFFD:
 *	  Extensions B-I, compatibility supplement and any later extension);
 *	  U+00B7 only between two ideographs;
 *	- rejected: Latin letters and all other scripts (the service checks
 *	  the Chinese name printed on a resident ID card), digits, control
 *	  characters, white space inside the name, invalid UTF-8;
 *	- length 1 .. JUHE_NAME_MAX_CHARS characters, dots included.
 *
 *-------------------------------------------------------------------------
 */
#ifndef JUHE_NAME_H
#define JUHE_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* longest accepted name, in characters (code points), dots included */
#define JUHE_NAME_MAX_CHARS		30
/* buffer size that holds any normalised name plus its NUL */
#define JUHE_NAME_BUFSZ			(JUHE_NAME_MAX_CHARS * 4 + 1)

typedef enum juhe_name_status
{
	JUHE_NAME_OK = 0,
	JUHE_NAME_EMPTY,			/* nothing left after trimming */
	JUHE_NAME_TOO_LONG,			/* more than JUHE_NAME_MAX_CHARS characters */
	JUHE_NAME_BAD_ENCODING,		/* not valid UTF-8 */
	JUHE_NAME_CONTROL,			/* control or format character */
	JUHE_NAME_DIGIT,			/* an ASCII or full-width digit */
	JUHE_NAME_SPACE,			/* white space inside the name */
	JUHE_NAME_BAD_CHAR,			/* anything else that is not an ideograph */
	JUHE_NAME_BAD_DOT			/* middle dot leading, trailing or doubled */
} juhe_name_status;

/*
 * Normalise and validate a name.  On JUHE_NAME_OK the NUL-terminated
 * normalised name is in out (which must hold JUHE_NAME_BUFSZ bytes);
 * otherwise out holds an empty string.
 */
extern juhe_name_status juhe_name_normalize(const char *in, size_t len,
											char *out);

/* true if juhe_name_normalize() would return JUHE_NAME_OK */
extern bool juhe_name_valid(const char *in, size_t len);

/* short English description of a status, e.g. "name contains a digit" */
extern const char *juhe_name_status_text(juhe_name_status status);

/*
 * Mask a name for display: first character, then one '*' per remaining
 * character ("张三丰" -> "张**"; a one-character name -> "*").  Works on
 * the trimmed input whether or not it is a valid name; a byte that is not
 * valid UTF-8 counts as one character and is shown as '?'.  out must hold
 * len + 1 bytes; returns the length written (without the NUL).
 */
extern size_t juhe_mask_name(const char *in, size_t len, char *out);

/* ---- UTF-8 helpers shared with idcard.c ---- */

/*
 * Decode one code point at s (n bytes available, n > 0).  Returns the
 * sequence length (1-4) and stores the code point in *cp, or returns 0
 * for an invalid sequence (overlong, surrogate, > U+10FFFF, truncated).
 */
extern int	juhe_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* true for the white space trimmed from IDs and names */
extern bool juhe_is_trim_space(uint32_t cp);

/*
 * Trim trimmable white space from both ends of in[0..*len): returns the
 * new start and updates *len.  Invalid UTF-8 stops the trimming.
 */
extern const char *juhe_utf8_trim(const char *in, size_t *len);

#endif							/* JUHE_NAME_H */
