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
	r = p->ops->snap_import(p, x->provider_data, "provider_data", &ps, &error);
	if (r < 0)
		return log_error_errno(r, "recovery: snapshot of %s: %s", x->volume,
		                       strempty(error));
	r = snapshot_set_psnap(s, ps);
	if (r < 0)
		return r;
	s->dm.sectors = x->sectors;
	s->dm.persistent = x->persistent;
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

	if (dmdev_info(d->dm, s->dm.volume_name, &info) >= 0 && info.exists) {
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

		if (!s->snaps[i]->dm.snap_name)
			continue;
		if (expose_release(s->snaps[i], &err) < 0 || /* expose.c: unmount first */
		    dmsnap_snapshot_delete(&d->env, &s->snaps[i]->dm, &err) < 0)
			log_error("recovery: set=%s snap=%s: cannot delete: %s", s->id_str,
			          s->snaps[i]->id_str, err.message);
		else
			log_notice("recovery: set=%s snap=%s: deleted (%s)", s->id_str,
			           s->snaps[i]->id_str, why);
	}
}

/* A shadow copy recorded as "deleting": whatever of it is left goes (each step of the deletion
 * is idempotent), and it is not restored. */
static int finish_deletion(Daemon *d, Snapset *set, Snapshot *s)
{
	VssErr err = { 0 };
	int r = 0;

	if (!s->dm.snap_name)
		return 0;
	r = expose_release(s, &err);
	if (r >= 0)
		r = dmsnap_snapshot_delete(&d->env, &s->dm, &err);
	if (r < 0)
		return log_error("recovery: set=%s snap=%s: cannot finish its deletion: %s",
		                 set->id_str, s->id_str, err.message),
		       r;
	log_notice("recovery: set=%s snap=%s: deleted (its deletion never finished)", set->id_str,
	           s->id_str);
	return 0;
}

/* A persistent snapshot whose devices are gone (a reboot) comes back from its COW file. */
int daemon_reactivate_snapshot(Daemon *d, Snapshot *s)
{
	_cleanup_(dmsnap_set_freep) DmsnapSet *e = NULL;
	VssErr err = { 0 };
	int r;

	r = dmsnap_set_new(&d->env, &s->dm.set_id, true, &e);
	if (r >= 0)
		r = dmsnap_set_add_existing(e, &s->dm, &err);
	if (r >= 0)
		r = dmsnap_set_prepare(e, &err);
	if (r >= 0)
		r = dmsnap_set_commit(e, NULL, &err);
	if (r < 0) {
		log_error("recovery: snap=%s vol=%s: cannot bring back %s from %s: %s", s->id_str,
		          s->volume, s->dm.snap_name, strempty(s->dm.cow_path),
		          vss_err_is_set(&err) ? err.message : strerror(-r));
		return r;
	}
	log_notice("recovery: snap=%s vol=%s: brought back from %s", s->id_str, s->volume,
	           s->dm.cow_path);
	set_original_device(d, s);
	return 0;
}

static void reactivate(Daemon *d, Snapshot *s)
{
	if (daemon_reactivate_snapshot(d, s) < 0) {
		log_error("recovery: snap=%s: shown as invalid", s->id_str);
		s->state = SNAPSHOT_STATE_INVALID;
	}
}

static int restore_set(Daemon *d, const StateSet *x)
{
	_cleanup_(snapset_freep) Snapset *s = NULL;
	SnapsetOptions o = { .backup_type = x->backup_type, .description = x->description };
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
		DmdevInfo info;

		if (s->snaps[i]->state == SNAPSHOT_STATE_MERGING)
			continue; /* its device went with the merge: revert_recover() */
		if ((dmdev_info(d->dm, s->snaps[i]->dm.snap_name, &info) < 0 || !info.exists) &&
		    s->snaps[i]->state == SNAPSHOT_STATE_CREATED)
			reactivate(d, s->snaps[i]); /* after a reboot */
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

static void purge_orphans(Daemon *d)
{
	_cleanup_strv_free_ char **names = NULL;

	if (dmdev_list_by_uuid_prefix(d->dm, DMSNAP_UUID_SNAP, &names) < 0)
		return;
	for (char **n = names; *n; n++) {
		DmsnapSnapshot s;
		VssErr err = { 0 };

		if (dmsnap_snapshot_from_dm(&d->env, *n, &s) < 0)
			continue;
		if (!in_our_storage(d, s.cow_path))
			log_info("recovery: leaving %s alone: its storage %s is not ours", *n,
			         strempty(s.cow_path));
		else if (!daemon_find_snapshot(d, &s.id)) {
			if (dmsnap_snapshot_delete(&d->env, &s, &err) < 0)
				log_error("recovery: cannot delete orphan %s: %s", *n, err.message);
			else
				log_notice("recovery: deleted %s, which no state entry knows", *n);
		}
		dmsnap_snapshot_done(&s);
	}
}

/* After a corrupt state file: persistent snapshots found in dm come back as sets (their
 * context is not recorded in dm, so they are shown as "persistent"). */
static void daemon_rebuild_from_dm(Daemon *d, bool corrupt)
{
	_cleanup_strv_free_ char **names = NULL;

	if (dmdev_list_by_uuid_prefix(d->dm, DMSNAP_UUID_SNAP, &names) < 0)
		return;
	for (char **n = names; *n; n++) {
		SnapsetOptions o = { .context = SNAPSET_CONTEXT_PERSISTENT };
		DmsnapSnapshot x;
		Snapshot *snap = NULL;
		Snapset *set;

		if (dmsnap_snapshot_from_dm(&d->env, *n, &x) < 0)
			continue;
		if (!x.persistent || daemon_find_snapshot(d, &x.id) ||
		    !in_our_storage(d, x.cow_path)) {
			dmsnap_snapshot_done(&x);
			continue;
		}
		set = daemon_find_set(d, &x.set_id);
		if (!set) {
			if (snapset_new(d, &x.set_id, NULL, 0, &o, &set) < 0) {
				dmsnap_snapshot_done(&x);
				continue;
			}
			set->state = SNAPSET_STATE_CREATED;
			if (daemon_add_set(d, set) < 0) {
				snapset_free(set);
				dmsnap_snapshot_done(&x);
				continue;
			}
		}
		if (snapshot_new(d, set, provider_find_by_name(&d->providers, PROVIDER_DMSNAP_NAME),
		                 &x.id, x.volume_name, &snap) < 0) {
			dmsnap_snapshot_done(&x);
			continue;
		}
		dmsnap_snapshot_done(&snap->dm);
		snap->dm = x;
		snap->state = SNAPSHOT_STATE_CREATED;
		{
			/* dm knows neither: the COW file's size and change time stand in */
			struct stat st;

			if (snap->dm.cow_path && stat(snap->dm.cow_path, &st) >= 0) {
				snap->dm.cow_bytes = (uint64_t)st.st_size;
				snap->creation_time = (usec_t)st.st_ctim.tv_sec * USEC_PER_SEC +
				                      (usec_t)st.st_ctim.tv_nsec / NSEC_PER_USEC;
			}
			set->creation_time = MAX(set->creation_time, snap->creation_time);
		}
		set_original_device(d, snap);
		if (snapset_add_snapshot(set, snap) < 0) {
			snapshot_free(snap);
			continue;
		}
		log_notice("recovery: %s set=%s snap=%s from %s",
		           corrupt ? "rebuilt" : "adopted, its state entry lost,", set->id_str,
		           snap->id_str, *n);
	}
}

int daemon_recover(Daemon *d)
{
	_cleanup_free_ char *error = NULL;
	State st = { 0 };
	bool corrupt = false;
	int r;

	for (size_t i = 0; i < d->providers.n; i++) {
		Provider *p = &d->providers.providers[i];

		r = p->ops->recover(p);
		if (r < 0)
			log_error_errno(r, "recovery: %s cannot check for held devices: %m",
			                p->ops->name);
	}

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
	/* State is written before every dm change, so a persistent snapshot in our storage that
	 * no entry knows lost its entry (a corrupt or missing state file): adopt it. */
	daemon_rebuild_from_dm(d, corrupt);
	purge_orphans(d);
	expose_recover(d); /* persistent exposures mounted again */
	revert_recover(d); /* merges that went on without us: watched, or finished */
	return daemon_save_state(d);
}
