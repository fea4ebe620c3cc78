/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-busmsg.c - the D-Bus message helpers: what they build, what they refuse, checked reads */
#include "common/busmsg.h"
#include "tests/lib/check-main.h"

static DBusMessage *new_message(void)
{
	DBusMessage *m = dbus_message_new_method_call("org.example", "/", "org.example.I", "M");

	ck_assert_ptr_nonnull(m);
	return m;
}

static void assert_signature(DBusMessage *m, const char *sig)
{
	ck_assert_str_eq(dbus_message_get_signature(m), sig);
}

START_TEST(test_busmsg_dict_round_trip)
{
	DBusMessage *m = new_message();
	DBusMessageIter it, d, e, v, a, dict, val;
	char *strv[] = { "a", "b", NULL };
	const char *key, *s;
	uint32_t u32;
	uint64_t u64;
	bool b;
	unsigned n = 0;

	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(busmsg_dict_open(&it, &d), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "s", "text"), 0);
	ck_assert_int_eq(busmsg_dict_append_bool(&d, "b", true), 0);
	ck_assert_int_eq(busmsg_dict_append_u32(&d, "u", 7), 0);
	ck_assert_int_eq(busmsg_dict_append_u64(&d, "t", 1ULL << 40), 0);
	ck_assert_int_eq(busmsg_dict_append_double(&d, "d", 0.5), 0);
	ck_assert_int_eq(busmsg_dict_append_path(&d, "o", "/a/b"), 0);
	ck_assert_int_eq(busmsg_dict_append_strv(&d, "as", strv), 0);
	/* a container value: an aa{sv} with one dictionary, as libvsswriter's components */
	ck_assert_int_eq(busmsg_entry_open(&d, "aa", "aa{sv}", &e, &v), 0);
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
	{
		DBusMessageIter c;

		ck_assert_int_eq(busmsg_dict_open(&a, &c), 0);
		ck_assert_int_eq(busmsg_dict_append_string(&c, "name", "x"), 0);
		ck_assert_int_eq(busmsg_dict_close(&a, &c), 0);
	}
	ck_assert(dbus_message_iter_close_container(&v, &a));
	ck_assert_int_eq(busmsg_entry_close(&d, &e, &v, 0), 0);
	ck_assert_int_eq(busmsg_dict_close(&it, &d), 0);
	ck_assert_int_eq(busmsg_append_empty_dict(&it), 0);
	ck_assert_int_eq(busmsg_append_strv(&it, NULL), 0);
	ck_assert_int_eq(busmsg_append_pathv(&it, (char *[]){ "/x", NULL }), 0);
	ck_assert_int_eq(busmsg_append_variant(&it, DBUS_TYPE_UINT32, &(uint32_t){ 3 }), 0);
	assert_signature(m, "a{sv}a{sv}asaov");

	ck_assert(dbus_message_iter_init(m, &it));
	ck_assert(busmsg_has_signature(&it, "a{sv}"));
	ck_assert_uint_eq(busmsg_array_count(&it), 8);
	ck_assert_int_eq(busmsg_dict_enter(&it, &dict), 0);
	while (busmsg_dict_next(&dict, &key, &val) > 0) {
		n++;
		if (streq(key, "s")) {
			ck_assert_int_eq(busmsg_get_string(&val, &s), 0);
			ck_assert_str_eq(s, "text");
			ck_assert_int_eq(busmsg_get_u32(&val, &u32), -EBADMSG);
		} else if (streq(key, "b")) {
			ck_assert_int_eq(busmsg_get_bool(&val, &b), 0);
			ck_assert(b);
		} else if (streq(key, "u")) {
			ck_assert_int_eq(busmsg_get_u32(&val, &u32), 0);
			ck_assert_uint_eq(u32, 7);
			ck_assert_int_eq(busmsg_get_u64(&val, &u64), -EBADMSG);
		} else if (streq(key, "t")) {
			ck_assert_int_eq(busmsg_get_u64(&val, &u64), 0);
			ck_assert_uint_eq(u64, 1ULL << 40);
		} else if (streq(key, "as")) {
			ck_assert(busmsg_has_signature(&val, "as"));
			ck_assert_uint_eq(busmsg_array_count(&val), 2);
		} else if (streq(key, "aa")) {
			ck_assert(busmsg_has_signature(&val, "aa{sv}"));
			ck_assert_int_eq(busmsg_get_string(&val, &s), -EBADMSG);
		}
	}
	ck_assert_uint_eq(n, 8);
	/* the second argument is an empty a{sv}, the third no dictionary */
	ck_assert(dbus_message_iter_next(&it));
	ck_assert_int_eq(busmsg_dict_enter(&it, &dict), 0);
	ck_assert_int_eq(busmsg_dict_next(&dict, &key, &val), 0);
	ck_assert(dbus_message_iter_next(&it));
	ck_assert_int_eq(busmsg_dict_enter(&it, &dict), -EBADMSG);
	ck_assert_uint_eq(busmsg_array_count(&it), 0);
	dbus_message_unref(m);
}
END_TEST

/* libdbus aborts on invalid UTF-8 and invalid paths: refused first, the message still usable */
START_TEST(test_busmsg_refuses)
{
	DBusMessage *m = new_message();
	DBusMessageIter it, d;
	char bad[] = { 'a', (char)0xff, 0 };
	char *strv[] = { "ok", bad, NULL };

	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(busmsg_append_string(&it, NULL), -EINVAL);
	ck_assert_int_eq(busmsg_append_string(&it, bad), -EINVAL);
	ck_assert_int_eq(busmsg_append_path(&it, "no/path"), -EINVAL);
	ck_assert_int_eq(busmsg_append_strv(&it, strv), -EINVAL);
	ck_assert_int_eq(busmsg_append_pathv(&it, (char *[]){ "/ok", "bad", NULL }), -EINVAL);
	ck_assert_int_eq(busmsg_dict_open(&it, &d), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "k", bad), -EINVAL);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "k", NULL), -EINVAL);
	ck_assert_int_eq(busmsg_dict_append_string(&d, bad, "v"), -EINVAL);
	ck_assert_int_eq(busmsg_dict_append_u32(&d, NULL, 1), -EINVAL);
	ck_assert_int_eq(busmsg_dict_append_strv(&d, "k", strv), -EINVAL);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "k", "fine"), 0);
	ck_assert_int_eq(busmsg_dict_close(&it, &d), 0);
	assert_signature(m, "a{sv}");
	ck_assert_str_eq(busmsg_safe_string(bad), "");
	ck_assert_str_eq(busmsg_safe_string(NULL), "");
	ck_assert_str_eq(busmsg_safe_string("ok"), "ok");
	dbus_message_unref(m);
}
END_TEST

/* A failed value abandons its entry: the dictionary can be abandoned or go on */
START_TEST(test_busmsg_abandon)
{
	DBusMessage *m = new_message();
	DBusMessageIter it, d, e, v;

	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(busmsg_dict_open(&it, &d), 0);
	ck_assert_int_eq(busmsg_entry_open(&d, "k", "as", &e, &v), 0);
	ck_assert_int_eq(busmsg_entry_close(&d, &e, &v, -ENOMEM), -ENOMEM);
	ck_assert_int_eq(busmsg_dict_append_u32(&d, "n", 1), 0);
	busmsg_dict_abandon(&it, &d);
	ck_assert_int_eq(busmsg_append_u32(&it, 5), 0);
	assert_signature(m, "u");
	dbus_message_unref(m);
}
END_TEST

TEST_SUITE_MAIN("busmsg", TEST(test_busmsg_dict_round_trip) TEST(test_busmsg_refuses)
                                  TEST(test_busmsg_abandon))
