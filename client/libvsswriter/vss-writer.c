/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-writer.c - libvsswriter: the writer handle, its settings, start and veto (public API) */
#include <dbus/dbus.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/libvsswriter/vss-writer-internal.h"
#include "common/escape.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "common/vssid.h"

void _printf_(3, 4) writer_log(struct vss_writer *w, int priority, const char *fmt, ...)
{
	char line[WRITER_LOG_LINE_MAX], esc[WRITER_LOG_LINE_MAX];
	va_list ap;

	if (!w->log_fn)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap); /* a long line is cut, never overrun */
	va_end(ap);
	/* one line, as promised: text from vssd or the application cannot add lines or escapes */
	(void)text_escape_buf(line, ESCAPE_KEEP_BACKSLASH, esc, sizeof(esc));
	w->log_fn(w, priority, esc, w->log_userdata);
}

const char *writer_errno_name(int error, char *buf, size_t size)
{
	return strerror_r(error < 0 ? -error : error, buf, size);
}

/* Makes s safe to send: cut at a character boundary, valid UTF-8, no control characters. */
static void sanitize_text(char *s)
{
	size_t n = strlen(s);

	if (n >= WRITER_REASON_MAX) {
		n = WRITER_REASON_MAX - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		s[n] = 0;
	}
	if (!dbus_validate_utf8(s, NULL))
		for (char *p = s; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/* ---- the handle */

static void writer_free(struct vss_writer *w)
{
	if (w->frozen)
		writer_safety_thaw(w, "the writer handle is released");
	writer_disconnect(w);
	writer_metadata_free(w);
	writer_backup_free(w);
	free(w->name);
	free(w->class_id);
	free(w->instance_name);
	free(w->address);
	free(w->veto_reason);
	free(w->frozen_set);
	free(w->timed_out_set);
	writer_loop_done(w);
	free(w);
}

_public_ struct vss_writer *vss_writer_ref(struct vss_writer *w)
{
	if (w)
		w->n_ref++;
	return w;
}

_public_ struct vss_writer *vss_writer_unref(struct vss_writer *w)
{
	if (w && --w->n_ref == 0)
		writer_free(w);
	return NULL;
}

static void writer_unrefp(struct vss_writer **w)
{
	vss_writer_unref(*w);
}

static bool valid_bus_text(const char *s)
{
	return valid_text(s, VSSD_STRING_MAX) && dbus_validate_utf8(s, NULL);
}

_public_ int vss_writer_new(const char *name, const char *class_id, struct vss_writer **ret)
{
	_cleanup_(writer_unrefp) struct vss_writer *w = NULL;
	char id_buf[VSSID_STRING_MAX];
	VssId id;
	int r;

	if (!ret || !valid_bus_text(name) || vssid_from_string(class_id, &id) < 0)
		return -EINVAL;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct vss_writer){
		.n_ref = 1,
		.usage = WRITER_DEFAULT_USAGE,
		.freeze_timeout_msec = VSSD_FREEZE_TIMEOUT_DEFAULT_MSEC,
		.epoll_fd = -EBADF,
		.timer_fd = -EBADF,
		.wake_fd = -EBADF,
		.stop_fd = -EBADF,
		.freeze_deadline = USEC_INFINITY,
	};
	w->name = strdup(name);
	w->class_id = strdup(vssid_to_string(&id, id_buf)); /* lower case, as vssd reports it */
	if (!w->name || !w->class_id)
		return -ENOMEM;

	r = writer_loop_init(w);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(w);
	return 0;
}

_public_ int vss_writer_set_log_fn(struct vss_writer *w,
                                   void (*fn)(struct vss_writer *w, int priority,
                                              const char *message, void *userdata),
                                   void *userdata)
{
	if (!w)
		return -EINVAL;
	w->log_fn = fn;
	w->log_userdata = userdata;
	return 0;
}

_public_ int vss_writer_set_handlers(struct vss_writer *w,
                                     const struct vss_writer_handlers *handlers, size_t size,
                                     void *userdata)
{
	if (!w || !handlers || size == 0 || size > sizeof(w->handlers))
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	w->handlers = (struct vss_writer_handlers){ 0 };
	memcpy(&w->handlers, handlers, size);
	w->userdata = userdata;
	return 0;
}

_public_ int vss_writer_set_instance_name(struct vss_writer *w, const char *instance_name)
{
	char *copy = NULL;

	if (!w || (instance_name && !valid_bus_text(instance_name)))
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	if (instance_name) {
		copy = strdup(instance_name);
		if (!copy)
			return -ENOMEM;
	}
	free(w->instance_name);
	w->instance_name = copy;
	return 0;
}

_public_ int vss_writer_set_usage(struct vss_writer *w, enum vss_writer_usage usage)
{
	if (!w || !writer_usage_to_string(usage))
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	w->usage = usage;
	return 0;
}

_public_ int vss_writer_set_freeze_timeout(struct vss_writer *w, uint32_t timeout_msec)
{
	if (!w || timeout_msec == 0)
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	w->freeze_timeout_msec = timeout_msec;
	return 0;
}

_public_ int vss_writer_add_component(struct vss_writer *w, const char *name,
                                      const char *const *paths)
{
	return writer_add_component(w, name, paths, true);
}

int writer_add_component(struct vss_writer *w, const char *name, const char *const *paths,
                         bool paths_required)
{
	_cleanup_strv_free_ char **copy = NULL;
	_cleanup_free_ char *name_copy = NULL;
	WriterComponent *a;
	size_t n = 0;
	int r;

	if (!w || !valid_bus_text(name) || !paths || (paths_required && !paths[0]))
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	for (size_t i = 0; i < w->n_components; i++)
		if (streq(w->components[i].name, name))
			return -EEXIST;
	if (w->n_components >= VSSD_COMPONENTS_PER_WRITER_MAX)
		return -E2BIG;
	for (; paths[n]; n++) {
		if (n >= VSSD_PATHS_PER_COMPONENT_MAX)
			return -E2BIG;
		if (!valid_abs_path(paths[n]) || !dbus_validate_utf8(paths[n], NULL))
			return -EINVAL;
		r = strv_extend(&copy, paths[n]);
		if (r < 0)
			return r;
	}
	if (!copy && !(copy = calloc(1, sizeof(char *)))) /* no paths: an empty list */
		return -ENOMEM;
	name_copy = strdup(name);
	if (!name_copy)
		return -ENOMEM;
	a = reallocarray(w->components, w->n_components + 1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	w->components = a;
	w->components[w->n_components++] = (WriterComponent){
		.name = TAKE_PTR(name_copy),
		.paths = TAKE_PTR(copy),
		.selectable = true,
	};
	return 0;
}

_public_ int vss_writer_set_bus_address(struct vss_writer *w, const char *address)
{
	char *copy = NULL;

	if (!w || (address && !valid_text(address, VSSD_PATH_MAX)))
		return -EINVAL;
	if (w->conn)
		return -EBUSY;
	if (address) {
		copy = strdup(address);
		if (!copy)
			return -ENOMEM;
	}
	free(w->address);
	w->address = copy;
	return 0;
}

_public_ int vss_writer_start(struct vss_writer *w)
{
	int r;

	if (!w)
		return -EINVAL;
	if (w->conn)
		return -EALREADY;
	r = writer_connect(w);
	if (r < 0)
		writer_disconnect(w);
	return r;
}

_public_ int vss_writer_veto(struct vss_writer *w, enum vss_writer_error code, const char *format,
                             ...)
{
	char *reason = NULL;
	va_list ap;
	int n;

	if (!w || !format || code < VSS_WRITER_ERROR_RETRYABLE || code > VSS_WRITER_ERROR_TIMEOUT)
		return -EINVAL;
	if (!w->in_handler)
		return -EBUSY;
	va_start(ap, format);
	n = vasprintf(&reason, format, ap);
	va_end(ap);
	if (n < 0)
		reason = NULL; /* the veto stands, with the default reason */
	else
		sanitize_text(reason);
	free(w->veto_reason);
	w->veto_reason = reason && reason[0] ? reason : (free(reason), NULL);
	w->veto_code = code;
	return -ECANCELED;
}

_public_ const char *vss_writer_get_instance_id(struct vss_writer *w)
{
	return w ? w->instance_id : NULL;
}
