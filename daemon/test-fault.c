/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-fault.c - VSSD_TEST_FAULT: named points with arguments, unknown names refused */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/fault.h"
#include "tests/lib/check-main.h"

START_TEST(unset_means_nothing_on)
{
	FaultPoints *f = (FaultPoints *)1;

	ck_assert_int_eq(fault_points_parse(NULL, &f, NULL), 0);
	ck_assert_ptr_null(f);
	ck_assert_int_eq(fault_points_parse("", &f, NULL), 0);
	ck_assert_ptr_null(f);
	ck_assert(!fault_point(NULL, "hang-after-suspend", NULL));
	ck_assert(!fault_point_hang(NULL, "hang-after-suspend", 1));
}
END_TEST

START_TEST(points_and_arguments)
{
	_cleanup_(fault_points_freep) FaultPoints *f = NULL;
	unsigned arg = 99;

	ck_assert_int_eq(fault_points_parse("hang-after-suspend=1", &f, NULL), 0);
	ck_assert(fault_point(f, "hang-after-suspend", &arg));
	ck_assert_uint_eq(arg, 1);
	ck_assert(!fault_point(f, "hang-after", NULL));
	ck_assert(fault_point_hang(f, "hang-after-suspend", 5000)); /* 1 ms */
	f = fault_points_free(f);
	ck_assert_int_eq(fault_points_parse("hang-after-suspend", &f, NULL), 0);
	ck_assert(fault_point(f, "hang-after-suspend", &arg));
	ck_assert_uint_eq(arg, 0);
}
END_TEST

START_TEST(unknown_names_and_bad_values_are_refused)
{
	FaultPoints *f = NULL;
	char *bad = NULL;
	const char *spec = "hang-after-suspend=5,hang-after-suspnd";

	ck_assert_int_eq(fault_points_parse(spec, &f, &bad), -EINVAL);
	ck_assert_ptr_null(f);
	ck_assert_str_eq(bad, "hang-after-suspnd");
	ck_assert_int_eq(fault_points_parse("hang-after-suspend=soon", &f, &bad), -EINVAL);
	ck_assert_int_eq(fault_points_parse("hang-after-suspend=-1", &f, &bad), -EINVAL);
	ck_assert_int_eq(fault_points_parse("hang-after-suspend=99999999999", &f, &bad), -EINVAL);
}
END_TEST

START_TEST(kill_points_kill)
{
	_cleanup_(fault_points_freep) FaultPoints *f = NULL;
	int status;
	pid_t pid;

	fault_point_kill(NULL, "kill-after-first-suspend"); /* off: returns */
	ck_assert_int_eq(fault_points_parse("kill-after-first-suspend,kill-after-commit", &f, NULL),
	                 0);
	fault_point_kill(f, "kill-after-last-suspend"); /* another point: returns */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fault_point_kill(f, "kill-after-commit");
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGKILL);
	f = fault_points_free(f);
	ck_assert_int_eq(fault_points_parse("kill-after-comit", &f, NULL), -EINVAL);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("fault",
	TEST(unset_means_nothing_on)
	TEST(points_and_arguments)
	TEST(unknown_names_and_bad_values_are_refused)
	TEST(kill_points_kill))
/* clang-format on */
