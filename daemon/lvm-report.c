/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lvm-report.c - LVM's `--reportformat json` reports (lvs, vgs) read with json-c, validated */
#include <stdarg.h>

#include <json.h>

#include "common/valid.h"
#include "daemon/lvm-report.h"

void lvm_lv_done(LvmLv *lv)
{
	free(lv->name);
	free(lv->vg);
	free(lv->uuid);
	free(lv->attr);
	free(lv->origin);
	free(lv->pool);
	free(lv->segtype);
	free(lv->dm_path);
	strv_free(lv->tags);
	*lv = (LvmLv){ 0 };
}

int lvm_lv_copy(const LvmLv *lv, LvmLv *ret)
{
	char **fields[] = { &ret->name,   &ret->vg,   &ret->uuid,    &ret->attr,
		            &ret->origin, &ret->pool, &ret->segtype, &ret->dm_path };

	*ret = *lv;
	ret->tags = NULL;
	for (size_t i = 0; i < ELEMENTSOF(fields); i++)
		if (*fields[i] && !(*fields[i] = strdup(*fields[i]))) {
			for (size_t k = i + 1; k < ELEMENTSOF(fields); k++)
				*fields[k] = NULL;
			lvm_lv_done(ret);
			return -ENOMEM;
		}
	for (char **t = lv->tags; t && *t; t++)
		if (strv_extend(&ret->tags, *t) < 0) {
			lvm_lv_done(ret);
			return -ENOMEM;
		}
	return 0;
}

void lvm_lvs_free(LvmLv *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		lvm_lv_done(&l[i]);
	free(l);
}

void lvm_vgs_free(LvmVg *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].name);
		free(l[i].attr);
	}
	free(l);
}

bool lvm_valid_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > LVM_NAME_MAX || s[0] == '-' || streq(s, ".") || streq(s, ".."))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_.-") == n;
}

bool lvm_valid_tag(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= 128 &&
	       strspn(s,
	              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+.-/=!:&#") ==
	               n;
}

bool lvm_lv_has_tag(const LvmLv *lv, const char *tag)
{
	return strv_contains(lv->tags, tag);
}

const char *lvm_lv_tag_value(const LvmLv *lv, const char *prefix)
{
	for (char **t = lv->tags; t && *t; t++) {
		const char *v = startswith(*t, prefix);

		if (v)
			return v;
	}
	return NULL;
}

_printf_(2, 3) static int bad(char **ret_error, const char *fmt, ...)
{
	va_list ap;

	if (ret_error) {
		va_start(ap, fmt);
		if (vasprintf(ret_error, fmt, ap) < 0)
			*ret_error = NULL;
		va_end(ap);
	}
	return -EBADMSG;
}

/* The array of report[0].<key> */
static int report_rows(json_object *root, const char *key, json_object **ret, char **ret_error)
{
	json_object *rep, *first, *rows;

	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "report", &rep) ||
	    !json_object_is_type(rep, json_type_array) || json_object_array_length(rep) < 1)
		return bad(ret_error, "no \"report\" array in LVM's output");
	first = json_object_array_get_idx(rep, 0);
	if (!json_object_is_type(first, json_type_object) ||
	    !json_object_object_get_ex(first, key, &rows) ||
	    !json_object_is_type(rows, json_type_array))
		return bad(ret_error, "no \"%s\" array in LVM's report", key);
	*ret = rows;
	return 0;
}

static int field(json_object *row, size_t i, const char *key, const char **ret, char **ret_error)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(row, key, &v) || !json_object_is_type(v, json_type_string))
		return bad(ret_error, "row %zu of LVM's report has no string \"%s\"", i, key);
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s) || !valid_text_or_empty(s, 4096))
		return bad(ret_error, "row %zu of LVM's report: \"%s\" is not text", i, key);
	*ret = s;
	return 0;
}

static int dup_field(json_object *row, size_t i, const char *key, char **ret, char **ret_error)
{
	const char *s;
	int r = field(row, i, key, &s, ret_error);

	if (r < 0)
		return r;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int u64_field(json_object *row, size_t i, const char *key, bool empty_ok, uint64_t *ret,
                     char **ret_error)
{
	const char *s;
	int r = field(row, i, key, &s, ret_error);

	if (r < 0)
		return r;
	if (!s[0] && empty_ok) {
		*ret = 0;
		return 0;
	}
	if (parse_u64(s, ret) < 0)
		return bad(ret_error, "row %zu of LVM's report: %s \"%s\" is not a whole number", i,
		           key, s);
	return 0;
}

static int int_field(json_object *row, size_t i, const char *key, int *ret, char **ret_error)
{
	const char *s;
	uint64_t u;
	int r = field(row, i, key, &s, ret_error);

	if (r < 0)
		return r;
	if (streq(s, "-1") || !s[0]) {
		*ret = -1;
		return 0;
	}
	if (parse_u64(s, &u) < 0 || u > 0xfffff)
		return bad(ret_error, "row %zu of LVM's report: %s \"%s\" is not a device number",
		           i, key, s);
	*ret = (int)u;
	return 0;
}

/* "12.50" -> 125 per mille; "" -> -1 */
static int percent_field(json_object *row, size_t i, const char *key, int *ret, char **ret_error)
{
	const char *s, *dot;
	uint64_t whole = 0, frac = 0;
	char w[16] = { 0 };
	int r = field(row, i, key, &s, ret_error);

	if (r < 0)
		return r;
	if (!s[0]) {
		*ret = -1;
		return 0;
	}
	dot = strchr(s, '.');
	if ((size_t)(dot ? dot - s : (ptrdiff_t)strlen(s)) >= sizeof(w))
		goto fail;
	memcpy(w, s, dot ? (size_t)(dot - s) : strlen(s));
	if (parse_u64(w, &whole) < 0 || whole > 100)
		goto fail;
	if (dot) {
		if (!dot[1] || strspn(dot + 1, "0123456789") != strlen(dot + 1))
			goto fail;
		frac = (uint64_t)(dot[1] - '0');
	}
	*ret = (int)(whole * 10 + frac);
	if (*ret > 1000)
		goto fail;
	return 0;
fail:
	return bad(ret_error, "row %zu of LVM's report: %s \"%s\" is not a percentage", i, key, s);
}

static int split_tags(const char *s, char ***ret, size_t i, char **ret_error)
{
	_cleanup_strv_free_ char **l = NULL;
	_cleanup_free_ char *copy = strdup(s);
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!lvm_valid_tag(t))
			return bad(ret_error, "row %zu of LVM's report: tag \"%s\" is not valid", i,
			           t);
		if (strv_extend(&l, t) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

static int parse_lv(json_object *row, size_t i, LvmLv *lv, char **ret_error)
{
	const char *tags;
	int r;

	if (!json_object_is_type(row, json_type_object))
		return bad(ret_error, "row %zu of LVM's report is not an object", i);
	*lv = (LvmLv){ .major = -1, .minor = -1 };
	if ((r = dup_field(row, i, "lv_name", &lv->name, ret_error)) < 0 ||
	    (r = dup_field(row, i, "vg_name", &lv->vg, ret_error)) < 0 ||
	    (r = dup_field(row, i, "lv_uuid", &lv->uuid, ret_error)) < 0 ||
	    (r = dup_field(row, i, "lv_attr", &lv->attr, ret_error)) < 0 ||
	    (r = dup_field(row, i, "origin", &lv->origin, ret_error)) < 0 ||
	    (r = dup_field(row, i, "pool_lv", &lv->pool, ret_error)) < 0 ||
	    (r = dup_field(row, i, "segtype", &lv->segtype, ret_error)) < 0 ||
	    (r = dup_field(row, i, "lv_dm_path", &lv->dm_path, ret_error)) < 0 ||
	    (r = u64_field(row, i, "lv_size", false, &lv->size, ret_error)) < 0 ||
	    (r = u64_field(row, i, "origin_size", true, &lv->origin_size, ret_error)) < 0 ||
	    (r = int_field(row, i, "lv_kernel_major", &lv->major, ret_error)) < 0 ||
	    (r = int_field(row, i, "lv_kernel_minor", &lv->minor, ret_error)) < 0 ||
	    (r = percent_field(row, i, "data_percent", &lv->data_permille, ret_error)) < 0 ||
	    (r = percent_field(row, i, "metadata_percent", &lv->meta_permille, ret_error)) < 0 ||
	    (r = percent_field(row, i, "snap_percent", &lv->snap_permille, ret_error)) < 0 ||
	    (r = field(row, i, "lv_tags", &tags, ret_error)) < 0 ||
	    (r = split_tags(tags, &lv->tags, i, ret_error)) < 0)
		return r;
	/* LVM lists hidden LVs as "[name]" */
	if (lv->name[0] == '[' && strlen(lv->name) > 2 && lv->name[strlen(lv->name) - 1] == ']') {
		memmove(lv->name, lv->name + 1, strlen(lv->name));
		lv->name[strlen(lv->name) - 1] = 0;
	}
	if (!lvm_valid_name(lv->name) || !lvm_valid_name(lv->vg))
		return bad(ret_error, "row %zu of LVM's report: \"%s/%s\" is not a valid LV name",
		           i, lv->vg, lv->name);
	if (strlen(lv->attr) < 6)
		return bad(ret_error, "row %zu of LVM's report: lv_attr \"%s\" is too short", i,
		           lv->attr);
	if (lv->uuid[0] == 0 || strlen(lv->uuid) > 64)
		return bad(ret_error, "row %zu of LVM's report: lv_uuid \"%s\" is not valid", i,
		           lv->uuid);
	return 0;
}

int lvm_report_lvs(const char *text, LvmLv **ret, size_t *ret_n, char **ret_error)
{
	json_object *root = json_tokener_parse(text), *rows;
	LvmLv *l = NULL;
	size_t n = 0, k;
	int r;

	if (!root)
		return bad(ret_error, "LVM's output is not JSON");
	r = report_rows(root, "lv", &rows, ret_error);
	if (r < 0)
		goto out;
	k = json_object_array_length(rows);
	l = calloc(k + 1, sizeof(*l));
	if (!l) {
		r = -ENOMEM;
		goto out;
	}
	for (n = 0; n < k; n++) {
		r = parse_lv(json_object_array_get_idx(rows, n), n, &l[n], ret_error);
		if (r < 0) {
			n++;
			goto out;
		}
	}
	*ret = TAKE_PTR(l);
	*ret_n = n;
	r = 0;
out:
	if (l)
		lvm_lvs_free(l, n);
	json_object_put(root);
	return r;
}

int lvm_report_vgs(const char *text, LvmVg **ret, size_t *ret_n, char **ret_error)
{
	json_object *root = json_tokener_parse(text), *rows;
	LvmVg *l = NULL;
	size_t n = 0, k;
	int r;

	if (!root)
		return bad(ret_error, "LVM's output is not JSON");
	r = report_rows(root, "vg", &rows, ret_error);
	if (r < 0)
		goto out;
	k = json_object_array_length(rows);
	l = calloc(k + 1, sizeof(*l));
	if (!l) {
		r = -ENOMEM;
		goto out;
	}
	for (n = 0; n < k; n++) {
		json_object *row = json_object_array_get_idx(rows, n);
		LvmVg *v = &l[n];

		if (!json_object_is_type(row, json_type_object)) {
			r = bad(ret_error, "row %zu of LVM's report is not an object", n);
			n++;
			goto out;
		}
		if ((r = dup_field(row, n, "vg_name", &v->name, ret_error)) < 0 ||
		    (r = dup_field(row, n, "vg_attr", &v->attr, ret_error)) < 0 ||
		    (r = u64_field(row, n, "vg_free", false, &v->free, ret_error)) < 0 ||
		    (r = u64_field(row, n, "vg_extent_size", false, &v->extent_size, ret_error)) <
		            0 ||
		    (r = u64_field(row, n, "vg_missing_pv_count", true, &v->missing_pvs,
		                   ret_error)) < 0) {
			n++;
			goto out;
		}
		if (!lvm_valid_name(v->name) || strlen(v->attr) < 4 || v->extent_size == 0) {
			r = bad(ret_error, "row %zu of LVM's report: VG \"%s\" is not valid", n,
			        v->name);
			n++;
			goto out;
		}
	}
	*ret = TAKE_PTR(l);
	*ret_n = n;
	r = 0;
out:
	if (l)
		lvm_vgs_free(l, n);
	json_object_put(root);
	return r;
}
