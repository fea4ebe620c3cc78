/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-writer.c - libvsswriter: the Writer object on libdbus, registration, loop, freeze safety */
#include <dbus/dbus.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <syslog.h>

#include "client/libvsswriter/vss-writer.h"
#include "common/escape.h"
#include "common/macro.h"
#include "common/valid.h"
#include "common/vssd-bus-names.h"
#include "common/vssd-limits.h"
#include "common/vssid.h"

#define _public_ __attribute__((visibility("default")))

#define WRITER_OBJECT_PATH   "/org/vssd/ShadowCopy1/Writer"
#define WRITER_CALL_MSEC     30000 /* RegisterWriter, GetNameOwner: explicit, not libdbus's 25 s */
#define WRITER_REASON_MAX    1024  /* bytes of a veto reason, NUL included */
#define WRITER_LOG_LINE_MAX  2048
#define WRITER_EPOLL_BATCH   8
#define WRITER_DISPATCH_MAX  64 /* messages per vss_writer_dispatch(); the rest: next call */
#define WRITER_DEFAULT_USAGE VSS_WRITER_USAGE_USER_DATA

#define VSSD_OWNER_MATCH                                                     \
	"type='signal',sender='" DBUS_SERVICE_DBUS "',path='" DBUS_PATH_DBUS \
	"',interface='" DBUS_INTERFACE_DBUS "',member='NameOwnerChanged',arg0='" VSSD_BUS_NAME "'"

static const struct {
	const char *member;
	const char *signature;
} writer_events[_WRITER_EVENT_MAX] = {
	[WRITER_EVENT_IDENTIFY] = { "Identify", "" },
	[WRITER_EVENT_PREPARE_BACKUP] = { "PrepareForBackup", "a{sv}" },
	[WRITER_EVENT_PREPARE_SNAPSHOT] = { "PrepareForSnapshot", "sas" },
	[WRITER_EVENT_FREEZE] = { "Freeze", "s" },
	[WRITER_EVENT_THAW] = { "Thaw", "s" },
	[WRITER_EVENT_POST_SNAPSHOT] = { "PostSnapshot", "sa{ss}" },
	[WRITER_EVENT_ABORT] = { "Abort", "s" },
	[WRITER_EVENT_BACKUP_COMPLETE] = { "BackupComplete", "sb" },
	[WRITER_EVENT_BACKUP_SHUTDOWN] = { "BackupShutdown", "s" },
};

static const char *const usage_names[] = {
	[VSS_WRITER_USAGE_USER_DATA] = "user-data",
	[VSS_WRITER_USAGE_BOOTABLE_SYSTEM_STATE] = "bootable-system-state",
	[VSS_WRITER_USAGE_SYSTEM_SERVICE] = "system-service",
	[VSS_WRITER_USAGE_OTHER] = "other",
};

static const char *const error_names[] = {
	[VSS_WRITER_ERROR_RETRYABLE] = VSSD_WRITER_ERROR_PREFIX "Retryable",
	[VSS_WRITER_ERROR_NON_RETRYABLE] = VSSD_WRITER_ERROR_PREFIX "NonRetryable",
	[VSS_WRITER_ERROR_OUT_OF_RESOURCES] = VSSD_WRITER_ERROR_PREFIX "OutOfResources",
	[VSS_WRITER_ERROR_INCONSISTENT_SNAPSHOT] = VSSD_WRITER_ERROR_PREFIX "InconsistentSnapshot",
	[VSS_WRITER_ERROR_TIMEOUT] = VSSD_WRITER_ERROR_PREFIX "Timeout",
};

/* clang-format off */
#define ARG_IN(name, type)  "<arg name=\"" name "\" type=\"" type "\"/>"
#define ARG_OUT(name, type) "<arg name=\"" name "\" type=\"" type "\" direction=\"out\"/>"
#define METHOD(name, args)  "  <method name=\"" name "\">" args "</method>\n"

static const char writer_introspection[] =
	DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE
	"<node>\n"
	" <interface name=\"" VSSD_IFACE_WRITER "\">\n"
	METHOD("Identify", ARG_OUT("info", "a{sv}"))
	METHOD("PrepareForBackup", ARG_IN("options", "a{sv}"))
	METHOD("PrepareForSnapshot", ARG_IN("set", "s") ARG_IN("volumes", "as"))
	METHOD("Freeze", ARG_IN("set", "s"))
	METHOD("Thaw", ARG_IN("set", "s"))
	METHOD("PostSnapshot", ARG_IN("set", "s") ARG_IN("devices", "a{ss}"))
	METHOD("Abort", ARG_IN("set", "s"))
	METHOD("BackupComplete", ARG_IN("set", "s") ARG_IN("success", "b"))
	METHOD("BackupShutdown", ARG_IN("set", "s"))
	" </interface>\n"
	" <interface name=\"" DBUS_INTERFACE_INTROSPECTABLE "\">\n"
	METHOD("Introspect", ARG_OUT("xml", "s"))
	" </interface>\n"
	" <interface name=\"" DBUS_INTERFACE_PEER "\">\n"
	METHOD("Ping", "")
	METHOD("GetMachineId", ARG_OUT("id", "s"))
	" </interface>\n"
	"</node>\n";
/* clang-format on */

typedef struct WriterComponent {
	char *name;
	char **paths;
} WriterComponent;

typedef struct WriterTimeout {
	DBusTimeout *timeout;
	usec_t deadline; /* CLOCK_MONOTONIC; USEC_INFINITY while disabled */
} WriterTimeout;

typedef struct WriterFd {
	int fd;
	uint32_t events; /* as registered with epoll */
} WriterFd;

struct vss_writer {
	unsigned n_ref;

	/* What vssd learns at registration and from Identify */
	char *name;
	char *class_id;
	char *instance_name;
	enum vss_writer_usage usage;
	uint32_t freeze_timeout_msec;
	WriterComponent *components;
	size_t n_components;
	char *address; /* NULL: the system bus */

	struct vss_writer_handlers handlers;
	void *userdata;
	void (*log_fn)(struct vss_writer *w, int priority, const char *message, void *userdata);
	void *log_userdata;

	/* The loop: epoll_fd watches libdbus's sockets, timer_fd (the next deadline) and wake_fd
	 * (libdbus queued messages without the socket being readable). stop_fd ends run(). */
	int epoll_fd;
	int timer_fd;
	int wake_fd;
	int stop_fd;
	DBusConnection *conn;
	bool dispatching;
	bool disconnected;
	DBusWatch **watches;
	size_t n_watches;
	WriterFd *fds;
	size_t n_fds;
	WriterTimeout *timeouts;
	size_t n_timeouts;

	/* Registration: the current owner of org.vssd.ShadowCopy1 and our instance id there */
	char *vssd_owner;
	DBusPendingCall *owner_call;
	DBusPendingCall *register_call;
	char *instance_id;

	/* The event being handled, and its veto */
	bool in_handler;
	enum vss_writer_error veto_code;
	char *veto_reason;

	/* Freeze safety */
	bool frozen;
	char *frozen_set;
	usec_t freeze_deadline;
	char *timed_out_set; /* thawed by the library: a late Thaw gets Timeout */
};

DEFINE_POINTER_CLEANUP(message_unrefp, DBusMessage *, dbus_message_unref)
DEFINE_POINTER_CLEANUP(pending_unrefp, DBusPendingCall *, dbus_pending_call_unref)

static void _printf_(3, 4) writer_log(struct vss_writer *w, int priority, const char *fmt, ...)
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

static const char *errno_name(int error, char *buf, size_t size)
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

static int dbus_error_to_errno(const DBusError *e)
{
	if (dbus_error_has_name(e, DBUS_ERROR_NO_MEMORY))
		return -ENOMEM;
	if (dbus_error_has_name(e, DBUS_ERROR_BAD_ADDRESS))
		return -EINVAL;
	if (dbus_error_has_name(e, DBUS_ERROR_ACCESS_DENIED) ||
	    dbus_error_has_name(e, DBUS_ERROR_AUTH_FAILED))
		return -EACCES;
	if (dbus_error_has_name(e, DBUS_ERROR_TIMEOUT) ||
	    dbus_error_has_name(e, DBUS_ERROR_NO_REPLY))
		return -ETIMEDOUT;
	if (dbus_error_has_name(e, DBUS_ERROR_OBJECT_PATH_IN_USE))
		return -EEXIST;
	return -ECONNREFUSED;
}

/* ---- the loop: libdbus watches and timeouts on one epoll fd */

static int writer_update_fd(struct vss_writer *w, int fd)
{
	uint32_t events = 0;
	WriterFd *f = NULL;
	struct epoll_event ev;
	size_t i;

	for (i = 0; i < w->n_watches; i++) {
		unsigned flags;

		if (dbus_watch_get_unix_fd(w->watches[i]) != fd ||
		    !dbus_watch_get_enabled(w->watches[i]))
			continue;
		flags = dbus_watch_get_flags(w->watches[i]);
		if (flags & DBUS_WATCH_READABLE)
			events |= EPOLLIN;
		if (flags & DBUS_WATCH_WRITABLE)
			events |= EPOLLOUT;
	}
	for (i = 0; i < w->n_fds; i++)
		if (w->fds[i].fd == fd) {
			f = &w->fds[i];
			break;
		}

	if (f && events == f->events)
		return 0;
	if (f && events == 0) {
		/* libdbus may have closed it already; epoll forgot it then */
		(void)epoll_ctl(w->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
		*f = w->fds[--w->n_fds];
		return 0;
	}
	if (events == 0)
		return 0;

	ev = (struct epoll_event){ .events = events, .data.fd = fd };
	if (f) {
		if (epoll_ctl(w->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0)
			return -errno;
		f->events = events;
		return 0;
	}
	f = reallocarray(w->fds, w->n_fds + 1, sizeof(*w->fds));
	if (!f)
		return -ENOMEM;
	w->fds = f;
	if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	w->fds[w->n_fds++] = (WriterFd){ .fd = fd, .events = events };
	return 0;
}

static dbus_bool_t writer_on_add_watch(DBusWatch *watch, void *userdata)
{
	struct vss_writer *w = userdata;
	DBusWatch **a;

	a = reallocarray(w->watches, w->n_watches + 1, sizeof(*w->watches));
	if (!a)
		return FALSE;
	w->watches = a;
	w->watches[w->n_watches++] = watch;
	if (writer_update_fd(w, dbus_watch_get_unix_fd(watch)) < 0) {
		w->n_watches--;
		return FALSE;
	}
	return TRUE;
}

static void writer_on_remove_watch(DBusWatch *watch, void *userdata)
{
	struct vss_writer *w = userdata;

	for (size_t i = 0; i < w->n_watches; i++)
		if (w->watches[i] == watch) {
			w->watches[i] = w->watches[--w->n_watches];
			break;
		}
	(void)writer_update_fd(w, dbus_watch_get_unix_fd(watch));
}

static void writer_on_toggle_watch(DBusWatch *watch, void *userdata)
{
	struct vss_writer *w = userdata;
	int r;

	r = writer_update_fd(w, dbus_watch_get_unix_fd(watch));
	if (r < 0)
		writer_log(w, LOG_ERR, "cannot watch the bus connection: %s",
		           errno_name(r, (char[64]){ 0 }, 64));
}

static void writer_timeout_arm(WriterTimeout *t)
{
	if (dbus_timeout_get_enabled(t->timeout))
		t->deadline = now_usec(CLOCK_MONOTONIC) +
		              (usec_t)dbus_timeout_get_interval(t->timeout) * USEC_PER_MSEC;
	else
		t->deadline = USEC_INFINITY;
}

static WriterTimeout *writer_find_timeout(struct vss_writer *w, DBusTimeout *timeout)
{
	for (size_t i = 0; i < w->n_timeouts; i++)
		if (w->timeouts[i].timeout == timeout)
			return &w->timeouts[i];
	return NULL;
}

static dbus_bool_t writer_on_add_timeout(DBusTimeout *timeout, void *userdata)
{
	struct vss_writer *w = userdata;
	WriterTimeout *a;

	a = reallocarray(w->timeouts, w->n_timeouts + 1, sizeof(*w->timeouts));
	if (!a)
		return FALSE;
	w->timeouts = a;
	w->timeouts[w->n_timeouts] = (WriterTimeout){ .timeout = timeout };
	writer_timeout_arm(&w->timeouts[w->n_timeouts++]);
	return TRUE; /* the timer is re-armed at the end of every dispatch and start */
}

static void writer_on_remove_timeout(DBusTimeout *timeout, void *userdata)
{
	struct vss_writer *w = userdata;
	WriterTimeout *t = writer_find_timeout(w, timeout);

	if (t)
		*t = w->timeouts[--w->n_timeouts];
}

static void writer_on_toggle_timeout(DBusTimeout *timeout, void *userdata)
{
	WriterTimeout *t = writer_find_timeout(userdata, timeout);

	if (t)
		writer_timeout_arm(t);
}

static void writer_wake(struct vss_writer *w)
{
	(void)eventfd_write(w->wake_fd, 1);
}

static void writer_on_dispatch_status(DBusConnection *c, DBusDispatchStatus status, void *userdata)
{
	/* libdbus may be mid-call: only make the fd readable; vss_writer_dispatch() does the rest
	 */
	if (status != DBUS_DISPATCH_COMPLETE)
		writer_wake(userdata);
}

static usec_t writer_next_deadline(struct vss_writer *w)
{
	usec_t d = w->frozen ? w->freeze_deadline : USEC_INFINITY;

	for (size_t i = 0; i < w->n_timeouts; i++)
		d = MIN(d, w->timeouts[i].deadline);
	return d;
}

static void writer_arm_timer(struct vss_writer *w)
{
	struct itimerspec its = { 0 };
	usec_t d = writer_next_deadline(w);

	if (d != USEC_INFINITY) {
		d = MAX(d, (usec_t)1); /* it_value 0 would disarm */
		its.it_value.tv_sec = (time_t)(d / USEC_PER_SEC);
		its.it_value.tv_nsec = (long)(d % USEC_PER_SEC * NSEC_PER_USEC);
	}
	if (timerfd_settime(w->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		writer_log(w, LOG_ERR, "cannot arm the timer: %m");
}

static void drain_fd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) > 0)
		;
}

static bool writer_has_watch(struct vss_writer *w, DBusWatch *watch)
{
	for (size_t i = 0; i < w->n_watches; i++)
		if (w->watches[i] == watch)
			return true;
	return false;
}

static void writer_handle_fd(struct vss_writer *w, int fd, uint32_t events)
{
	DBusWatch **snap;
	size_t n = 0;

	/* dbus_watch_handle() may add or remove watches: work on a copy, check each is alive */
	snap = calloc(w->n_watches ? w->n_watches : 1, sizeof(*snap));
	if (!snap)
		return; /* level-triggered: the next dispatch retries */
	for (size_t i = 0; i < w->n_watches; i++)
		if (dbus_watch_get_unix_fd(w->watches[i]) == fd)
			snap[n++] = w->watches[i];

	for (size_t i = 0; i < n; i++) {
		unsigned want, flags = 0;

		if (!writer_has_watch(w, snap[i]) || !dbus_watch_get_enabled(snap[i]))
			continue;
		want = dbus_watch_get_flags(snap[i]);
		if ((events & EPOLLIN) && (want & DBUS_WATCH_READABLE))
			flags |= DBUS_WATCH_READABLE;
		if ((events & EPOLLOUT) && (want & DBUS_WATCH_WRITABLE))
			flags |= DBUS_WATCH_WRITABLE;
		if (events & EPOLLERR)
			flags |= DBUS_WATCH_ERROR;
		if (events & EPOLLHUP)
			flags |= DBUS_WATCH_HANGUP;
		if (flags)
			(void)dbus_watch_handle(snap[i], flags);
	}
	free(snap);
}

static void writer_handle_timeouts(struct vss_writer *w)
{
	usec_t now = now_usec(CLOCK_MONOTONIC);
	DBusTimeout **due;
	size_t n = 0;

	due = calloc(w->n_timeouts ? w->n_timeouts : 1, sizeof(*due));
	if (!due)
		return;
	for (size_t i = 0; i < w->n_timeouts; i++)
		if (w->timeouts[i].deadline <= now)
			due[n++] = w->timeouts[i].timeout;
	for (size_t i = 0; i < n; i++) {
		WriterTimeout *t = writer_find_timeout(w, due[i]);

		if (!t || !dbus_timeout_get_enabled(t->timeout))
			continue;
		writer_timeout_arm(t); /* libdbus timeouts repeat until removed or disabled */
		(void)dbus_timeout_handle(due[i]);
	}
	free(due);
}

/* ---- freeze safety */

static int writer_call_thaw(struct vss_writer *w, const char *set_id)
{
	int r = 0;

	if (!w->handlers.thaw)
		return 0;
	w->in_handler = true;
	w->veto_code = 0;
	r = w->handlers.thaw(w, set_id, w->userdata);
	w->in_handler = false;
	if (w->veto_code && r >= 0)
		r = -ECANCELED;
	return r;
}

static void writer_clear_frozen(struct vss_writer *w)
{
	w->frozen = false;
	w->freeze_deadline = USEC_INFINITY;
	free(w->frozen_set);
	w->frozen_set = NULL;
}

/* Thaws the application on its own: nobody is left to send Thaw or Abort. */
static void writer_safety_thaw(struct vss_writer *w, const char *why)
{
	_cleanup_free_ char *set = NULL;
	char buf[64];
	int r;

	if (!w->frozen)
		return;
	set = TAKE_PTR(w->frozen_set);
	writer_clear_frozen(w);
	writer_log(w, LOG_WARNING, "set=%s: %s while frozen, thawing", set, why);
	r = writer_call_thaw(w, set);
	if (r < 0)
		writer_log(w, LOG_WARNING, "set=%s: thaw handler failed, ignoring: %s", set,
		           w->veto_reason ? w->veto_reason : errno_name(r, buf, sizeof(buf)));
	free(w->veto_reason);
	w->veto_reason = NULL;
	w->veto_code = 0;
	free(w->timed_out_set);
	w->timed_out_set = TAKE_PTR(set);
}

/* ---- messages */

/* Opens the entry {key: variant of signature sig} in dict, as e and v; on failure nothing stays
 * open. */
static bool entry_open(DBusMessageIter *dict, const char *key, const char *sig, DBusMessageIter *e,
                       DBusMessageIter *v)
{
	if (!dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, e))
		return false;
	if (dbus_message_iter_append_basic(e, DBUS_TYPE_STRING, &key) &&
	    dbus_message_iter_open_container(e, DBUS_TYPE_VARIANT, sig, v))
		return true;
	dbus_message_iter_abandon_container(dict, e);
	return false;
}

/* Closes what entry_open() opened when the value went in (ok), or abandons it */
static bool entry_close(DBusMessageIter *dict, DBusMessageIter *e, DBusMessageIter *v, bool ok)
{
	ok = ok ? dbus_message_iter_close_container(e, v)
	        : (dbus_message_iter_abandon_container(e, v), false);
	if (!ok) {
		dbus_message_iter_abandon_container(dict, e);
		return false;
	}
	return dbus_message_iter_close_container(dict, e);
}

/* {key: variant of the basic type type}; value points to the value, as for append_basic */
static bool append_entry_basic(DBusMessageIter *dict, const char *key, int type, const void *value)
{
	const char sig[2] = { (char)type, 0 };
	DBusMessageIter e, v;

	return entry_open(dict, key, sig, &e, &v) &&
	       entry_close(dict, &e, &v, dbus_message_iter_append_basic(&v, type, value));
}

static bool append_entry_string(DBusMessageIter *dict, const char *key, const char *value)
{
	return append_entry_basic(dict, key, DBUS_TYPE_STRING, &value);
}

static bool append_strv(DBusMessageIter *it, char **l)
{
	DBusMessageIter a;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "s", &a))
		return false;
	for (char **p = l; p && *p; p++)
		if (!dbus_message_iter_append_basic(&a, DBUS_TYPE_STRING, p)) {
			dbus_message_iter_abandon_container(it, &a);
			return false;
		}
	return dbus_message_iter_close_container(it, &a);
}

static bool append_component(DBusMessageIter *array, const WriterComponent *c)
{
	DBusMessageIter d, e, v;
	bool ok;

	if (!dbus_message_iter_open_container(array, DBUS_TYPE_ARRAY, "{sv}", &d))
		return false;
	ok = append_entry_string(&d, "name", c->name) && entry_open(&d, "paths", "as", &e, &v) &&
	     entry_close(&d, &e, &v, append_strv(&v, c->paths));
	if (!ok) {
		dbus_message_iter_abandon_container(array, &d);
		return false;
	}
	return dbus_message_iter_close_container(array, &d);
}

static bool append_components(DBusMessageIter *dict, const struct vss_writer *w)
{
	DBusMessageIter e, v, a;
	bool ok;

	if (!entry_open(dict, "components", "aa{sv}", &e, &v))
		return false;
	ok = dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a);
	if (ok) {
		for (size_t i = 0; ok && i < w->n_components; i++)
			ok = append_component(&a, &w->components[i]);
		ok = ok ? dbus_message_iter_close_container(&v, &a)
		        : (dbus_message_iter_abandon_container(&v, &a), false);
	}
	return entry_close(dict, &e, &v, ok);
}

/* The info dictionary: RegisterWriter's (with freeze-timeout-ms) or Identify's. */
static bool writer_append_info(const struct vss_writer *w, DBusMessageIter *it, bool registration)
{
	DBusMessageIter d;
	bool ok;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "{sv}", &d))
		return false;
	ok = append_entry_string(&d, "name", w->name) &&
	     append_entry_string(&d, "class-id", w->class_id) &&
	     (!w->instance_name || append_entry_string(&d, "instance-name", w->instance_name)) &&
	     append_entry_string(&d, "usage", usage_names[w->usage]) &&
	     (!registration || append_entry_basic(&d, "freeze-timeout-ms", DBUS_TYPE_UINT32,
	                                          &w->freeze_timeout_msec)) &&
	     append_components(&d, w);
	if (!ok) {
		dbus_message_iter_abandon_container(it, &d);
		return false;
	}
	return dbus_message_iter_close_container(it, &d);
}

/* Arguments of one incoming event; strings point into the message. */
typedef struct WriterArgs {
	const char *set_id;
	const char *backup_type;
	const char *context;
	const char **list;    /* components or volumes */
	const char **devices; /* PostSnapshot */
	size_t n_list;
	dbus_bool_t success;
} WriterArgs;

static void writer_args_done(WriterArgs *a)
{
	free(a->list);
	free(a->devices);
}

static int args_push(const char ***l, size_t *n, const char *s)
{
	const char **a;

	if (*n >= VSSD_COMPONENTS_PER_WRITER_MAX)
		return -E2BIG;
	a = reallocarray(*l, *n + 2, sizeof(char *));
	if (!a)
		return -ENOMEM;
	a[(*n)++] = s;
	a[*n] = NULL;
	*l = a;
	return 0;
}

/* Handlers always get an array, possibly empty. */
static int args_terminate(const char ***l)
{
	if (!*l)
		*l = calloc(1, sizeof(char *));
	return *l ? 0 : -ENOMEM;
}

static int args_set_id(DBusMessageIter *it, const char **ret, const char **why)
{
	const char *s;
	VssId id;

	dbus_message_iter_get_basic(it, &s);
	if (vssid_from_string(s, &id) < 0) {
		*why = "the set id is not a UUID";
		return -EINVAL;
	}
	*ret = s;
	return 0;
}

/* PrepareForBackup's options: set s, backup-type s, context s, components aa{sv} (name s). Keys
 * this version does not know are skipped, so that vssd may add some. */
static int args_backup_options(DBusMessageIter *top, WriterArgs *a, const char **why)
{
	DBusMessageIter d;
	int r;

	dbus_message_iter_recurse(top, &d);
	for (; dbus_message_iter_get_arg_type(&d) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&d)) {
		DBusMessageIter e, v;
		const char *key;
		int type;

		dbus_message_iter_recurse(&d, &e);
		dbus_message_iter_get_basic(&e, &key);
		dbus_message_iter_next(&e);
		dbus_message_iter_recurse(&e, &v);
		type = dbus_message_iter_get_arg_type(&v);

		if (streq(key, "set") || streq(key, "backup-type") || streq(key, "context")) {
			const char *s;

			if (type != DBUS_TYPE_STRING) {
				*why = "option set, backup-type or context is not a string";
				return -EINVAL;
			}
			if (streq(key, "set")) {
				r = args_set_id(&v, &a->set_id, why);
				if (r < 0)
					return r;
				continue;
			}
			dbus_message_iter_get_basic(&v, &s);
			if (!valid_text(s, VSSD_STRING_MAX)) {
				*why = "option backup-type or context is not valid text";
				return -EINVAL;
			}
			if (streq(key, "context"))
				a->context = s;
			else
				a->backup_type = s;
		} else if (streq(key, "components")) {
			DBusMessageIter arr, comp;
			char *sig = dbus_message_iter_get_signature(&v);
			bool ok = sig && streq(sig, "aa{sv}");

			dbus_free(sig);
			if (!ok) {
				*why = "option components is not aa{sv}";
				return -EINVAL;
			}
			dbus_message_iter_recurse(&v, &arr);
			for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_ARRAY;
			     dbus_message_iter_next(&arr)) {
				dbus_message_iter_recurse(&arr, &comp);
				for (;
				     dbus_message_iter_get_arg_type(&comp) == DBUS_TYPE_DICT_ENTRY;
				     dbus_message_iter_next(&comp)) {
					DBusMessageIter ce, cv;
					const char *ckey, *name;

					dbus_message_iter_recurse(&comp, &ce);
					dbus_message_iter_get_basic(&ce, &ckey);
					dbus_message_iter_next(&ce);
					dbus_message_iter_recurse(&ce, &cv);
					if (!streq(ckey, "name"))
						continue;
					if (dbus_message_iter_get_arg_type(&cv) !=
					    DBUS_TYPE_STRING) {
						*why = "a component name is not a string";
						return -EINVAL;
					}
					dbus_message_iter_get_basic(&cv, &name);
					r = args_push(&a->list, &a->n_list, name);
					if (r < 0)
						return r;
				}
			}
		}
	}
	if (!a->set_id) {
		*why = "option set is missing";
		return -EINVAL;
	}
	return 0;
}

static int writer_args_parse(DBusMessage *m, WriterEvent ev, WriterArgs *a, const char **why)
{
	DBusMessageIter it, arr;
	size_t n_devices = 0;
	int r;

	*why = "invalid arguments";
	if (!dbus_message_has_signature(m, writer_events[ev].signature)) {
		*why = "wrong argument types";
		return -EINVAL;
	}
	if (ev == WRITER_EVENT_IDENTIFY)
		return 0;
	if (!dbus_message_iter_init(m, &it))
		return -EINVAL;

	if (ev == WRITER_EVENT_PREPARE_BACKUP) {
		r = args_backup_options(&it, a, why);
		if (r < 0)
			return r;
		a->backup_type = a->backup_type ?: "full";
		a->context = a->context ?: "backup";
		return args_terminate(&a->list);
	}

	r = args_set_id(&it, &a->set_id, why);
	if (r < 0)
		return r;
	dbus_message_iter_next(&it);

	switch (ev) {
	case WRITER_EVENT_PREPARE_SNAPSHOT:
		dbus_message_iter_recurse(&it, &arr);
		for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRING;
		     dbus_message_iter_next(&arr)) {
			const char *s;

			dbus_message_iter_get_basic(&arr, &s);
			if (!valid_abs_path(s)) {
				*why = "a volume is not an absolute path";
				return -EINVAL;
			}
			r = args_push(&a->list, &a->n_list, s);
			if (r < 0)
				return r;
		}
		break;
	case WRITER_EVENT_POST_SNAPSHOT:
		dbus_message_iter_recurse(&it, &arr);
		for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_DICT_ENTRY;
		     dbus_message_iter_next(&arr)) {
			DBusMessageIter e;
			const char *vol, *dev;

			dbus_message_iter_recurse(&arr, &e);
			dbus_message_iter_get_basic(&e, &vol);
			dbus_message_iter_next(&e);
			dbus_message_iter_get_basic(&e, &dev);
			if (!valid_abs_path(vol) || !valid_abs_path(dev)) {
				*why = "a volume or device is not an absolute path";
				return -EINVAL;
			}
			r = args_push(&a->list, &a->n_list, vol);
			if (r < 0)
				return r;
			r = args_push(&a->devices, &n_devices, dev);
			if (r < 0)
				return r;
		}
		r = args_terminate(&a->devices);
		if (r < 0)
			return r;
		break;
	case WRITER_EVENT_BACKUP_COMPLETE:
		dbus_message_iter_get_basic(&it, &a->success);
		break;
	case WRITER_EVENT_IDENTIFY:
	case WRITER_EVENT_PREPARE_BACKUP:
	case WRITER_EVENT_FREEZE:
	case WRITER_EVENT_THAW:
	case WRITER_EVENT_ABORT:
	case WRITER_EVENT_BACKUP_SHUTDOWN:
	case _WRITER_EVENT_MAX:
	case _WRITER_EVENT_INVALID:
		break;
	}
	return args_terminate(&a->list);
}

static int writer_invoke(struct vss_writer *w, WriterEvent ev, const WriterArgs *a)
{
	const struct vss_writer_handlers *h = &w->handlers;
	const char *const *list = (const char *const *)a->list;
	void *ud = w->userdata;

	switch (ev) {
	case WRITER_EVENT_PREPARE_BACKUP:
		return h->prepare_backup ? h->prepare_backup(w, a->set_id, a->backup_type,
		                                             a->context, list, ud)
		                         : 0;
	case WRITER_EVENT_PREPARE_SNAPSHOT:
		return h->prepare_snapshot ? h->prepare_snapshot(w, a->set_id, list, ud) : 0;
	case WRITER_EVENT_FREEZE:
		return h->freeze ? h->freeze(w, a->set_id, ud) : 0;
	case WRITER_EVENT_THAW:
		return h->thaw ? h->thaw(w, a->set_id, ud) : 0;
	case WRITER_EVENT_POST_SNAPSHOT:
		return h->post_snapshot ? h->post_snapshot(w, a->set_id, list,
		                                           (const char *const *)a->devices, ud)
		                        : 0;
	case WRITER_EVENT_ABORT:
		return h->abort ? h->abort(w, a->set_id, ud) : 0;
	case WRITER_EVENT_BACKUP_COMPLETE:
		return h->backup_complete ? h->backup_complete(w, a->set_id, a->success, ud) : 0;
	case WRITER_EVENT_BACKUP_SHUTDOWN:
		return h->backup_shutdown ? h->backup_shutdown(w, a->set_id, ud) : 0;
	case WRITER_EVENT_IDENTIFY:
	case _WRITER_EVENT_MAX:
	case _WRITER_EVENT_INVALID:
		break;
	}
	return 0;
}

static enum vss_writer_error error_from_errno(int r)
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

static DBusMessage *writer_veto_reply(struct vss_writer *w, DBusMessage *m, const char *set_id,
                                      enum vss_writer_error code, const char *reason)
{
	writer_log(w, LOG_NOTICE, "set=%s: vetoed %s: %s: %s", set_id, dbus_message_get_member(m),
	           error_names[code] + strlen(VSSD_WRITER_ERROR_PREFIX), reason);
	return dbus_message_new_error(m, error_names[code], reason);
}

static DBusMessage *writer_handle_event(struct vss_writer *w, DBusMessage *m, WriterEvent ev)
{
	_cleanup_(writer_args_done) WriterArgs a = { 0 };
	DBusMessage *reply;
	const char *why;
	char buf[WRITER_REASON_MAX];
	int r;

	r = writer_args_parse(m, ev, &a, &why);
	if (r == -ENOMEM)
		return NULL;
	if (r < 0)
		return dbus_message_new_error(m, DBUS_ERROR_INVALID_ARGS,
		                              r == -E2BIG ? "too many entries" : why);

	if (ev == WRITER_EVENT_IDENTIFY) {
		DBusMessageIter it;

		reply = dbus_message_new_method_return(m);
		if (!reply)
			return NULL;
		dbus_message_iter_init_append(reply, &it);
		if (!writer_append_info(w, &it, false)) {
			dbus_message_unref(reply);
			return NULL;
		}
		return reply;
	}

	writer_log(w, LOG_DEBUG, "set=%s: %s", a.set_id, writer_events[ev].member);

	if (ev == WRITER_EVENT_FREEZE && w->frozen) {
		if (streq(w->frozen_set, a.set_id))
			return dbus_message_new_method_return(m); /* a repeated Freeze */
		(void)snprintf(buf, sizeof(buf), "frozen for set %s already", w->frozen_set);
		return writer_veto_reply(w, m, a.set_id, VSS_WRITER_ERROR_RETRYABLE, buf);
	}
	if (ev == WRITER_EVENT_THAW && !w->frozen && streq_ptr(w->timed_out_set, a.set_id)) {
		(void)snprintf(buf, sizeof(buf),
		               "thawed already: no Thaw within the freeze timeout of %" PRIu32
		               " ms",
		               w->freeze_timeout_msec);
		return writer_veto_reply(w, m, a.set_id, VSS_WRITER_ERROR_TIMEOUT, buf);
	}

	w->in_handler = true;
	w->veto_code = 0;
	r = writer_invoke(w, ev, &a);
	w->in_handler = false;

	switch (ev) {
	case WRITER_EVENT_FREEZE:
		free(w->timed_out_set);
		w->timed_out_set = NULL;
		if (r >= 0 && !w->veto_code) {
			w->frozen_set = strdup(a.set_id);
			if (!w->frozen_set) {
				/* we cannot track it: thaw rather than stay frozen unguarded */
				(void)writer_call_thaw(w, a.set_id);
				r = -ENOMEM;
				break;
			}
			w->frozen = true;
			w->freeze_deadline = now_usec(CLOCK_MONOTONIC) +
			                     (usec_t)w->freeze_timeout_msec * USEC_PER_MSEC;
		}
		break;
	case WRITER_EVENT_THAW:
	case WRITER_EVENT_ABORT:
		/* thawing is always the safe direction: whatever the result, not frozen now */
		writer_clear_frozen(w);
		if (ev == WRITER_EVENT_ABORT && streq_ptr(w->timed_out_set, a.set_id)) {
			free(w->timed_out_set);
			w->timed_out_set = NULL;
		}
		break;
	case WRITER_EVENT_IDENTIFY:
	case WRITER_EVENT_PREPARE_BACKUP:
	case WRITER_EVENT_PREPARE_SNAPSHOT:
	case WRITER_EVENT_POST_SNAPSHOT:
	case WRITER_EVENT_BACKUP_COMPLETE:
	case WRITER_EVENT_BACKUP_SHUTDOWN:
	case _WRITER_EVENT_MAX:
	case _WRITER_EVENT_INVALID:
		break;
	}

	if (w->veto_code) {
		reply = writer_veto_reply(w, m, a.set_id, w->veto_code,
		                          w->veto_reason ? w->veto_reason : "vetoed by the writer");
		free(w->veto_reason);
		w->veto_reason = NULL;
		w->veto_code = 0;
		return reply;
	}
	if (r < 0)
		return writer_veto_reply(w, m, a.set_id, error_from_errno(r),
		                         errno_name(r, buf, sizeof(buf)));
	return dbus_message_new_method_return(m);
}

static WriterEvent writer_event_from_member(const char *member)
{
	for (int i = 0; i < _WRITER_EVENT_MAX; i++)
		if (streq_ptr(member, writer_events[i].member))
			return i;
	return _WRITER_EVENT_INVALID;
}

static DBusHandlerResult writer_on_message(DBusConnection *c, DBusMessage *m, void *userdata)
{
	_cleanup_(message_unrefp) DBusMessage *reply = NULL;
	struct vss_writer *w = userdata;
	const char *iface = dbus_message_get_interface(m);
	WriterEvent ev;

	if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_METHOD_CALL)
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;

	if (dbus_message_is_method_call(m, DBUS_INTERFACE_INTROSPECTABLE, "Introspect")) {
		const char *xml = writer_introspection;

		reply = dbus_message_new_method_return(m);
		if (reply &&
		    !dbus_message_append_args(reply, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID)) {
			dbus_message_unref(reply);
			reply = NULL;
		}
	} else {
		if (iface && !streq(iface, VSSD_IFACE_WRITER))
			return DBUS_HANDLER_RESULT_NOT_YET_HANDLED; /* libdbus: UnknownMethod */
		ev = writer_event_from_member(dbus_message_get_member(m));
		if (ev < 0)
			return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
		/* Only vssd may drive the writer: anyone else could freeze the application. */
		if (!w->vssd_owner || !streq_ptr(dbus_message_get_sender(m), w->vssd_owner)) {
			writer_log(w, LOG_WARNING, "refused %s from %s: not vssd",
			           writer_events[ev].member, strempty(dbus_message_get_sender(m)));
			reply = dbus_message_new_error(
				m, DBUS_ERROR_ACCESS_DENIED,
				"only org.vssd.ShadowCopy1 may call writers");
		} else
			reply = writer_handle_event(w, m, ev);
	}

	if (!reply) {
		/* NEED_MEMORY would re-run the handler later: answer nothing, vssd times out */
		writer_log(w, LOG_ERR, "out of memory answering %s", dbus_message_get_member(m));
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	if (!dbus_message_get_no_reply(m) && !dbus_connection_send(c, reply, NULL))
		writer_log(w, LOG_ERR, "out of memory sending the reply to %s",
		           dbus_message_get_member(m));
	return DBUS_HANDLER_RESULT_HANDLED;
}

/* ---- registration */

static void writer_cancel_call(DBusPendingCall **call)
{
	if (!*call)
		return;
	dbus_pending_call_cancel(*call);
	dbus_pending_call_unref(*call);
	*call = NULL;
}

static void writer_on_register_reply(DBusPendingCall *call, void *userdata)
{
	_cleanup_(message_unrefp) DBusMessage *reply = dbus_pending_call_steal_reply(call);
	struct vss_writer *w = userdata;
	const char *id;
	DBusError e;

	if (call == w->register_call) {
		w->register_call = NULL;
		dbus_pending_call_unref(call);
	}
	if (!reply)
		return;
	dbus_error_init(&e);
	if (dbus_set_error_from_message(&e, reply)) {
		writer_log(w, LOG_ERR, "vssd refused the registration: %s: %s", e.name,
		           strempty(e.message));
		dbus_error_free(&e);
		return;
	}
	if (!dbus_message_get_args(reply, &e, DBUS_TYPE_STRING, &id, DBUS_TYPE_INVALID) ||
	    !valid_text(id, VSSD_STRING_MAX)) {
		writer_log(w, LOG_ERR, "vssd answered RegisterWriter with a malformed reply");
		dbus_error_free(&e);
		return;
	}
	free(w->instance_id);
	w->instance_id = strdup(id);
	if (!w->instance_id) {
		writer_log(w, LOG_ERR, "out of memory storing the instance id");
		return;
	}
	writer_log(w, LOG_INFO, "registered with vssd as writer instance %s", id);
}

static void writer_register_start(struct vss_writer *w)
{
	_cleanup_(message_unrefp) DBusMessage *m = NULL;
	const char *path = WRITER_OBJECT_PATH;
	DBusPendingCall *call = NULL;
	DBusMessageIter it;

	writer_cancel_call(&w->register_call);
	m = dbus_message_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER,
	                                 "RegisterWriter");
	if (!m)
		goto oom;
	dbus_message_set_auto_start(m, FALSE); /* a writer never starts vssd */
	dbus_message_iter_init_append(m, &it);
	if (!dbus_message_iter_append_basic(&it, DBUS_TYPE_OBJECT_PATH, &path) ||
	    !writer_append_info(w, &it, true))
		goto oom;
	if (!dbus_connection_send_with_reply(w->conn, m, &call, WRITER_CALL_MSEC))
		goto oom;
	if (!call)
		return; /* disconnected: the Disconnected message follows */
	if (!dbus_pending_call_set_notify(call, writer_on_register_reply, w, NULL)) {
		dbus_pending_call_cancel(call);
		dbus_pending_call_unref(call);
		goto oom;
	}
	w->register_call = call;
	writer_log(w, LOG_DEBUG, "registering with vssd (%s)", w->vssd_owner);
	return;
oom:
	writer_log(w, LOG_ERR, "out of memory registering with vssd");
}

/* owner: the unique name now owning org.vssd.ShadowCopy1; NULL or "" when vssd is gone. */
static void writer_set_vssd_owner(struct vss_writer *w, const char *owner)
{
	if (owner && !owner[0])
		owner = NULL;
	if (streq_ptr(owner, w->vssd_owner))
		return;

	if (w->vssd_owner) {
		writer_log(w, LOG_NOTICE, "vssd (%s) left the bus", w->vssd_owner);
		free(w->vssd_owner);
		w->vssd_owner = NULL;
		free(w->instance_id);
		w->instance_id = NULL;
		writer_cancel_call(&w->register_call);
		writer_safety_thaw(w, "vssd left the bus");
	}
	if (!owner)
		return;
	w->vssd_owner = strdup(owner);
	if (!w->vssd_owner) {
		writer_log(w, LOG_ERR, "out of memory tracking vssd");
		return;
	}
	writer_register_start(w);
}

static void writer_on_owner_reply(DBusPendingCall *call, void *userdata)
{
	_cleanup_(message_unrefp) DBusMessage *reply = dbus_pending_call_steal_reply(call);
	struct vss_writer *w = userdata;
	const char *owner;
	DBusError e;

	if (call == w->owner_call) {
		w->owner_call = NULL;
		dbus_pending_call_unref(call);
	}
	if (!reply)
		return;
	dbus_error_init(&e);
	if (dbus_set_error_from_message(&e, reply)) {
		/* NameHasNoOwner: vssd is not running; NameOwnerChanged tells when it is */
		if (!dbus_error_has_name(&e, DBUS_ERROR_NAME_HAS_NO_OWNER))
			writer_log(w, LOG_WARNING, "cannot look up vssd, waiting for it: %s: %s",
			           e.name, strempty(e.message));
		else
			writer_log(w, LOG_DEBUG, "vssd is not running, waiting for it");
		dbus_error_free(&e);
		return;
	}
	if (dbus_message_get_args(reply, &e, DBUS_TYPE_STRING, &owner, DBUS_TYPE_INVALID))
		writer_set_vssd_owner(w, owner);
	dbus_error_free(&e);
}

static void writer_on_disconnected(struct vss_writer *w)
{
	if (w->disconnected)
		return;
	w->disconnected = true;
	writer_log(w, LOG_ERR, "lost the bus connection");
	writer_safety_thaw(w, "lost the bus connection");
	free(w->vssd_owner);
	w->vssd_owner = NULL;
	free(w->instance_id);
	w->instance_id = NULL;
}

static DBusHandlerResult writer_on_filter(DBusConnection *c, DBusMessage *m, void *userdata)
{
	struct vss_writer *w = userdata;
	const char *name, *old_owner, *new_owner;

	if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected")) {
		writer_on_disconnected(w);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged") &&
	    streq_ptr(dbus_message_get_sender(m), DBUS_SERVICE_DBUS) &&
	    dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
	                          DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID) &&
	    streq(name, VSSD_BUS_NAME))
		writer_set_vssd_owner(w, new_owner);
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static int writer_lookup_owner(struct vss_writer *w)
{
	_cleanup_(message_unrefp) DBusMessage *m = NULL;
	const char *name = VSSD_BUS_NAME;
	DBusPendingCall *call = NULL;

	m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
	                                 "GetNameOwner");
	if (!m || !dbus_message_append_args(m, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
		return -ENOMEM;
	if (!dbus_connection_send_with_reply(w->conn, m, &call, WRITER_CALL_MSEC))
		return -ENOMEM;
	if (!call)
		return -ECONNRESET;
	if (!dbus_pending_call_set_notify(call, writer_on_owner_reply, w, NULL)) {
		dbus_pending_call_cancel(call);
		dbus_pending_call_unref(call);
		return -ENOMEM;
	}
	w->owner_call = call;
	return 0;
}

/* ---- lifecycle */

static void writer_disconnect(struct vss_writer *w)
{
	if (!w->conn)
		return;
	writer_cancel_call(&w->owner_call);
	writer_cancel_call(&w->register_call);
	(void)dbus_connection_unregister_object_path(w->conn, WRITER_OBJECT_PATH);
	dbus_connection_remove_filter(w->conn, writer_on_filter, w);
	dbus_connection_set_dispatch_status_function(w->conn, NULL, NULL, NULL);
	/* Replacing the functions removes every watch and timeout through the old ones. */
	(void)dbus_connection_set_watch_functions(w->conn, NULL, NULL, NULL, NULL, NULL);
	(void)dbus_connection_set_timeout_functions(w->conn, NULL, NULL, NULL, NULL, NULL);
	dbus_connection_close(w->conn);
	dbus_connection_unref(w->conn);
	w->conn = NULL;
	free(w->vssd_owner);
	w->vssd_owner = NULL;
	free(w->instance_id);
	w->instance_id = NULL;
}

static void writer_free(struct vss_writer *w)
{
	if (w->frozen)
		writer_safety_thaw(w, "the writer handle is released");
	writer_disconnect(w);
	for (size_t i = 0; i < w->n_components; i++) {
		free(w->components[i].name);
		strv_free(w->components[i].paths);
	}
	free(w->components);
	free(w->watches);
	free(w->fds);
	free(w->timeouts);
	free(w->name);
	free(w->class_id);
	free(w->instance_name);
	free(w->address);
	free(w->veto_reason);
	free(w->frozen_set);
	free(w->timed_out_set);
	closep(&w->epoll_fd);
	closep(&w->timer_fd);
	closep(&w->wake_fd);
	closep(&w->stop_fd);
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

static int epoll_add_in(int epoll_fd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
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

	w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epoll_fd < 0)
		return -errno;
	w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (w->timer_fd < 0)
		return -errno;
	w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->wake_fd < 0)
		return -errno;
	w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->stop_fd < 0)
		return -errno;
	r = epoll_add_in(w->epoll_fd, w->timer_fd);
	if (r < 0)
		return r;
	r = epoll_add_in(w->epoll_fd, w->wake_fd);
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
	if (!w || (unsigned)usage >= ELEMENTSOF(usage_names))
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
	_cleanup_strv_free_ char **copy = NULL;
	_cleanup_free_ char *name_copy = NULL;
	WriterComponent *a;
	size_t n = 0;
	int r;

	if (!w || !valid_bus_text(name) || !paths || !paths[0])
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

static int writer_connect(struct vss_writer *w)
{
	static const DBusObjectPathVTable vtable = { .message_function = writer_on_message };
	DBusConnection *conn;
	DBusError e;
	int r;

	dbus_error_init(&e);
	if (w->address) {
		conn = dbus_connection_open_private(w->address, &e);
		if (conn && !dbus_bus_register(conn, &e)) {
			dbus_connection_close(conn);
			dbus_connection_unref(conn);
			conn = NULL;
		}
	} else
		conn = dbus_bus_get_private(DBUS_BUS_SYSTEM, &e); /* DBUS_SYSTEM_BUS_ADDRESS */
	if (!conn) {
		r = dbus_error_to_errno(&e);
		writer_log(w, LOG_DEBUG, "cannot connect to %s: %s", w->address ?: "the system bus",
		           strempty(e.message));
		dbus_error_free(&e);
		return r;
	}
	w->conn = conn; /* from here on writer_disconnect() undoes everything */
	dbus_connection_set_exit_on_disconnect(conn, FALSE);

	if (!dbus_connection_set_watch_functions(conn, writer_on_add_watch, writer_on_remove_watch,
	                                         writer_on_toggle_watch, w, NULL) ||
	    !dbus_connection_set_timeout_functions(conn, writer_on_add_timeout,
	                                           writer_on_remove_timeout,
	                                           writer_on_toggle_timeout, w, NULL) ||
	    !dbus_connection_add_filter(conn, writer_on_filter, w, NULL))
		return -ENOMEM;
	dbus_connection_set_dispatch_status_function(conn, writer_on_dispatch_status, w, NULL);

	if (!dbus_connection_try_register_object_path(conn, WRITER_OBJECT_PATH, &vtable, w, &e)) {
		r = dbus_error_to_errno(&e);
		dbus_error_free(&e);
		return r;
	}
	/* Without an error argument AddMatch does not block; it reaches the bus before
	 * GetNameOwner, so no change of owner can fall between the two. */
	dbus_bus_add_match(conn, VSSD_OWNER_MATCH, NULL);
	r = writer_lookup_owner(w);
	if (r < 0)
		return r;
	if (dbus_connection_get_dispatch_status(conn) != DBUS_DISPATCH_COMPLETE)
		writer_wake(w); /* messages read while connecting (NameAcquired) */
	writer_arm_timer(w);
	writer_log(w, LOG_DEBUG, "connected to %s as %s", w->address ?: "the system bus",
	           dbus_bus_get_unique_name(conn));
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

_public_ int vss_writer_get_fd(struct vss_writer *w)
{
	return w ? w->epoll_fd : -EINVAL;
}

_public_ int vss_writer_get_timeout_usec(struct vss_writer *w, uint64_t *ret_usec)
{
	usec_t d, now;

	if (!w || !ret_usec)
		return -EINVAL;
	if (!w->conn)
		return -ENOTCONN;
	if (w->disconnected ||
	    dbus_connection_get_dispatch_status(w->conn) != DBUS_DISPATCH_COMPLETE) {
		*ret_usec = 0;
		return 0;
	}
	d = writer_next_deadline(w);
	now = now_usec(CLOCK_MONOTONIC);
	*ret_usec = d == USEC_INFINITY ? UINT64_MAX : d > now ? d - now : 0;
	return 0;
}

_public_ int vss_writer_dispatch(struct vss_writer *w)
{
	struct epoll_event evs[WRITER_EPOLL_BATCH];
	DBusDispatchStatus status = DBUS_DISPATCH_COMPLETE;
	int n, r = 0;

	if (!w)
		return -EINVAL;
	if (!w->conn)
		return -ENOTCONN;
	if (w->dispatching)
		return -EBUSY;
	if (w->disconnected)
		return -ECONNRESET;

	vss_writer_ref(w); /* a handler may drop the application's reference */
	w->dispatching = true;
	drain_fd(w->timer_fd);
	drain_fd(w->wake_fd);

	n = epoll_wait(w->epoll_fd, evs, ELEMENTSOF(evs), 0);
	if (n < 0 && errno != EINTR)
		r = -errno;
	for (int i = 0; i < n; i++)
		if (evs[i].data.fd != w->timer_fd && evs[i].data.fd != w->wake_fd)
			writer_handle_fd(w, evs[i].data.fd, evs[i].events);
	writer_handle_timeouts(w);

	for (unsigned i = 0; i < WRITER_DISPATCH_MAX; i++) {
		status = dbus_connection_dispatch(w->conn);
		if (status != DBUS_DISPATCH_DATA_REMAINS)
			break;
	}
	if (status == DBUS_DISPATCH_NEED_MEMORY)
		writer_log(w, LOG_WARNING, "out of memory dispatching, retrying");
	if (status != DBUS_DISPATCH_COMPLETE)
		writer_wake(w); /* the rest: next call */

	if (w->frozen && now_usec(CLOCK_MONOTONIC) >= w->freeze_deadline) {
		char why[96];

		(void)snprintf(why, sizeof(why),
		               "no Thaw or Abort within the freeze timeout of %" PRIu32 " ms",
		               w->freeze_timeout_msec);
		writer_safety_thaw(w, why);
	}
	if (!w->disconnected && !dbus_connection_get_is_connected(w->conn) &&
	    status == DBUS_DISPATCH_COMPLETE)
		writer_on_disconnected(w);
	if (w->disconnected)
		r = -ECONNRESET;
	else
		writer_arm_timer(w);
	w->dispatching = false;
	vss_writer_unref(w);
	return r;
}

_public_ int vss_writer_run(struct vss_writer *w)
{
	int r;

	if (!w)
		return -EINVAL;
	if (w->dispatching)
		return -EBUSY;
	if (!w->conn) {
		r = vss_writer_start(w);
		if (r < 0)
			return r;
	}
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = w->epoll_fd, .events = POLLIN },
			{ .fd = w->stop_fd, .events = POLLIN },
		};
		uint64_t t;
		int ms = -1;

		r = vss_writer_get_timeout_usec(w, &t);
		if (r < 0)
			return r;
		if (t != UINT64_MAX)
			ms = (int)MIN((t + USEC_PER_MSEC - 1) / USEC_PER_MSEC, (uint64_t)INT_MAX);
		if (poll(p, ELEMENTSOF(p), ms) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents) {
			drain_fd(w->stop_fd);
			return 0;
		}
		r = vss_writer_dispatch(w);
		if (r < 0)
			return r;
	}
}

_public_ void vss_writer_stop(struct vss_writer *w)
{
	int saved = errno; /* a signal handler must not change errno */

	if (w)
		(void)eventfd_write(w->stop_fd, 1);
	errno = saved;
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
