/* SPDX-License-Identifier: GPL-2.0-or-later */
/* recovery.c - start-up recovery: restore, reactivation, purge, rebuild, held devices */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/vssd-limits.h"
#include "common/vssd-version.h"
#include "daemon/daemon.h"
#include "daemon/dmdev.h"
#include "daemon/expose.h"
#include "daemon/fault.h"
#include "daemon/freeze.h"
#include "daemon/hostops.h"
#include "daemon/monitor.h"
#include "daemon/provider-dmsnap.h"
#include "daemon/recovery.h"
#include "daemon/revert.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/state.h"
#include "daemon/storage.h"
#include "daemon/volume.h"
#include "daemon/writer.h"

static int snapshot_from_state(Daemon *d, Snapset *set, const StateSnapshot *x, Snapshot **ret)
{
	_cleanup_(snapshot_freep) Snapshot *s = NULL;
	_cleanup_free_ char *error = NULL;
	Provider *p = provider_find_by_name(&d->providers, x->provider);
	ProviderSnap *ps = NULL;
	int r;

	if (!p)
		return log_error_errno(-ENOENT,
		                       "recovery: snapshot of %s: provider %s is not available",
		                       x->volume, x->provider);
	r = snapshot_new(d, set, p, &x->id, x->volume_name, &s);
	if (r < 0)
		return r;
	r = p->ops->snap_import(p,
	                        &(const ProviderSnapBase){ .id = x->id,
	                                                   .set_id = set->id,
	                                                   .volume_name = x->volume_name,
	                                                   .sectors = x->sectors,
	                                                   .persistent = x->persistent },
	                        x->provider_data, "provider_data", &ps, &error);
	if (r < 0)
		return log_error_errno(r, "recovery: snapshot of %s: %s", x->volume,
		                       strempty(error));
	r = snapshot_set_psnap(s, ps);
	if (r < 0)
		return r;
	s->sectors = x->sectors;
	s->persistent = x->persistent;
	s->creation_time = x->creation_time;
	s->state = snapshot_state_from_string(x->state);
	if (s->state < 0)
		s->state = SNAPSHOT_STATE_CREATED;
	if (x->exposed_path && !(s->exposed_path = strdup(x->exposed_path)))
		return -ENOMEM;
	*ret = TAKE_PTR(s);
	return 0;
}

static void set_original_device(Daemon *d, Snapshot *s)
{
	DmdevInfo info;

	if (dmdev_info(d->dm, s->volume_name, &info) >= 0 && info.exists) {
		free(s->original_device);
		if (asprintf(&s->original_device, "/dev/dm-%u", info.minor) < 0)
			s->original_device = NULL;
		s->devno = makedev(info.major, info.minor);
	}
}

/* Deletes what a state entry describes, whatever of it exists. */
static void purge_snapshots(Daemon *d, Snapset *s, const char *why)
{
	for (size_t i = 0; i < s->n_snaps; i++) {
		VssErr err = { 0 };

		Snapshot *x = s->snaps[i];

		if (!x->ps)
			continue;
		if (expose_release(x, &err) < 0 || /* expose.c: unmount first */
		    x->provider->ops->snap_delete(x->provider, x->ps, NULL, NULL, &err) < 0)
			log_recovery(LOG_ERR, s->id_str, x->id_str, NULL,
			             "recovery: set=%s snap=%s: cannot delete: %s", s->id_str,
			             s->snaps[i]->id_str, err.message);
		else
			log_recovery(LOG_NOTICE, s->id_str, x->id_str, NULL,
			             "recovery: set=%s snap=%s: deleted (%s)", s->id_str,
			             s->snaps[i]->id_str, why);
	}
}

/* A shadow copy recorded as "deleting": whatever of it is left goes (each step of the deletion
 * is idempotent), and it is not restored. */
static int finish_deletion(Daemon *d, Snapset *set, Snapshot *s)
{
	VssErr err = { 0 };
	int r = 0;

	if (!s->ps)
		return 0;
	r = expose_release(s, &err);
	if (r >= 0)
		r = s->provider->ops->snap_delete(s->provider, s->ps, NULL, NULL, &err);
	if (r < 0)
		return log_recovery(LOG_ERR, set->id_str, s->id_str, NULL,
		                    "recovery: set=%s snap=%s: cannot finish its deletion: %s",
		                    set->id_str, s->id_str, err.message),
		       r;
	log_recovery(LOG_NOTICE, set->id_str, s->id_str, NULL,
	             "recovery: set=%s snap=%s: deleted (its deletion never finished)", set->id_str,
	             s->id_str);
	return 0;
}

/* A persistent snapshot whose devices are gone (a reboot) comes back from its COW file. */
int daemon_reactivate_snapshot(Daemon *d, Snapshot *s)
{
	VssErr err = { 0 };
	const char *from;
	int r;

	if (!s->ps)
		return -ENODEV;
	from = strempty(s->provider->ops->snap_storage_path(s->ps));
	r = s->provider->ops->snap_reactivate(s->provider, s->ps, &err);
	if (r < 0) {
		log_recovery(LOG_ERR, s->set ? s->set->id_str : NULL, s->id_str, s->volume,
		             "recovery: snap=%s vol=%s: cannot bring it back from %s: %s",
		             s->id_str, s->volume, from,
		             vss_err_is_set(&err) ? err.message : strerror(-r));
		return r;
	}
	log_recovery(LOG_NOTICE, s->set ? s->set->id_str : NULL, s->id_str, s->volume,
	             "recovery: snap=%s vol=%s: brought back from %s", s->id_str, s->volume, from);
	set_original_device(d, s);
	return 0;
}

static void reactivate(Daemon *d, Snapshot *s)
{
	if (daemon_reactivate_snapshot(d, s) < 0) {
		log_recovery(LOG_ERR, s->set ? s->set->id_str : NULL, s->id_str, s->volume,
		             "recovery: snap=%s: shown as invalid", s->id_str);
		s->state = SNAPSHOT_STATE_INVALID;
	}
}

static int restore_set(Daemon *d, const StateSet *x)
{
	_cleanup_(snapset_freep) Snapset *s = NULL;
	SnapsetOptions o = { .backup_type = x->backup_type,
		             .description = x->description,
		             .schedule = x->schedule };
	int r;

	o.context = snapset_context_from_string(x->context);
	if (o.context < 0)
		o.context = SNAPSET_CONTEXT_APP_ROLLBACK;
	o.no_auto_release = x->attributes & VSS_ATTR_NO_AUTO_RELEASE;
	r = snapset_new(d, &x->id, NULL, 0, &o, &s);
	if (r < 0)
		return r;
	s->attributes = x->attributes;
	s->creation_time = x->creation_time;
	s->instant_per_volume = x->per_volume_instant == 1;
	s->state = snapset_state_from_string(x->state);
	for (size_t i = 0; i < x->n_snapshots; i++) {
		Snapshot *snap = NULL;

		r = snapshot_from_state(d, s, &x->snapshots[i], &snap);
		if (r < 0)
			return r;
		/* a deletion under way when vssd died ends now; one that cannot stays listed
		 * as "deleting", for Delete to try again */
		if (snap->state == SNAPSHOT_STATE_DELETING && finish_deletion(d, s, snap) >= 0) {
			snapshot_free(snap);
			continue;
		}
		r = snapset_add_snapshot(s, snap);
		if (r < 0) {
			snapshot_free(snap);
			return r;
		}
		set_original_device(d, snap);
	}

	if (s->n_snaps == 0 && x->n_snapshots > 0)
		return 0; /* its last shadow copies were being deleted */
	if (s->state == SNAPSET_STATE_CREATING || s->state < 0) {
		purge_snapshots(d, s, "its creation never finished");
		return 0;
	}
	if (!snapset_context_persistent(s->context)) {
		/* A crash is a release: non-persistent shadow copies go. */
		purge_snapshots(d, s, "not persistent; left by an earlier run");
		return 0;
	}
	for (size_t i = 0; i < s->n_snaps; i++) {
		Snapshot *sn = s->snaps[i];

		if (sn->state == SNAPSHOT_STATE_MERGING)
			continue; /* its device went with the merge: revert_recover() */
		if (sn->state == SNAPSHOT_STATE_CREATED && sn->ps &&
		    !sn->provider->ops->snap_exists(sn->provider, sn->ps))
			reactivate(d, sn); /* after a reboot */
	}
	r = daemon_add_set(d, s);
	if (r < 0)
		return r;
	TAKE_PTR(s);
	return 0;
}

/* VSSD- snapshot devices that no state entry knows: leftovers of a crash. */
/* Is path in a storage location of ours? Another vssd (a test's, the demo's) may manage dm
 * devices on the same machine: what lives in its storage is none of our business. */
static bool in_our_storage(Daemon *d, const char *path)
{
	const char *rest;

	if (!path)
		return false;
	/* a store that is no path ("lvm:<vg>") is the provider's own, which found it by its own
	 * marks (LVM tags) */
	if (path[0] != '/')
		return true;
	rest = startswith(path, d->config.storage_dir);
	if (rest && rest[0] == '/')
		return true;
	for (size_t i = 0; i < d->n_storage; i++) {
		rest = startswith(path, d->storage[i].location);
		if (rest && rest[0] == '/')
			return true;
	}
	return false;
}

/* Snapshots of a provider on the system that no state entry knows: leftovers of a crash. */
static void purge_orphans(Daemon *d, Provider *p, ProviderSnap **l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *path, *dev;
		ProviderSnapBase b;
		VssErr err = { 0 };

		if (!l[i]) /* adopted */
			continue;
		path = p->ops->snap_storage_path(l[i]);
		dev = p->ops->snap_label(l[i]);
		p->ops->snap_base(l[i], &b);
		if (!in_our_storage(d, path))
			log_info("recovery: leaving %s alone: its storage %s is not ours", dev,
			         strempty(path));
		else if (!daemon_find_snapshot(d, &b.id)) {
			if (p->ops->snap_delete(p, l[i], NULL, NULL, &err) < 0)
				log_error("recovery: cannot delete orphan %s: %s", dev,
				          err.message);
			else
				log_notice("recovery: deleted %s, which no state entry knows", dev);
		}
	}
}

/* After a corrupt state file: persistent snapshots found on the system come back as sets
 * (their context is not recorded there, so they are shown as "persistent"). Takes what it
 * adopts out of l. */
static void rebuild_from_provider(Daemon *d, Provider *p, ProviderSnap **l, size_t n, bool corrupt)
{
	for (size_t i = 0; i < n; i++) {
		SnapsetOptions o = { .context = SNAPSET_CONTEXT_PERSISTENT };
		Snapshot *snap = NULL;
		ProviderSnapBase b;
		Snapset *set;
		const char *dev;

		p->ops->snap_base(l[i], &b);
		if (!b.persistent || daemon_find_snapshot(d, &b.id) ||
		    !in_our_storage(d, p->ops->snap_storage_path(l[i])))
			continue;
		set = daemon_find_set(d, &b.set_id);
		if (!set) {
			if (snapset_new(d, &b.set_id, NULL, 0, &o, &set) < 0)
				continue;
			set->state = SNAPSET_STATE_CREATED;
			if (daemon_add_set(d, set) < 0) {
				snapset_free(set);
				continue;
			}
		}
		if (snapshot_new(d, set, p, &b.id, b.volume_name, &snap) < 0)
			continue;
		snap->sectors = b.sectors;
		snap->persistent = b.persistent;
		snap->creation_time = b.creation_time;
		snap->state = SNAPSHOT_STATE_CREATED;
		(void)snapshot_set_psnap(snap, TAKE_PTR(l[i]));
		set->creation_time = MAX(set->creation_time, snap->creation_time);
		set_original_device(d, snap);
		dev = p->ops->snap_label(snap->ps);
		if (snapset_add_snapshot(set, snap) < 0) {
			snapshot_free(snap);
			continue;
		}
		log_recovery(LOG_NOTICE, set->id_str, snap->id_str, snap->volume,
		             "recovery: %s set=%s snap=%s from %s",
		             corrupt ? "rebuilt" : "adopted, its state entry lost,", set->id_str,
		             snap->id_str, dev);
	}
}

/* Every provider's snapshots on the system: those with a lost state entry adopted, then
 * those nobody knows deleted */
static void recover_unknown(Daemon *d, bool corrupt)
{
	for (size_t k = 0; k < d->providers.n; k++) {
		Provider *p = &d->providers.providers[k];
		ProviderSnap **l = NULL;
		size_t n = 0;

		if (!p->ops->discover || p->ops->discover(p, &l, &n) < 0)
			continue;
		/* State is written before every change, so a persistent snapshot in our storage
		 * that no entry knows lost its entry (a corrupt or missing state file): adopt it.
		 */
		rebuild_from_provider(d, p, l, n, corrupt);
		purge_orphans(d, p, l, n);
		for (size_t i = 0; i < n; i++)
			if (l[i])
				p->ops->snap_free(l[i]);
		free(l);
	}
}

int daemon_recover(Daemon *d)
{
	_cleanup_free_ char *error = NULL;
	State st = { 0 };
	bool corrupt = false;
	int r;

	/* In reverse pick order, so dm-snapshot first: it resumes the devices a killed vssd left
	 * suspended, and the LVM providers' lvs would otherwise scan a suspended device and block
	 * in the kernel until it is resumed (60-fault-kill-create-a, kill-after-first-suspend) */
	for (size_t i = d->providers.n; i-- > 0;) {
		Provider *p = &d->providers.providers[i];

		r = p->ops->recover(p);
		if (r < 0)
			log_error_errno(r, "recovery: %s cannot check for held devices: %m",
			                p->ops->name);
	}
	/* then the file systems a set of ours froze (the ledger), and only those: an
	 * administrator's own fsfreeze stays */
	freeze_ledger_thaw(d->freeze_ledger, d->host);

	r = state_load(d->state_path, &st, &error);
	if (r >= 0 && st.file_version < STATE_VERSION)
		log_notice("state file %s is in format %u: migrated to format %d, written so at "
		           "the end of the start-up",
		           d->state_path, st.file_version, STATE_VERSION);
	if (r == -ENOENT)
		log_info("no state file at %s: starting empty", d->state_path);
	else if (r == -EBADMSG) {
		_cleanup_free_ char *moved = NULL;

		corrupt = true;
		/* Never lose entries silently: keep the file for the administrator, then
		 * rebuild what the devices tell (persistent shadow copies keep their ids). */
		(void)state_quarantine(d->state_path, &moved);
		log_error("state file %s is corrupt (%s); kept as %s, rebuilding from the "
		          "VSSD- devices",
		          d->state_path, strempty(error), strempty(moved));
	} else if (r < 0)
		return log_error_errno(r, "cannot read %s: %m", d->state_path);

	/* managed volumes first: the snapshots of a rebooted machine need their volumes */
	r = volumes_restore(d, &st);
	if (r < 0) {
		state_done(&st);
		return log_error_errno(r, "recovery failed: %m");
	}
	for (size_t i = 0; i < st.n_sets; i++) {
		r = restore_set(d, &st.sets[i]);
		if (r < 0) {
			state_done(&st);
			return log_error_errno(r, "recovery failed: %m");
		}
	}
	for (size_t i = 0; i < st.n_storage; i++) {
		r = storage_restore(d, st.storage[i].volume, st.storage[i].location,
		                    st.storage[i].max_bytes);
		if (r < 0)
			log_warning_errno(r, "recovery: storage of %s not restored, ignoring: %m",
			                  st.storage[i].volume);
	}
	state_done(&st);
	recover_unknown(d, corrupt);
	expose_recover(d); /* persistent exposures mounted again */
	revert_recover(d); /* merges that went on without us: watched, or finished */
	return daemon_save_state(d);
}
