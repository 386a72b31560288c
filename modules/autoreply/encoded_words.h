/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * encoded_words.h - unstructured header text (a Subject) between the wire
 * and a message we generate: RFC 2047 encoded words and raw 8-bit text
 * decoded to clean UTF-8, and clean UTF-8 written back as header text that
 * any MTA accepts (printable US-ASCII, encoded words for the rest, folded).
 *
 * Nothing an SMTP peer sends survives as a control character: an encoded
 * "=0D=0A" is a blank, so decoded text can never end or add a header line.
 */
#ifndef MOAT_AUTOREPLY_ENCODED_WORDS_H
#define MOAT_AUTOREPLY_ENCODED_WORDS_H

#include <stddef.h>

/*
 * ew_decode - value as clean UTF-8 in out (cap >= 1): encoded words of any
 * charset iconv knows decoded (unknown charsets and bad bytes become '?'
 * or U+FFFD), the blanks between adjacent encoded words dropped, raw 8-bit
 * text kept when it is UTF-8 and read as Windows-1252 when not; C0 and C1
 * controls, DEL and NUL become blanks, invisible format characters (bidi
 * overrides, zero-width) are dropped, runs of blanks become one. Cut at a
 * character boundary to fit. Returns the length written.
 */
size_t ew_decode(const char *value, char *out, size_t cap);

/*
 * ew_encode - clean UTF-8 text as the value of an unstructured header
 * field whose first line already holds `used` characters ("Subject: " is
 * 9): words of printable US-ASCII as they are, runs of other words as
 * RFC 2047 Q encoded words in UTF-8 (at most 75 characters each, never
 * splitting a character), lines folded with "\n " to stay within 78
 * characters where a word allows and always within 998. Returns the length,
 * or 0 when out (cap) is too small.
 */
size_t ew_encode(const char *text, size_t used, char *out, size_t cap);

/* ew_utf8_valid - whether n bytes are well-formed UTF-8 (no overlongs, no surrogates) */
int ew_utf8_valid(const char *s, size_t n);

#endif
