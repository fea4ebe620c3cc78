/* SPDX-License-Identifier: GPL-2.0-or-later */
/* revert.c - Snapshot.Revert: a shadow copy merged back into its volume, through its provider
 *
 * The generic flow: the checks that need no provider (persistent context, state, no other revert
 * or creation on the volume, not exposed), then the provider's (revert_check: the volume is
 * unmounted and unused, VSS_E_VOLUME_IN_USE otherwise), "merging" written to the state file
 * before the provider changes anything (revert_start's intent), a timer that polls the provider
 * (revert_poll) for RevertProgress until the merge ends, and the end (revert_finish: the
 * snapshot's storage and devices go, the volume is released), then the Snapshot object goes
 * (InterfacesRemoved). The dm-snapshot provider's merge is daemon/dmsnap-merge.c.
 *
 * A daemon that dies meanwhile finds "merging" at start-up: the provider went on merging, so it
 * watches again and finishes; if the merge never started, the shadow copy is "created" again; a
 * merge cut short (a reboot) is resumed as VSS does at boot (revert_resume(): the shadow copy
 * back from its storage, then the merge again). Progress after a restart counts from what was
 * left at the restart. Other shadow copies of the same volume are kept with their own content:
 * VSS documents nothing definite about them for RevertToSnapshot, so nothing is deleted that the
 * administrator did not ask for. */
#include <inttypes.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/fault.h"
#include "daemon/hostops.h"
#include "daemon/provider.h"
#include "daemon/revert.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"

#define VSS_E_REVERT_IN_PROGRESS 0x80042325u

/* ---- watching -------------------------------------------------------------------------------- */

static void emit_progress(Snapshot *s)
{
	static const char *const changed[] = { "RevertProgress", NULL };

	if (s->exported)
		bus_emit_properties_changed(&s->d->bus, s->path, VSSD_IFACE_SNAP, changed);
}

void revert_unwatch(Snapshot *s)
{
	s->merge_timer = sd_event_source_disable_unref(s->merge_timer);
}

static int on_merge_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	Snapshot *s = userdata;
	int r;

	r = revert_poll(s); /* may free s, and with it this source (sd-event keeps it alive) */
	if (r != 0)         /* over, or no longer watched */
		return 0;
	r = sd_event_source_set_time_relative(src, REVERT_POLL_USEC);
	if (r >= 0)
		r = sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	if (r < 0)
		log_snap_error_errno(s->id_str, NULL, r, "cannot watch the merge any more: %m");
	return 0;
}

static int revert_watch(Snapshot *s)
{
	if (s->merge_timer)
		return 0;
	return sd_event_add_time_relative(s->d->event, &s->merge_timer, CLOCK_MONOTONIC,
	                                  REVERT_POLL_USEC, 0, on_merge_timer, s);
}

/* The merge is over (or the daemon stopped while finishing it): every step is idempotent, and a
 * step that fails is tried again on the next look. 1: done, s deleted; 0: try again. */
static int merge_finish(Snapshot *s)
{
	VssErr err = { 0 };
	int r, others;

	others = s->provider->ops->revert_finish(s->provider, snapshot_psnap(s));
	if (others < 0)
		return 0;
	log_snap_notice(s->id_str, s->volume,
	                "revert finished, the volume holds the shadow copy's content; "
	                "%d other shadow copies of it kept",
	                others);

	s->revert_progress = 1.0;
	emit_progress(s);
	revert_unwatch(s);
	/* its devices are gone: the deletion only drops the object and the state entry */
	snapshot_forget_storage(s);
	r = snapset_delete_snapshot(s->set, s, "reverted", &err);
	if (r < 0)
		log_snap_error(s->id_str, NULL, "cannot drop the reverted shadow copy: %s",
		               err.message);
	return 1;
}

/* A merge that stopped before its end, as a reboot stops it (VSS resumes a revert at boot):
 * the COW still holds the chunks not merged yet, and the volume is part reverted. The shadow
 * copy comes back from its COW (for merged chunks it reads the volume, which holds them now),
 * and the merge starts again. When it cannot (the volume is mounted or open, say), the shadow
 * copy is kept, intact, as "created", and the log says that the volume needs the revert again. */
static int revert_resume(Snapshot *s)
{
	Daemon *d = s->d;
	VssErr err = { 0 };
	int r;

	log_snap_notice(s->id_str, s->volume,
	                "the merge stopped before its end (a reboot?); bringing the "
	                "shadow copy back from its storage to merge the rest");
	r = daemon_reactivate_snapshot(d, s);
	if (r < 0) {
		log_snap_error(s->id_str, s->volume,
		               "cannot resume the revert; nothing more is changed: its "
		               "storage is kept and the shadow copy stays \"merging\"");
		return 3;
	}
	snapshot_set_state(s, SNAPSHOT_STATE_CREATED);
	r = revert_start(s, &err);
	if (r < 0) {
		log_snap_error(
			s->id_str, s->volume,
			"the revert cannot go on: %s. The volume is only partly "
			"reverted; the shadow copy is intact: free the volume and revert it again "
			"(vssctl revert %s)",
			vss_err_is_set(&err) ? err.message : strerror(-r), s->id_str);
		(void)daemon_save_state(d);
		return 3;
	}
	log_snap_notice(s->id_str, s->volume, "revert resumed");
	return 4; /* merging again; revert_start() watches it */
}

int revert_poll(Snapshot *s)
{
	Daemon *d = s->d;
	uint64_t left = 0;
	double p;

	switch (s->provider->ops->revert_poll(s->provider, snapshot_psnap(s), &left)) {
	case PROVIDER_MERGE_RETRY:
		return 0;
	case PROVIDER_MERGE_NOT_STARTED:
		/* the merge never went live: nothing changed on disk */
		revert_unwatch(s);
		s->revert_progress = 0.0;
		snapshot_set_state(s, SNAPSHOT_STATE_CREATED);
		emit_progress(s);
		(void)daemon_save_state(d);
		log_snap_notice(s->id_str, s->volume,
		                "the revert had not started; the shadow copy is kept");
		return 2;
	case PROVIDER_MERGE_DONE:
		return merge_finish(s);
	case PROVIDER_MERGE_INTERRUPTED:
		revert_unwatch(s);
		return revert_resume(s);
	case PROVIDER_MERGE_UNKNOWN:
		revert_unwatch(s);
		log_snap_error(s->id_str, s->volume,
		               "the merge stopped before its end and its storage cannot "
		               "be read; nothing is changed: the shadow copy stays \"merging\"");
		return 3;
	case PROVIDER_MERGE_FAILED:
		/* nothing changes until someone looks (a restart tries again) */
		revert_unwatch(s);
		log_snap_error(s->id_str, s->volume,
		               "the kernel reports that the merge failed; the volume is "
		               "left as it is, with its merge table (see the kernel log)");
		return 3;
	case PROVIDER_MERGE_RUNNING:
	case _PROVIDER_MERGE_MAX:
		break;
	}
	s->merge_base_sectors = MAX(s->merge_base_sectors, left);
	p = s->merge_base_sectors ? 1.0 - (double)left / (double)s->merge_base_sectors : 0.0;
	if (p > s->revert_progress) {
		s->revert_progress = p;
		emit_progress(s);
	}
	log_snap_debug(s->id_str, NULL, "merging, %" PRIu64 " of %" PRIu64 " sectors left", left,
	               s->merge_base_sectors);
	fault_point_kill(d->faults, "kill-revert-mid-merge");
	return 0;
}

/* ---- start ----------------------------------------------------------------------------------- */

static int revert_in_progress(VssErr *err, const char *vol)
{
	bool first = err && !vss_err_is_set(err);
	int r = vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
	                    "a revert of %s is in progress already; see 'vssctl query reverts'",
	                    vol);

	if (first) {
		err->code_name = "VSS_E_REVERT_IN_PROGRESS";
		err->code = VSS_E_REVERT_IN_PROGRESS;
	}
	return r;
}

/* Everything that makes a revert of s impossible now, before anything changes. */
static int check_revert(Snapshot *s, VssErr *err)
{
	Daemon *d = s->d;
	VssErr e = { 0 };
	uint64_t total = 0;
	int r;

	if (!snapset_context_persistent(s->set->context) || !s->persistent)
		return vss_err_set(err, VSS_ERROR_UNSUPPORTED_CONTEXT, -EOPNOTSUPP,
		                   "shadow copy %s has the %s context; only shadow copies of "
		                   "persistent contexts can be reverted",
		                   s->id_str, snapset_context_to_string(s->set->context));
	switch (s->state) {
	case SNAPSHOT_STATE_CREATED:
		break;
	case SNAPSHOT_STATE_MERGING:
		return revert_in_progress(err, s->volume);
	case SNAPSHOT_STATE_PREPARING:
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "shadow copy %s is not created yet", s->id_str);
	case SNAPSHOT_STATE_DELETING:
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "shadow copy %s is being deleted", s->id_str);
	case SNAPSHOT_STATE_INVALID:
	case _SNAPSHOT_STATE_MAX:
	case _SNAPSHOT_STATE_INVALID:
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "shadow copy %s is invalid (its storage overflowed or its "
		                   "device is missing); it cannot be reverted",
		                   s->id_str);
	}
	for (size_t i = 0; i < d->n_sets; i++)
		for (size_t j = 0; j < d->sets[i]->n_snaps; j++) {
			Snapshot *o = d->sets[i]->snaps[j];

			if (o == s || !streq(o->volume_name, s->volume_name))
				continue;
			if (o->state == SNAPSHOT_STATE_MERGING)
				return revert_in_progress(err, s->volume);
			if (d->sets[i] == d->creating)
				return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
				                   "a shadow copy set of %s is being created; "
				                   "revert when it is done",
				                   s->volume);
		}
	if (s->exposed_path)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "shadow copy %s is exposed at %s; unexpose it first", s->id_str,
		                   s->exposed_path);

	/* the provider's own: the volume unmounted and unused, the snapshot's device usable */
	r = s->provider->ops->revert_check(s->provider, snapshot_psnap_const(s), s->volume, &total,
	                                   &e);
	if (r >= 0) {
		s->merge_base_sectors = total;
		return 0;
	}
	if (!vss_err_is_set(&e)) {
		if (r == -EALREADY)
			return revert_in_progress(err, s->volume);
		if (r == -ENXIO)
			return vss_err_set(err, VSS_ERROR_BAD_STATE, -ENODEV,
			                   "the device of shadow copy %s is missing", s->id_str);
		if (r == -ENOSPC)
			return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
			                   "shadow copy %s is invalid (its storage overflowed); it "
			                   "cannot be reverted",
			                   s->id_str);
	}
	if (err && !vss_err_is_set(err))
		*err = e;
	return r;
}

/* Puts s back to "created" after a failed start. */
static void start_failed(Snapshot *s)
{
	s->revert_progress = 0.0;
	snapshot_set_state(s, SNAPSHOT_STATE_CREATED);
	(void)daemon_save_state(s->d);
}

/* The provider is about to change something: "merging" goes to the state file first */
static int record_intent(void *userdata)
{
	Snapshot *s = userdata;
	int r;

	s->revert_progress = 0.0;
	snapshot_set_state(s, SNAPSHOT_STATE_MERGING);
	r = daemon_save_state(s->d);
	if (r < 0)
		start_failed(s);
	return r;
}

int revert_start(Snapshot *s, VssErr *err)
{
	int r;

	r = check_revert(s, err);
	if (r < 0)
		return r;
	r = s->provider->ops->revert_start(s->provider, snapshot_psnap(s), s->volume, record_intent,
	                                   s, NULL, NULL, err);
	if (r < 0) {
		if (s->state == SNAPSHOT_STATE_MERGING) /* recorded, then failed */
			start_failed(s);
		return r;
	}
	log_snap_notice(s->id_str, s->volume, "revert started, merging %" PRIu64 " sectors back",
	                s->merge_base_sectors);

	r = revert_watch(s);
	if (r < 0) /* the provider merges on; a restart watches it again */
		log_snap_error_errno(s->id_str, NULL, r, "cannot watch the merge: %m");
	return 0;
}

void revert_recover(Daemon *d)
{
	_cleanup_free_ Snapshot **l = NULL;
	size_t n = 0;

	/* first collect: finishing a merge deletes objects (and maybe their set) */
	for (size_t i = 0; i < d->n_sets; i++)
		for (size_t j = 0; j < d->sets[i]->n_snaps; j++) {
			Snapshot *s = d->sets[i]->snaps[j], **x;

			if (s->state != SNAPSHOT_STATE_MERGING)
				continue;
			x = reallocarray(l, n + 1, sizeof(*l));
			if (!x) {
				log_oom();
				break;
			}
			l = x;
			l[n++] = s;
		}
	for (size_t i = 0; i < n; i++) {
		Snapshot *s = l[i];

		s->merge_base_sectors = 0; /* what is left now counts as the whole */
		s->revert_progress = 0.0;
		if (revert_poll(s) != 0)
			continue;
		log_notice("recovery: snap=%s vol=%s: a revert is under way, watching it again",
		           s->id_str, s->volume);
		if (revert_watch(s) < 0)
			log_error("recovery: snap=%s: cannot watch the merge", s->id_str);
	}
}
