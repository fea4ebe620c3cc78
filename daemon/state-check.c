/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state-check.c - the rules of the state: values, references, limits, providers' objects */
#include <inttypes.h>
#include <stddef.h>

#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/provider.h"
#include "daemon/state-internal.h"

const char *const state_set_contexts[] = { "backup",
	                                   "file-share-backup",
	                                   "persistent",
	                                   "app-rollback",
	                                   "client-accessible",
	                                   "nas-rollback",
	                                   "client-accessible-writers",
	                                   NULL };
const char *const state_backup_types[] = { "full",         "copy", "incremental",
	                                   "differential", "log",  NULL };
static const char *const set_states[] = { "creating", "created", "completed", "deleting", NULL };
static const char *const snapshot_states[] = { "preparing", "created",  "invalid",
	                                       "merging",   "deleting", NULL };

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
		return state_fail(x, where, key, "missing");
	if (strnlen(s, max + 1) > max)
		return state_fail(x, where, key, "longer than %zu bytes", max);
	if (!valid_text_or_empty(s, max))
		return state_fail(x, where, key, "contains a control character");
	return 0;
}

static int check_path(const Ctx *x, const char *where, const char *key, const char *s)
{
	int r = check_string(x, where, key, s, VSSD_PATH_MAX);

	if (r < 0)
		return r;
	if (!valid_abs_path(s))
		return state_fail(x, where, key, "\"%s\" is not a clean absolute path", s);
	return 0;
}

static int check_dm_name(const Ctx *x, const char *where, const char *key, const char *s)
{
	int r = check_string(x, where, key, s, VSSD_DM_NAME_MAX);

	if (r < 0)
		return r;
	if (!valid_dm_name(s))
		return state_fail(x, where, key, "\"%s\" is not a valid device-mapper name", s);
	return 0;
}

static int check_enum(const Ctx *x, const char *where, const char *key, const char *s,
                      const char *const *values)
{
	_cleanup_free_ char *expected = NULL;
	int r = check_string(x, where, key, s, VSSD_STRING_MAX);

	if (r < 0 || state_in_list(values, s))
		return r;
	expected = join(values);
	return state_fail(x, where, key, "unknown value \"%s\"; expected one of: %s", s,
	                  strempty(expected));
}

static int check_number(const Ctx *x, const char *where, const char *key, uint64_t v, uint64_t min,
                        uint64_t max)
{
	if (v < min || v > max)
		return state_fail(x, where, key,
		                  "%" PRIu64 " is out of range %" PRIu64 "..%" PRIu64, v, min, max);
	return 0;
}

static int check_id(const Ctx *x, const char *where, const char *key, const VssId *id)
{
	return vssid_is_null(id) ? state_fail(x, where, key, "the null UUID is not an id") : 0;
}

/* A provider this vssd knows */
static int check_provider(const Ctx *x, const char *where, const StateSnapshot *snap)
{
	int r = check_string(x, where, "provider", snap->provider, VSSD_STRING_MAX);

	if (r < 0)
		return r;
	if (!provider_ops_by_name(snap->provider))
		return state_fail(x, where, "provider", "unknown provider \"%s\"", snap->provider);
	return 0;
}

/* The provider's own object, by the provider's rules */
static int check_provider_data(const Ctx *x, const char *where, const StateSnapshot *snap)
{
	const ProviderOps *ops = provider_ops_by_name(snap->provider);
	_cleanup_free_ char *message = NULL;
	char w[WHERE_MAX + 64];
	int r;

	if (!snap->provider_data)
		return state_fail(x, where, "provider_data", "missing");
	snprintf(w, sizeof(w), "%s.provider_data", where);
	r = ops->state_check(snap->provider_data, w, &message);
	if (r == -ENOMEM)
		return r;
	return r < 0 ? state_fail_message(x, message) : 0;
}

static int check_snapshot(const Ctx *x, const char *where, const StateSet *set,
                          const StateSnapshot *snap)
{
	int r;

	if ((r = check_id(x, where, "id", &snap->id)) < 0)
		return r;
	if (!vssid_equal(&snap->set_id, &set->id))
		return state_fail(x, where, "set_id",
		                  "differs from the id of the set that holds it");
	if ((r = check_path(x, where, "volume", snap->volume)) < 0 ||
	    (r = check_dm_name(x, where, "volume_name", snap->volume_name)) < 0 ||
	    (r = check_provider(x, where, snap)) < 0 ||
	    (r = check_number(x, where, "sectors", snap->sectors, 1, NUMBER_MAX)) < 0 ||
	    (r = check_number(x, where, "creation_time", snap->creation_time, 0, NUMBER_MAX)) < 0 ||
	    (r = check_enum(x, where, "state", snap->state, snapshot_states)) < 0)
		return r;
	if (snap->exposed_path &&
	    (r = check_path(x, where, "exposed_path", snap->exposed_path)) < 0)
		return r;
	return check_provider_data(x, where, snap);
}

static int check_set(const Ctx *x, const char *where, const StateSet *set)
{
	char w[WHERE_MAX + 32]; /* where + ".snapshots[<20 digits>]" */
	int r;

	if ((r = check_id(x, where, "id", &set->id)) < 0 ||
	    (r = check_enum(x, where, "context", set->context, state_set_contexts)) < 0 ||
	    (r = check_enum(x, where, "backup_type", set->backup_type, state_backup_types)) < 0 ||
	    (r = check_string(x, where, "description", set->description, VSSD_STRING_MAX)) < 0 ||
	    (r = check_enum(x, where, "state", set->state, set_states)) < 0 ||
	    (r = check_number(x, where, "creation_time", set->creation_time, 0, NUMBER_MAX)) < 0 ||
	    (r = check_number(x, where, "per_volume_instant", set->per_volume_instant, 0, 1)) < 0 ||
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
				return state_fail(x, w, "volume_name",
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
	const char *sub;   /* "provider_data" for a member of it, or NULL */
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
		snprintf(buf, WHERE_MAX, "%s[%zu].snapshots[%zu]%s%s", r->array, r->i, r->j,
		         r->sub ? "." : "", strempty(r->sub));
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
		return state_fail(x, ref_where(b, wb), key, "%s%s%s is also the %s of %s",
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

/* Refs to a string member of every snapshot's provider object, where its provider says that
 * member must be unique */
static size_t collect_provider_refs(const State *s, const ProviderOps *ops, const char *key,
                                    Ref *refs)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_sets; i++)
		for (size_t j = 0; j < s->sets[i].n_snapshots; j++) {
			const StateSnapshot *snap = &s->sets[i].snapshots[j];
			json_object *v;

			if (!streq_ptr(snap->provider, ops->name) ||
			    !json_object_object_get_ex(snap->provider_data, key, &v) ||
			    !json_object_is_type(v, json_type_string))
				continue;
			refs[n++] = (Ref){ .key = json_object_get_string(v),
				           .array = "sets",
				           .sub = "provider_data",
				           .i = i,
				           .j = j };
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
			return state_fail(x, ref_where(&refs[k], w), "volume_name",
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
	for (size_t p = 0; provider_ops_builtin(p); p++) {
		const ProviderOps *ops = provider_ops_builtin(p);

		for (size_t u = 0; ops->unique_keys && ops->unique_keys[u]; u++) {
			n = collect_provider_refs(s, ops, ops->unique_keys[u], refs);
			r = check_unique(x, refs, n, false, ops->unique_keys[u]);
			if (r < 0)
				return r;
		}
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

int state_check(const Ctx *x, const State *s)
{
	char w[WHERE_MAX];
	int r;

	if (s->version != STATE_VERSION)
		return state_fail(x, "", "version",
		                  "%u is not supported; this vssd handles version %d", s->version,
		                  STATE_VERSION);
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

	return state_check(&x, s);
}
