/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssctl-format.c - vssctl's output: vssadmin-like text and JSON from the daemon's dictionaries */
#include <inttypes.h>
#include <strings.h>
#include <sys/stat.h>

#include "client/vssctl-format.h"
#include "common/escape.h"
#include "common/valid.h"
#include "common/vssd-bus-names.h"

static void json_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

bool vssctl_same_volume(const char *given, const char *name, const char *device)
{
	const char *paths[] = { name, device };
	struct stat a, b;

	if (!given)
		return true;
	if (streq_ptr(given, name) || streq_ptr(given, device))
		return true;
	if (stat(given, &a) < 0 || !S_ISBLK(a.st_mode))
		return false;
	for (size_t i = 0; i < ELEMENTSOF(paths); i++)
		if (paths[i] && stat(paths[i], &b) == 0 && S_ISBLK(b.st_mode) &&
		    a.st_rdev == b.st_rdev)
			return true;
	return false;
}

char *vssctl_attributes_to_string(uint32_t attributes, char *buf, size_t size)
{
	/* VSS_VOLUME_SNAPSHOT_ATTRIBUTES, see shared/reference/vss-semantics.md §4 */
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ 0x1, "Persistent" },
		{ 0x2, "No auto recovery" },
		{ 0x4, "Client-accessible" },
		{ 0x8, "No auto release" },
		{ 0x10, "No writers" },
		{ 0x20, "Transportable" },
		{ 0x40, "Not surfaced" },
		{ 0x80, "Not transacted" },
		{ 0x10000, "Hardware assisted" },
		{ 0x20000, "Differential" },
		{ 0x40000, "Plex" },
		{ 0x80000, "Imported" },
		{ 0x100000, "Exposed locally" },
		{ 0x200000, "Exposed remotely" },
		{ 0x400000, "Auto recover" },
		{ 0x800000, "Rollback recovery" },
		{ 0x1000000, "Delayed post-snapshot" },
		{ 0x2000000, "TxF recovery" },
		{ 0x4000000, "File share" },
	};
	uint32_t rest = attributes;
	size_t o = 0;
	int n;

	if (size == 0)
		return buf;
	buf[0] = 0;
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (attributes & names[i].bit) {
			n = snprintf(buf + o, size - o, "%s%s", o ? ", " : "", names[i].name);
			if (n < 0 || (size_t)n >= size - o) {
				buf[o] = 0; /* cut before the word: callers' buffers are generous */
				return buf;
			}
			o += (size_t)n;
			rest &= ~names[i].bit;
		}
	if (rest)
		snprintf(buf + o, size - o, "%s0x%" PRIx32, o ? ", " : "", rest);
	else if (o == 0)
		snprintf(buf, size, "None");
	return buf;
}

char *vssctl_time_to_string(uint64_t usec, char *buf, size_t size)
{
	time_t t = (time_t)(usec / USEC_PER_SEC);
	struct tm tm;

	if (size == 0)
		return buf;
	if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, size, "@%" PRIu64, usec / USEC_PER_SEC);
	return buf;
}

char *vssctl_bytes_to_string(uint64_t bytes, char *buf, size_t size)
{
	char h[32];

	if (bytes == UINT64_MAX)
		snprintf(buf, size, "unbounded");
	else
		snprintf(buf, size, "%s (%" PRIu64 " bytes)", format_size(bytes, h, sizeof(h)),
		         bytes);
	return buf;
}

static char *key_to_json(const char *key)
{
	char *k = strdup(key);

	for (char *p = k; p && *p; p++)
		if (*p == '-')
			*p = '_';
	return k;
}

json_object *vssctl_value_to_json(const BusValue *v)
{
	_cleanup_json_ json_object *o = NULL;

	if (!v)
		return NULL;
	switch (v->type) {
	case DBUS_TYPE_STRING:
	case DBUS_TYPE_OBJECT_PATH:
	case DBUS_TYPE_SIGNATURE:
		return json_object_new_string(v->str);
	case DBUS_TYPE_BOOLEAN:
		return json_object_new_boolean(v->b);
	case DBUS_TYPE_BYTE:
	case DBUS_TYPE_UINT16:
	case DBUS_TYPE_UINT32:
	case DBUS_TYPE_UINT64:
		return json_object_new_uint64(v->u);
	case DBUS_TYPE_INT16:
	case DBUS_TYPE_INT32:
	case DBUS_TYPE_INT64:
		return json_object_new_int64(v->i);
	case DBUS_TYPE_DOUBLE:
		return json_object_new_double(v->d);
	case DBUS_TYPE_ARRAY:
	case DBUS_TYPE_STRUCT:
		o = json_object_new_array();
		if (!o)
			return NULL;
		for (size_t i = 0; i < v->n; i++) {
			json_object *e = vssctl_value_to_json(&v->items[i]);

			if (!e || json_object_array_add(o, e) < 0) {
				json_object_put(e);
				return NULL;
			}
		}
		return TAKE_PTR(o);
	case BUSUTIL_DICT:
		o = json_object_new_object();
		if (!o)
			return NULL;
		for (size_t i = 0; i < v->n; i++) {
			_cleanup_free_ char *k = key_to_json(v->keys[i]);
			json_object *e = vssctl_value_to_json(&v->items[i]);

			if (!k || !e || json_object_object_add(o, k, e) < 0) {
				json_object_put(e);
				return NULL;
			}
		}
		return TAKE_PTR(o);
	default:
		return json_object_new_null(); /* busutil reads nothing else */
	}
}

int vssctl_print_json(FILE *f, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                                          JSON_C_TO_STRING_SPACED |
	                                                          JSON_C_TO_STRING_NOSLASHESCAPE);

	if (!s)
		return -ENOMEM;
	/* json-c escapes C0 controls but leaves DEL and C1 controls (CSI, U+009B, drives some
	 * terminals). Outside strings JSON is ASCII, so \u escapes for them keep the same JSON. */
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p == 0x7f)
			fputs("\\u007f", f);
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			fprintf(f, "\\u00%02x", *++p);
		else
			fputc(*p, f);
	fputc('\n', f);
	return 0;
}

/* Adds key: the dictionary's value of dkey, or null when it has none. */
static int json_add_from(json_object *o, const char *key, const BusValue *dict, const char *dkey)
{
	const BusValue *v = busutil_dict_get(dict, dkey);
	json_object *e = NULL;

	if (v) {
		e = vssctl_value_to_json(v);
		if (!e)
			return -ENOMEM;
	}
	if (json_object_object_add(o, key, e) < 0) {
		json_object_put(e);
		return -ENOMEM;
	}
	return 0;
}

static int json_add_string(json_object *o, const char *key, const char *value)
{
	json_object *e = value ? json_object_new_string(value) : NULL;

	if ((value && !e) || json_object_object_add(o, key, e) < 0) {
		json_object_put(e);
		return -ENOMEM;
	}
	return 0;
}

static int json_array_add_new(json_object *array, json_object **ret)
{
	json_object *o = json_object_new_object();

	if (!o || json_object_array_add(array, o) < 0) {
		json_object_put(o);
		return -ENOMEM;
	}
	*ret = o;
	return 0;
}

/* A copy of v with every string (and dictionary key) escaped for a terminal: text output prints
 * what vssd sent, and through vssd what writers and other callers said. Backslashes are kept,
 * since vssd escaped the writers' own words already. JSON output uses v itself: JSON escaping
 * keeps the data exact and control characters out. */
static int value_escape(const BusValue *v, BusValue *ret)
{
	int r;

	*ret = *v; /* the type and the scalar */
	ret->n = 0;
	ret->items = NULL;
	ret->keys = NULL;
	if (busutil_value_is_string(v)) {
		ret->str = NULL;
		r = text_escape(v->str, ESCAPE_KEEP_BACKSLASH, &ret->str);
		if (r < 0)
			*ret = (BusValue){ .type = DBUS_TYPE_INVALID };
		return r;
	}
	if (v->n == 0)
		return 0;
	ret->items = calloc(v->n, sizeof(BusValue));
	if (v->keys)
		ret->keys = calloc(v->n, sizeof(char *));
	if (!ret->items || (v->keys && !ret->keys)) {
		busutil_value_done(ret);
		return -ENOMEM;
	}
	for (size_t i = 0; i < v->n; i++) {
		r = value_escape(&v->items[i], &ret->items[i]);
		if (r >= 0 && v->keys)
			r = text_escape(v->keys[i], ESCAPE_KEEP_BACKSLASH, &ret->keys[i]);
		ret->n = i + 1; /* what is filled so far, for busutil_value_done() */
		if (r < 0) {
			busutil_value_done(ret);
			return r;
		}
	}
	return 0;
}

int vssctl_value_escape(const BusValue *v, BusValue **ret)
{
	_cleanup_(busutil_value_freep) BusValue *c = NULL;
	int r;

	if (!v) {
		*ret = NULL;
		return 0;
	}
	c = calloc(1, sizeof(BusValue));
	if (!c)
		return -ENOMEM;
	r = value_escape(v, c);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

/* For text output, *v becomes its escaped copy, which *keep holds; JSON keeps *v */
static int text_safe(bool json, const BusValue **v, BusValue **keep)
{
	int r;

	if (json)
		return 0;
	r = vssctl_value_escape(*v, keep);
	if (r < 0)
		return r;
	*v = *keep;
	return 0;
}

static const char *dict_str(const BusValue *dict, const char *key, const char *fallback)
{
	const char *s = busutil_dict_get_string(dict, key);

	return s ? s : fallback;
}

static uint64_t dict_u64(const BusValue *dict, const char *key, uint64_t fallback)
{
	uint64_t u;

	return busutil_dict_get_u64(dict, key, &u) < 0 ? fallback : u;
}

typedef struct Shadow {
	const BusValue *props;
	const char *id;
	const char *set_id;
	const char *volume;
	uint64_t set_time; /* the earliest creation time in its set: sets sort by it */
} Shadow;

static int shadow_compare(const void *a, const void *b)
{
	const Shadow *x = a, *y = b;
	int c;

	if (x->set_time != y->set_time)
		return x->set_time < y->set_time ? -1 : 1;
	c = strcmp(x->set_id, y->set_id);
	if (c == 0)
		c = strcmp(x->volume, y->volume);
	return c != 0 ? c : strcmp(x->id, y->id);
}

static bool id_matches(const char *want, const char *have)
{
	return !want || !want[0] || (have && strcasecmp(want, have) == 0);
}

static int shadows_collect(const BusValue *objects, const VssctlShadowFilter *filter, Shadow **ret,
                           size_t *ret_n)
{
	_cleanup_free_ Shadow *l = NULL;
	size_t n = 0;

	if (!objects || objects->type != BUSUTIL_DICT)
		return -EBADMSG;
	l = calloc(objects->n + 1, sizeof(Shadow));
	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < objects->n; i++) {
		const BusValue *p = busutil_dict_get(&objects->items[i], VSSD_IFACE_SNAP);
		Shadow s;

		if (!p || p->type != BUSUTIL_DICT)
			continue;
		s = (Shadow){
			.props = p,
			.id = dict_str(p, "Id", ""),
			.set_id = dict_str(p, "SetId", ""),
			.volume = dict_str(p, "Volume", ""),
			.set_time = dict_u64(p, "CreationTime", 0),
		};
		if (!id_matches(filter->set_id, s.set_id) || !id_matches(filter->shadow_id, s.id))
			continue;
		if (filter->merging && !streq(dict_str(p, "State", ""), "merging"))
			continue;
		if (!vssctl_same_volume(filter->volume, s.volume,
		                        busutil_dict_get_string(p, "OriginalDevice")))
			continue;
		l[n++] = s;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (streq(l[i].set_id, l[j].set_id))
				l[i].set_time = MIN(l[i].set_time, l[j].set_time);
	qsort(l, n, sizeof(Shadow), shadow_compare);
	*ret = TAKE_PTR(l);
	*ret_n = n;
	return 0;
}

/* The SnapshotSet properties of set_id among objects, or NULL (e.g. released by its owner) */
static const BusValue *set_find(const BusValue *objects, const char *set_id)
{
	for (size_t i = 0; i < objects->n; i++) {
		const BusValue *p = busutil_dict_get(&objects->items[i], VSSD_IFACE_SET);

		if (p && id_matches(set_id, busutil_dict_get_string(p, "Id")))
			return p;
	}
	return NULL;
}

static int shadows_json(FILE *f, const Shadow *l, size_t n)
{
	static const char *const keys[][2] = {
		{ "id", "Id" },
		{ "set_id", "SetId" },
		{ "volume", "Volume" },
		{ "original_device", "OriginalDevice" },
		{ "device", "Device" },
		{ "provider", "Provider" },
		{ "context", "Context" },
		{ "attributes", "Attributes" },
		{ "creation_time", "CreationTime" },
		{ "state", "State" },
		{ "storage_used", "StorageUsed" },
		{ "storage_size", "StorageSize" },
		{ "exposed_path", "ExposedPath" },
	};
	_cleanup_json_ json_object *a = json_object_new_array();
	json_object *o;
	int r;

	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = json_array_add_new(a, &o);
		if (r < 0)
			return r;
		for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
			r = json_add_from(o, keys[k][0], l[i].props, keys[k][1]);
			if (r < 0)
				return r;
		}
	}
	return vssctl_print_json(f, a);
}

static void shadow_print(FILE *f, const BusValue *p)
{
	char attrs[512], used[64], size[64];
	double progress;
	const char *exposed = dict_str(p, "ExposedPath", "");

	fprintf(f, "      Shadow Copy ID: %s\n", dict_str(p, "Id", "-"));
	fprintf(f, "         Original Volume: %s (%s)\n", dict_str(p, "Volume", "-"),
	        dict_str(p, "OriginalDevice", "-"));
	fprintf(f, "         Shadow Copy Volume: %s\n", dict_str(p, "Device", "-"));
	fprintf(f, "         Provider: %s\n", dict_str(p, "Provider", "-"));
	fprintf(f, "         Attributes: %s\n",
	        vssctl_attributes_to_string((uint32_t)dict_u64(p, "Attributes", 0), attrs,
	                                    sizeof(attrs)));
	fprintf(f, "         State: %s\n", dict_str(p, "State", "-"));
	fprintf(f, "         Storage used: %s of %s\n",
	        vssctl_bytes_to_string(dict_u64(p, "StorageUsed", 0), used, sizeof(used)),
	        vssctl_bytes_to_string(dict_u64(p, "StorageSize", 0), size, sizeof(size)));
	if (exposed[0])
		fprintf(f, "         Exposed at: %s\n", exposed);
	if (streq(dict_str(p, "State", ""), "merging") &&
	    busutil_dict_get_double(p, "RevertProgress", &progress) >= 0)
		fprintf(f, "         Revert progress: %.0f%%\n", progress * 100.0);
}

int vssctl_print_shadows(FILE *f, const BusValue *objects, const VssctlShadowFilter *filter,
                         bool json)
{
	_cleanup_(busutil_value_freep) BusValue *safe = NULL;
	_cleanup_free_ Shadow *l = NULL;
	size_t n = 0;
	int r;

	r = text_safe(json, &objects, &safe);
	if (r < 0)
		return r;
	r = shadows_collect(objects, filter, &l, &n);
	if (r < 0)
		return r;
	if (json)
		return shadows_json(f, l, n);
	if (n == 0) {
		fprintf(f, "No items found that satisfy the query.\n");
		return 0;
	}
	for (size_t i = 0; i < n;) {
		const BusValue *set = set_find(objects, l[i].set_id);
		const char *description = dict_str(set, "Description", "");
		char when[64];
		size_t k = 0;

		while (i + k < n && streq(l[i + k].set_id, l[i].set_id))
			k++;
		fprintf(f, "%sContents of shadow copy set ID: %s\n", i ? "\n" : "", l[i].set_id);
		fprintf(f, "   Contained %zu shadow cop%s at creation time: %s\n", k,
		        k == 1 ? "y" : "ies",
		        vssctl_time_to_string(l[i].set_time, when, sizeof(when)));
		fprintf(f, "   Context: %s\n", dict_str(l[i].props, "Context", "-"));
		if (description[0])
			fprintf(f, "   Description: %s\n", description);
		/* said only when the shadow copies do not share one instant (vssd(8)) */
		if (streq(dict_str(set, "Instant", "one"), "per-volume"))
			fprintf(f, "   Instant: per-volume (some volumes taken each at its own "
			           "moment, after the thaw)\n");
		for (size_t j = i; j < i + k; j++)
			shadow_print(f, l[j].props);
		i += k;
	}
	return 0;
}

int vssctl_print_reverts(FILE *f, const BusValue *objects, const char *for_volume, bool json)
{
	VssctlShadowFilter filter = { .volume = for_volume, .merging = true };
	_cleanup_(busutil_value_freep) BusValue *safe = NULL;
	_cleanup_free_ Shadow *l = NULL;
	_cleanup_json_ json_object *a = NULL;
	json_object *o;
	size_t n = 0;
	double progress;
	int r;

	r = text_safe(json, &objects, &safe);
	if (r < 0)
		return r;
	r = shadows_collect(objects, &filter, &l, &n);
	if (r < 0)
		return r;
	if (!json) {
		if (n == 0)
			fprintf(f, "No reverts in progress.\n");
		for (size_t i = 0; i < n; i++) {
			fprintf(f, "%sRevert of volume: %s\n", i ? "\n" : "", l[i].volume);
			fprintf(f, "   Shadow Copy ID: %s\n", l[i].id);
			fprintf(f, "   Shadow copy set ID: %s\n", l[i].set_id);
			if (busutil_dict_get_double(l[i].props, "RevertProgress", &progress) >= 0)
				fprintf(f, "   Progress: %.0f%%\n", progress * 100.0);
			else
				fprintf(f, "   Progress: unknown\n");
		}
		return 0;
	}
	a = json_object_new_array();
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = json_array_add_new(a, &o);
		if (r >= 0)
			r = json_add_from(o, "id", l[i].props, "Id");
		if (r >= 0)
			r = json_add_from(o, "set_id", l[i].props, "SetId");
		if (r >= 0)
			r = json_add_from(o, "volume", l[i].props, "Volume");
		if (r >= 0)
			r = json_add_from(o, "state", l[i].props, "State");
		if (r >= 0)
			r = json_add_from(o, "revert_progress", l[i].props, "RevertProgress");
		if (r < 0)
			return r;
	}
	return vssctl_print_json(f, a);
}

static int list_check(const BusValue *list)
{
	if (!list || list->type != DBUS_TYPE_ARRAY)
		return -EBADMSG;
	for (size_t i = 0; i < list->n; i++)
		if (list->items[i].type != BUSUTIL_DICT)
			return -EBADMSG;
	return 0;
}

static int list_json(FILE *f, const BusValue *list)
{
	_cleanup_json_ json_object *a = vssctl_value_to_json(list);

	return a ? vssctl_print_json(f, a) : -ENOMEM;
}

int vssctl_print_volumes(FILE *f, const BusValue *list, bool json)
{
	_cleanup_(busutil_value_freep) BusValue *safe = NULL;
	int r = list_check(list);

	if (r < 0 || json)
		return r < 0 ? r : list_json(f, list);
	r = text_safe(json, &list, &safe);
	if (r < 0)
		return r;
	if (list->n == 0)
		fprintf(f, "No items found that satisfy the query.\n");
	for (size_t i = 0; i < list->n; i++) {
		const BusValue *d = &list->items[i];
		const char *mountpoint = dict_str(d, "mountpoint", "");
		char size[64];
		bool supported = false, managed = false;

		(void)busutil_dict_get_bool(d, "supported", &supported);
		(void)busutil_dict_get_bool(d, "managed", &managed);
		fprintf(f, "%sVolume path: %s\n", i ? "\n" : "", dict_str(d, "volume", "-"));
		fprintf(f, "   Device: %s\n", dict_str(d, "device", "-"));
		fprintf(f, "   Size: %s\n",
		        vssctl_bytes_to_string(dict_u64(d, "size-bytes", 0), size, sizeof(size)));
		if (supported)
			fprintf(f, "   Supported: yes, by %s\n", dict_str(d, "provider", "-"));
		else
			fprintf(f, "   Supported: no (%s)\n",
			        dict_str(d, "reason", "no reason given"));
		fprintf(f, "   Shadow copies: %" PRIu64 "\n", dict_u64(d, "snapshot-count", 0));
		if (mountpoint[0])
			fprintf(f, "   Mount point: %s\n", mountpoint);
		if (managed)
			fprintf(f, "   Managed by vssd: yes\n");
	}
	return 0;
}

int vssctl_print_providers(FILE *f, const BusValue *list, bool json)
{
	_cleanup_(busutil_value_freep) BusValue *safe = NULL;
	int r = list_check(list);

	if (r < 0 || json)
		return r < 0 ? r : list_json(f, list);
	r = text_safe(json, &list, &safe);
	if (r < 0)
		return r;
	if (list->n == 0)
		fprintf(f, "No items found that satisfy the query.\n");
	for (size_t i = 0; i < list->n; i++) {
		const BusValue *d = &list->items[i];

		fprintf(f, "%sProvider name: '%s'\n", i ? "\n" : "", dict_str(d, "name", "-"));
		fprintf(f, "   Provider type: %s\n", dict_str(d, "type", "-"));
		fprintf(f, "   Provider Id: %s\n", dict_str(d, "id", "-"));
		fprintf(f, "   Version: %s\n", dict_str(d, "version", "-"));
	}
	return 0;
}

int vssctl_print_writers(FILE *f, const BusValue *list, bool json)
{
	_cleanup_(busutil_value_freep) BusValue *safe = NULL;
	int r = list_check(list);

	if (r < 0 || json)
		return r < 0 ? r : list_json(f, list);
	r = text_safe(json, &list, &safe);
	if (r < 0)
		return r;
	if (list->n == 0)
		fprintf(f, "No writers are registered.\n");
	for (size_t i = 0; i < list->n; i++) {
		const BusValue *d = &list->items[i];
		const char *instance_name = dict_str(d, "instance-name", "");
		const char *last_error = dict_str(d, "last-error", "");
		const char *failure = dict_str(d, "failure-message", "");

		fprintf(f, "%sWriter name: '%s'\n", i ? "\n" : "", dict_str(d, "name", "-"));
		fprintf(f, "   Writer Id: %s\n", dict_str(d, "class-id", "-"));
		fprintf(f, "   Writer Instance Id: %s\n", dict_str(d, "instance-id", "-"));
		if (instance_name[0])
			fprintf(f, "   Writer Instance Name: %s\n", instance_name);
		fprintf(f, "   State: [%" PRIu64 "] %s\n", dict_u64(d, "state", 0),
		        dict_str(d, "state-name", "Unknown"));
		fprintf(f, "   Last error: %s\n", last_error[0] ? last_error : "No error");
		if (failure[0])
			fprintf(f, "   Failure message: %s\n", failure);
	}
	return 0;
}

/* "yes" / "no" of a boolean key (absent: fallback) */
static const char *dict_yes(const BusValue *d, const char *key, bool fallback)
{
	bool b = fallback;

	(void)busutil_dict_get_bool(d, key, &b);
	return b ? "yes" : "no";
}

/* The strings of the array under key, one per line at indent (none: "(none)") */
static void print_strings(FILE *f, const BusValue *d, const char *key, const char *indent)
{
	const BusValue *l = busutil_dict_get(d, key);
	size_t n = 0;

	for (size_t i = 0; l && i < l->n; i++)
		if (busutil_value_is_string(&l->items[i])) {
			fprintf(f, "%s%s\n", indent, l->items[i].str);
			n++;
		}
	if (n == 0)
		fprintf(f, "%s(none)\n", indent);
}

/* File sets (files, exclude-files, alternate-location-mappings): "PATH/FILESPEC" and what else
 * each says, one per line at indent */
static void print_file_sets(FILE *f, const BusValue *d, const char *key, const char *indent)
{
	const BusValue *l = busutil_dict_get(d, key);

	if (!l || l->n == 0) {
		fprintf(f, "%s(none)\n", indent);
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		const BusValue *e = &l->items[i];
		const char *path = dict_str(e, "path", "-"), *spec = dict_str(e, "filespec", "*");
		const char *kind = dict_str(e, "kind", ""),
			   *alt = dict_str(e, "alternate-path", "");
		bool recursive = false;

		(void)busutil_dict_get_bool(e, "recursive", &recursive);
		fprintf(f, "%s%s%s%s", indent, path,
		        path[0] && path[strlen(path) - 1] == '/' ? "" : "/", spec);
		if (kind[0])
			fprintf(f, " [%s]", kind);
		if (recursive)
			fprintf(f, " (recursive)");
		if (alt[0])
			fprintf(f, " -> %s", alt);
		fputc('\n', f);
	}
}

static void print_component(FILE *f, const BusValue *c)
{
	const char *name = dict_str(c, "name", "-"), *lp = dict_str(c, "logical-path", "");
	const char *caption = dict_str(c, "caption", "");

	/* diskshadow's "+ Component" block; the full path is the logical path and the name */
	fprintf(f, "   + Component \"%s%s%s\"\n", lp, lp[0] ? "\\" : "", name);
	fprintf(f, "      - Name: %s\n", name);
	fprintf(f, "      - Logical path: %s\n", lp);
	fprintf(f, "      - Caption: %s\n", caption);
	fprintf(f, "      - Type: %s\n", dict_str(c, "type", "filegroup"));
	fprintf(f, "      - Is selectable: %s\n", dict_yes(c, "selectable", true));
	fprintf(f, "      - Paths affected by this component:\n");
	print_strings(f, c, "paths", "         ");
	fprintf(f, "      - Volumes affected by this component:\n");
	print_strings(f, c, "volumes", "         ");
	fprintf(f, "      - Files:\n");
	print_file_sets(f, c, "files", "         ");
	fprintf(f, "      - Component dependencies:\n");
	print_strings(f, c, "dependencies", "         ");
}

int vssctl_print_writers_detailed(FILE *f, const BusValue *list, bool json)
{
	_cleanup_(busutil_value_freep) BusValue *safe = NULL;
	int r = list_check(list);

	if (r < 0 || json)
		return r < 0 ? r : list_json(f, list);
	r = text_safe(json, &list, &safe);
	if (r < 0)
		return r;
	if (list->n == 0)
		fprintf(f, "No writers are registered.\n");
	for (size_t i = 0; i < list->n; i++) {
		const BusValue *d = &list->items[i];
		const BusValue *rm = busutil_dict_get(d, "restore-method");
		const BusValue *comps = busutil_dict_get(d, "components");
		const char *instance_name = dict_str(d, "instance-name", "");
		const char *last_error = dict_str(d, "last-error", "");
		const char *failure = dict_str(d, "failure-message", "");

		fprintf(f, "%sWriter name: '%s'\n", i ? "\n" : "", dict_str(d, "name", "-"));
		fprintf(f, "   Writer Id: %s\n", dict_str(d, "class-id", "-"));
		fprintf(f, "   Writer Instance Id: %s\n", dict_str(d, "instance-id", "-"));
		if (instance_name[0])
			fprintf(f, "   Writer Instance Name: %s\n", instance_name);
		fprintf(f, "   Usage: %s\n", dict_str(d, "usage", "-"));
		fprintf(f, "   State: [%" PRIu64 "] %s\n", dict_u64(d, "state", 0),
		        dict_str(d, "state-name", "Unknown"));
		fprintf(f, "   Last error: %s\n", last_error[0] ? last_error : "No error");
		if (failure[0])
			fprintf(f, "   Failure message: %s\n", failure);
		if (!comps) { /* unregistered while listed: no metadata */
			fprintf(f, "   (the writer left before its metadata could be read)\n");
			continue;
		}
		if (rm && busutil_dict_get_string(rm, "method")) {
			const char *service = dict_str(rm, "service", "");

			fprintf(f, "   Restore method: %s\n", dict_str(rm, "method", "-"));
			if (service[0])
				fprintf(f, "   Restore service: %s\n", service);
			fprintf(f, "   Writer restore: %s\n", dict_str(rm, "writer-restore", "-"));
			fprintf(f, "   Requires reboot after restore: %s\n",
			        dict_yes(rm, "reboot-required", false));
		} else
			fprintf(f, "   Restore method: (none)\n");
		fprintf(f, "   Backup schema:\n");
		print_strings(f, d, "backup-schema", "      ");
		fprintf(f, "   Excluded files:\n");
		print_file_sets(f, d, "exclude-files", "      ");
		fprintf(f, "   Alternate location mappings:\n");
		print_file_sets(f, d, "alternate-location-mappings", "      ");
		fprintf(f, "   Components: %zu\n", comps->n);
		for (size_t k = 0; k < comps->n; k++)
			print_component(f, &comps->items[k]);
	}
	return 0;
}

int vssctl_print_storage(FILE *f, const BusValue *list, const char *for_volume, bool json)
{
	_cleanup_(busutil_value_freep) BusValue *safe = NULL;
	_cleanup_free_ const BusValue **keep = NULL;
	_cleanup_json_ json_object *a = NULL;
	size_t n = 0;
	int r = list_check(list);

	if (r >= 0)
		r = text_safe(json, &list, &safe);
	if (r < 0)
		return r;
	keep = calloc(list->n + 1, sizeof(BusValue *));
	if (!keep)
		return -ENOMEM;
	for (size_t i = 0; i < list->n; i++)
		if (vssctl_same_volume(for_volume,
		                       busutil_dict_get_string(&list->items[i], "volume"), NULL))
			keep[n++] = &list->items[i];
	if (json) {
		a = json_object_new_array();
		if (!a)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			json_object *o = vssctl_value_to_json(keep[i]);

			if (!o || json_object_array_add(a, o) < 0) {
				json_object_put(o);
				return -ENOMEM;
			}
		}
		return vssctl_print_json(f, a);
	}
	if (n == 0)
		fprintf(f, "No items found that satisfy the query.\n");
	for (size_t i = 0; i < n; i++) {
		const BusValue *d = keep[i];
		char b[64];

		fprintf(f, "%sShadow Copy Storage association\n", i ? "\n" : "");
		fprintf(f, "   For volume: %s\n", dict_str(d, "volume", "-"));
		fprintf(f, "   Shadow Copy Storage location: %s\n", dict_str(d, "location", "-"));
		fprintf(f, "   Used Shadow Copy Storage space: %s\n",
		        vssctl_bytes_to_string(dict_u64(d, "used-bytes", 0), b, sizeof(b)));
		fprintf(f, "   Allocated Shadow Copy Storage space: %s\n",
		        vssctl_bytes_to_string(dict_u64(d, "allocated-bytes", 0), b, sizeof(b)));
		fprintf(f, "   Maximum Shadow Copy Storage space: %s\n",
		        vssctl_bytes_to_string(dict_u64(d, "max-bytes", 0), b, sizeof(b)));
	}
	return 0;
}

int vssctl_print_created(FILE *f, const char *set_id, const BusValue *const *snapshots, size_t n,
                         bool json)
{
	_cleanup_json_ json_object *o = NULL;
	json_object *a, *s;
	int r;

	if (!json) {
		fprintf(f, "Successfully created shadow copy set %s\n", set_id);
		for (size_t i = 0; i < n; i++) {
			_cleanup_(busutil_value_freep) BusValue *safe = NULL;
			const BusValue *p = snapshots[i];

			r = text_safe(json, &p, &safe);
			if (r < 0)
				return r;
			fprintf(f, "   Shadow Copy ID: %s\n", dict_str(p, "Id", "-"));
			fprintf(f, "      Original Volume: %s\n", dict_str(p, "Volume", "-"));
			fprintf(f, "      Shadow Copy Volume: %s\n", dict_str(p, "Device", "-"));
		}
		return 0;
	}
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	r = json_add_string(o, "set_id", set_id);
	if (r < 0)
		return r;
	a = json_object_new_array();
	if (!a || json_object_object_add(o, "snapshots", a) < 0) {
		json_object_put(a);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		r = json_array_add_new(a, &s);
		if (r >= 0)
			r = json_add_from(s, "id", snapshots[i], "Id");
		if (r >= 0)
			r = json_add_from(s, "volume", snapshots[i], "Volume");
		if (r >= 0)
			r = json_add_from(s, "device", snapshots[i], "Device");
		if (r < 0)
			return r;
	}
	return vssctl_print_json(f, o);
}

int vssctl_print_deleted(FILE *f, unsigned count, bool json)
{
	_cleanup_json_ json_object *o = NULL;
	json_object *n;

	if (!json) {
		fprintf(f, "Deleted %u shadow cop%s.\n", count, count == 1 ? "y" : "ies");
		return 0;
	}
	o = json_object_new_object();
	n = json_object_new_uint64(count);
	if (!o || !n || json_object_object_add(o, "deleted", n) < 0) {
		json_object_put(n);
		return -ENOMEM;
	}
	return vssctl_print_json(f, o);
}

int vssctl_print_exposed(FILE *f, const char *id, const char *exposed, const char *device,
                         bool json)
{
	_cleanup_json_ json_object *o = NULL;
	int r;

	if (!json) {
		_cleanup_free_ char *e = NULL;

		r = text_escape(exposed && exposed[0] ? exposed : device, ESCAPE_KEEP_BACKSLASH,
		                &e);
		if (r < 0)
			return r;
		fprintf(f, "%s\n", e);
		return 0;
	}
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	r = json_add_string(o, "id", id);
	if (r >= 0)
		r = json_add_string(o, "exposed_path", exposed);
	if (r >= 0)
		r = json_add_string(o, "device", device);
	return r < 0 ? r : vssctl_print_json(f, o);
}

int vssctl_print_volume_added(FILE *f, const char *volume, bool json)
{
	_cleanup_json_ json_object *o = NULL;
	int r;

	if (!json) {
		_cleanup_free_ char *e = NULL;

		r = text_escape(volume, ESCAPE_KEEP_BACKSLASH, &e);
		if (r < 0)
			return r;
		fprintf(f, "%s\n", e);
		return 0;
	}
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	r = json_add_string(o, "volume", volume);
	return r < 0 ? r : vssctl_print_json(f, o);
}
