/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-valid.c - string, path, dm name and size checks; the error table is complete */
#include "common/valid.h"
#include "common/vss-error.h"
#include "tests/lib/check-main.h"

START_TEST(text_and_paths)
{
	char long_s[300];

	memset(long_s, 'x', sizeof(long_s) - 1);
	long_s[sizeof(long_s) - 1] = 0;
	ck_assert(valid_text("backup of /home", 255));
	ck_assert(!valid_text("", 255));
	ck_assert(valid_text_or_empty("", 255));
	ck_assert(!valid_text("a\nb", 255));
	ck_assert(!valid_text("a\x7f", 255));
	ck_assert(!valid_text("db\xc2\x9b"
	                      "2J",
	                      255)); /* U+009B, CSI */
	ck_assert(!valid_text("\xc2\x80", 255));
	ck_assert(valid_text("Gr\xc3\xbc\xc3\x9f\xc2\xa0"
	                     "e",
	                     255)); /* Grüß, NBSP */
	ck_assert(!valid_text(long_s, 255));
	ck_assert(valid_abs_path("/dev/mapper/data"));
	ck_assert(!valid_abs_path("dev/mapper/data"));
	ck_assert(!valid_abs_path("/dev/../etc/passwd"));
	ck_assert(!valid_abs_path("/dev//x"));
	ck_assert(!valid_abs_path("/dev/.."));
	ck_assert(valid_dm_name("vg0-data_1"));
	ck_assert(!valid_dm_name("a/b"));
	ck_assert(!valid_dm_name(".."));
	ck_assert(!valid_dm_name(""));
}
END_TEST

START_TEST(sizes)
{
	uint64_t v;
	char buf[32];

	ck_assert_int_eq(parse_size("512", &v), 0);
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(parse_size("320M", &v), 0);
	ck_assert_uint_eq(v, 320ULL << 20);
	ck_assert_int_eq(parse_size("2GiB", &v), 0);
	ck_assert_uint_eq(v, 2ULL << 30);
	ck_assert_int_eq(parse_size("1T", &v), 0);
	ck_assert_uint_eq(v, 1ULL << 40);
	ck_assert_int_eq(parse_size("-1", &v), -EINVAL);
	ck_assert_int_eq(parse_size("12X", &v), -EINVAL);
	ck_assert_int_eq(parse_size("", &v), -EINVAL);
	ck_assert_int_eq(parse_size("99999999999T", &v), -ERANGE);
	ck_assert_str_eq(format_size(1536ULL << 20, buf, sizeof(buf)), "1.5G");
}
END_TEST

START_TEST(whole_numbers)
{
	uint64_t v = 7;

	ck_assert_int_eq(parse_u64("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(parse_u64("18446744073709551615", &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(parse_u64("18446744073709551616", &v), -ERANGE);
	v = 7;
	ck_assert_int_eq(parse_u64("-1", &v), -EINVAL);
	ck_assert_int_eq(parse_u64("+1", &v), -EINVAL);
	ck_assert_int_eq(parse_u64(" 1", &v), -EINVAL);
	ck_assert_int_eq(parse_u64("0x10", &v), -EINVAL);
	ck_assert_int_eq(parse_u64("10ms", &v), -EINVAL);
	ck_assert_int_eq(parse_u64("", &v), -EINVAL);
	ck_assert_int_eq(parse_u64(NULL, &v), -EINVAL);
	ck_assert_uint_eq(v, 7); /* untouched on a refusal */
}
END_TEST

START_TEST(error_table)
{
	char buf[256];

	for (int e = VSS_ERROR_NONE + 1; e < _VSS_ERROR_MAX; e++) {
		const VssErrorInfo *i = vss_error_info(e);
		char name[128];

		ck_assert_ptr_nonnull(i->name);
		ck_assert_uint_ne(i->code, 0);
		snprintf(name, sizeof(name), VSS_ERROR_PREFIX "%s", i->name);
		ck_assert_int_eq(vss_error_from_dbus_name(name), e);
	}
	ck_assert_int_eq(vss_error_from_errno(-EALREADY), VSS_ERROR_SNAPSHOT_SET_IN_PROGRESS);
	ck_assert_int_eq(vss_error_from_errno(-EBUSY), VSS_ERROR_BAD_STATE);
	ck_assert_int_eq(vss_error_from_errno(-EIO), VSS_ERROR_UNEXPECTED_PROVIDER_ERROR);
	ck_assert_str_eq(
		vss_err_format(VSS_ERROR_SNAPSHOT_SET_IN_PROGRESS,
	                       "another snapshot set is being created", buf, sizeof(buf)),
		"VSS_E_SNAPSHOT_SET_IN_PROGRESS (0x80042316): another snapshot set is being "
		"created");
}
END_TEST

TEST_SUITE_MAIN("valid", TEST(text_and_paths) TEST(sizes) TEST(whole_numbers) TEST(error_table))
