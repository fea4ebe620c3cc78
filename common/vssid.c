/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vssid.c - RFC 4122 ids: generation, the 8-4-4-4-12 form, and the 32-digit object-path form */
#include <ctype.h>
#include <uuid.h>

#include "common/vssid.h"

void vssid_generate(VssId *ret)
{
	uuid_generate_random(ret->bytes);
}

bool vssid_is_null(const VssId *id)
{
	for (size_t i = 0; i < sizeof(id->bytes); i++)
		if (id->bytes[i])
			return false;
	return true;
}

bool vssid_equal(const VssId *a, const VssId *b)
{
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

char *vssid_to_string(const VssId *id, char buf[static VSSID_STRING_MAX])
{
	uuid_unparse_lower(id->bytes, buf);
	return buf;
}

char *vssid_to_path(const VssId *id, char buf[static VSSID_PATH_MAX])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < sizeof(id->bytes); i++) {
		buf[2 * i] = hex[id->bytes[i] >> 4];
		buf[2 * i + 1] = hex[id->bytes[i] & 15];
	}
	buf[32] = 0;
	return buf;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -EINVAL;
}

static int parse_hex(const char *s, size_t n_digits, uint8_t *out)
{
	for (size_t i = 0; i < n_digits; i += 2) {
		int hi = unhex(s[i]), lo = unhex(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int vssid_from_string(const char *s, VssId *ret)
{
	static const int group[] = { 8, 4, 4, 4, 12 };
	VssId id;
	size_t o = 0;

	if (!s || strlen(s) != 36)
		return -EINVAL;
	for (size_t g = 0; g < ELEMENTSOF(group); g++) {
		if (parse_hex(s, group[g], id.bytes + o) < 0)
			return -EINVAL;
		o += group[g] / 2;
		s += group[g];
		if (g + 1 < ELEMENTSOF(group)) {
			if (*s != '-')
				return -EINVAL;
			s++;
		}
	}
	*ret = id;
	return 0;
}

int vssid_from_path(const char *s, VssId *ret)
{
	VssId id;

	if (!s || strlen(s) != 32)
		return -EINVAL;
	if (parse_hex(s, 32, id.bytes) < 0)
		return -EINVAL;
	*ret = id;
	return 0;
}
