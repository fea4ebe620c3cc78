/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-vssid.c - UUID parsing is strict both ways; round trips keep every bit */
#include "common/vssid.h"
#include "tests/lib/check-main.h"

START_TEST(round_trip)
{
	char s[VSSID_STRING_MAX], p[VSSID_PATH_MAX];
	VssId a, b, c;

	vssid_generate(&a);
	ck_assert(!vssid_is_null(&a));
	ck_assert_int_eq(vssid_from_string(vssid_to_string(&a, s), &b), 0);
	ck_assert(vssid_equal(&a, &b));
	ck_assert_int_eq(vssid_from_path(vssid_to_path(&a, p), &c), 0);
	ck_assert(vssid_equal(&a, &c));
	ck_assert_uint_eq(strlen(p), 32);
}
END_TEST

START_TEST(rejects_malformed)
{
	static const char *const bad[] = {
		"",
		"6f1c2d3e",
		"6f1c2d3e-0000-4000-8000-00000000000",
		"6f1c2d3e-0000-4000-8000-0000000000000",
		"6f1c2d3e00000-4000-8000-000000000000",
		"6f1c2d3g-0000-4000-8000-000000000000",
		"{6f1c2d3e-0000-4000-8000-00000000000}",
		"6f1c2d3e-0000-4000-8000-00000000000\n",
	};
	VssId id;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		ck_assert_int_eq(vssid_from_string(bad[i], &id), -EINVAL);
	ck_assert_int_eq(vssid_from_string(NULL, &id), -EINVAL);
	ck_assert_int_eq(vssid_from_string("6F1C2D3E-0000-4000-8000-00000000000A", &id), 0);
	ck_assert_int_eq(vssid_from_path("6f1c2d3e000040008000000000000000", &id), 0);
	ck_assert_int_eq(vssid_from_path("6f1c2d3e-00040008000000000000000", &id), -EINVAL);
	ck_assert_int_eq(vssid_from_path("6f1c2d3e00004000800000000000000", &id), -EINVAL);
}
END_TEST

TEST_SUITE_MAIN("vssid", TEST(round_trip) TEST(rejects_malformed))
