/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-escape.c - control characters, DEL, C1 and invalid UTF-8 are escaped; text is kept */
#include "common/escape.h"
#include "tests/lib/check-main.h"

static void check(const char *in, EscapeFlags flags, const char *want)
{
	_cleanup_free_ char *out = NULL;

	ck_assert_int_eq(text_escape(in, flags, &out), 0);
	ck_assert_str_eq(out, want);
}

START_TEST(plain_text_and_utf8_are_kept)
{
	check("", 0, "");
	check("backup of /home: 12 files", 0, "backup of /home: 12 files");
	check("Grüße, 日本語, 🙂", 0, "Grüße, 日本語, 🙂");
	check("U+00A0\xc2\xa0 is printable", 0, "U+00A0\xc2\xa0 is printable");
}
END_TEST

START_TEST(controls_are_escaped)
{
	check("a\nb\tc\rd", 0, "a\\nb\\tc\\rd");
	check("vetoed\n<0>forged", 0, "vetoed\\n<0>forged");
	check("\x1b[31mred\x1b[0m", 0, "\\x1b[31mred\\x1b[0m");
	check("\x01\x7f", 0, "\\x01\\x7f");
	/* C1 controls: CSI (U+009B) and NEL (U+0085) drive some terminals */
	check("\xc2\x9b"
	      "2J\xc2\x85",
	      0, "\\xc2\\x9b2J\\xc2\\x85");
}
END_TEST

START_TEST(backslash)
{
	check("C:\\x", 0, "C:\\\\x");
	check("C:\\x", ESCAPE_KEEP_BACKSLASH, "C:\\x");
	check("a\nb\\n", ESCAPE_KEEP_BACKSLASH, "a\\nb\\n");
}
END_TEST

START_TEST(invalid_utf8_is_escaped_byte_by_byte)
{
	check("a\xff"
	      "b",
	      0, "a\\xffb");
	check("\xc3", 0, "\\xc3");                            /* truncated */
	check("\xc0\xaf", 0, "\\xc0\\xaf");                   /* overlong "/" */
	check("\xed\xa0\x80", 0, "\\xed\\xa0\\x80");          /* a surrogate */
	check("\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80"); /* above U+10FFFF */
	check("\xe6\x97"
	      "x",
	      0, "\\xe6\\x97x");
}
END_TEST

START_TEST(buffer_is_cut_between_whole_units)
{
	char buf[8];

	ck_assert_uint_eq(text_escape_buf("abc\ndef", 0, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "abc\\nde");
	ck_assert_uint_eq(text_escape_buf("abcdef\n", 0, buf, sizeof(buf)), 6);
	ck_assert_str_eq(buf, "abcdef");
	ck_assert_uint_eq(text_escape_buf("abcde\x1b", 0, buf, sizeof(buf)), 5);
	ck_assert_str_eq(buf, "abcde");
	ck_assert_uint_eq(text_escape_buf("abcde日", 0, buf, sizeof(buf)), 5);
	ck_assert_str_eq(buf, "abcde");
	ck_assert_uint_eq(text_escape_buf("abc", 0, buf, 1), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

TEST_SUITE_MAIN("escape", TEST(plain_text_and_utf8_are_kept) TEST(controls_are_escaped)
                                  TEST(backslash) TEST(invalid_utf8_is_escaped_byte_by_byte)
                                          TEST(buffer_is_cut_between_whole_units))
