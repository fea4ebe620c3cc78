/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* escape.c - text from other processes made safe for a log line, a D-Bus peer or a terminal */
#include "common/escape.h"

/* The length of the valid UTF-8 character at s (1..4), or 0: a stray, overlong or truncated
 * sequence, a surrogate or a code point above U+10FFFF. *ret_cp gets the code point. */
static size_t utf8_char(const unsigned char *s, uint32_t *ret_cp)
{
	uint32_t cp, min;
	size_t n;

	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return n;
}

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* The escape of the unit at s into out (at least 17 bytes): returns its length, and in
 * *ret_used the input bytes it covers. */
static size_t escape_unit(const unsigned char *s, EscapeFlags flags, char *out, size_t *ret_used)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t cp = 0;
	size_t n = utf8_char(s, &cp), len = 0;

	*ret_used = n > 0 ? n : 1;
	if (n == 1 && s[0] == '\\' && !(flags & ESCAPE_KEEP_BACKSLASH)) {
		memcpy(out, "\\\\", 2);
		return 2;
	}
	if (n == 1 && (s[0] == '\n' || s[0] == '\t' || s[0] == '\r')) {
		out[0] = '\\';
		out[1] = s[0] == '\n' ? 'n' : s[0] == '\t' ? 't' : 'r';
		return 2;
	}
	if (n > 0 && !is_control(cp)) {
		memcpy(out, s, n);
		return n;
	}
	for (size_t i = 0; i < *ret_used; i++) {
		out[len++] = '\\';
		out[len++] = 'x';
		out[len++] = hex[s[i] >> 4];
		out[len++] = hex[s[i] & 0xf];
	}
	return len;
}

size_t text_escape_buf(const char *s, EscapeFlags flags, char *buf, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = 0;

	if (size == 0)
		return 0;
	while (p && *p) {
		char unit[16];
		size_t used, n = escape_unit(p, flags, unit, &used);

		if (len + n >= size)
			break;
		memcpy(buf + len, unit, n);
		len += n;
		p += used;
	}
	buf[len] = 0;
	return len;
}

int text_escape(const char *s, EscapeFlags flags, char **ret)
{
	size_t n = strlen(strempty(s));
	char *buf;

	if (n > (SIZE_MAX - 1) / 4)
		return -ENOMEM;
	buf = malloc(n * 4 + 1); /* the worst case: every byte becomes \xNN */
	if (!buf)
		return -ENOMEM;
	(void)text_escape_buf(strempty(s), flags, buf, n * 4 + 1);
	*ret = buf;
	return 0;
}
