/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapset-create.c - the creation pipeline of a set (DoSnapshotSet), one function per step */
#include <inttypes.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/fault.h"
#include "daemon/freeze.h"
#include "daemon/hostops.h"
#include "daemon/monitor.h"
#include "daemon/snapset-internal.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/storage.h"
#include "daemon/writer.h"

/* The pipeline, one function per step, each ending in the next (bottom-up in this file):
 *
 *   snapset_create()            checks, records the intent (state "creating")
 *   creation_begin()            PrepareForSnapshot broadcast to the involved writers
 *   on_prepare_snapshot_done()  the provider loads its tables; the syncfs pass starts
 *   on_sync_io()/timeout        the pass is done (or ran out of time)
 *   creation_freeze_writers()   Freeze broadcast; the shortest freeze window starts
 *   creation_freeze_fs()        FIFREEZE of the mounted file systems, off the loop; I/O held
 *   creation_commit()           the provider commits (and thaws)
 *   creation_committed()        the shadow copies are recorded; Thaw broadcast
 *   on_thaw_done()              PostSnapshot broadcast
 *   creation_done()             state "created", saved; create_done is told
 *
 * Any step may end in snapset_creation_failed(): Abort to the writers, full rollback, state
 * "failed", create_done (and a pending call) told of the error. */

/* From the file-system freeze to the end of the commit nothing may write to a file system: the
 * monitor's COW growth waits (a COW file may lie on a file system of the set). */
static void hold_begin(Snapset *s)
{
	s->d->io_held = true;
}

/* Call only once the engine has thawed and resumed everything (commit returned, or the
 * engine was freed). */
void snapset_hold_end(Snapset *s)
{
	if (!s->d->io_held || s->d->creating != s)
		return;
	s->d->io_held = false;
	monitor_resume(s->d->monitor);
}

void snapset_creation_sources_done(Snapset *s)
{
	s->sync_io = sd_event_source_disable_unref(s->sync_io);
	s->sync = freeze_group_free(s->sync);
	s->freeze_io = sd_event_source_disable_unref(s->freeze_io);
	s->flush_timer = sd_event_source_disable_unref(s->flush_timer);
	s->freeze_window = sd_event_source_disable_unref(s->freeze_window);
}

/* ---- creation -------------------------------------------------------------------------------- */

void snapset_creation_reply(Snapset *s, const VssErr *err, int error)
{
	SnapsetDoneFn done = TAKE_PTR(s->create_done);
	void *userdata = TAKE_PTR(s->create_userdata);

	if (done)
		done(s, error, err, userdata);
}

void snapset_creation_failed(Snapset *s, const VssErr *err, int error)
{
	snapset_creation_sources_done(s);
	if (s->bcast) {
		writer_broadcast_cancel(s->bcast);
		s->bcast = NULL;
	}
	/* Writers first: they must not stay frozen while we clean up. */
	snapset_writers_notify(s, WRITER_EVENT_ABORT);
	if (s->engine && s->engine_provider->ops->set_committed(s->engine))
		for (size_t i = 0; i < s->n_snaps; i++) {
			Snapshot *snap = s->snaps[i];

			if (snap->ps)
				(void)snap->provider->ops->snap_delete(snap->provider, snap->ps,
				                                       NULL, NULL, NULL);
		}
	snapset_engine_free(s); /* full rollback of whatever exists */
	snapset_hold_end(s);
	log_set_event(LOG_EVENT_SET_FAILED, s->id_str, LOG_ERR, "creation failed: %s",
	              vss_err_is_set(err) ? err->message : strerror(-error));
	if (s->d->creating == s)
		daemon_set_creating(s->d, NULL);
	snapset_set_state(s, SNAPSET_STATE_FAILED);
	(void)daemon_save_state(s->d);
	snapset_creation_reply(s, err, error);
	snapset_call_reply(s, err, error);
}

static void creation_done(Snapset *s)
{
	snapset_creation_sources_done(s);
	monitor_sync(s->d->monitor);
	snapset_engine_free(s); /* committed: frees memory only */
	if (s->d->creating == s)
		daemon_set_creating(s->d, NULL);
	snapset_set_state(s, SNAPSET_STATE_CREATED);
	fault_point_kill(s->d->faults, "kill-before-created-save");
	(void)daemon_save_state(s->d);
	log_set_event(LOG_EVENT_SET_CREATED, s->id_str, LOG_NOTICE,
	              "created %zu shadow copies, I/O held %" PRIu64 " us", s->n_snaps,
	              s->held_usec);
	snapset_creation_reply(s, NULL, 0);
}

static void on_post_snapshot_done(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	Snapset *s = userdata;

	snapset_bcast_done(s, b);
	if (r < 0) {
		snapset_creation_failed(s, err, r);
		return;
	}
	creation_done(s);
}

static void on_thaw_done(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	_cleanup_strv_free_ char **devices = NULL;
	Snapset *s = userdata;
	WriterEventArgs a;
	char dev[160];

	snapset_bcast_done(s, b);
	if (r < 0) {
		snapset_creation_failed(s, err, r);
		return;
	}
	snapset_event_args(s, &a);
	for (size_t i = 0; i < s->n_snaps; i++)
		if (strv_extend(&devices, s->snaps[i]->volume) < 0 ||
		    strv_extend(&devices, snapshot_device(s->snaps[i], dev, sizeof(dev))) < 0) {
			snapset_creation_failed(s, NULL, -ENOMEM);
			return;
		}
	a.devices = devices;
	if (snapset_start_event(s, WRITER_EVENT_POST_SNAPSHOT, &a, on_post_snapshot_done) < 0)
		snapset_creation_failed(s, NULL, -ENOMEM);
}

/* The snapshots exist: Thaw and PostSnapshot, then creation_done() records them. */
static void creation_committed(Snapset *s)
{
	usec_t now = now_usec(CLOCK_REALTIME), t1, t2;
	WriterEventArgs a;

	s->freeze_window = sd_event_source_disable_unref(s->freeze_window);
	s->engine_provider->ops->set_hold_window(s->engine, &t1, &t2);
	log_set_event(LOG_EVENT_IO_HELD, s->id_str, LOG_NOTICE,
	              "I/O held from %" PRIu64 " to %" PRIu64 " (monotonic us)", t1, t2);
	for (size_t i = 0; i < s->n_snaps; i++) {
		Snapshot *snap = s->snaps[i];
		ProviderSnap *made = NULL;

		/* by id, never by position: snapset_create() checked that they pair up */
		if (s->engine_provider->ops->set_take(s->engine, &snap->id, &made) >= 0)
			(void)snapshot_set_psnap(snap, made);
		snap->creation_time = now;
		snapshot_set_state(snap, SNAPSHOT_STATE_CREATED);
	}
	s->creation_time = now;
	/* Thaw first, and no state save here: the writers are still frozen, and an fsync can
	 * take seconds. The intent record written by snapset_create() names every device; a
	 * crash before creation_done() writes "created" leaves a set recorded as creating,
	 * which start-up recovery deletes with whatever of it exists (restore_set()). */
	fault_point_kill(s->d->faults, "kill-after-commit");
	snapset_event_args(s, &a);
	if (snapset_start_event(s, WRITER_EVENT_THAW, &a, on_thaw_done) < 0)
		snapset_creation_failed(s, NULL, -ENOMEM);
}

void snapset_thaw(Snapset *s)
{
	int r;

	if (!s->fsfreeze)
		return;
	r = freeze_group_thaw(s->fsfreeze);
	if (r < 0)
		log_set_warning_errno(s->id_str, r, "cannot thaw a file system of the set: %m");
	else
		freeze_ledger_clear(s->d->freeze_ledger);
}

static void creation_commit(Snapset *s)
{
	VssErr err = { 0 };
	int r;

	/* the provider thaws the lent group right after its resumes; the set thaws (a no-op by
	 * then) and clears the ledger */
	r = s->engine_provider->ops->set_commit(s->engine, s->fsfreeze != NULL, &s->held_usec, NULL,
	                                        NULL, &err);
	snapset_thaw(s);
	snapset_hold_end(s); /* thawed and resumed, whatever the result */
	if (r < 0) {
		snapset_creation_failed(s, &err, r);
		return;
	}
	creation_committed(s);
}

static int freeze_failed(Snapset *s, int r, const char *failed)
{
	VssErr err = { 0 };

	snapset_thaw(s);
	if (r == -ETIME)
		vss_err_set(&err, VSS_ERROR_FLUSH_WRITES_TIMEOUT, r,
		            "file systems of the set did not flush within %" PRIu64 " ms",
		            s->d->config.flush_timeout / USEC_PER_MSEC);
	else
		vss_err_set(&err, VSS_ERROR_PROVIDER_VETO, r, "cannot freeze %s: %s",
		            strempty(failed), strerror(-r));
	snapset_creation_failed(s, &err, r);
	return r;
}

static int on_freeze_io(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
	Snapset *s = userdata;
	const char *failed = NULL;
	int r;

	r = freeze_group_process(s->fsfreeze, &failed);
	if (r < 0)
		(void)freeze_failed(s, r, failed);
	else if (r > 0) {
		s->freeze_io = sd_event_source_disable_unref(s->freeze_io);
		s->flush_timer = sd_event_source_disable_unref(s->flush_timer);
		creation_commit(s);
	}
	return 0;
}

static int on_flush_timeout(sd_event_source *es, uint64_t usec, void *userdata)
{
	Snapset *s = userdata;
	VssErr err = { 0 };

	vss_err_set(&err, VSS_ERROR_FLUSH_WRITES_TIMEOUT, -ETIME,
	            "the file systems of the set did not flush within %" PRIu64
	            " ms; everything was thawed",
	            s->d->config.flush_timeout / USEC_PER_MSEC);
	snapset_creation_failed(s, &err, -ETIME);
	return 0;
}

/* FIFREEZE of every mounted file system of the set, from worker threads: the set owns the
 * group and the ledger; the provider's guard (its hold watchdog) covers the group before the
 * first worker starts. Nothing mounted, or [freeze] parallel off: straight to the commit, whose
 * suspends then keep lockfs. */
static void creation_freeze_fs(Snapset *s)
{
	_cleanup_strv_free_ char **mps = NULL;
	const Config *c = &s->d->config;
	VssErr err = { 0 };
	int r;

	hold_begin(s);
	if (!c->parallel_freeze) {
		creation_commit(s);
		return;
	}
	r = s->engine_provider->ops->set_mountpoints(s->engine, &mps);
	if (r < 0) {
		vss_err_set(&err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		            "cannot list the set's file systems: %s", strerror(-r));
		snapset_creation_failed(s, &err, r);
		return;
	}
	if (!mps || !mps[0]) {
		creation_commit(s);
		return;
	}
	r = freeze_ledger_write(s->d->freeze_ledger, mps);
	if (r < 0) {
		vss_err_set(&err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		            "cannot write the freeze ledger %s: %s", s->d->freeze_ledger,
		            strerror(-r));
		snapset_creation_failed(s, &err, r);
		return;
	}
	r = freeze_group_new(s->d->host, FREEZE_KIND_FREEZE, mps, &s->fsfreeze);
	if (r < 0) {
		freeze_ledger_clear(s->d->freeze_ledger);
		vss_err_set(&err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		            "cannot start freezing: %s", strerror(-r));
		snapset_creation_failed(s, &err, r);
		return;
	}
	r = s->engine_provider->ops->set_guard(s->engine, s->fsfreeze,
	                                       c->flush_timeout + c->hold_timeout, &err);
	if (r < 0) {
		snapset_creation_failed(s, &err, r);
		return;
	}
	r = freeze_group_start(s->fsfreeze);
	if (r < 0) {
		vss_err_set(&err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		            "cannot start freeze workers: %s", strerror(-r));
		snapset_creation_failed(s, &err, r);
		return;
	}
	r = sd_event_add_io(s->d->event, &s->freeze_io, freeze_group_fd(s->fsfreeze), EPOLLIN,
	                    on_freeze_io, s);
	if (r >= 0)
		r = sd_event_add_time_relative(s->d->event, &s->flush_timer, CLOCK_MONOTONIC,
		                               c->flush_timeout, 1000, on_flush_timeout, s);
	if (r < 0) {
		vss_err_set(&err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		            "cannot watch the freeze: %s", strerror(-r));
		snapset_creation_failed(s, &err, r);
	}
}

/* The shortest freeze window of the involved writers ran out before the snapshot was taken */
static int on_freeze_window(sd_event_source *es, uint64_t usec, void *userdata)
{
	Snapset *s = userdata;
	VssErr err = { 0 };

	vss_err_set(&err, VSS_ERROR_WRITER_TIMEOUT, -ETIME,
	            "a writer's freeze window expired before the shadow copies were taken");
	snapset_creation_failed(s, &err, -ETIME);
	return 0;
}

static void on_freeze_done(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	Snapset *s = userdata;

	snapset_bcast_done(s, b);
	if (r < 0) {
		snapset_creation_failed(s, err, r);
		return;
	}
	fault_point_kill(s->d->faults, "kill-after-writers-frozen");
	creation_freeze_fs(s);
}

/* Writers' Freeze: each writer's window runs from now; the set keeps the shortest. */
static void creation_freeze_writers(Snapset *s)
{
	uint32_t window = UINT32_MAX;
	WriterEventArgs a;

	s->sync = freeze_group_free(s->sync);
	s->sync_io = sd_event_source_disable_unref(s->sync_io);
	s->flush_timer = sd_event_source_disable_unref(s->flush_timer);
	for (size_t i = 0; i < s->n_involved; i++) {
		Writer *w = writer_find(s->d, &s->involved[i]);

		if (w)
			window = MIN(window, w->freeze_timeout_ms);
	}
	if (s->n_involved > 0 &&
	    sd_event_add_time_relative(s->d->event, &s->freeze_window, CLOCK_MONOTONIC,
	                               (uint64_t)window * USEC_PER_MSEC, 1000, on_freeze_window,
	                               s) < 0) {
		snapset_creation_failed(s, NULL, -ENOMEM);
		return;
	}
	snapset_event_args(s, &a);
	if (snapset_start_event(s, WRITER_EVENT_FREEZE, &a, on_freeze_done) < 0)
		snapset_creation_failed(s, NULL, -ENOMEM);
}

/* syncfs of the set's mounted file systems from worker threads: the set's group (NULL when
 * nothing is mounted), whose fd says when it is done */
static int sync_start(Snapset *s)
{
	_cleanup_(freeze_group_freep) FreezeGroup *g = NULL;
	_cleanup_strv_free_ char **mps = NULL;
	int r;

	s->sync = NULL;
	r = s->engine_provider->ops->set_mountpoints(s->engine, &mps);
	if (r < 0 || !mps || !mps[0])
		return r;
	r = freeze_group_new(s->d->host, FREEZE_KIND_SYNC, mps, &g);
	if (r < 0)
		return r;
	r = freeze_group_start(g);
	if (r < 0)
		return r;
	s->sync = TAKE_PTR(g);
	return 0;
}

/* The syncfs pass only shortens what the freeze has to flush: its end, its failure or its
 * deadline all lead to the writers' Freeze. */
static int on_sync_io(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
	Snapset *s = userdata;

	if (freeze_group_process(s->sync, NULL) != 0)
		creation_freeze_writers(s);
	return 0;
}

static int on_sync_timeout(sd_event_source *es, uint64_t usec, void *userdata)
{
	Snapset *s = userdata;

	log_set_warning(s->id_str,
	                "syncfs of the set's file systems still runs after %" PRIu64
	                " ms, going on",
	                s->d->config.flush_timeout / USEC_PER_MSEC);
	creation_freeze_writers(s);
	return 0;
}

static void on_prepare_snapshot_done(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	Snapset *s = userdata;
	VssErr e2 = { 0 };

	snapset_bcast_done(s, b);
	if (r < 0) {
		snapset_creation_failed(s, err, r);
		return;
	}
	fault_point_kill(s->d->faults, "kill-after-prepare-snapshot");
	/* Provider prepare: everything staged, no I/O held yet. */
	r = s->engine_provider->ops->set_prepare(s->engine, NULL, NULL, &e2);
	if (r < 0) {
		snapset_creation_failed(s, &e2, r);
		return;
	}
	fault_point_kill(s->d->faults, "kill-after-tables-loaded");
	/* syncfs from worker threads, so that the freeze that follows flushes little */
	r = sync_start(s);
	if (r >= 0 && s->sync) {
		r = sd_event_add_io(s->d->event, &s->sync_io, freeze_group_fd(s->sync), EPOLLIN,
		                    on_sync_io, s);
		if (r >= 0)
			r = sd_event_add_time_relative(s->d->event, &s->flush_timer,
			                               CLOCK_MONOTONIC, s->d->config.flush_timeout,
			                               1000, on_sync_timeout, s);
		if (r >= 0)
			return;
	}
	creation_freeze_writers(s); /* nothing mounted, or the pass could not start */
}

static void creation_begin(Snapset *s)
{
	_cleanup_strv_free_ char **volumes = NULL;
	WriterEventArgs a;
	int r;

	r = snapset_compute_involved(s, false);
	for (size_t i = 0; r >= 0 && i < s->n_snaps; i++)
		r = strv_extend(&volumes, s->snaps[i]->volume);
	if (r < 0) {
		snapset_creation_failed(s, NULL, r);
		return;
	}
	snapset_event_args(s, &a);
	a.volumes = volumes;
	if (snapset_start_event(s, WRITER_EVENT_PREPARE_SNAPSHOT, &a, on_prepare_snapshot_done) < 0)
		snapset_creation_failed(s, NULL, -ENOMEM);
}

/* Every shadow copy object has exactly one provider member with its id, and the other way
 * round: what the provider creates for one volume can only reach that volume's object. */
static int engine_pairs_up(const Snapset *s)
{
	const ProviderOps *ops = s->engine_provider->ops;

	if (ops->set_count(s->engine) != s->n_snaps)
		return -EPROTO;
	for (size_t i = 0; i < s->n_snaps; i++) {
		const char *v = ops->set_member_volume(s->engine, &s->snaps[i]->id);

		if (!v || !streq(v, s->snaps[i]->volume_name))
			return -EPROTO;
	}
	return 0;
}

int snapset_create(Snapset *s, SnapsetDoneFn done, void *userdata, VssErr *err)
{
	int r;

	if (s->state == SNAPSET_STATE_CREATING || s->call_done)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "another call on this set is still running");
	if (s->state != SNAPSET_STATE_PREPARED &&
	    !(!s->writers &&
	      (s->state == SNAPSET_STATE_STARTED || s->state == SNAPSET_STATE_GATHERED)))
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "DoSnapshotSet needs PrepareForBackup first (the set is %s)",
		                   snapset_state_to_string(s->state));
	if (s->n_snaps == 0 || !s->engine)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "the set has no volumes; add some with AddVolume");
	r = engine_pairs_up(s);
	if (r < 0)
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "the set's shadow copies and the provider's volumes disagree; "
		                   "abort the set and start a new one");

	s->create_done = done;
	s->create_userdata = userdata;
	snapset_set_state(s, SNAPSET_STATE_CREATING);
	/* Intent first: a crash from here on leaves a record that recovery rolls back. */
	r = daemon_save_state(s->d);
	if (r < 0) {
		vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		            "cannot write the state file: %s", strerror(-r));
		snapset_creation_failed(s, err, r);
		return 0; /* replied */
	}
	creation_begin(s);
	return 0;
}
