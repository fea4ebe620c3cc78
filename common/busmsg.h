/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* busmsg.h - D-Bus message helpers: a{sv} entries, variants, string arrays, checked reads
 *
 * One set for vssd, vssctl and libvsswriter. LGPL-2.1-or-later like libvsswriter, which compiles
 * it in; it depends on libdbus and common/macro.h only (no GPL file).
 *
 * Builders return 0 or a negative errno: -EINVAL for a NULL or invalid UTF-8 string, an invalid
 * object path or key (libdbus aborts on those, so they are checked first), -ENOMEM. On failure
 * nothing they opened stays open; the container the caller passed in is left for the caller to
 * close or abandon. Readers return -EBADMSG when the value has another type.
 */
#pragma once

#include <dbus/dbus.h>

#include "common/macro.h"

/* ---- basic values and arrays */
int busmsg_append_basic(DBusMessageIter *it, int type, const void *value); /* as libdbus */
int busmsg_append_string(DBusMessageIter *it, const char *s);
int busmsg_append_path(DBusMessageIter *it, const char *path);
int busmsg_append_bool(DBusMessageIter *it, bool v);
int busmsg_append_u32(DBusMessageIter *it, uint32_t v);
int busmsg_append_u64(DBusMessageIter *it, uint64_t v);
int busmsg_append_double(DBusMessageIter *it, double v);
int busmsg_append_strv(DBusMessageIter *it, char *const *l);  /* "as"; NULL is empty */
int busmsg_append_pathv(DBusMessageIter *it, char *const *l); /* "ao"; NULL is empty */
/* A variant holding one basic value of type type */
int busmsg_append_variant(DBusMessageIter *it, int type, const void *value);

/* ---- a{sv} dictionaries: open, add entries, close (or abandon on failure) */
int busmsg_dict_open(DBusMessageIter *it, DBusMessageIter *dict);
int busmsg_dict_close(DBusMessageIter *it, DBusMessageIter *dict);
void busmsg_dict_abandon(DBusMessageIter *it, DBusMessageIter *dict);
int busmsg_append_empty_dict(DBusMessageIter *it); /* an empty "a{sv}" */

/* The entry {key: variant of signature sig}, for a value the caller appends to *variant (a
 * container: "as", "aa{sv}", a property). busmsg_entry_close() closes both when r >= 0, else
 * abandons them, and returns r or its own failure. */
int busmsg_entry_open(DBusMessageIter *dict, const char *key, const char *sig,
                      DBusMessageIter *entry, DBusMessageIter *variant);
int busmsg_entry_close(DBusMessageIter *dict, DBusMessageIter *entry, DBusMessageIter *variant,
                       int r);

/* {key: variant of one basic value}; value points to it, as for dbus_message_iter_append_basic */
int busmsg_dict_append_basic(DBusMessageIter *dict, const char *key, int type, const void *value);
int busmsg_dict_append_string(DBusMessageIter *dict, const char *key, const char *value);
int busmsg_dict_append_path(DBusMessageIter *dict, const char *key, const char *value);
int busmsg_dict_append_bool(DBusMessageIter *dict, const char *key, bool value);
int busmsg_dict_append_u32(DBusMessageIter *dict, const char *key, uint32_t value);
int busmsg_dict_append_u64(DBusMessageIter *dict, const char *key, uint64_t value);
int busmsg_dict_append_double(DBusMessageIter *dict, const char *key, double value);
int busmsg_dict_append_strv(DBusMessageIter *dict, const char *key, char *const *value);

/* ---- reading */
/* s itself, or "" when NULL or not valid UTF-8: for strings from the kernel, blkid or files */
const char *busmsg_safe_string(const char *s);
/* Is the value at it of exactly the signature sig? (A variant's content is not checked by a
 * method's signature: a nested dictionary is checked here.) */
bool busmsg_has_signature(DBusMessageIter *it, const char *sig);
/* The number of elements of the array at it, without reading them (0 when it is no array) */
size_t busmsg_array_count(DBusMessageIter *it);
/* Enters the a{sv} at it: *ret_dict is then walked with busmsg_dict_next(). -EBADMSG when the
 * value at it is no a{sv}. */
int busmsg_dict_enter(DBusMessageIter *it, DBusMessageIter *ret_dict);
/* The next entry: its key and *ret_value on the variant's content; 1, or 0 after the last. */
int busmsg_dict_next(DBusMessageIter *dict, const char **ret_key, DBusMessageIter *ret_value);
/* The basic value at it when it has type type (strings and paths stay in the message) */
int busmsg_get_basic(DBusMessageIter *it, int type, void *ret);
int busmsg_get_string(DBusMessageIter *it, const char **ret);
int busmsg_get_bool(DBusMessageIter *it, bool *ret);
int busmsg_get_u32(DBusMessageIter *it, uint32_t *ret);
int busmsg_get_u64(DBusMessageIter *it, uint64_t *ret);
