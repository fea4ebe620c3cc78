/* SPDX-License-Identifier: GPL-2.0-or-later */
/* document.c - the backup document (VSS's Backup Components Document) as JSON: build, parse, check
 */
#include <stdarg.h>

#include <json.h>

#include "common/macro.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "common/vssid.h"
#include "daemon/document.h"
#include "daemon/state.h"

#define DOC_JSON_DEPTH    8  /* ours nest 5 deep */
#define DOC_WHERE_MAX     64 /* "writers[<20 digits>]", then ".components[<20 digits>]" */
#define DOC_WRITER_STATES 16 /* VSS_WRITER_STATE 0..15 */
#define DOC_NUMBER_MAX    ((uint64_t)INT64_MAX)

DEFINE_POINTER_CLEANUP(doc_json_putp, json_object *, json_object_put)

/* ---- the structure --------------------------------------------------------------------------- */

static void component_done(DocComponent *c)
{
	free(c->name);
	free(c->backup_stamp);
	free(c->previous_backup_stamp);
	free(c->backup_metadata);
	free(c->failure_message);
}

static void writer_done(DocWriter *w)
{
	free(w->instance_id);
	free(w->class_id);
	free(w->name);
	free(w->instance_name);
	free(w->last_error);
	free(w->failure_message);
	for (size_t i = 0; i < w->n_components; i++)
		component_done(&w->components[i]);
	free(w->components);
}

void document_done(BackupDocument *d)
{
	free(d->set_id);
	free(d->context);
	free(d->backup_type);
	for (size_t i = 0; i < d->n_snapshots; i++) {
		free(d->snapshots[i].id);
		free(d->snapshots[i].volume);
		free(d->snapshots[i].device);
		free(d->snapshots[i].provider);
	}
	free(d->snapshots);
	for (size_t i = 0; i < d->n_writers; i++)
		writer_done(&d->writers[i]);
	free(d->writers);
	*d = (BackupDocument){ 0 };
}

static void *grow(void **array, size_t *n, size_t size)
{
	char *a = reallocarray(*array, *n + 1, size);

	if (!a)
		return NULL;
	*array = a;
	memset(a + *n * size, 0, size);
	return a + (*n)++ * size;
}

DocWriter *document_add_writer(BackupDocument *d)
{
	return grow((void **)&d->writers, &d->n_writers, sizeof(DocWriter));
}

DocSnapshot *document_add_snapshot(BackupDocument *d)
{
	return grow((void **)&d->snapshots, &d->n_snapshots, sizeof(DocSnapshot));
}

DocComponent *document_writer_add_component(DocWriter *w)
{
	DocComponent *c = grow((void **)&w->components, &w->n_components, sizeof(DocComponent));

	if (c)
		c->succeeded = DOC_RESULT_UNKNOWN;
	return c;
}

/* ---- to JSON --------------------------------------------------------------------------------- */

static int add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_string(json_object *o, const char *key, const char *s)
{
	return add(o, key, json_object_new_string(strempty(s)));
}

/* a key whose absence means "not set" */
static int add_optional(json_object *o, const char *key, const char *s)
{
	return s ? add_string(o, key, s) : 0;
}

static int push(json_object *a, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static json_object *component_to_json(const DocComponent *c)
{
	_cleanup_(doc_json_putp) json_object *o = json_object_new_object();

	if (!o || add_string(o, "name", c->name) < 0 ||
	    add(o, "selected", json_object_new_boolean(c->selected)) < 0 ||
	    (c->succeeded != DOC_RESULT_UNKNOWN &&
	     add(o, "backup-succeeded",
	         json_object_new_boolean(c->succeeded == DOC_RESULT_SUCCEEDED)) < 0) ||
	    add_optional(o, "backup-stamp", c->backup_stamp) < 0 ||
	    add_optional(o, "previous-backup-stamp", c->previous_backup_stamp) < 0 ||
	    add_optional(o, "backup-metadata", c->backup_metadata) < 0 ||
	    add_optional(o, "failure-message", c->failure_message) < 0)
		return NULL;
	return TAKE_PTR(o);
}

static json_object *writer_to_json(const DocWriter *w)
{
	_cleanup_(doc_json_putp) json_object *o = json_object_new_object();
	json_object *comps;

	if (!o || add_string(o, "instance-id", w->instance_id) < 0 ||
	    add_string(o, "class-id", w->class_id) < 0 || add_string(o, "name", w->name) < 0 ||
	    add_string(o, "instance-name", w->instance_name) < 0 ||
	    add(o, "state", json_object_new_int64(w->state)) < 0 ||
	    add_string(o, "last-error", w->last_error) < 0 ||
	    add_string(o, "failure-message", w->failure_message) < 0 ||
	    add(o, "components", comps = json_object_new_array()) < 0)
		return NULL;
	for (size_t i = 0; i < w->n_components; i++)
		if (push(comps, component_to_json(&w->components[i])) < 0)
			return NULL;
	return TAKE_PTR(o);
}

int document_to_json(const BackupDocument *d, char **ret)
{
	_cleanup_(doc_json_putp) json_object *o = json_object_new_object();
	json_object *snaps, *writers;
	const char *text;

	if (!o || add_string(o, "format", DOCUMENT_FORMAT) < 0 ||
	    add_string(o, "set-id", d->set_id) < 0 || add_string(o, "context", d->context) < 0 ||
	    add_string(o, "backup-type", d->backup_type) < 0 ||
	    add(o, "creation-time", json_object_new_int64((int64_t)d->creation_time)) < 0 ||
	    add(o, "snapshots", snaps = json_object_new_array()) < 0 ||
	    add(o, "writers", writers = json_object_new_array()) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_snapshots; i++) {
		json_object *s = json_object_new_object();

		if (push(snaps, s) < 0 || add_string(s, "id", d->snapshots[i].id) < 0 ||
		    add_string(s, "volume", d->snapshots[i].volume) < 0 ||
		    add_string(s, "device", d->snapshots[i].device) < 0 ||
		    add_string(s, "provider", d->snapshots[i].provider) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < d->n_writers; i++)
		if (push(writers, writer_to_json(&d->writers[i])) < 0)
			return -ENOMEM;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return -ENOMEM;
	*ret = strdup(text);
	return *ret ? 0 : -ENOMEM;
}

/* ---- from JSON ------------------------------------------------------------------------------- */

typedef struct Field {
	const char *key;
	json_type type;
	bool optional;
} Field;

static int bad(VssErr *err, const char *where, const char *key, const char *fmt, ...)
	_printf_(4, 5);

static int bad(VssErr *err, const char *where, const char *key, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL, "backup document: %s%s%s%s%s",
	                   where, where[0] && key[0] ? "." : "", key,
	                   where[0] || key[0] ? ": " : "", msg);
}

static const char *type_name(json_type t)
{
	switch (t) {
	case json_type_string:
		return "a string";
	case json_type_boolean:
		return "a boolean";
	case json_type_int:
		return "an integer";
	case json_type_array:
		return "an array";
	case json_type_object:
		return "an object";
	default:
		return "a value";
	}
}

/* o holds exactly these keys (optional ones may be missing), each of its type */
static int check_object(json_object *o, const char *where, const Field *fields, VssErr *err)
{
	json_object *v;

	json_object_object_foreach(o, key, value)
	{
		const Field *f = fields;

		while (f->key && !streq(f->key, key))
			f++;
		if (!f->key)
			return bad(err, where, "", "unknown key \"%.64s\"", key);
		(void)value;
	}
	for (const Field *f = fields; f->key; f++) {
		if (!json_object_object_get_ex(o, f->key, &v)) {
			if (f->optional)
				continue;
			return bad(err, where, f->key, "missing");
		}
		if (!json_object_is_type(v, f->type))
			return bad(err, where, f->key, "must be %s", type_name(f->type));
	}
	return 0;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	(void)json_object_object_get_ex(o, key, &v);
	return v;
}

/* Copies the string at key (NULL when absent and optional), checked as text of at most max
 * bytes; empty allowed when empty_ok */
static int take_string(json_object *o, const char *where, const char *key, size_t max,
                       bool empty_ok, char **ret, VssErr *err)
{
	json_object *v = get(o, key);
	const char *s;

	if (!v) {
		*ret = NULL;
		return 0;
	}
	s = json_object_get_string(v);
	if (empty_ok ? !valid_text_or_empty(s, max) : !valid_text(s, max))
		return bad(err, where, key, "%s, longer than %zu bytes or holds control characters",
		           empty_ok ? "not text" : "empty", max);
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

static int take_id(json_object *o, const char *where, const char *key, char **ret, VssErr *err)
{
	char buf[VSSID_STRING_MAX];
	VssId id;

	if (vssid_from_string(json_object_get_string(get(o, key)), &id) < 0)
		return bad(err, where, key, "\"%.64s\" is not a UUID",
		           json_object_get_string(get(o, key)));
	vssid_to_string(&id, buf);
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

static int take_enum(json_object *o, const char *where, const char *key, const char *const *values,
                     char **ret, VssErr *err)
{
	const char *s = json_object_get_string(get(o, key));

	for (const char *const *v = values; *v; v++)
		if (streq(*v, s)) {
			*ret = strdup(s);
			return *ret ? 0 : -ENOMEM;
		}
	return bad(err, where, key, "unknown value \"%.64s\"", s);
}

static int array_of_objects(json_object *a, const char *where, const char *key, size_t max,
                            VssErr *err)
{
	size_t n = json_object_array_length(a);

	if (n > max)
		return bad(err, where, key, "%zu entries, at most %zu are allowed", n, max);
	for (size_t i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_object))
			return bad(err, where, key, "entry %zu is not an object", i);
	return 0;
}

static int parse_component(json_object *o, const char *where, DocComponent *c, VssErr *err)
{
	static const Field fields[] = {
		{ "name", json_type_string },
		{ "selected", json_type_boolean },
		{ "backup-succeeded", json_type_boolean, true },
		{ "backup-stamp", json_type_string, true },
		{ "previous-backup-stamp", json_type_string, true },
		{ "backup-metadata", json_type_string, true },
		{ "failure-message", json_type_string, true },
		{ NULL },
	};
	json_object *v;
	int r;

	if ((r = check_object(o, where, fields, err)) < 0 ||
	    (r = take_string(o, where, "name", VSSD_STRING_MAX, false, &c->name, err)) < 0 ||
	    (r = take_string(o, where, "backup-stamp", DOC_STAMP_MAX, true, &c->backup_stamp,
	                     err)) < 0 ||
	    (r = take_string(o, where, "previous-backup-stamp", DOC_STAMP_MAX, true,
	                     &c->previous_backup_stamp, err)) < 0 ||
	    (r = take_string(o, where, "backup-metadata", DOC_STAMP_MAX, true, &c->backup_metadata,
	                     err)) < 0 ||
	    (r = take_string(o, where, "failure-message", DOC_FAILURE_MAX, false,
	                     &c->failure_message, err)) < 0)
		return r;
	c->selected = json_object_get_boolean(get(o, "selected"));
	v = get(o, "backup-succeeded");
	c->succeeded = !v                           ? DOC_RESULT_UNKNOWN
	               : json_object_get_boolean(v) ? DOC_RESULT_SUCCEEDED
	                                            : DOC_RESULT_FAILED;
	return 0;
}

static int parse_writer(json_object *o, const char *where, DocWriter *w, VssErr *err)
{
	static const Field fields[] = {
		{ "instance-id", json_type_string },
		{ "class-id", json_type_string },
		{ "name", json_type_string },
		{ "instance-name", json_type_string },
		{ "state", json_type_int },
		{ "last-error", json_type_string },
		{ "failure-message", json_type_string },
		{ "components", json_type_array },
		{ NULL },
	};
	json_object *comps;
	int64_t state;
	int r;

	if ((r = check_object(o, where, fields, err)) < 0 ||
	    (r = take_id(o, where, "instance-id", &w->instance_id, err)) < 0 ||
	    (r = take_id(o, where, "class-id", &w->class_id, err)) < 0 ||
	    (r = take_string(o, where, "name", VSSD_STRING_MAX, false, &w->name, err)) < 0 ||
	    (r = take_string(o, where, "instance-name", VSSD_STRING_MAX, true, &w->instance_name,
	                     err)) < 0 ||
	    (r = take_string(o, where, "last-error", VSSD_STRING_MAX, true, &w->last_error, err)) <
	            0 ||
	    (r = take_string(o, where, "failure-message", VSSD_STRING_MAX * 8, true,
	                     &w->failure_message, err)) < 0)
		return r;
	state = json_object_get_int64(get(o, "state"));
	if (state < 0 || state >= DOC_WRITER_STATES)
		return bad(err, where, "state", "%" PRId64 " is not a VSS_WRITER_STATE (0-15)",
		           state);
	w->state = (uint32_t)state;
	comps = get(o, "components");
	r = array_of_objects(comps, where, "components", VSSD_COMPONENTS_PER_WRITER_MAX, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < json_object_array_length(comps); i++) {
		DocComponent *c = document_writer_add_component(w);
		char cw[DOC_WHERE_MAX + 48];

		if (!c)
			return -ENOMEM;
		snprintf(cw, sizeof(cw), "%s.components[%zu]", where, i);
		r = parse_component(json_object_array_get_idx(comps, i), cw, c, err);
		if (r < 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (streq(w->components[j].name, c->name))
				return bad(err, cw, "name", "\"%.64s\" appears twice", c->name);
	}
	return 0;
}

static int parse_snapshot(json_object *o, const char *where, DocSnapshot *s, VssErr *err)
{
	static const Field fields[] = {
		{ "id", json_type_string },
		{ "volume", json_type_string },
		{ "device", json_type_string },
		{ "provider", json_type_string },
		{ NULL },
	};
	int r;

	if ((r = check_object(o, where, fields, err)) < 0 ||
	    (r = take_id(o, where, "id", &s->id, err)) < 0 ||
	    (r = take_string(o, where, "volume", VSSD_PATH_MAX, false, &s->volume, err)) < 0 ||
	    (r = take_string(o, where, "device", VSSD_PATH_MAX, true, &s->device, err)) < 0 ||
	    (r = take_string(o, where, "provider", VSSD_STRING_MAX, true, &s->provider, err)) < 0)
		return r;
	return 0;
}

static int parse_document(json_object *o, BackupDocument *d, VssErr *err)
{
	static const Field fields[] = {
		{ "format", json_type_string },     { "set-id", json_type_string },
		{ "context", json_type_string },    { "backup-type", json_type_string },
		{ "creation-time", json_type_int }, { "snapshots", json_type_array },
		{ "writers", json_type_array },     { NULL },
	};
	json_object *a;
	int64_t t;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return bad(err, "", "", "not a JSON object");
	/* the format first: a foreign document is named as such, not by its first odd key */
	if (!json_object_is_type(get(o, "format"), json_type_string))
		return bad(err, "", "format", "missing; not a vssd backup document");
	if (!streq(json_object_get_string(get(o, "format")), DOCUMENT_FORMAT))
		return bad(err, "", "format", "\"%.64s\" is not %s",
		           json_object_get_string(get(o, "format")), DOCUMENT_FORMAT);
	if ((r = check_object(o, "", fields, err)) < 0 ||
	    (r = take_id(o, "", "set-id", &d->set_id, err)) < 0 ||
	    (r = take_enum(o, "", "context", state_set_contexts, &d->context, err)) < 0 ||
	    (r = take_enum(o, "", "backup-type", state_backup_types, &d->backup_type, err)) < 0)
		return r;
	t = json_object_get_int64(get(o, "creation-time"));
	if (t < 0 || (uint64_t)t > DOC_NUMBER_MAX)
		return bad(err, "", "creation-time", "%" PRId64 " is negative", t);
	d->creation_time = (uint64_t)t;

	a = get(o, "snapshots");
	r = array_of_objects(a, "", "snapshots", VSSD_VOLUMES_PER_SET_MAX, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		DocSnapshot *s = document_add_snapshot(d);
		char w[DOC_WHERE_MAX];

		if (!s)
			return -ENOMEM;
		snprintf(w, sizeof(w), "snapshots[%zu]", i);
		r = parse_snapshot(json_object_array_get_idx(a, i), w, s, err);
		if (r < 0)
			return r;
	}
	a = get(o, "writers");
	r = array_of_objects(a, "", "writers", VSSD_WRITERS_MAX, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		DocWriter *w = document_add_writer(d);
		char where[DOC_WHERE_MAX];

		if (!w)
			return -ENOMEM;
		snprintf(where, sizeof(where), "writers[%zu]", i);
		r = parse_writer(json_object_array_get_idx(a, i), where, w, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int document_from_json(const char *text, BackupDocument *ret, VssErr *err)
{
	_cleanup_(doc_json_putp) json_object *o = NULL;
	BackupDocument d = { 0 };
	struct json_tokener *tok;
	size_t size = strlen(text);
	int r;

	if (size > DOCUMENT_MAX)
		return bad(err, "", "", "%zu bytes, at most %u are allowed", size, DOCUMENT_MAX);
	tok = json_tokener_new_ex(DOC_JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, text, (int)size + 1); /* with the NUL: no more data */
	if (o && (size_t)json_tokener_get_parse_end(tok) < size) {
		r = bad(err, "", "", "data after the JSON document (offset %zu)",
		        (size_t)json_tokener_get_parse_end(tok));
		json_tokener_free(tok);
		return r;
	}
	if (!o) {
		r = bad(err, "", "", "not valid JSON (%s at offset %zu)",
		        json_tokener_error_desc(json_tokener_get_error(tok)),
		        (size_t)json_tokener_get_parse_end(tok));
		json_tokener_free(tok);
		return r;
	}
	json_tokener_free(tok);
	r = parse_document(o, &d, err);
	if (r < 0) {
		document_done(&d);
		return r;
	}
	*ret = d;
	return 0;
}
