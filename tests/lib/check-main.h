/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check-main.h - TEST_SUITE_MAIN(): one Check suite per module, each test its own forked case */
#pragma once

#include <check.h>
#include <stdlib.h>

typedef void (*TestAddFn)(TCase *tc);

static inline int test_suite_run(const char *name, TestAddFn add)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create(name);
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 30);
	add(tc);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Usage: TEST_SUITE_MAIN("dmsnap", TEST(a) TEST(b) ...) */
#define TEST(t) tcase_add_test(tc, t);
#define TEST_SUITE_MAIN(name, tests)                          \
	static void test_suite_add_(TCase *tc)                \
	{                                                     \
		tests                                         \
	}                                                     \
	int main(void)                                        \
	{                                                     \
		return test_suite_run(name, test_suite_add_); \
	}
