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
#include "daemon/watchdog.h"
#include "daemon/writer.h"

/* The pipeline, one function per step, each ending in the next (bottom-up in this file):
 *
 *   snapset_create()            checks, records the intent (state "creating")
 *   creation_begin()            PrepareForSnapshot broadcast to the involved writers
 *   on_prepare_snapshot_done()  every provider prepares (in parallel, maybe asynchronously)
 *   creation_prepared()         the syncfs pass starts
 *   on_sync_io()/timeout        the pass is done (or ran out of time)
 *   creation_freeze_writers()   Freeze broadcast; the shortest freeze window starts
 *   creation_freeze_fs()        FIFREEZE of the mounted file systems, off the loop; I/O held;
 *                               every provider that commits frozen is guarded first
 *   creation_commit()           the frozen window: every provider that commits frozen, the
 *                               last one alone (it may thaw the group itself); then the set
 *                               thaws, then the providers that cannot commit frozen, in turn
 *   creation_committed()        the shadow copies are recorded; Thaw broadcast
 *   on_thaw_done()              PostSnapshot broadcast
 *   creation_done()             state "created", saved; create_done is told
 *
 * The provider steps go through step_start()/on_engine_done()/step_end(): an engine's
 * operation ends at once or later (ProviderDoneFn); a step ends when none is pending, and a
 * failure waits for the others of its step before the set rolls back every provider's part.
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
	/* what a provider committed is deleted like any shadow copy of it; the others roll
	 * back what they did not commit when they are freed */
	for (size_t i = 0; i < s->n_snaps; i++) {
		Snapshot *snap = s->snaps[i];
		SnapsetEngine *e = snapset_engine_of(s, snap->provider);
		ProviderSnap *made = NULL;

		if (!e || !e->provider->ops->set_committed(e->ps))
			continue;
		if (e->provider->ops->set_take(e->ps, &snap->id, &made) >= 0)
			(void)snapshot_set_psnap(snap, made);
		if (snap->ps)
			(void)snap->provider->ops->snap_delete(snap->provider, snap->ps, NULL, NULL,
			                                       NULL);
	}
	snapset_engine_free(s); /* full rollback of whatever exists, thawed */
	snapset_hold_end(s);
	log_set_error(s->id_str, "creation failed: %s",
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
	log_set_notice(s->id_str, "created %zu shadow copies, I/O held %" PRIu64 " us", s->n_snaps,
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
	for (size_t i = 0; i < s->n_engines; i++) {
		SnapsetEngine *e = &s->engines[i];

		e->provider->ops->set_hold_window(e->ps, &t1, &t2);
		log_set_notice(
			s->id_str, "%s: I/O held from %" PRIu64 " to %" PRIu64 " (monotonic us)%s",
			e->provider->ops->name, t1, t2, e->frozen_ok ? "" : ", after the thaw");
	}
	for (size_t i = 0; i < s->n_snaps; i++) {
		Snapshot *snap = s->snaps[i];
		SnapsetEngine *e = snapset_engine_of(s, snap->provider);
		ProviderSnap *made = NULL;

		/* by id, never by position: snapset_create() checked that they pair up */
		if (e && e->provider->ops->set_take(e->ps, &snap->id, &made) >= 0)
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

/* ---- provider steps -------------------------------------------------------------------------- */

static void step_end(Snapset *s);

static void step_result(Snapset *s, SnapsetEngine *e, int r, const VssErr *err)
{
	if (r >= 0 || s->step_error < 0)
		return;
	s->step_error = r;
	if (err && vss_err_is_set(err))
		s->step_err = *err;
	else
		vss_err_set(&s->step_err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		            "provider %s failed: %s", e->provider->ops->name, strerror(-r));
}

/* ProviderDoneFn of every engine's prepare and commit */
static void on_engine_done(void *userdata, int r, const VssErr *err)
{
	SnapsetEngine *e = userdata;
	Snapset *s = e->set;

	if (!e->pending)
		return; /* not ours to count: a provider broke its contract, ignored */
	e->pending = false;
	s->pending--;
	step_result(s, e, r, err);
	if (!s->starting && s->pending == 0)
		step_end(s);
}

/* What an engine's operation returned: done (0), under way (1) or failed (< 0) */
static void engine_started(Snapset *s, SnapsetEngine *e, int r, const VssErr *err)
{
	if (r > 0) {
		e->pending = true;
		s->pending++;
		return;
	}
	step_result(s, e, r, err);
}

static void engine_commit(Snapset *s, SnapsetEngine *e, bool fs_frozen)
{
	VssErr err = { 0 };
	int r;

	r = e->provider->ops->set_commit(e->ps, fs_frozen, &e->held, on_engine_done, e, &err);
	engine_started(s, e, r, &err);
}

/* Starts step on its engines: prepare every one, commit the frozen ones but the last, the last
 * frozen one, or the next one that commits after the thaw. Ends with step_end() once none is
 * pending (now, or from the last completion). */
static void step_start(Snapset *s, SnapsetStep step)
{
	SnapsetEngine *last = snapset_engine_last_frozen(s);

	s->step = step;
	s->step_error = 0;
	s->step_err = (VssErr){ 0 };
	s->starting = true;
	if (step == SNAPSET_STEP_COMMIT_AFTER) {
		/* one at a time: each of these volumes is cut at its own moment anyway */
		while (s->step_next < s->n_engines && s->engines[s->step_next].frozen_ok)
			s->step_next++;
		if (s->step_next < s->n_engines)
			engine_commit(s, &s->engines[s->step_next++], false);
	}
	for (size_t i = 0; i < s->n_engines && s->step_error == 0; i++) {
		SnapsetEngine *e = &s->engines[i];
		VssErr err = { 0 };

		switch (step) {
		case SNAPSET_STEP_PREPARE:
			engine_started(
				s, e, e->provider->ops->set_prepare(e->ps, on_engine_done, e, &err),
				&err);
			break;
		case SNAPSET_STEP_COMMIT_FIRST:
			if (e->frozen_ok && e != last)
				engine_commit(s, e, s->fsfreeze != NULL);
			break;
		case SNAPSET_STEP_COMMIT_LAST:
			if (e == last)
				engine_commit(s, e, s->fsfreeze != NULL);
			break;
		case SNAPSET_STEP_COMMIT_AFTER:
		case SNAPSET_STEP_NONE:
			break;
		}
	}
	s->starting = false;
	if (s->pending == 0)
		step_end(s);
}

static void creation_prepared(Snapset *s);

/* The frozen window is over: thawed (the last frozen commit may have thawed already), I/O
 * released; the set's own watchdog says whether it had to end the window itself. */
static int window_end(Snapset *s)
{
	const Config *c = &s->d->config;
	usec_t frozen = 0;

	snapset_thaw(s);
	if (s->frozen_start)
		frozen = now_usec(CLOCK_MONOTONIC) - s->frozen_start;
	snapset_hold_end(s); /* thawed and resumed, whatever the result */
	if (s->freeze_watchdog && watchdog_disarm(s->freeze_watchdog) && s->step_error == 0) {
		s->step_error = -ETIME;
		vss_err_set(&s->step_err, VSS_ERROR_HOLD_WRITES_TIMEOUT, -ETIME,
		            "the set's file systems stayed frozen longer than %" PRIu64
		            " ms while vssd's event loop was stuck; the hold watchdog thawed them",
		            c->hold_timeout / USEC_PER_MSEC);
	}
	if (s->frozen_start && s->n_engines > 1)
		log_set_notice(s->id_str, "file systems frozen for %" PRIu64 " us, %zu provider(s)",
		               frozen, snapset_engines_frozen(s));
	return s->step_error;
}

static void step_end(Snapset *s)
{
	const Config *c = &s->d->config;
	SnapsetStep step = s->step;

	for (size_t i = 0; i < s->n_engines; i++)
		s->held_usec = MAX(s->held_usec, s->engines[i].held);
	switch (step) {
	case SNAPSET_STEP_PREPARE:
		if (s->step_error < 0)
			break;
		creation_prepared(s);
		return;
	case SNAPSET_STEP_COMMIT_FIRST:
		/* the hold limit bounds the frozen window across providers too */
		if (s->step_error == 0 && s->frozen_start &&
		    (now_usec(CLOCK_MONOTONIC) - s->frozen_start > c->hold_timeout ||
		     watchdog_fired(s->freeze_watchdog))) {
			s->step_error = -ETIME;
			vss_err_set(&s->step_err, VSS_ERROR_HOLD_WRITES_TIMEOUT, -ETIME,
			            "the set's file systems stayed frozen longer than %" PRIu64
			            " ms; everything was thawed",
			            c->hold_timeout / USEC_PER_MSEC);
		}
		if (s->step_error < 0)
			break;
		step_start(s, SNAPSET_STEP_COMMIT_LAST);
		return;
	case SNAPSET_STEP_COMMIT_LAST:
		if (window_end(s) < 0)
			break;
		s->step_next = 0;
		step_start(s, SNAPSET_STEP_COMMIT_AFTER);
		return;
	case SNAPSET_STEP_COMMIT_AFTER:
		if (s->step_error < 0)
			break;
		if (s->step_next < s->n_engines) {
			step_start(s, SNAPSET_STEP_COMMIT_AFTER);
			return;
		}
		s->step = SNAPSET_STEP_NONE;
		creation_committed(s);
		return;
	case SNAPSET_STEP_NONE:
		return;
	}
	s->step = SNAPSET_STEP_NONE;
	{
		VssErr err = s->step_err;

		snapset_creation_failed(s, &err, s->step_error); /* rolls back and thaws */
	}
}

/* The frozen window opens (or, with nothing frozen, the commits simply start) */
static void creation_commit(Snapset *s)
{
	if (s->fsfreeze) {
		s->frozen_start = now_usec(CLOCK_MONOTONIC);
		/* several frozen commits: from the first commit on, the hold limit bounds the
		 * window, whatever the loop does */
		watchdog_arm(s->freeze_watchdog, s->d->config.hold_timeout);
	}
	step_start(s, SNAPSET_STEP_COMMIT_FIRST);
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

/* No hold without its guaranteed end, before the first FIFREEZE: each provider that commits
 * frozen guards what it will hold; the last of them is lent the group (its watchdog thaws it,
 * and it may thaw it right after its instant: one provider's window is no longer than it was
 * alone). With several, the set's own watchdog also bounds the window: the flush limit plus
 * the hold limit until the first commit, the hold limit from then on. */
static int creation_guard(Snapset *s, VssErr *err)
{
	const Config *c = &s->d->config;
	SnapsetEngine *last = snapset_engine_last_frozen(s);
	int r;

	if (snapset_engines_frozen(s) > 1) {
		r = watchdog_new(s->d->dm, NULL, s->fsfreeze, s->id_str, &s->freeze_watchdog);
		if (r < 0)
			return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
			                   "cannot start the set's hold watchdog: %s",
			                   strerror(-r));
		watchdog_arm(s->freeze_watchdog, c->flush_timeout + c->hold_timeout);
	}
	for (size_t i = 0; i < s->n_engines; i++) {
		SnapsetEngine *e = &s->engines[i];

		if (!e->frozen_ok || !e->provider->ops->set_guard)
			continue;
		r = e->provider->ops->set_guard(e->ps, e == last ? s->fsfreeze : NULL,
		                                c->flush_timeout + c->hold_timeout, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* FIFREEZE of every mounted file system of the set's providers that commit frozen, from worker
 * threads: the set owns the group and the ledger; the guards cover the group before the first
 * worker starts. Nothing mounted, or [freeze] parallel off: straight to the commit, whose
 * suspends then keep lockfs. */
static void creation_freeze_fs(Snapset *s)
{
	_cleanup_strv_free_ char **mps = NULL;
	const Config *c = &s->d->config;
	VssErr err = { 0 };
	int r;

	hold_begin(s);
	/* the providers' answers may have changed since AddVolume: the set says what it does */
	snapset_update_instant(s);
	snapset_log_instant(s);
	if (!c->parallel_freeze) {
		creation_commit(s);
		return;
	}
	/* only the file systems of providers that commit inside the window */
	r = snapset_engines_mountpoints(s, true, &mps);
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
	r = creation_guard(s, &err);
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
	r = snapset_engines_mountpoints(s, false, &mps);
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

	snapset_bcast_done(s, b);
	if (r < 0) {
		snapset_creation_failed(s, err, r);
		return;
	}
	fault_point_kill(s->d->faults, "kill-after-prepare-snapshot");
	/* Every provider prepares, in parallel: everything staged, no I/O held yet. */
	step_start(s, SNAPSET_STEP_PREPARE);
}

static void creation_prepared(Snapset *s)
{
	int r;

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
	if (s->n_snaps == 0 || s->n_engines == 0)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "the set has no volumes; add some with AddVolume");
	r = snapset_engines_pair_up(s);
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
