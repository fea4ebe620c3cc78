/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state.c - /var/lib/vssd/state.json: sets, snapshots, volumes, storage; atomic, fully validated */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <json.h>

#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/state.h"

#define NUMBER_MAX        ((uint64_t)INT64_MAX) /* json-c clamps larger numbers silently */
#define JSON_DEPTH        8                     /* ours nest 5 deep */
#define OBJECT_KEYS       32                    /* ours have 13 at most */
#define WHERE_MAX         128                   /* "sets[<20 digits>].snapshots[<20 digits>]" */
#define CHUNK_SECTORS_MIN 8                     /* 4 KiB */
#define CHUNK_SECTORS_MAX 1024                  /* 512 KiB */

DEFINE_POINTER_CLEANUP(json_object_putp, json_object *, json_object_put)
DEFINE_POINTER_CLEANUP(json_tokener_freep, struct json_tokener *, json_tokener_free)

static const char *const set_contexts[] = { "backup",
	                                    "file-share-backup",
	                                    "persistent",
	                                    "app-rollback",
	                                    "client-accessible",
	                                    "nas-rollback",
	                                    "client-accessible-writers",
	                                    NULL };
static const char *const backup_types[] = { "full",         "copy", "incremental",
	                                    "differential", "log",  NULL };
static const char *const set_states[] = { "creating", "created", "completed", "deleting", NULL };
static const char *const snapshot_states[] = { "preparing", "created",  "invalid",
	                                       "merging",   "deleting", NULL };

/* ---- destructors ----------------------------------------------------------------------------- */

void state_snapshot_done(StateSnapshot *snap)
{
	free(snap->volume);
	free(snap->volume_name);
	free(snap->snap_name);
	free(snap->cow_path);
	free(snap->state);
	free(snap->exposed_path);
	*snap = (StateSnapshot){ 0 };
}

void state_set_done(StateSet *set)
{
	free(set->context);
	free(set->backup_type);
	free(set->description);
	free(set->state);
	for (size_t i = 0; i < set->n_snapshots; i++)
		state_snapshot_done(&set->snapshots[i]);
	free(set->snapshots);
	*set = (StateSet){ 0 };
}

void state_volume_done(StateVolume *v)
{
	free(v->name);
	free(v->device);
	*v = (StateVolume){ 0 };
}

void state_storage_done(StateStorage *st)
{
	free(st->volume);
	free(st->location);
	*st = (StateStorage){ 0 };
}

void state_done(State *s)
{
	for (size_t i = 0; i < s->n_sets; i++)
		state_set_done(&s->sets[i]);
	free(s->sets);
	for (size_t i = 0; i < s->n_volumes; i++)
		state_volume_done(&s->volumes[i]);
	free(s->volumes);
	for (size_t i = 0; i < s->n_storage; i++)
		state_storage_done(&s->storage[i]);
	free(s->storage);
	*s = STATE_NULL;
}

/* ---- failures -------------------------------------------------------------------------------- */

/* Where failures go: the file name for messages, the errno (-EBADMSG when loading, -EINVAL when
 * validating for a save) and the caller's message pointer. Every check stops at the first. */
typedef struct Ctx {
	const char *name;
	int error;
	char **ret_error;
} Ctx;

_printf_(3, 0) static int vfail(const Ctx *x, const char *location, const char *fmt, va_list ap)
{
	_cleanup_free_ char *reason = NULL;

	if (!x->ret_error)
		return x->error;
	*x->ret_error = NULL;
	if (vasprintf(&reason, fmt, ap) < 0) { /* the pointers are undefined after a failure */
		reason = NULL;
		return x->error;
	}
	if (asprintf(x->ret_error, "%s%s: %s", x->name, location, reason) < 0)
		*x->ret_error = NULL;
	return x->error;
}

/* "<name>: <where>.<key>: <reason>"; where may be "" and key NULL. */
_printf_(4, 5) static int fail(const Ctx *x, const char *where, const char *key, const char *fmt,
                               ...)
{
	_cleanup_free_ char *location = NULL;
	va_list ap;
	int r;

	if (asprintf(&location, ": %s%s%s", where, *where && key ? "." : "", key ? key : "") < 0) {
		location = NULL;
		return -ENOMEM;
	}
	if (!*where && !key)
		location[0] = 0;
	va_start(ap, fmt);
	r = vfail(x, location, fmt, ap);
	va_end(ap);
	return r;
}

/* "<name>:<line>:<column>: <reason>" for a byte offset into text. */
_printf_(4, 5) static int fail_at(const Ctx *x, const char *text, size_t offset, const char *fmt,
                                  ...)
{
	size_t line = 1, column = 1;
	char location[64];
	va_list ap;
	int r;

	for (size_t i = 0; i < offset; i++) {
		column = text[i] == '\n' ? 1 : column + 1;
		line += text[i] == '\n';
	}
	snprintf(location, sizeof(location), ":%zu:%zu", line, column);
	va_start(ap, fmt);
	r = vfail(x, location, fmt, ap);
	va_end(ap);
	return r;
}

/* A string that may be quoted in a message: short, printable. */
static bool printable(const char *s, size_t n)
{
	if (n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (streq(*l, s))
			return true;
	return false;
}

/* "a, b, c", for messages; NULL when out of memory. */
static char *join(const char *const *l)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (!f)
		return NULL;
	for (size_t i = 0; l[i]; i++)
		fprintf(f, "%s%s", i ? ", " : "", l[i]);
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* ---- rules on values, shared by load and save ------------------------------------------------ */

/* Present, at most max bytes, no control characters: then it may be quoted in messages. */
static int check_string(const Ctx *x, const char *where, const char *key, const char *s, size_t max)
{
	if (!s)
		return fail(x, where, key, "missing");
	if (strnlen(s, max + 1) > max)
		return fail(x, where, key, "longer than %zu bytes", max);
	if (!valid_text_or_empty(s, max))
		return fail(x, where, key, "contains a control character");
	return 0;
}

static int check_path(const Ctx *x, const char *where, const char *key, const char *s)
{
	int r = check_string(x, where, key, s, VSSD_PATH_MAX);

	if (r < 0)
		return r;
	if (!valid_abs_path(s))
		return fail(x, where, key, "\"%s\" is not a clean absolute path", s);
	return 0;
}

static int check_dm_name(const Ctx *x, const char *where, const char *key, const char *s)
{
	int r = check_string(x, where, key, s, VSSD_DM_NAME_MAX);

	if (r < 0)
		return r;
	if (!valid_dm_name(s))
		return fail(x, where, key, "\"%s\" is not a valid device-mapper name", s);
	return 0;
}

static int check_enum(const Ctx *x, const char *where, const char *key, const char *s,
                      const char *const *values)
{
	_cleanup_free_ char *expected = NULL;
	int r = check_string(x, where, key, s, VSSD_STRING_MAX);

	if (r < 0 || in_list(values, s))
		return r;
	expected = join(values);
	return fail(x, where, key, "unknown value \"%s\"; expected one of: %s", s,
	            strempty(expected));
}

static int check_number(const Ctx *x, const char *where, const char *key, uint64_t v, uint64_t min,
                        uint64_t max)
{
	if (v < min || v > max)
		return fail(x, where, key, "%" PRIu64 " is out of range %" PRIu64 "..%" PRIu64, v,
		            min, max);
	return 0;
}

static int check_id(const Ctx *x, const char *where, const char *key, const VssId *id)
{
	return vssid_is_null(id) ? fail(x, where, key, "the null UUID is not an id") : 0;
}

static int check_snapshot(const Ctx *x, const char *where, const StateSet *set,
                          const StateSnapshot *snap)
{
	int r;

	if ((r = check_id(x, where, "id", &snap->id)) < 0)
		return r;
	if (!vssid_equal(&snap->set_id, &set->id))
		return fail(x, where, "set_id", "differs from the id of the set that holds it");
	if ((r = check_path(x, where, "volume", snap->volume)) < 0 ||
	    (r = check_dm_name(x, where, "volume_name", snap->volume_name)) < 0 ||
	    (r = check_dm_name(x, where, "snap_name", snap->snap_name)) < 0 ||
	    (r = check_path(x, where, "cow_path", snap->cow_path)) < 0 ||
	    (r = check_number(x, where, "sectors", snap->sectors, 1, NUMBER_MAX)) < 0 ||
	    (r = check_number(x, where, "cow_bytes", snap->cow_bytes, 1, NUMBER_MAX)) < 0 ||
	    (r = check_number(x, where, "chunk_sectors", snap->chunk_sectors, CHUNK_SECTORS_MIN,
	                      CHUNK_SECTORS_MAX)) < 0 ||
	    (r = check_number(x, where, "creation_time", snap->creation_time, 0, NUMBER_MAX)) < 0 ||
	    (r = check_enum(x, where, "state", snap->state, snapshot_states)) < 0)
		return r;
	if (snap->chunk_sectors & (snap->chunk_sectors - 1))
		return fail(x, where, "chunk_sectors", "%" PRIu32 " is not a power of two",
		            snap->chunk_sectors);
	if (snap->exposed_path)
		return check_path(x, where, "exposed_path", snap->exposed_path);
	return 0;
}

static int check_set(const Ctx *x, const char *where, const StateSet *set)
{
	char w[WHERE_MAX + 32]; /* where + ".snapshots[<20 digits>]" */
	int r;

	if ((r = check_id(x, where, "id", &set->id)) < 0 ||
	    (r = check_enum(x, where, "context", set->context, set_contexts)) < 0 ||
	    (r = check_enum(x, where, "backup_type", set->backup_type, backup_types)) < 0 ||
	    (r = check_string(x, where, "description", set->description, VSSD_STRING_MAX)) < 0 ||
	    (r = check_enum(x, where, "state", set->state, set_states)) < 0 ||
	    (r = check_number(x, where, "creation_time", set->creation_time, 0, NUMBER_MAX)) < 0 ||
	    (r = check_number(x, where, "snapshots", set->n_snapshots, 0,
	                      VSSD_VOLUMES_PER_SET_MAX)) < 0)
		return r;
	for (size_t j = 0; j < set->n_snapshots; j++) {
		snprintf(w, sizeof(w), "%s.snapshots[%zu]", where, j);
		r = check_snapshot(x, w, set, &set->snapshots[j]);
		if (r < 0)
			return r;
		/* a volume appears once per set (VSS_E_OBJECT_ALREADY_EXISTS otherwise) */
		for (size_t k = 0; k < j; k++)
			if (streq(set->snapshots[k].volume_name, set->snapshots[j].volume_name))
				return fail(x, w, "volume_name",
				            "\"%s\" is also the volume of %s.snapshots[%zu]",
				            set->snapshots[j].volume_name, where, k);
	}
	return 0;
}

static int check_volume(const Ctx *x, const char *where, const StateVolume *v)
{
	int r;

	if ((r = check_dm_name(x, where, "name", v->name)) < 0 ||
	    (r = check_path(x, where, "device", v->device)) < 0)
		return r;
	return check_number(x, where, "sectors", v->sectors, 1, NUMBER_MAX);
}

static int check_storage(const Ctx *x, const char *where, const StateStorage *st)
{
	int r;

	if ((r = check_path(x, where, "volume", st->volume)) < 0 ||
	    (r = check_path(x, where, "location", st->location)) < 0)
		return r;
	return check_number(x, where, "max_bytes", st->max_bytes, 0, NUMBER_MAX);
}

/* ---- rules across entries: unique ids, names and paths; per-volume limit --------------------- */

/* One occurrence of a key: the key and where it is. */
typedef struct Ref {
	const void *key;   /* const char * or const VssId * */
	const char *array; /* "sets", "volumes" or "storage" */
	size_t i, j;       /* element, and snapshot within a set (SIZE_MAX: the element itself) */
} Ref;

static int ref_cmp_position(const Ref *a, const Ref *b)
{
	if (a->i != b->i)
		return a->i < b->i ? -1 : 1;
	return a->j == b->j ? 0 : a->j < b->j ? -1 : 1;
}

static int ref_cmp_string(const void *pa, const void *pb)
{
	const Ref *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);

	return c ? c : ref_cmp_position(a, b);
}

static int ref_cmp_id(const void *pa, const void *pb)
{
	const Ref *a = pa, *b = pb;
	int c = memcmp(a->key, b->key, sizeof(VssId));

	return c ? c : ref_cmp_position(a, b);
}

static char *ref_where(const Ref *r, char buf[static WHERE_MAX])
{
	if (r->j == SIZE_MAX)
		snprintf(buf, WHERE_MAX, "%s[%zu]", r->array, r->i);
	else
		snprintf(buf, WHERE_MAX, "%s[%zu].snapshots[%zu]", r->array, r->i, r->j);
	return buf;
}

/* Sorts refs by key, then position, and fails on the first key seen twice, naming both. */
static int check_unique(const Ctx *x, Ref *refs, size_t n, bool ids, const char *key)
{
	char wa[WHERE_MAX], wb[WHERE_MAX], id[VSSID_STRING_MAX];

	qsort(refs, n, sizeof(Ref), ids ? ref_cmp_id : ref_cmp_string);
	for (size_t k = 1; k < n; k++) {
		const Ref *a = &refs[k - 1], *b = &refs[k];

		if (ids ? !vssid_equal(a->key, b->key) : !streq(a->key, b->key))
			continue;
		return fail(x, ref_where(b, wb), key, "%s%s%s is also the %s of %s",
		            ids ? "" : "\"",
		            ids ? vssid_to_string(b->key, id) : (const char *)b->key,
		            ids ? "" : "\"", key, ref_where(a, wa));
	}
	return 0;
}

/* Refs to one field of every snapshot (offset into StateSnapshot); NULL strings are left out. */
static size_t collect_snapshot_refs(const State *s, size_t offset, bool id, Ref *refs)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_sets; i++)
		for (size_t j = 0; j < s->sets[i].n_snapshots; j++) {
			const uint8_t *field = (const uint8_t *)&s->sets[i].snapshots[j] + offset;
			const void *key = id ? (const void *)field : *(const char *const *)field;

			if (key)
				refs[n++] = (Ref){ .key = key, .array = "sets", .i = i, .j = j };
		}
	return n;
}

static int check_snapshots_per_volume(const Ctx *x, Ref *refs, size_t n)
{
	char w[WHERE_MAX];
	size_t run = 1;

	qsort(refs, n, sizeof(Ref), ref_cmp_string);
	for (size_t k = 1; k < n; k++) {
		run = streq(refs[k - 1].key, refs[k].key) ? run + 1 : 1;
		if (run > VSSD_SNAPSHOTS_PER_VOLUME_MAX)
			return fail(x, ref_where(&refs[k], w), "volume_name",
			            "more than %d snapshots of volume \"%s\"",
			            VSSD_SNAPSHOTS_PER_VOLUME_MAX, (const char *)refs[k].key);
	}
	return 0;
}

static int check_references(const Ctx *x, const State *s)
{
	static const struct {
		const char *key;
		size_t offset;
		bool id;
	} unique[] = {
		{ "id", offsetof(StateSnapshot, id), true },
		{ "snap_name", offsetof(StateSnapshot, snap_name), false },
		{ "cow_path", offsetof(StateSnapshot, cow_path), false },
		{ "exposed_path", offsetof(StateSnapshot, exposed_path), false },
	};
	_cleanup_free_ Ref *refs = NULL;
	size_t n_snapshots = 0, n;
	int r;

	for (size_t i = 0; i < s->n_sets; i++)
		n_snapshots += s->sets[i].n_snapshots;
	refs = calloc(MAX(MAX(n_snapshots, s->n_sets), MAX(s->n_volumes, s->n_storage)) + 1,
	              sizeof(Ref));
	if (!refs)
		return -ENOMEM;

	for (size_t i = 0; i < s->n_sets; i++)
		refs[i] = (Ref){ .key = &s->sets[i].id, .array = "sets", .i = i, .j = SIZE_MAX };
	r = check_unique(x, refs, s->n_sets, true, "id");
	if (r < 0)
		return r;
	for (size_t u = 0; u < ELEMENTSOF(unique); u++) {
		n = collect_snapshot_refs(s, unique[u].offset, unique[u].id, refs);
		r = check_unique(x, refs, n, unique[u].id, unique[u].key);
		if (r < 0)
			return r;
	}
	n = collect_snapshot_refs(s, offsetof(StateSnapshot, volume_name), false, refs);
	r = check_snapshots_per_volume(x, refs, n);
	if (r < 0)
		return r;

	for (size_t i = 0; i < s->n_volumes; i++)
		refs[i] = (Ref){
			.key = s->volumes[i].name, .array = "volumes", .i = i, .j = SIZE_MAX
		};
	r = check_unique(x, refs, s->n_volumes, false, "name");
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n_storage; i++)
		refs[i] = (Ref){
			.key = s->storage[i].volume, .array = "storage", .i = i, .j = SIZE_MAX
		};
	return check_unique(x, refs, s->n_storage, false, "volume");
}

static int check_state(const Ctx *x, const State *s)
{
	char w[WHERE_MAX];
	int r;

	if (s->version != STATE_VERSION)
		return fail(x, "", "version", "%u is not supported; this vssd handles version %d",
		            s->version, STATE_VERSION);
	for (size_t i = 0; i < s->n_sets; i++) {
		snprintf(w, sizeof(w), "sets[%zu]", i);
		if ((r = check_set(x, w, &s->sets[i])) < 0)
			return r;
	}
	for (size_t i = 0; i < s->n_volumes; i++) {
		snprintf(w, sizeof(w), "volumes[%zu]", i);
		if ((r = check_volume(x, w, &s->volumes[i])) < 0)
			return r;
	}
	for (size_t i = 0; i < s->n_storage; i++) {
		snprintf(w, sizeof(w), "storage[%zu]", i);
		if ((r = check_storage(x, w, &s->storage[i])) < 0)
			return r;
	}
	return check_references(x, s);
}

int state_validate(const State *s, const char *name, char **ret_error)
{
	const Ctx x = { .name = name, .error = -EINVAL, .ret_error = ret_error };

	return check_state(&x, s);
}

/* ---- the JSON form: one table per object drives reading, writing and the unknown-key check --- */

typedef enum FieldType {
	FIELD_ID,             /* VssId as "8-4-4-4-12" */
	FIELD_STRING,         /* char * */
	FIELD_STRING_OR_NULL, /* char *, JSON null for NULL */
	FIELD_U32,            /* uint32_t */
	FIELD_U64,            /* uint64_t, at most NUMBER_MAX */
	FIELD_BOOL,           /* bool */
	FIELD_U64_OPTIONAL,   /* uint64_t, at most NUMBER_MAX; missing and not written when 0 */
} FieldType;

typedef struct Field {
	const char *key;
	FieldType type;
	size_t offset;
} Field;

#define FIELD(st, k, t, f)                                     \
	{                                                      \
		.key = k, .type = t, .offset = offsetof(st, f) \
	}

static const Field snapshot_fields[] = {
	FIELD(StateSnapshot, "id", FIELD_ID, id),
	FIELD(StateSnapshot, "volume", FIELD_STRING, volume),
	FIELD(StateSnapshot, "volume_name", FIELD_STRING, volume_name),
	FIELD(StateSnapshot, "snap_name", FIELD_STRING, snap_name),
	FIELD(StateSnapshot, "cow_path", FIELD_STRING, cow_path),
	FIELD(StateSnapshot, "sectors", FIELD_U64, sectors),
	FIELD(StateSnapshot, "cow_bytes", FIELD_U64, cow_bytes),
	FIELD(StateSnapshot, "chunk_sectors", FIELD_U32, chunk_sectors),
	FIELD(StateSnapshot, "persistent", FIELD_BOOL, persistent),
	FIELD(StateSnapshot, "creation_time", FIELD_U64, creation_time),
	FIELD(StateSnapshot, "state", FIELD_STRING, state),
	FIELD(StateSnapshot, "exposed_path", FIELD_STRING_OR_NULL, exposed_path),
	/* since the COW file's identity is checked: older files lack them (unverified) */
	FIELD(StateSnapshot, "cow_dev", FIELD_U64_OPTIONAL, cow_dev),
	FIELD(StateSnapshot, "cow_ino", FIELD_U64_OPTIONAL, cow_ino),
};

static const Field set_fields[] = {
	FIELD(StateSet, "id", FIELD_ID, id),
	FIELD(StateSet, "context", FIELD_STRING, context),
	FIELD(StateSet, "attributes", FIELD_U32, attributes),
	FIELD(StateSet, "backup_type", FIELD_STRING, backup_type),
	FIELD(StateSet, "description", FIELD_STRING, description),
	FIELD(StateSet, "state", FIELD_STRING, state),
	FIELD(StateSet, "creation_time", FIELD_U64, creation_time),
	/* followed by "snapshots" */
};

static const Field volume_fields[] = {
	FIELD(StateVolume, "name", FIELD_STRING, name),
	FIELD(StateVolume, "device", FIELD_STRING, device),
	FIELD(StateVolume, "sectors", FIELD_U64, sectors),
};

static const Field storage_fields[] = {
	FIELD(StateStorage, "volume", FIELD_STRING, volume),
	FIELD(StateStorage, "location", FIELD_STRING, location),
	FIELD(StateStorage, "max_bytes", FIELD_U64, max_bytes),
};

/* ---- reading --------------------------------------------------------------------------------- */

static const char *json_type_name(json_object *o)
{
	return json_type_to_name(json_object_get_type(o));
}

/* o is an object whose every key is one of fields, or array_key. */
static int read_check_keys(const Ctx *x, json_object *o, const char *where, const Field *fields,
                           size_t n_fields, const char *const *extra)
{
	if (!json_object_is_type(o, json_type_object))
		return fail(x, where, NULL, "expected an object, found %s", json_type_name(o));
	json_object_object_foreach(o, key, value)
	{
		bool known = extra && in_list(extra, key);

		for (size_t f = 0; f < n_fields && !known; f++)
			known = streq(fields[f].key, key);
		if (!known && printable(key, strlen(key)))
			return fail(x, where, NULL, "unknown field \"%s\"", key);
		if (!known)
			return fail(x, where, NULL, "unknown field with an unprintable name");
	}
	return 0;
}

static int read_string(const Ctx *x, const char *where, const char *key, json_object *v, char **ret)
{
	const char *s = json_object_get_string(v);
	char *copy;

	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return fail(x, where, key, "contains a NUL character");
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}

static int read_number(const Ctx *x, const char *where, const char *key, json_object *v,
                       uint64_t max, uint64_t *ret)
{
	uint64_t u = json_object_get_uint64(v);

	/* no value in these messages: json-c clamps what does not fit in 64 bits */
	if (json_object_get_int64(v) < 0)
		return fail(x, where, key, "must not be negative");
	if (u > max)
		return fail(x, where, key, "out of range (at most %" PRIu64 ")", max);
	*ret = u;
	return 0;
}

static int read_field(const Ctx *x, const char *where, const Field *f, json_object *v, void *dst)
{
	static const char *const expected[] = {
		[FIELD_ID] = "a string",
		[FIELD_STRING] = "a string",
		[FIELD_STRING_OR_NULL] = "a string or null",
		[FIELD_U32] = "an integer",
		[FIELD_U64] = "an integer",
		[FIELD_BOOL] = "true or false",
		[FIELD_U64_OPTIONAL] = "an integer",
	};
	json_type type = json_object_get_type(v);
	uint64_t u = 0;
	VssId id;
	int r;

	switch (f->type) {
	case FIELD_ID:
		if (type != json_type_string)
			break;
		if (vssid_from_string(json_object_get_string(v), &id) >= 0) {
			*(VssId *)dst = id;
			return 0;
		}
		if (printable(json_object_get_string(v), strlen(json_object_get_string(v))))
			return fail(x, where, f->key, "\"%s\" is not a UUID",
			            json_object_get_string(v));
		return fail(x, where, f->key, "not a UUID");
	case FIELD_STRING_OR_NULL:
		if (type == json_type_null) {
			*(char **)dst = NULL;
			return 0;
		}
		if (type != json_type_string)
			break;
		return read_string(x, where, f->key, v, dst);
	case FIELD_STRING:
		if (type != json_type_string)
			break;
		return read_string(x, where, f->key, v, dst);
	case FIELD_U32:
	case FIELD_U64:
	case FIELD_U64_OPTIONAL:
		if (type != json_type_int)
			break;
		r = read_number(x, where, f->key, v, f->type == FIELD_U32 ? UINT32_MAX : NUMBER_MAX,
		                &u);
		if (r < 0)
			return r;
		if (f->type == FIELD_U32)
			*(uint32_t *)dst = (uint32_t)u;
		else
			*(uint64_t *)dst = u;
		return 0;
	case FIELD_BOOL:
		if (type != json_type_boolean)
			break;
		*(bool *)dst = json_object_get_boolean(v);
		return 0;
	}
	return fail(x, where, f->key, "expected %s, found %s", expected[f->type],
	            json_type_to_name(type));
}

/* Reads every field of o into dst, an object of the table's struct. */
static int read_fields(const Ctx *x, json_object *o, const char *where, const Field *fields,
                       size_t n_fields, const char *const *extra, void *dst)
{
	int r = read_check_keys(x, o, where, fields, n_fields, extra);

	for (size_t f = 0; r >= 0 && f < n_fields; f++) {
		json_object *v;

		if (!json_object_object_get_ex(o, fields[f].key, &v)) {
			if (fields[f].type == FIELD_U64_OPTIONAL)
				continue;
			return fail(x, where, fields[f].key, "missing");
		}
		r = read_field(x, where, &fields[f], v, (uint8_t *)dst + fields[f].offset);
	}
	return r;
}

typedef int (*ReadElementFn)(const Ctx *x, json_object *o, const char *where, void *dst,
                             const void *parent);

/* Reads the array o[key] into a new zeroed array stored at once in *array, *n, so that the
 * owner's destructor frees whatever was read when an element fails. */
static int read_array(const Ctx *x, json_object *o, const char *where, const char *key, size_t size,
                      ReadElementFn read, const void *parent, void *array, size_t *n)
{
	char w[WHERE_MAX];
	json_object *a;
	size_t len;
	uint8_t *elems;

	if (!json_object_object_get_ex(o, key, &a))
		return fail(x, where, key, "missing");
	if (!json_object_is_type(a, json_type_array))
		return fail(x, where, key, "expected an array, found %s", json_type_name(a));
	len = json_object_array_length(a);
	elems = calloc(len + 1, size);
	if (!elems)
		return -ENOMEM;
	*(void **)array = elems;
	*n = len;
	for (size_t i = 0; i < len; i++) {
		int r;

		snprintf(w, sizeof(w), "%s%s%s[%zu]", where, *where ? "." : "", key, i);
		r = read(x, json_object_array_get_idx(a, i), w, elems + i * size, parent);
		if (r < 0)
			return r;
	}
	return 0;
}

static int read_snapshot(const Ctx *x, json_object *o, const char *where, void *dst,
                         const void *parent)
{
	StateSnapshot *snap = dst;

	snap->set_id = *(const VssId *)parent;
	return read_fields(x, o, where, snapshot_fields, ELEMENTSOF(snapshot_fields), NULL, snap);
}

static int read_set(const Ctx *x, json_object *o, const char *where, void *dst, const void *parent)
{
	static const char *const extra[] = { "snapshots", NULL };
	StateSet *set = dst;
	int r;

	r = read_fields(x, o, where, set_fields, ELEMENTSOF(set_fields), extra, set);
	if (r < 0)
		return r;
	return read_array(x, o, where, "snapshots", sizeof(StateSnapshot), read_snapshot, &set->id,
	                  &set->snapshots, &set->n_snapshots);
}

static int read_volume(const Ctx *x, json_object *o, const char *where, void *dst,
                       const void *parent)
{
	return read_fields(x, o, where, volume_fields, ELEMENTSOF(volume_fields), NULL, dst);
}

static int read_storage(const Ctx *x, json_object *o, const char *where, void *dst,
                        const void *parent)
{
	return read_fields(x, o, where, storage_fields, ELEMENTSOF(storage_fields), NULL, dst);
}

static int read_state(const Ctx *x, json_object *root, State *s)
{
	static const char *const keys[] = { "version", "sets", "volumes", "storage", NULL };
	json_object *v;
	int r;

	if (!json_object_is_type(root, json_type_object))
		return fail(x, "", NULL, "expected a JSON object at the top level, found %s",
		            json_type_name(root));
	/* the version first: a newer format is reported as such, not by its first new field */
	if (!json_object_object_get_ex(root, "version", &v))
		return fail(x, "", "version", "missing");
	if (!json_object_is_type(v, json_type_int))
		return fail(x, "", "version", "expected an integer, found %s", json_type_name(v));
	if (json_object_get_int64(v) != STATE_VERSION)
		return fail(x, "", "version",
		            "%" PRId64 " is not supported; this vssd reads version %d",
		            json_object_get_int64(v), STATE_VERSION);
	s->version = STATE_VERSION;

	r = read_check_keys(x, root, "", NULL, 0, keys);
	if (r < 0)
		return r;
	r = read_array(x, root, "", "sets", sizeof(StateSet), read_set, NULL, &s->sets, &s->n_sets);
	if (r < 0)
		return r;
	r = read_array(x, root, "", "volumes", sizeof(StateVolume), read_volume, NULL, &s->volumes,
	               &s->n_volumes);
	if (r < 0)
		return r;
	return read_array(x, root, "", "storage", sizeof(StateStorage), read_storage, NULL,
	                  &s->storage, &s->n_storage);
}

/* json-c keeps the last of two equal keys of an object silently, so a file with "sets" twice
 * would lose sets. The text is known to be valid JSON here, so a small scan finds the keys. */
static int check_duplicate_keys(const Ctx *x, const char *text, size_t size)
{
	struct Frame {
		bool object, want_key;
		size_t n_keys;
		struct {
			const char *s;
			size_t n;
		} keys[OBJECT_KEYS];
	} stack[JSON_DEPTH + 1];
	size_t depth = 0;

	for (size_t i = 0; i < size; i++) {
		char c = text[i];
		struct Frame *top = depth > 0 ? &stack[depth - 1] : NULL;

		if (c == '"' || c == '\'') { /* json-c accepts single quotes, even when strict */
			size_t start = ++i;

			while (i < size && text[i] != c)
				i += text[i] == '\\' ? 2 : 1;
			if (!top || !top->object || !top->want_key)
				continue;
			top->want_key = false;
			for (size_t k = 0; k < top->n_keys; k++)
				if (top->keys[k].n == i - start &&
				    memcmp(top->keys[k].s, text + start, i - start) == 0)
					return printable(text + start, i - start)
					               ? fail_at(x, text, start - 1,
					                         "duplicate field \"%.*s\"",
					                         (int)(i - start), text + start)
					               : fail_at(x, text, start - 1,
					                         "duplicate field");
			if (top->n_keys == OBJECT_KEYS)
				return fail_at(x, text, start - 1,
				               "more than %d fields in one object", OBJECT_KEYS);
			top->keys[top->n_keys].s = text + start;
			top->keys[top->n_keys++].n = i - start;
		} else if (c == '{' || c == '[') {
			if (depth == ELEMENTSOF(stack))
				return fail_at(x, text, i, "nested too deeply");
			stack[depth++] = (struct Frame){ .object = c == '{', .want_key = c == '{' };
		} else if ((c == '}' || c == ']') && depth > 0)
			depth--;
		else if (c == ',' && top && top->object)
			top->want_key = true;
	}
	return 0;
}

static int parse_json(const Ctx *x, const char *text, size_t size, json_object **ret)
{
	_cleanup_(json_tokener_freep) struct json_tokener *tok = NULL;
	_cleanup_(json_object_putp) json_object *o = NULL;
	enum json_tokener_error e;
	const char *nul;
	int r;

	if (strspn(text, " \t\r\n") == size)
		return fail(x, "", NULL, "empty file");
	nul = memchr(text, 0, size);
	if (nul)
		return fail_at(x, text, nul - text, "NUL byte; the file is not text");
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)size + 1); /* with the NUL: no more data */
	e = json_tokener_get_error(tok);
	if (e == json_tokener_continue || e == json_tokener_error_parse_eof)
		return fail_at(x, text, size, "truncated: the file ends inside the JSON document");
	if (e != json_tokener_success)
		return fail_at(x, text, json_tokener_get_parse_end(tok), "%s",
		               json_tokener_error_desc(e));
	r = check_duplicate_keys(x, text, size);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(o);
	return 0;
}

/* The whole file, NUL-terminated. An I/O failure is reported with its own errno. */
static int read_file(const Ctx *x, const char *path, char **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, allocated = 0;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		const Ctx io = { .name = x->name, .error = -errno, .ret_error = x->ret_error };

		return fail(&io, "", NULL, "%s", strerror(-io.error));
	}
	if (!S_ISREG(st.st_mode))
		return fail(x, "", NULL, "not a regular file");
	for (;;) {
		ssize_t n;

		if (size == allocated) { /* the file may grow while it is read */
			char *p;

			if (size > STATE_SIZE_MAX || (uint64_t)st.st_size > STATE_SIZE_MAX)
				return fail(x, "", NULL, "larger than %u MiB",
				            STATE_SIZE_MAX >> 20);
			allocated = MAX((size_t)st.st_size + 1, allocated * 2);
			p = realloc(buf, allocated + 1);
			if (!p)
				return -ENOMEM;
			buf = p;
		}
		n = read(fd, buf + size, allocated - size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			const Ctx io = { .name = x->name,
				         .error = -errno,
				         .ret_error = x->ret_error };

			return fail(&io, "", NULL, "%s", strerror(-io.error));
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	if (size > STATE_SIZE_MAX)
		return fail(x, "", NULL, "larger than %u MiB", STATE_SIZE_MAX >> 20);
	buf[size] = 0;
	*ret = TAKE_PTR(buf);
	*ret_size = size;
	return 0;
}

int state_load(const char *path, State *ret, char **ret_error)
{
	const Ctx x = { .name = path, .error = -EBADMSG, .ret_error = ret_error };
	_cleanup_(json_object_putp) json_object *root = NULL;
	_cleanup_(state_done) State s = STATE_NULL;
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	int r;

	r = read_file(&x, path, &text, &size);
	if (r < 0)
		return r;
	r = parse_json(&x, text, size, &root);
	if (r < 0)
		return r;
	r = read_state(&x, root, &s);
	if (r < 0)
		return r;
	r = check_state(&x, &s);
	if (r < 0)
		return r;
	*ret = s;
	s = STATE_NULL;
	return 0;
}

/* ---- writing --------------------------------------------------------------------------------- */

static int write_fields(json_object *o, const Field *fields, size_t n_fields, const void *src)
{
	for (size_t f = 0; f < n_fields; f++) {
		const void *p = (const uint8_t *)src + fields[f].offset;
		char id[VSSID_STRING_MAX];
		json_object *v = NULL;

		switch (fields[f].type) {
		case FIELD_ID:
			v = json_object_new_string(vssid_to_string(p, id));
			break;
		case FIELD_STRING:
		case FIELD_STRING_OR_NULL:
			if (*(char *const *)p)
				v = json_object_new_string(*(char *const *)p);
			break;
		case FIELD_U32:
			v = json_object_new_uint64(*(const uint32_t *)p);
			break;
		case FIELD_U64:
			v = json_object_new_uint64(*(const uint64_t *)p);
			break;
		case FIELD_BOOL:
			v = json_object_new_boolean(*(const bool *)p);
			break;
		case FIELD_U64_OPTIONAL:
			if (*(const uint64_t *)p == 0)
				continue;
			v = json_object_new_uint64(*(const uint64_t *)p);
			break;
		}
		if (!v && (fields[f].type != FIELD_STRING_OR_NULL || *(char *const *)p))
			return -ENOMEM;
		if (json_object_object_add(o, fields[f].key, v) < 0) {
			json_object_put(v);
			return -ENOMEM;
		}
	}
	return 0;
}

typedef int (*WriteElementFn)(const void *src, json_object *o);

/* o[key] = [ write(each element) ] */
static int write_array(json_object *o, const char *key, const void *array, size_t n, size_t size,
                       const Field *fields, size_t n_fields, WriteElementFn write_more)
{
	json_object *a = json_object_new_array_ext((int)n);

	if (!a || json_object_object_add(o, key, a) < 0) {
		json_object_put(a);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const void *src = (const uint8_t *)array + i * size;
		json_object *e = json_object_new_object();
		int r;

		if (!e || json_object_array_add(a, e) < 0) {
			json_object_put(e);
			return -ENOMEM;
		}
		r = write_fields(e, fields, n_fields, src);
		if (r >= 0 && write_more)
			r = write_more(src, e);
		if (r < 0)
			return r;
	}
	return 0;
}

static int write_set_snapshots(const void *src, json_object *o)
{
	const StateSet *set = src;

	return write_array(o, "snapshots", set->snapshots, set->n_snapshots, sizeof(StateSnapshot),
	                   snapshot_fields, ELEMENTSOF(snapshot_fields), NULL);
}

static int state_to_json(const State *s, json_object **ret)
{
	_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	json_object *v;
	int r;

	if (!o)
		return -ENOMEM;
	v = json_object_new_int(STATE_VERSION);
	if (!v || json_object_object_add(o, "version", v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	if ((r = write_array(o, "sets", s->sets, s->n_sets, sizeof(StateSet), set_fields,
	                     ELEMENTSOF(set_fields), write_set_snapshots)) < 0 ||
	    (r = write_array(o, "volumes", s->volumes, s->n_volumes, sizeof(StateVolume),
	                     volume_fields, ELEMENTSOF(volume_fields), NULL)) < 0 ||
	    (r = write_array(o, "storage", s->storage, s->n_storage, sizeof(StateStorage),
	                     storage_fields, ELEMENTSOF(storage_fields), NULL)) < 0)
		return r;
	*ret = TAKE_PTR(o);
	return 0;
}

/* The directory of path (".", "/" or a copy of the leading part) and the last component. */
static int split_path(const char *path, char **ret_dir, const char **ret_base)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, slash - path);
	if (!dir)
		return -ENOMEM;
	*ret_dir = dir;
	*ret_base = slash ? slash + 1 : path;
	return 0;
}

static int fsync_directory(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

static int write_all(int fd, const char *data, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		size -= (size_t)n;
	}
	return 0;
}

/* Replaces path with data so that a crash leaves either the old or the new file, never a mix. */
static int write_atomic(const char *path, const char *data, size_t size)
{
	_cleanup_free_ char *dir = NULL, *tmp = NULL;
	_cleanup_close_ int fd = -EBADF;
	const char *base;
	int r;

	r = split_path(path, &dir, &base);
	if (r < 0)
		return r;
	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0)
		return -errno;
	r = write_all(fd, data, size);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && close(TAKE_FD(fd)) < 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	return fsync_directory(dir);
}

int state_save(const char *path, const State *s, char **ret_error)
{
	_cleanup_(json_object_putp) json_object *o = NULL;
	_cleanup_free_ char *text = NULL;
	const char *json;
	int r;

	r = state_validate(s, path, ret_error);
	if (r < 0)
		return r;
	r = state_to_json(s, &o);
	if (r < 0)
		return r;
	json = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!json || asprintf(&text, "%s\n", json) < 0) {
		text = NULL;
		return -ENOMEM;
	}
	r = write_atomic(path, text, strlen(text));
	if (r < 0) {
		const Ctx x = { .name = path, .error = r, .ret_error = ret_error };

		return fail(&x, "", NULL, "cannot write: %s", strerror(-r));
	}
	return 0;
}

int state_quarantine(const char *path, char **ret_new_path)
{
	_cleanup_free_ char *target = NULL, *dir = NULL;
	const char *base;
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;
	int r;

	if (!gmtime_r(&t, &tm) || strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
		return -EINVAL;
	for (unsigned i = 0;; i++) {
		free(target);
		r = i == 0 ? asprintf(&target, "%s.corrupt-%s", path, stamp)
		           : asprintf(&target, "%s.corrupt-%s.%u", path, stamp, i);
		if (r < 0) {
			target = NULL;
			return -ENOMEM;
		}
		/* never over an earlier quarantined file */
		if (renameat2(AT_FDCWD, path, AT_FDCWD, target, RENAME_NOREPLACE) >= 0)
			break;
		if (errno != EEXIST || i == 99)
			return -errno;
	}
	r = split_path(path, &dir, &base);
	if (r < 0)
		return r;
	r = fsync_directory(dir);
	if (r < 0)
		return r;
	if (ret_new_path)
		*ret_new_path = TAKE_PTR(target);
	return 0;
}

/* ---- lookups and membership ------------------------------------------------------------------ */

StateSet *state_find_set(State *s, const VssId *id)
{
	for (size_t i = 0; i < s->n_sets; i++)
		if (vssid_equal(&s->sets[i].id, id))
			return &s->sets[i];
	return NULL;
}

StateSnapshot *state_find_snapshot(State *s, const VssId *id, StateSet **ret_set)
{
	for (size_t i = 0; i < s->n_sets; i++)
		for (size_t j = 0; j < s->sets[i].n_snapshots; j++)
			if (vssid_equal(&s->sets[i].snapshots[j].id, id)) {
				if (ret_set)
					*ret_set = &s->sets[i];
				return &s->sets[i].snapshots[j];
			}
	return NULL;
}

StateVolume *state_find_volume(State *s, const char *name)
{
	for (size_t i = 0; i < s->n_volumes; i++)
		if (streq_ptr(s->volumes[i].name, name))
			return &s->volumes[i];
	return NULL;
}

StateStorage *state_find_storage(State *s, const char *volume)
{
	for (size_t i = 0; i < s->n_storage; i++)
		if (streq_ptr(s->storage[i].volume, volume))
			return &s->storage[i];
	return NULL;
}

/* Moves item (size bytes) to the end of the heap array *array of *n, and zeroes it. */
static int array_append(void *array, size_t *n, void *item, size_t size)
{
	uint8_t *a = reallocarray(*(void **)array, *n + 1, size);

	if (!a)
		return -ENOMEM;
	memcpy(a + *n * size, item, size);
	memset(item, 0, size);
	*(void **)array = a;
	(*n)++;
	return 0;
}

/* Closes the gap left by element i, already destroyed. */
static void array_remove(void *array, size_t *n, size_t i, size_t size)
{
	uint8_t *a = array;

	memmove(a + i * size, a + (i + 1) * size, (*n - i - 1) * size);
	(*n)--;
}

int state_add_set(State *s, StateSet *set)
{
	if (state_find_set(s, &set->id))
		return -EEXIST;
	for (size_t j = 0; j < set->n_snapshots; j++)
		if (state_find_snapshot(s, &set->snapshots[j].id, NULL))
			return -EEXIST;
	for (size_t j = 0; j < set->n_snapshots; j++)
		set->snapshots[j].set_id = set->id;
	return array_append(&s->sets, &s->n_sets, set, sizeof(*set));
}

void state_remove_set(State *s, const VssId *id)
{
	StateSet *set = state_find_set(s, id);

	if (!set)
		return;
	state_set_done(set);
	array_remove(s->sets, &s->n_sets, (size_t)(set - s->sets), sizeof(*set));
}

void state_remove_snapshot(State *s, const VssId *id)
{
	StateSet *set = NULL;
	StateSnapshot *snap = state_find_snapshot(s, id, &set);

	if (!snap)
		return;
	state_snapshot_done(snap);
	array_remove(set->snapshots, &set->n_snapshots, (size_t)(snap - set->snapshots),
	             sizeof(*snap));
}

int state_add_volume(State *s, StateVolume *v)
{
	if (state_find_volume(s, v->name))
		return -EEXIST;
	return array_append(&s->volumes, &s->n_volumes, v, sizeof(*v));
}

void state_remove_volume(State *s, const char *name)
{
	StateVolume *v = state_find_volume(s, name);

	if (!v)
		return;
	state_volume_done(v);
	array_remove(s->volumes, &s->n_volumes, (size_t)(v - s->volumes), sizeof(*v));
}

int state_add_storage(State *s, StateStorage *st)
{
	if (state_find_storage(s, st->volume))
		return -EEXIST;
	return array_append(&s->storage, &s->n_storage, st, sizeof(*st));
}

void state_remove_storage(State *s, const char *volume)
{
	StateStorage *st = state_find_storage(s, volume);

	if (!st)
		return;
	state_storage_done(st);
	array_remove(s->storage, &s->n_storage, (size_t)(st - s->storage), sizeof(*st));
}
