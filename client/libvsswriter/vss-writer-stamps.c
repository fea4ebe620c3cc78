/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-writer-stamps.c - libvsswriter: backup stamps, backup metadata and component failures set by
 * handlers and sent with their answers; the backup under way (LIBVSSWRITER_1.2) */
#include <dbus/dbus.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/libvsswriter/vss-writer-internal.h"
#include "common/busmsg.h"
#include "common/valid.h"

#define STAMP_MAX   4096 /* bytes of a stamp or metadata, as vssd keeps them */
#define FAILURE_MAX 1020 /* bytes of a component's failure message */

typedef struct WriterStamp {
	char *name;
	char *stamp;    /* NULL: not set by this handler */
	char *metadata; /* likewise */
	char *failure;  /* likewise */
} WriterStamp;

void writer_stamps_discard(struct vss_writer *w)
{
	for (size_t i = 0; i < w->n_stamps; i++) {
		free(w->stamps[i].name);
		free(w->stamps[i].stamp);
		free(w->stamps[i].metadata);
		free(w->stamps[i].failure);
	}
	free(w->stamps);
	w->stamps = NULL;
	w->n_stamps = 0;
}

void writer_backup_free(struct vss_writer *w)
{
	writer_stamps_discard(w);
	free(w->backup_set);
	free(w->backup_type);
	w->backup_set = w->backup_type = NULL;
	w->backup_selection = strv_free(w->backup_selection);
	w->previous_stamps = strv_free(w->previous_stamps);
}

int writer_backup_begin(struct vss_writer *w, WriterEvent ev, const WriterArgs *a)
{
	w->event = ev;
	writer_stamps_discard(w);
	if (ev != WRITER_EVENT_PREPARE_BACKUP)
		return 0;
	writer_backup_free(w);
	w->backup_set = strdup(a->set_id);
	w->backup_type = strdup(a->backup_type);
	w->backup_selection = calloc(1, sizeof(char *));
	w->previous_stamps = calloc(1, sizeof(char *));
	if (!w->backup_set || !w->backup_type || !w->backup_selection || !w->previous_stamps)
		goto fail;
	for (size_t i = 0; i < a->n_list; i++)
		if (strv_extend(&w->backup_selection, a->list[i]) < 0)
			goto fail;
	for (size_t i = 0; i + 1 < a->n_previous_stamps; i += 2)
		if (strv_extend(&w->previous_stamps, a->previous_stamps[i]) < 0 ||
		    strv_extend(&w->previous_stamps, a->previous_stamps[i + 1]) < 0)
			goto fail;
	return 0;
fail:
	writer_backup_free(w);
	return -ENOMEM;
}

void writer_backup_end(struct vss_writer *w, WriterEvent ev, const char *set_id)
{
	w->event = _WRITER_EVENT_INVALID;
	if (ev == WRITER_EVENT_BACKUP_SHUTDOWN && streq_ptr(w->backup_set, set_id))
		writer_backup_free(w);
}

static bool has_component(const struct vss_writer *w, const char *name)
{
	for (size_t i = 0; i < w->n_components; i++)
		if (streq(w->components[i].name, name))
			return true;
	return false;
}

/* May a handler set something on component now? 0, -EBUSY, -ENOENT */
static int check_settable(struct vss_writer *w, const char *component)
{
	switch (w->event) {
	case WRITER_EVENT_PREPARE_BACKUP:
	case WRITER_EVENT_PREPARE_SNAPSHOT:
	case WRITER_EVENT_FREEZE:
	case WRITER_EVENT_THAW:
	case WRITER_EVENT_POST_SNAPSHOT:
		break;
	default:
		return -EBUSY;
	}
	if (!w->in_handler || !w->backup_set)
		return -EBUSY;
	if (!has_component(w, component))
		return -ENOENT;
	if (w->backup_selection && w->backup_selection[0] &&
	    !strv_contains(w->backup_selection, component))
		return -ENOENT;
	return 0;
}

static int check_text(const char *s, size_t max, bool empty_ok)
{
	if (!s || !dbus_validate_utf8(s, NULL))
		return -EINVAL;
	if (strlen(s) > max)
		return -E2BIG;
	return (empty_ok ? valid_text_or_empty(s, max) : valid_text(s, max)) ? 0 : -EINVAL;
}

static WriterStamp *stamp_entry(struct vss_writer *w, const char *component)
{
	WriterStamp *n;

	for (size_t i = 0; i < w->n_stamps; i++)
		if (streq(w->stamps[i].name, component))
			return &w->stamps[i];
	n = reallocarray(w->stamps, w->n_stamps + 1, sizeof(*n));
	if (!n)
		return NULL;
	w->stamps = n;
	n = &w->stamps[w->n_stamps];
	*n = (WriterStamp){ .name = strdup(component) };
	if (!n->name)
		return NULL;
	w->n_stamps++;
	return n;
}

/* which: 0 stamp, 1 metadata, 2 failure */
static int set_text(struct vss_writer *w, const char *component, const char *value, int which)
{
	WriterStamp *e;
	char *copy, **dst;
	int r;

	if (!w || !component)
		return -EINVAL;
	r = check_settable(w, component);
	if (r < 0)
		return r;
	r = check_text(value, which == 2 ? FAILURE_MAX : STAMP_MAX, which != 2);
	if (r < 0)
		return r;
	copy = strdup(value);
	e = copy ? stamp_entry(w, component) : NULL;
	if (!e) {
		free(copy);
		return -ENOMEM;
	}
	dst = which == 0 ? &e->stamp : which == 1 ? &e->metadata : &e->failure;
	free(*dst);
	*dst = copy;
	return 0;
}

_public_ int vss_writer_set_backup_stamp(struct vss_writer *w, const char *component,
                                         const char *stamp)
{
	return set_text(w, component, stamp, 0);
}

_public_ int vss_writer_set_backup_metadata(struct vss_writer *w, const char *component,
                                            const char *metadata)
{
	return set_text(w, component, metadata, 1);
}

_public_ int vss_writer_fail_component(struct vss_writer *w, const char *component,
                                       const char *format, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int n;

	if (!w || !component || !format)
		return -EINVAL;
	va_start(ap, format);
	n = vasprintf(&msg, format, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	return set_text(w, component, msg, 2);
}

_public_ const char *vss_writer_get_previous_backup_stamp(struct vss_writer *w,
                                                          const char *component)
{
	if (!w || !component)
		return NULL;
	for (char **p = w->previous_stamps; p && p[0] && p[1]; p += 2)
		if (streq(p[0], component))
			return p[1];
	return NULL;
}

_public_ const char *vss_writer_get_backup_type(struct vss_writer *w)
{
	return w ? w->backup_type : NULL;
}

/* The answer's a{sv}: "components" aa{sv}, each with name and what was set */
static int append_stamps(struct vss_writer *w, DBusMessage *reply)
{
	DBusMessageIter it, d, e, v, a, c;
	int r;

	dbus_message_iter_init_append(reply, &it);
	r = busmsg_dict_open(&it, &d);
	if (r < 0)
		return r;
	r = busmsg_entry_open(&d, "components", "aa{sv}", &e, &v);
	if (r < 0)
		return r;
	if (!dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a))
		return -ENOMEM;
	for (size_t i = 0; i < w->n_stamps; i++) {
		const WriterStamp *s = &w->stamps[i];

		if (busmsg_dict_open(&a, &c) < 0 ||
		    busmsg_dict_append_string(&c, "name", s->name) < 0 ||
		    (s->stamp && busmsg_dict_append_string(&c, "backup-stamp", s->stamp) < 0) ||
		    (s->metadata &&
		     busmsg_dict_append_string(&c, "backup-metadata", s->metadata) < 0) ||
		    (s->failure &&
		     busmsg_dict_append_string(&c, "failure-message", s->failure) < 0) ||
		    busmsg_dict_close(&a, &c) < 0)
			return -ENOMEM;
	}
	if (!dbus_message_iter_close_container(&v, &a))
		return -ENOMEM;
	r = busmsg_entry_close(&d, &e, &v, 0);
	if (r < 0)
		return r;
	return busmsg_dict_close(&it, &d);
}

DBusMessage *writer_stamps_reply(struct vss_writer *w, DBusMessage *m)
{
	DBusMessage *reply = dbus_message_new_method_return(m);

	if (reply && w->n_stamps > 0 && append_stamps(w, reply) < 0) {
		dbus_message_unref(reply);
		reply = NULL;
	}
	writer_stamps_discard(w);
	return reply;
}
