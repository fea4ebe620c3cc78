/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state-json.c - state.json as JSON: read (formats 1 and 2), validate, write atomically */
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <sys/stat.h>

#include "daemon/state-internal.h"

#define JSON_DEPTH  8  /* ours nest 6 deep */
#define OBJECT_KEYS 32 /* ours have 13 at most */

DEFINE_POINTER_CLEANUP(json_tokener_freep, struct json_tokener *, json_tokener_free)

/* ---- the JSON form: one table per object drives reading, writing and the unknown-key check --- */

typedef enum FieldType {
	FIELD_ID,             /* VssId as "8-4-4-4-12" */
	FIELD_STRING,         /* char * */
	FIELD_STRING_OR_NULL, /* char *, JSON null for NULL */
	FIELD_U32,            /* uint32_t */
	FIELD_U64,            /* uint64_t, at most NUMBER_MAX */
	FIELD_BOOL,           /* bool */
	FIELD_U64_OPTIONAL,   /* uint64_t, at most NUMBER_MAX; missing and not written when 0 */
	FIELD_OBJECT,         /* json_object *, a JSON object (a reference is taken) */
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
	FIELD(StateSnapshot, "provider", FIELD_STRING, provider),
	FIELD(StateSnapshot, "sectors", FIELD_U64, sectors),
	FIELD(StateSnapshot, "persistent", FIELD_BOOL, persistent),
	FIELD(StateSnapshot, "creation_time", FIELD_U64, creation_time),
	FIELD(StateSnapshot, "state", FIELD_STRING, state),
	FIELD(StateSnapshot, "exposed_path", FIELD_STRING_OR_NULL, exposed_path),
	/* the provider's own object: state-check.c has the provider validate it */
	FIELD(StateSnapshot, "provider_data", FIELD_OBJECT, provider_data),
};

/* Format 1: the members of a snapshot that were dm-snapshot's, moved into its provider object
 * on load (the dm-snapshot provider reads them under the same names) */
#define FORMAT1_PROVIDER "dm-snapshot"
static const char *const format1_provider_keys[] = {
	"snap_name", "cow_path", "cow_bytes", "chunk_sectors", "cow_dev", "cow_ino", NULL
};

static const Field set_fields[] = {
	FIELD(StateSet, "id", FIELD_ID, id),
	FIELD(StateSet, "context", FIELD_STRING, context),
	FIELD(StateSet, "attributes", FIELD_U32, attributes),
	FIELD(StateSet, "backup_type", FIELD_STRING, backup_type),
	FIELD(StateSet, "description", FIELD_STRING, description),
	FIELD(StateSet, "state", FIELD_STRING, state),
	FIELD(StateSet, "creation_time", FIELD_U64, creation_time),
	FIELD(StateSet, "per_volume_instant", FIELD_U64_OPTIONAL, per_volume_instant),
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
		return state_fail(x, where, NULL, "expected an object, found %s",
		                  json_type_name(o));
	json_object_object_foreach(o, key, value)
	{
		bool known = extra && state_in_list(extra, key);

		for (size_t f = 0; f < n_fields && !known; f++)
			known = streq(fields[f].key, key);
		if (!known && state_printable(key, strlen(key)))
			return state_fail(x, where, NULL, "unknown field \"%s\"", key);
		if (!known)
			return state_fail(x, where, NULL, "unknown field with an unprintable name");
	}
	return 0;
}

static int read_string(const Ctx *x, const char *where, const char *key, json_object *v, char **ret)
{
	const char *s = json_object_get_string(v);
	char *copy;

	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return state_fail(x, where, key, "contains a NUL character");
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
		return state_fail(x, where, key, "must not be negative");
	if (u > max)
		return state_fail(x, where, key, "out of range (at most %" PRIu64 ")", max);
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
		[FIELD_OBJECT] = "an object",
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
		if (state_printable(json_object_get_string(v), strlen(json_object_get_string(v))))
			return state_fail(x, where, f->key, "\"%s\" is not a UUID",
			                  json_object_get_string(v));
		return state_fail(x, where, f->key, "not a UUID");
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
	case FIELD_OBJECT:
		if (type != json_type_object)
			break;
		*(json_object **)dst = json_object_get(v);
		return 0;
	}
	return state_fail(x, where, f->key, "expected %s, found %s", expected[f->type],
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
			return state_fail(x, where, fields[f].key, "missing");
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
		return state_fail(x, where, key, "missing");
	if (!json_object_is_type(a, json_type_array))
		return state_fail(x, where, key, "expected an array, found %s", json_type_name(a));
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

/* One format-1 snapshot object becomes format 2: its dm-snapshot members go into a provider
 * object. What is not an object is left for the reader to report. */
static int migrate_snapshot(json_object *o)
{
	_cleanup_(json_object_putp) json_object *data = NULL;
	json_object *v, *name;

	if (!json_object_is_type(o, json_type_object) ||
	    json_object_object_get_ex(o, "provider", NULL) ||
	    json_object_object_get_ex(o, "provider_data", NULL))
		return 0; /* reported as an unknown field in a format-1 file */
	data = json_object_new_object();
	if (!data)
		return -ENOMEM;
	for (size_t k = 0; format1_provider_keys[k]; k++) {
		if (!json_object_object_get_ex(o, format1_provider_keys[k], &v))
			continue;
		if (json_object_object_add(data, format1_provider_keys[k], json_object_get(v)) <
		    0) {
			json_object_put(v);
			return -ENOMEM;
		}
		json_object_object_del(o, format1_provider_keys[k]);
	}
	name = json_object_new_string(FORMAT1_PROVIDER);
	if (!name || json_object_object_add(o, "provider", name) < 0) {
		json_object_put(name);
		return -ENOMEM;
	}
	if (json_object_object_add(o, "provider_data", data) < 0)
		return -ENOMEM;
	data = NULL;
	return 0;
}

static int migrate_format1(json_object *root)
{
	json_object *sets, *snaps;

	if (!json_object_object_get_ex(root, "sets", &sets) ||
	    !json_object_is_type(sets, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(sets); i++) {
		json_object *set = json_object_array_get_idx(sets, i);

		if (!json_object_is_type(set, json_type_object) ||
		    !json_object_object_get_ex(set, "snapshots", &snaps) ||
		    !json_object_is_type(snaps, json_type_array))
			continue;
		for (size_t j = 0; j < json_object_array_length(snaps); j++) {
			int r = migrate_snapshot(json_object_array_get_idx(snaps, j));

			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int read_state(const Ctx *x, json_object *root, State *s)
{
	static const char *const keys[] = { "version", "sets", "volumes", "storage", NULL };
	json_object *v;
	int r;

	if (!json_object_is_type(root, json_type_object))
		return state_fail(x, "", NULL, "expected a JSON object at the top level, found %s",
		                  json_type_name(root));
	/* the version first: a newer format is reported as such, not by its first new field */
	if (!json_object_object_get_ex(root, "version", &v))
		return state_fail(x, "", "version", "missing");
	if (!json_object_is_type(v, json_type_int))
		return state_fail(x, "", "version", "expected an integer, found %s",
		                  json_type_name(v));
	if (json_object_get_int64(v) < STATE_VERSION_MIN ||
	    json_object_get_int64(v) > STATE_VERSION)
		return state_fail(x, "", "version",
		                  "%" PRId64 " is not supported; this vssd reads versions %d to %d",
		                  json_object_get_int64(v), STATE_VERSION_MIN, STATE_VERSION);
	s->file_version = (unsigned)json_object_get_int64(v);
	s->version = STATE_VERSION;
	if (s->file_version == 1) {
		r = migrate_format1(root);
		if (r < 0)
			return r;
	}

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
					return state_printable(text + start, i - start)
					               ? state_fail_at(x, text, start - 1,
					                               "duplicate field \"%.*s\"",
					                               (int)(i - start),
					                               text + start)
					               : state_fail_at(x, text, start - 1,
					                               "duplicate field");
			if (top->n_keys == OBJECT_KEYS)
				return state_fail_at(x, text, start - 1,
				                     "more than %d fields in one object",
				                     OBJECT_KEYS);
			top->keys[top->n_keys].s = text + start;
			top->keys[top->n_keys++].n = i - start;
		} else if (c == '{' || c == '[') {
			if (depth == ELEMENTSOF(stack))
				return state_fail_at(x, text, i, "nested too deeply");
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
		return state_fail(x, "", NULL, "empty file");
	nul = memchr(text, 0, size);
	if (nul)
		return state_fail_at(x, text, nul - text, "NUL byte; the file is not text");
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)size + 1); /* with the NUL: no more data */
	e = json_tokener_get_error(tok);
	if (e == json_tokener_continue || e == json_tokener_error_parse_eof)
		return state_fail_at(x, text, size,
		                     "truncated: the file ends inside the JSON document");
	if (e != json_tokener_success)
		return state_fail_at(x, text, json_tokener_get_parse_end(tok), "%s",
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

		return state_fail(&io, "", NULL, "%s", strerror(-io.error));
	}
	if (!S_ISREG(st.st_mode))
		return state_fail(x, "", NULL, "not a regular file");
	for (;;) {
		ssize_t n;

		if (size == allocated) { /* the file may grow while it is read */
			char *p;

			if (size > STATE_SIZE_MAX || (uint64_t)st.st_size > STATE_SIZE_MAX)
				return state_fail(x, "", NULL, "larger than %u MiB",
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

			return state_fail(&io, "", NULL, "%s", strerror(-io.error));
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	if (size > STATE_SIZE_MAX)
		return state_fail(x, "", NULL, "larger than %u MiB", STATE_SIZE_MAX >> 20);
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
	r = state_check(&x, &s);
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
		case FIELD_OBJECT:
			v = json_object_get(*(json_object *const *)p);
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

		return state_fail(&x, "", NULL, "cannot write: %s", strerror(-r));
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
