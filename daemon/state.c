/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state.c - /var/lib/vssd/state.json in memory: destructors, failures, lookups, membership */
#include <stdarg.h>

#include "daemon/state-internal.h"

/* ---- destructors ----------------------------------------------------------------------------- */

void state_snapshot_done(StateSnapshot *snap)
{
	free(snap->volume);
	free(snap->volume_name);
	free(snap->provider);
	json_object_put(snap->provider_data);
	free(snap->state);
	free(snap->exposed_path);
	*snap = (StateSnapshot){ 0 };
}

void state_set_done(StateSet *set)
{
	free(set->context);
	free(set->backup_type);
	free(set->description);
	free(set->schedule);
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
int state_fail(const Ctx *x, const char *where, const char *key, const char *fmt, ...)
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
int state_fail_at(const Ctx *x, const char *text, size_t offset, const char *fmt, ...)
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
bool state_printable(const char *s, size_t n)
{
	if (n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

bool state_in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (streq(*l, s))
			return true;
	return false;
}

/* "<name>: <message>" for a message a provider made ("<where>.<key>: <reason>") */
int state_fail_message(const Ctx *x, const char *message)
{
	if (!x->ret_error)
		return x->error;
	if (asprintf(x->ret_error, "%s: %s", x->name, strempty(message)) < 0)
		*x->ret_error = NULL;
	return x->error;
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

uint64_t state_provider_u64(const StateSnapshot *snap, const char *key)
{
	json_object *v;

	if (!snap || !json_object_object_get_ex(snap->provider_data, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_uint64(v);
}

const char *state_provider_string(const StateSnapshot *snap, const char *key)
{
	json_object *v;

	if (!snap || !json_object_object_get_ex(snap->provider_data, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}
