/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-writer-restore.c - libvsswriter: PreRestore and PostRestore, their info and handlers
 * (LIBVSSWRITER_1.3) */
#include <dbus/dbus.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "client/libvsswriter/vss-writer-internal.h"
#include "common/busmsg.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "common/vssid.h"

#define RESTORE_TEXT_MAX 4096 /* bytes: stamps, metadata, options */

_public_ int vss_writer_set_restore_handlers(struct vss_writer *w,
                                             const struct vss_writer_restore_handlers *handlers,
                                             size_t size, void *userdata)
{
	if (!w || !handlers || size == 0 || size > sizeof(w->restore_handlers))
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	w->restore_handlers = (struct vss_writer_restore_handlers){ 0 };
	memcpy(&w->restore_handlers, handlers, size);
	w->restore_userdata = userdata;
	return 0;
}

typedef struct RestoreArgs {
	struct vss_writer_restore_info info;
	struct vss_writer_restore_component *comps;
	const struct vss_writer_restore_component **ptrs;
	size_t n;
} RestoreArgs;

static void restore_args_done(RestoreArgs *a)
{
	free(a->comps);
	free(a->ptrs);
}

/* A string value of a known key: valid text of at most max bytes (empty allowed) */
static int take_text(DBusMessageIter *v, size_t max, const char **ret)
{
	const char *s;

	if (dbus_message_iter_get_arg_type(v) != DBUS_TYPE_STRING)
		return -EINVAL;
	dbus_message_iter_get_basic(v, &s);
	if (!valid_text_or_empty(s, max))
		return -EINVAL;
	*ret = s;
	return 0;
}

static int parse_component(DBusMessageIter *dict, struct vss_writer_restore_component *c)
{
	DBusMessageIter v;
	const char *key;
	int r = 0;

	*c = (struct vss_writer_restore_component){ .backup_succeeded = -1,
		                                    .restore_type = "by-copy" };
	while (r >= 0 && busmsg_dict_next(dict, &key, &v) > 0) {
		if (streq(key, "name"))
			r = take_text(&v, VSSD_STRING_MAX, &c->name);
		else if (streq(key, "backup-stamp"))
			r = take_text(&v, RESTORE_TEXT_MAX, &c->backup_stamp);
		else if (streq(key, "backup-metadata"))
			r = take_text(&v, RESTORE_TEXT_MAX, &c->backup_metadata);
		else if (streq(key, "restore-options"))
			r = take_text(&v, RESTORE_TEXT_MAX, &c->restore_options);
		else if (streq(key, "new-target"))
			r = take_text(&v, VSSD_PATH_MAX, &c->new_target);
		else if (streq(key, "restore-type"))
			r = take_text(&v, VSSD_STRING_MAX, &c->restore_type);
		else if (streq(key, "file-restore-status"))
			r = take_text(&v, VSSD_STRING_MAX, &c->file_restore_status);
		else if (streq(key, "backup-succeeded")) {
			dbus_bool_t b;

			if (dbus_message_iter_get_arg_type(&v) != DBUS_TYPE_BOOLEAN)
				return -EINVAL;
			dbus_message_iter_get_basic(&v, &b);
			c->backup_succeeded = !!b;
		}
		/* keys this version does not know are skipped: vssd may add some */
	}
	if (r < 0 || !c->name || !c->name[0])
		return -EINVAL;
	return 0;
}

/* PreRestore/PostRestore(s session, a{sv} info): backup-set s, backup-type s, context s,
 * backup-instance-id s, components aa{sv} */
static int restore_args_parse(DBusMessage *m, WriterEvent ev, RestoreArgs *a, const char **why)
{
	DBusMessageIter it, d, v;
	const char *key;
	VssId id;
	int r;

	*why = "invalid arguments";
	if (!dbus_message_has_signature(m, "sa{sv}")) {
		*why = "wrong argument types";
		return -EINVAL;
	}
	a->info = (struct vss_writer_restore_info){
		.backup_set_id = "", .backup_type = "", .context = "", .backup_instance_id = ""
	};
	dbus_message_iter_init(m, &it);
	dbus_message_iter_get_basic(&it, &a->info.session_id);
	if (vssid_from_string(a->info.session_id, &id) < 0) {
		*why = "the session id is not a UUID";
		return -EINVAL;
	}
	dbus_message_iter_next(&it);
	dbus_message_iter_recurse(&it, &d);
	while (busmsg_dict_next(&d, &key, &v) > 0) {
		if (streq(key, "backup-set"))
			r = take_text(&v, VSSD_STRING_MAX, &a->info.backup_set_id);
		else if (streq(key, "backup-type"))
			r = take_text(&v, VSSD_STRING_MAX, &a->info.backup_type);
		else if (streq(key, "context"))
			r = take_text(&v, VSSD_STRING_MAX, &a->info.context);
		else if (streq(key, "backup-instance-id"))
			r = take_text(&v, VSSD_STRING_MAX, &a->info.backup_instance_id);
		else if (streq(key, "components")) {
			DBusMessageIter arr, comp;
			size_t count;

			if (!busmsg_has_signature(&v, "aa{sv}")) {
				*why = "components is not aa{sv}";
				return -EINVAL;
			}
			count = busmsg_array_count(&v);
			if (count > VSSD_COMPONENTS_PER_WRITER_MAX) {
				*why = "too many components";
				return -E2BIG;
			}
			a->comps = calloc(count + 1, sizeof(*a->comps));
			a->ptrs = calloc(count + 1, sizeof(*a->ptrs));
			if (!a->comps || !a->ptrs)
				return -ENOMEM;
			dbus_message_iter_recurse(&v, &arr);
			for (; a->n < count &&
			       dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_ARRAY;
			     dbus_message_iter_next(&arr)) {
				dbus_message_iter_recurse(&arr, &comp);
				if (parse_component(&comp, &a->comps[a->n]) < 0) {
					*why = "a component is not valid";
					return -EINVAL;
				}
				a->ptrs[a->n] = &a->comps[a->n];
				a->n++;
			}
			r = 0;
		} else
			r = 0;
		if (r < 0) {
			*why = "a string of the info is not valid text";
			return r;
		}
	}
	if (!a->ptrs) {
		a->ptrs = calloc(1, sizeof(*a->ptrs));
		if (!a->ptrs)
			return -ENOMEM;
	}
	(void)ev;
	a->info.components = a->ptrs;
	a->info.n_components = a->n;
	return 0;
}

static enum vss_writer_error restore_error_from_errno(int r)
{
	switch (-r) {
	case ENOMEM:
	case ENOSPC:
	case ENOBUFS:
	case EMFILE:
	case ENFILE:
	case EDQUOT:
		return VSS_WRITER_ERROR_OUT_OF_RESOURCES;
	case ETIMEDOUT:
		return VSS_WRITER_ERROR_TIMEOUT;
	}
	return VSS_WRITER_ERROR_RETRYABLE;
}

DBusMessage *writer_handle_restore(struct vss_writer *w, DBusMessage *m, WriterEvent ev,
                                   bool *unhandled)
{
	_cleanup_(restore_args_done) RestoreArgs a = { 0 };
	int (*fn)(struct vss_writer *, const struct vss_writer_restore_info *, void *) =
		ev == WRITER_EVENT_PRE_RESTORE ? w->restore_handlers.pre_restore
					       : w->restore_handlers.post_restore;
	enum vss_writer_error code;
	const char *why, *reason;
	char buf[64];
	DBusMessage *reply;
	int r;

	*unhandled = false;
	if (!fn) {
		*unhandled = true; /* vssd: nothing to do for this writer */
		return NULL;
	}
	r = restore_args_parse(m, ev, &a, &why);
	if (r == -ENOMEM)
		return NULL;
	if (r < 0)
		return dbus_message_new_error(m, DBUS_ERROR_INVALID_ARGS, why);

	writer_log(w, LOG_DEBUG, "restore=%s: %s, %zu components", a.info.session_id,
	           writer_event_member(ev), a.n);
	w->in_handler = true;
	w->veto_code = 0;
	r = fn(w, &a.info, w->restore_userdata);
	w->in_handler = false;
	if (!w->veto_code && r >= 0)
		return dbus_message_new_method_return(m);

	code = w->veto_code ? w->veto_code : restore_error_from_errno(r);
	reason = w->veto_code ? (w->veto_reason ? w->veto_reason : "vetoed by the writer")
	                      : writer_errno_name(r, buf, sizeof(buf));
	writer_log(w, LOG_NOTICE, "restore=%s: vetoed %s: %s", a.info.session_id,
	           writer_event_member(ev), reason);
	reply = dbus_message_new_error(m, writer_error_name(code), reason);
	free(w->veto_reason);
	w->veto_reason = NULL;
	w->veto_code = 0;
	return reply;
}
