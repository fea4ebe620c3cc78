/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* valid.c - checks for strings that arrive from the bus, the command line or a file */
#include <ctype.h>
#include <inttypes.h>

#include "common/valid.h"
#include "common/vssd-limits.h"

bool valid_text_or_empty(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return false;
	n = strnlen(s, max + 1);
	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
		/* C1 controls, U+0080..U+009F (e.g. CSI, which some terminals obey) */
		if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return false;
	}
	return true;
}

bool valid_text(const char *s, size_t max)
{
	return valid_text_or_empty(s, max) && s[0];
}

bool valid_abs_path(const char *s)
{
	if (!valid_text(s, VSSD_PATH_MAX) || s[0] != '/')
		return false;
	if (strstr(s, "//") || strstr(s, "/../") || strstr(s, "/./"))
		return false;
	if (strlen(s) >= 3 && streq(s + strlen(s) - 3, "/.."))
		return false;
	return true;
}

bool valid_dm_name(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strnlen(s, VSSD_DM_NAME_MAX + 1);
	if (n == 0 || n > VSSD_DM_NAME_MAX || streq(s, ".") || streq(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("#+-.:=@_", s[i]))
			return false;
	return true;
}

int parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	switch (*end) {
	case 0:
		break;
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 't':
	case 'T':
		shift = 40;
		end++;
		break;
	default:
		break;
	}
	if (shift && (streq(end, "iB") || streq(end, "B")))
		end += strlen(end);
	else if (!shift && streq(end, "B"))
		end++;
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = (uint64_t)v << shift;
	return 0;
}

char *format_size(uint64_t bytes, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	while (v >= 1024.0 && u < (int)sizeof(units) - 2) {
		v /= 1024.0;
		u++;
	}
	if (u < 0)
		snprintf(buf, size, "%" PRIu64 "B", bytes);
	else
		snprintf(buf, size, "%.*f%c", v < 10.0 ? 1 : 0, v, units[u]);
	return buf;
}

bool valid_schedule_name(const char *s)
{
	size_t n;

	if (!s || !s[0] || s[0] == '.' || s[0] == '-')
		return false;
	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
	return s[n] == 0 && n <= VSSD_SCHEDULE_NAME_MAX;
}
