/* SPDX-License-Identifier: GPL-2.0-or-later */
/* monitor.c - shadow storage fill level: delete the oldest over the maximum, mark invalid */
#include <inttypes.h>
#include <sys/inotify.h>

#include "common/log.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/dmdev.h"
#include "daemon/fault.h"
#include "daemon/monitor.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/storage.h"

/* Writes come in bursts: a look at the first, then at most one per 100 ms while they go on. */
#define MONITOR_COALESCE_USEC (100 * USEC_PER_MSEC)
/* Writes to a COW file wake the monitor through inotify only where the loop driver reports
 * them: 6.1 does; 6.12 does not (its loop driver writes to the backing file without fsnotify:
 * no IN_MODIFY at all, measured). So while shadow copies are valid the monitor also looks on a
 * timer: every 250 ms while their stores change, twice as long after each quiet look, up to
 * 10 s. No shadow copy's validity depends on how soon it looks (each store has the whole
 * maximum); only how soon the oldest is deleted once the volume's total passes it. */
#define MONITOR_POLL_MIN_USEC (250 * USEC_PER_MSEC)
#define MONITOR_POLL_MAX_USEC (10 * USEC_PER_SEC)

struct Monitor {
	Daemon *d;
	int dm_fd;
	int inotify_fd;
	sd_event_source *dm_source;
	sd_event_source *inotify_source;
	sd_event_source *delay; /* one-shot quiet period after a look, armed by inotify */
	bool dirty;             /* written to during the quiet period */
	char **warned;          /* volumes over the warning threshold (signalled once) */
	char **alone;           /* last snapshots over the maximum (logged once) */
	sd_event_source *poll;  /* the timer while shadow copies are valid */
	usec_t poll_usec;       /* its interval now */
	uint64_t seen;          /* what the valid stores held at the last timed look */
	bool deferred;          /* a pass put off while I/O was held */
};

static void mark_invalid(Monitor *m, Snapshot *s)
{
	log_snap_error(s->id_str, s->volume,
	               "the shadow storage overflowed: the shadow copy is invalid now "
	               "(reads fail); the volume itself is unaffected");
	snapshot_set_state(s, SNAPSHOT_STATE_INVALID);
	daemon_emit_manager_signal(m->d, "SnapshotInvalidated", s->id_str, s->volume, NULL, NULL,
	                           NULL);
	(void)daemon_save_state(m->d);
}

/* The oldest snapshot of a volume goes, as VSS does when its diff area is full. Returns 1 if
 * one was deleted. */
static int delete_oldest(Monitor *m, const char *volume_name)
{
	_cleanup_free_ Snapshot **l = NULL;
	_cleanup_free_ char *id = NULL, *vol = NULL;
	VssErr err = { 0 };
	size_t n = 0;
	int r;

	r = daemon_volume_snapshots(m->d, volume_name, &l, &n);
	if (r < 0 || n < 2)
		return 0; /* the last one is kept: it becomes invalid when full */
	id = strdup(l[0]->id_str);
	vol = strdup(l[0]->volume);
	if (!id || !vol)
		return -ENOMEM;
	r = snapset_delete_snapshot(l[0]->set, l[0], "storage-full", &err);
	if (r < 0) {
		log_snap_error(id, vol,
		               "storage full, but the oldest shadow copy cannot be "
		               "deleted: %s",
		               err.message);
		return r;
	}
	log_snap_warning(id, vol,
	                 "deleted, the oldest shadow copy, because the volume's "
	                 "shadow storage reached its maximum");
	/* snapset_delete_snapshot() signalled SnapshotDeleted */
	return 1;
}

/* A COW file smaller than the volume's maximum (made before COW files started at the maximum,
 * or before ResizeStorage raised it) grows to the maximum at the first look: a sparse file
 * costs nothing until written, and a store that waits for room is what a burst outruns. */
static int grow(Monitor *m, Snapshot *s, uint64_t max)
{
	Daemon *d = m->d;
	int r;

	if (!s->ps)
		return 0;
	r = s->provider->ops->snap_grow(s->provider, s->ps, max);
	if (r < 0)
		return log_snap_error_errno(s->id_str, NULL, r, "cannot grow %s: %m",
		                            strempty(s->provider->ops->snap_storage_path(s->ps)));
	if (r == 0)
		return 0;
	log_snap_info(s->id_str, s->volume, "shadow storage grown to %" PRIu64 " bytes",
	              s->provider->ops->snap_storage_bytes(s->ps));
	if (s->exported)
		bus_emit_properties_changed(&d->bus, s->path, VSSD_IFACE_SNAP,
		                            (const char *const[]){ "StorageSize", NULL });
	fault_point_kill(d->faults, "kill-grow-before-state-save");
	(void)daemon_save_state(d);
	return 0;
}

/* What the volume's shadow copies hold together is over its maximum: the oldest go until it
 * fits, the last one stays (it becomes invalid if it overflows its own store). */
static void check_volume_limit(Monitor *m, const char *volume_name)
{
	for (;;) {
		_cleanup_free_ Snapshot **l = NULL;
		StorageUsage u;
		size_t n = 0;
		int r;

		if (storage_usage(m->d, volume_name, &u) < 0 || u.used <= u.max)
			return;
		r = delete_oldest(m, volume_name);
		if (r > 0)
			continue;
		if (r == 0 && daemon_volume_snapshots(m->d, volume_name, &l, &n) >= 0 && n > 0 &&
		    !strv_contains(m->alone, l[0]->id_str)) {
			log_snap_warning(l[0]->id_str, l[0]->volume,
			                 "over the shadow storage maximum, and the last "
			                 "shadow copy: it becomes invalid when its store is full");
			(void)strv_extend(&m->alone, l[0]->id_str);
		}
		return;
	}
}

static void check_volume_warning(Monitor *m, const char *volume_name)
{
	Daemon *d = m->d;
	_cleanup_free_ char *vol = NULL;
	StorageUsage u;
	bool over, was;

	if (storage_usage(d, volume_name, &u) < 0 || u.max == 0)
		return;
	over = u.used * 100 >= (uint64_t)d->config.storage_warn_percent * u.max;
	was = strv_contains(m->warned, volume_name);
	if (over == was)
		return;
	if (!over) {
		/* below again: forget it, so that the next crossing is signalled */
		for (char **i = m->warned; *i; i++)
			if (streq(*i, volume_name)) {
				free(*i);
				memmove(i, i + 1,
				        strv_length(i + 1) * sizeof(char *) + sizeof(char *));
				break;
			}
		return;
	}
	(void)strv_extend(&m->warned, volume_name);
	if (asprintf(&vol, "/dev/mapper/%s", volume_name) < 0)
		return;
	log_vol_warning(vol, "shadow storage %" PRIu64 "%% full (%" PRIu64 " of %" PRIu64 " bytes)",
	                u.used * 100 / u.max, u.used, u.max);
	daemon_emit_manager_signal(d, "StorageWarning", vol, NULL, NULL, &u.used, &u.max);
}

static bool has_valid(Daemon *d)
{
	for (size_t i = 0; i < d->n_sets; i++)
		for (size_t j = 0; j < d->sets[i]->n_snaps; j++)
			if (d->sets[i]->snaps[j]->state == SNAPSHOT_STATE_CREATED)
				return true;
	return false;
}

void monitor_check(Monitor *m)
{
	Daemon *d = m->d;
	_cleanup_strv_free_ char **volumes = NULL;

	if (d->io_held) {
		m->deferred = true; /* monitor_resume() when the set is done */
		return;
	}
	m->deferred = false;
	/* collect first: growing may delete snapshots and change the sets */
	for (size_t i = 0; i < d->n_sets; i++)
		for (size_t j = 0; j < d->sets[i]->n_snaps; j++) {
			Snapshot *s = d->sets[i]->snaps[j];

			if (s->state == SNAPSHOT_STATE_CREATED &&
			    !strv_contains(volumes, s->volume_name))
				(void)strv_extend(&volumes, s->volume_name);
		}
	/* a volume with no shadow copy left starts afresh: its next crossing is signalled */
	for (size_t i = strv_length(m->warned); i-- > 0;)
		if (!strv_contains(volumes, m->warned[i])) {
			free(m->warned[i]);
			memmove(m->warned + i, m->warned + i + 1,
			        (strv_length(m->warned + i + 1) + 1) * sizeof(char *));
		}
	for (char **v = volumes; v && *v; v++) {
		_cleanup_free_ Snapshot **l = NULL;
		_cleanup_free_ VssId *ids = NULL;
		StorageUsage u;
		size_t n = 0;

		if (daemon_volume_snapshots(d, *v, &l, &n) < 0 || n == 0)
			continue;
		ids = calloc(n, sizeof(VssId));
		if (!ids)
			return;
		for (size_t i = 0; i < n; i++)
			ids[i] = l[i]->id;
		if (storage_usage(d, *v, &u) < 0)
			continue;
		for (size_t i = 0; i < n; i++) {
			Snapshot *s = daemon_find_snapshot(d, &ids[i]); /* may be gone by now */
			ProviderUsage pu;

			if (!s || s->state != SNAPSHOT_STATE_CREATED || !s->ps ||
			    s->provider->ops->snap_usage(s->provider, s->ps, false, &pu) < 0)
				continue;
			if (pu.invalid) {
				mark_invalid(m, s);
				continue;
			}
			(void)grow(m, s, u.max);
		}
		check_volume_limit(m, *v);
		check_volume_warning(m, *v);
	}
	/* nothing valid left: the timer has nothing to watch until the next creation */
	if (m->poll && !has_valid(d)) {
		m->seen = 0;
		(void)sd_event_source_set_enabled(m->poll, SD_EVENT_OFF);
	}
}

/* What the valid stores hold, plus their number: a change means writes came in. 0: none. */
static uint64_t fill_now(Monitor *m)
{
	Daemon *d = m->d;
	uint64_t sum = 0;

	for (size_t i = 0; i < d->n_sets; i++)
		for (size_t j = 0; j < d->sets[i]->n_snaps; j++) {
			Snapshot *s = d->sets[i]->snaps[j];
			ProviderUsage pu;

			if (s->state != SNAPSHOT_STATE_CREATED)
				continue;
			sum++;
			if (s->ps &&
			    s->provider->ops->snap_usage(s->provider, s->ps, false, &pu) >= 0)
				sum += pu.used / 512;
		}
	return sum;
}

static int on_poll(sd_event_source *es, uint64_t usec, void *userdata)
{
	Monitor *m = userdata;
	uint64_t now;

	monitor_check(m);
	now = fill_now(m);
	if (now == 0) { /* no valid shadow copy left: nothing to watch until the next one */
		m->seen = 0;
		return sd_event_source_set_enabled(es, SD_EVENT_OFF);
	}
	m->poll_usec = now != m->seen ? MONITOR_POLL_MIN_USEC
	                              : MIN(m->poll_usec * 2, MONITOR_POLL_MAX_USEC);
	m->seen = now;
	(void)sd_event_source_set_time_relative(es, m->poll_usec);
	return sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
}

/* Looks soon and then on the timer, while any shadow copy is valid */
static void poll_start(Monitor *m)
{
	int r;

	if (fill_now(m) == 0)
		return;
	m->poll_usec = MONITOR_POLL_MIN_USEC;
	if (!m->poll) {
		r = sd_event_add_time_relative(m->d->event, &m->poll, CLOCK_MONOTONIC, m->poll_usec,
		                               10 * USEC_PER_MSEC, on_poll, m);
		if (r < 0) {
			log_warning_errno(r, "cannot arm the storage timer, ignoring: %m");
			return;
		}
	} else
		(void)sd_event_source_set_time_relative(m->poll, m->poll_usec);
	(void)sd_event_source_set_enabled(m->poll, SD_EVENT_ONESHOT);
}

void monitor_resume(Monitor *m)
{
	if (m && m->deferred)
		monitor_check(m);
}

static int on_delay(sd_event_source *es, uint64_t usec, void *userdata)
{
	Monitor *m = userdata;

	/* writes went on during the quiet period: one more look, and another period */
	if (m->dirty) {
		m->dirty = false;
		monitor_check(m);
		(void)sd_event_source_set_time_relative(es, MONITOR_COALESCE_USEC);
		(void)sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
	}
	return 0;
}

static int on_inotify(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
	Monitor *m = userdata;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int r;

	while (read(fd, buf, sizeof(buf)) > 0)
		; /* the events say "something was written": the check looks at everything */
	/* The first write of a burst is looked at at once (a COW fills as fast as the volume is
	 * written); the rest of the burst once per quiet period. */
	if (m->delay && sd_event_source_get_enabled(m->delay, NULL) > 0) {
		m->dirty = true;
		return 0;
	}
	monitor_check(m);
	m->dirty = false;
	if (!m->delay) {
		r = sd_event_add_time_relative(m->d->event, &m->delay, CLOCK_MONOTONIC,
		                               MONITOR_COALESCE_USEC, 10 * USEC_PER_MSEC, on_delay,
		                               m);
		if (r < 0)
			return log_warning_errno(r, "cannot arm the storage check, ignoring: %m");
	} else
		(void)sd_event_source_set_time_relative(m->delay, MONITOR_COALESCE_USEC);
	(void)sd_event_source_set_enabled(m->delay, SD_EVENT_ONESHOT);
	return 0;
}

static int on_dm_event(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
	Monitor *m = userdata;
	int r;

	r = dmdev_event_arm(m->d->dm, fd); /* first, so that nothing after it is missed */
	if (r < 0)
		log_warning_errno(r, "cannot re-arm dm events, ignoring: %m");
	monitor_check(m);
	return 0;
}

void monitor_sync(Monitor *m)
{
	Daemon *d;

	if (!m || m->inotify_fd < 0)
		return;
	d = m->d;
	for (size_t i = 0; i < d->n_sets; i++)
		for (size_t j = 0; j < d->sets[i]->n_snaps; j++) {
			Snapshot *s = d->sets[i]->snaps[j];
			/* a store that is a file: inotify says when writes come in */
			const char *path =
				s->ps ? s->provider->ops->snap_storage_path(s->ps) : NULL;

			if (s->state == SNAPSHOT_STATE_CREATED && path && path[0] == '/' &&
			    inotify_add_watch(m->inotify_fd, path, IN_MODIFY) < 0)
				log_snap_debug(s->id_str, NULL, "cannot watch %s: %m", path);
		}
	poll_start(m);
}

int monitor_new(Daemon *d, Monitor **ret)
{
	_cleanup_(monitor_freep) Monitor *m = NULL;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	*m = (Monitor){ .d = d, .dm_fd = -EBADF, .inotify_fd = -EBADF };
	m->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (m->inotify_fd < 0)
		return -errno;
	r = sd_event_add_io(d->event, &m->inotify_source, m->inotify_fd, EPOLLIN, on_inotify, m);
	if (r < 0)
		return r;
	m->dm_fd = dmdev_event_open(d->dm);
	if (m->dm_fd < 0)
		return m->dm_fd;
	r = sd_event_add_io(d->event, &m->dm_source, m->dm_fd, EPOLLIN, on_dm_event, m);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m);
	return 0;
}

Monitor *monitor_free(Monitor *m)
{
	if (!m)
		return NULL;
	sd_event_source_disable_unref(m->dm_source);
	sd_event_source_disable_unref(m->inotify_source);
	sd_event_source_disable_unref(m->delay);
	sd_event_source_disable_unref(m->poll);
	if (m->dm_fd >= 0)
		close(m->dm_fd);
	if (m->inotify_fd >= 0)
		close(m->inotify_fd);
	strv_free(m->warned);
	strv_free(m->alone);
	free(m);
	return NULL;
}
