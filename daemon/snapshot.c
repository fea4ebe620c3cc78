/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapshot.c - one shadow copy: its lifetime, state, export and deletion */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/dmdev.h"
#include "daemon/expose.h"
#include "daemon/provider.h"
#include "daemon/revert.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"

static const char *const state_names[_SNAPSHOT_STATE_MAX] = {
	[SNAPSHOT_STATE_PREPARING] = "preparing", [SNAPSHOT_STATE_CREATED] = "created",
	[SNAPSHOT_STATE_INVALID] = "invalid",     [SNAPSHOT_STATE_MERGING] = "merging",
	[SNAPSHOT_STATE_DELETING] = "deleting",
};

const char *snapshot_state_to_string(SnapshotState s)
{
	return s >= 0 && s < _SNAPSHOT_STATE_MAX ? state_names[s] : NULL;
}

SnapshotState snapshot_state_from_string(const char *s)
{
	for (int i = 0; i < _SNAPSHOT_STATE_MAX; i++)
		if (s && streq(s, state_names[i]))
			return (SnapshotState)i;
	return _SNAPSHOT_STATE_INVALID;
}

int snapshot_new(Daemon *d, Snapset *set, Provider *p, const VssId *id, const char *volume_name,
                 Snapshot **ret)
{
	_cleanup_(snapshot_freep) Snapshot *s = NULL;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->set = set;
	s->provider = p;
	s->id = *id;
	vssid_to_string(id, s->id_str);
	bus_object_path("snapshot", id, s->path, sizeof(s->path));
	s->volume_name = strdup(volume_name);
	if (!s->volume_name || asprintf(&s->volume, "/dev/mapper/%s", volume_name) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(s);
	return 0;
}

void snapshot_forget_storage(Snapshot *s)
{
	if (s->ps)
		s->provider->ops->snap_free(s->ps);
	s->ps = NULL;
}

int snapshot_set_psnap(Snapshot *s, ProviderSnap *ps)
{
	snapshot_forget_storage(s);
	s->ps = ps;
	return 0;
}

Snapshot *snapshot_free(Snapshot *s)
{
	if (!s)
		return NULL;
	revert_unwatch(s);
	if (s->exported)
		bus_remove_object(&s->d->bus, s->path);
	snapshot_forget_storage(s);
	free(s->volume_name);
	free(s->volume);
	free(s->original_device);
	free(s->exposed_path);
	free(s);
	return NULL;
}

static const BusInterface *const snapshot_ifaces[] = { &snapshot_interface, NULL };

int snapshot_export(Snapshot *s)
{
	int r;

	if (s->exported)
		return 0;
	r = bus_add_object(&s->d->bus, s->path, snapshot_ifaces, s);
	if (r < 0)
		return r;
	s->exported = true;
	return 0;
}

void snapshot_set_state(Snapshot *s, SnapshotState state)
{
	static const char *const changed[] = { "State", "Device", "CreationTime", "StorageSize",
		                               NULL };

	if (s->state == state)
		return;
	s->state = state;
	if (s->exported)
		bus_emit_properties_changed(&s->d->bus, s->path, VSSD_IFACE_SNAP, changed);
}

const char *snapshot_device(const Snapshot *s, char *buf, size_t size)
{
	if (s->state == SNAPSHOT_STATE_PREPARING || !s->ps ||
	    s->provider->ops->snap_device(s->provider, s->ps, buf, size) < 0)
		return "";
	return buf;
}

int snapshot_destroy(Snapshot *s, VssErr *err)
{
	SnapshotState prev;
	int r;

	if (s->state == SNAPSHOT_STATE_PREPARING)
		/* nothing exists yet, and the set's provider still counts on it */
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "shadow copy %s is not created yet; Abort its set to drop it",
		                   s->id_str);
	if (!s->ps)
		return 0;
	if (s->state == SNAPSHOT_STATE_MERGING)
		return vss_err_set(err, VSS_ERROR_VOLUME_IN_USE, -EBUSY,
		                   "shadow copy %s is being reverted into %s; it goes away by "
		                   "itself when the merge ends",
		                   s->id_str, s->volume);
	r = expose_release(s, err); /* an exposed shadow copy is unmounted first */
	if (r < 0)
		return r;
	/* Intent first: a crash from here on leaves "deleting", and recovery finishes the job. A
	 * persistent shadow copy found "created" without its device would be brought back from
	 * its COW, which misses every write to the volume since the device went. */
	prev = s->state;
	snapshot_set_state(s, SNAPSHOT_STATE_DELETING);
	r = daemon_save_state(s->d);
	if (r < 0) {
		snapshot_set_state(s, prev);
		return vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		                   "cannot record the deletion in the state file: %s",
		                   strerror(-r));
	}
	r = s->provider->ops->snap_delete(s->provider, s->ps, NULL, NULL, err);
	if (r < 0) {
		/* nothing went yet (its device is in use, say): it stays what it was */
		if (s->provider->ops->snap_exists(s->provider, s->ps)) {
			snapshot_set_state(s, prev);
			(void)daemon_save_state(s->d);
		}
		return r;
	}
	log_snap_event(LOG_EVENT_SNAPSHOT_DELETED, s->id_str, s->volume, LOG_NOTICE, "deleted");
	return 0;
}
