/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* busmsg.c - D-Bus message helpers: a{sv} entries, variants, string arrays, checked reads */
#include "common/busmsg.h"

static bool valid_string(const char *s)
{
	return s && dbus_validate_utf8(s, NULL);
}

static bool valid_basic(int type, const void *value)
{
	switch (type) {
	case DBUS_TYPE_STRING:
		return valid_string(*(const char *const *)value);
	case DBUS_TYPE_OBJECT_PATH:
		return *(const char *const *)value &&
		       dbus_validate_path(*(const char *const *)value, NULL);
	case DBUS_TYPE_SIGNATURE:
		return *(const char *const *)value &&
		       dbus_signature_validate(*(const char *const *)value, NULL);
	default:
		return dbus_type_is_basic(type);
	}
}

int busmsg_append_basic(DBusMessageIter *it, int type, const void *value)
{
	if (!valid_basic(type, value))
		return -EINVAL;
	return dbus_message_iter_append_basic(it, type, value) ? 0 : -ENOMEM;
}

int busmsg_append_string(DBusMessageIter *it, const char *s)
{
	return busmsg_append_basic(it, DBUS_TYPE_STRING, &s);
}

int busmsg_append_path(DBusMessageIter *it, const char *path)
{
	return busmsg_append_basic(it, DBUS_TYPE_OBJECT_PATH, &path);
}

int busmsg_append_bool(DBusMessageIter *it, bool v)
{
	dbus_bool_t b = v;

	return busmsg_append_basic(it, DBUS_TYPE_BOOLEAN, &b);
}

int busmsg_append_u32(DBusMessageIter *it, uint32_t v)
{
	dbus_uint32_t u = v;

	return busmsg_append_basic(it, DBUS_TYPE_UINT32, &u);
}

int busmsg_append_u64(DBusMessageIter *it, uint64_t v)
{
	dbus_uint64_t u = v;

	return busmsg_append_basic(it, DBUS_TYPE_UINT64, &u);
}

int busmsg_append_double(DBusMessageIter *it, double v)
{
	return busmsg_append_basic(it, DBUS_TYPE_DOUBLE, &v);
}

/* An array of strings or paths: every element is checked before anything is appended */
static int append_array(DBusMessageIter *it, int type, char *const *l)
{
	const char sig[2] = { (char)type, 0 };
	DBusMessageIter a;

	for (char *const *i = l; i && *i; i++)
		if (!valid_basic(type, i))
			return -EINVAL;
	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, sig, &a))
		return -ENOMEM;
	for (char *const *i = l; i && *i; i++)
		if (!dbus_message_iter_append_basic(&a, type, i)) {
			dbus_message_iter_abandon_container(it, &a);
			return -ENOMEM;
		}
	return dbus_message_iter_close_container(it, &a) ? 0 : -ENOMEM;
}

int busmsg_append_strv(DBusMessageIter *it, char *const *l)
{
	return append_array(it, DBUS_TYPE_STRING, l);
}

int busmsg_append_pathv(DBusMessageIter *it, char *const *l)
{
	return append_array(it, DBUS_TYPE_OBJECT_PATH, l);
}

int busmsg_append_variant(DBusMessageIter *it, int type, const void *value)
{
	const char sig[2] = { (char)type, 0 };
	DBusMessageIter v;

	if (!valid_basic(type, value))
		return -EINVAL;
	if (!dbus_message_iter_open_container(it, DBUS_TYPE_VARIANT, sig, &v))
		return -ENOMEM;
	if (!dbus_message_iter_append_basic(&v, type, value)) {
		dbus_message_iter_abandon_container(it, &v);
		return -ENOMEM;
	}
	return dbus_message_iter_close_container(it, &v) ? 0 : -ENOMEM;
}

int busmsg_dict_open(DBusMessageIter *it, DBusMessageIter *dict)
{
	return dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "{sv}", dict) ? 0 : -ENOMEM;
}

int busmsg_dict_close(DBusMessageIter *it, DBusMessageIter *dict)
{
	return dbus_message_iter_close_container(it, dict) ? 0 : -ENOMEM;
}

void busmsg_dict_abandon(DBusMessageIter *it, DBusMessageIter *dict)
{
	dbus_message_iter_abandon_container_if_open(it, dict);
}

int busmsg_append_empty_dict(DBusMessageIter *it)
{
	DBusMessageIter d;
	int r;

	r = busmsg_dict_open(it, &d);
	return r < 0 ? r : busmsg_dict_close(it, &d);
}

int busmsg_entry_open(DBusMessageIter *dict, const char *key, const char *sig,
                      DBusMessageIter *entry, DBusMessageIter *variant)
{
	if (!valid_string(key) || !sig || !dbus_signature_validate_single(sig, NULL))
		return -EINVAL;
	if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, entry))
		return -ENOMEM;
	if (!dbus_message_iter_append_basic(entry, DBUS_TYPE_STRING, &key) ||
	    !dbus_message_iter_open_container(entry, DBUS_TYPE_VARIANT, sig, variant)) {
		dbus_message_iter_abandon_container(dict, entry);
		return -ENOMEM;
	}
	return 0;
}

int busmsg_entry_close(DBusMessageIter *dict, DBusMessageIter *entry, DBusMessageIter *variant,
                       int r)
{
	if (r < 0) {
		dbus_message_iter_abandon_container(entry, variant);
		dbus_message_iter_abandon_container(dict, entry);
		return r;
	}
	if (!dbus_message_iter_close_container(entry, variant)) {
		dbus_message_iter_abandon_container(dict, entry);
		return -ENOMEM;
	}
	return dbus_message_iter_close_container(dict, entry) ? 0 : -ENOMEM;
}

int busmsg_dict_append_basic(DBusMessageIter *dict, const char *key, int type, const void *value)
{
	const char sig[2] = { (char)type, 0 };
	DBusMessageIter e, v;
	int r;

	if (!valid_basic(type, value))
		return -EINVAL;
	r = busmsg_entry_open(dict, key, sig, &e, &v);
	if (r < 0)
		return r;
	r = dbus_message_iter_append_basic(&v, type, value) ? 0 : -ENOMEM;
	return busmsg_entry_close(dict, &e, &v, r);
}

int busmsg_dict_append_string(DBusMessageIter *dict, const char *key, const char *value)
{
	return busmsg_dict_append_basic(dict, key, DBUS_TYPE_STRING, &value);
}

int busmsg_dict_append_path(DBusMessageIter *dict, const char *key, const char *value)
{
	return busmsg_dict_append_basic(dict, key, DBUS_TYPE_OBJECT_PATH, &value);
}

int busmsg_dict_append_bool(DBusMessageIter *dict, const char *key, bool value)
{
	dbus_bool_t b = value;

	return busmsg_dict_append_basic(dict, key, DBUS_TYPE_BOOLEAN, &b);
}

int busmsg_dict_append_u32(DBusMessageIter *dict, const char *key, uint32_t value)
{
	dbus_uint32_t u = value;

	return busmsg_dict_append_basic(dict, key, DBUS_TYPE_UINT32, &u);
}

int busmsg_dict_append_u64(DBusMessageIter *dict, const char *key, uint64_t value)
{
	dbus_uint64_t u = value;

	return busmsg_dict_append_basic(dict, key, DBUS_TYPE_UINT64, &u);
}

int busmsg_dict_append_double(DBusMessageIter *dict, const char *key, double value)
{
	return busmsg_dict_append_basic(dict, key, DBUS_TYPE_DOUBLE, &value);
}

int busmsg_dict_append_strv(DBusMessageIter *dict, const char *key, char *const *value)
{
	DBusMessageIter e, v;
	int r;

	for (char *const *i = value; i && *i; i++)
		if (!valid_string(*i))
			return -EINVAL;
	r = busmsg_entry_open(dict, key, "as", &e, &v);
	if (r < 0)
		return r;
	return busmsg_entry_close(dict, &e, &v, busmsg_append_strv(&v, value));
}

const char *busmsg_safe_string(const char *s)
{
	return valid_string(s) ? s : "";
}

bool busmsg_has_signature(DBusMessageIter *it, const char *sig)
{
	char *s = dbus_message_iter_get_signature(it);
	bool ok = s && streq(s, sig);

	dbus_free(s);
	return ok;
}

size_t busmsg_array_count(DBusMessageIter *it)
{
	int n;

	if (dbus_message_iter_get_arg_type(it) != DBUS_TYPE_ARRAY)
		return 0;
	/* walks the array's bytes only: nothing is copied or allocated */
	n = dbus_message_iter_get_element_count(it);
	return n > 0 ? (size_t)n : 0;
}

int busmsg_dict_enter(DBusMessageIter *it, DBusMessageIter *ret_dict)
{
	if (dbus_message_iter_get_arg_type(it) != DBUS_TYPE_ARRAY ||
	    !busmsg_has_signature(it, "a{sv}"))
		return -EBADMSG;
	dbus_message_iter_recurse(it, ret_dict);
	return 0;
}

int busmsg_dict_next(DBusMessageIter *dict, const char **ret_key, DBusMessageIter *ret_value)
{
	DBusMessageIter e;

	if (dbus_message_iter_get_arg_type(dict) != DBUS_TYPE_DICT_ENTRY)
		return 0;
	dbus_message_iter_recurse(dict, &e);
	dbus_message_iter_get_basic(&e, ret_key);
	dbus_message_iter_next(&e);
	dbus_message_iter_recurse(&e, ret_value);
	dbus_message_iter_next(dict);
	return 1;
}

int busmsg_get_basic(DBusMessageIter *it, int type, void *ret)
{
	if (!dbus_type_is_basic(type) || dbus_message_iter_get_arg_type(it) != type)
		return -EBADMSG;
	dbus_message_iter_get_basic(it, ret);
	return 0;
}

int busmsg_get_string(DBusMessageIter *it, const char **ret)
{
	return busmsg_get_basic(it, DBUS_TYPE_STRING, ret);
}

int busmsg_get_bool(DBusMessageIter *it, bool *ret)
{
	dbus_bool_t b;
	int r;

	r = busmsg_get_basic(it, DBUS_TYPE_BOOLEAN, &b);
	if (r < 0)
		return r;
	*ret = b;
	return 0;
}

int busmsg_get_u32(DBusMessageIter *it, uint32_t *ret)
{
	dbus_uint32_t u;
	int r;

	r = busmsg_get_basic(it, DBUS_TYPE_UINT32, &u);
	if (r < 0)
		return r;
	*ret = u;
	return 0;
}

int busmsg_get_u64(DBusMessageIter *it, uint64_t *ret)
{
	dbus_uint64_t u;
	int r;

	r = busmsg_get_basic(it, DBUS_TYPE_UINT64, &u);
	if (r < 0)
		return r;
	*ret = u;
	return 0;
}
