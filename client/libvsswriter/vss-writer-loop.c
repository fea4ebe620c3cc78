/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-writer-loop.c - libvsswriter: the loop, libdbus's watches and timeouts on one epoll fd */
#include <dbus/dbus.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <unistd.h>

#include "client/libvsswriter/vss-writer-internal.h"

static int epoll_add_in(int epoll_fd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int writer_loop_init(struct vss_writer *w)
{
	int r;

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
	return epoll_add_in(w->epoll_fd, w->wake_fd);
}

void writer_loop_done(struct vss_writer *w)
{
	free(w->watches);
	w->watches = NULL;
	w->n_watches = 0;
	free(w->fds);
	w->fds = NULL;
	w->n_fds = 0;
	free(w->timeouts);
	w->timeouts = NULL;
	w->n_timeouts = 0;
	closep(&w->epoll_fd);
	closep(&w->timer_fd);
	closep(&w->wake_fd);
	closep(&w->stop_fd);
}

/* ---- libdbus's watches and timeouts */

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
		           writer_errno_name(r, (char[64]){ 0 }, 64));
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

void writer_wake(struct vss_writer *w)
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

void writer_arm_timer(struct vss_writer *w)
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

/* ---- the connection's functions, and the entry points */

int writer_loop_attach(struct vss_writer *w)
{
	if (!dbus_connection_set_watch_functions(w->conn, writer_on_add_watch,
	                                         writer_on_remove_watch, writer_on_toggle_watch, w,
	                                         NULL) ||
	    !dbus_connection_set_timeout_functions(w->conn, writer_on_add_timeout,
	                                           writer_on_remove_timeout,
	                                           writer_on_toggle_timeout, w, NULL))
		return -ENOMEM;
	dbus_connection_set_dispatch_status_function(w->conn, writer_on_dispatch_status, w, NULL);
	return 0;
}

void writer_loop_detach(struct vss_writer *w)
{
	dbus_connection_set_dispatch_status_function(w->conn, NULL, NULL, NULL);
	/* Replacing the functions removes every watch and timeout through the old ones. */
	(void)dbus_connection_set_watch_functions(w->conn, NULL, NULL, NULL, NULL, NULL);
	(void)dbus_connection_set_timeout_functions(w->conn, NULL, NULL, NULL, NULL, NULL);
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

	writer_check_freeze_timeout(w);
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
