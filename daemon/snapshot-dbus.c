/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapshot-dbus.c - the Snapshot object: Delete, Expose, Unexpose, Revert and its properties */
#include "daemon/snapshot-dbus.h"
#include "common/log.h"
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/dmdev.h"
#include "daemon/expose.h"
#include "daemon/revert.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"

/* ---- properties ------------------------------------------------------------------------------ */

static int prop_id(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Snapshot *)u)->id_str);
}

static int prop_set_id(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Snapshot *)u)->set->id_str);
}

static int prop_volume(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Snapshot *)u)->volume);
}

static int prop_original(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Snapshot *)u)->original_device);
}

static int prop_device(Bus *b, void *u, DBusMessageIter *it)
{
	char buf[160];

	return bus_append_string(it, snapshot_device(u, buf, sizeof(buf)));
}

static int prop_provider(Bus *b, void *u, DBusMessageIter *it)
{
	const Snapshot *s = u;

	return bus_append_string(it, s->provider ? s->provider->ops->name : "");
}

static int prop_context(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, snapset_context_to_string(((Snapshot *)u)->set->context));
}

static int prop_attributes(Bus *b, void *u, DBusMessageIter *it)
{
	Snapshot *s = u;

	return bus_append_u32(it, s->set->attributes |
	                                  (s->exposed_path ? VSS_ATTR_EXPOSED_LOCALLY : 0));
}

static int prop_creation_time(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_u64(it, ((Snapshot *)u)->creation_time);
}

static int prop_state(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, snapshot_state_to_string(((Snapshot *)u)->state));
}

static int read_usage(Snapshot *s, ProviderUsage *u)
{
	if (s->state != SNAPSHOT_STATE_CREATED && s->state != SNAPSHOT_STATE_MERGING)
		return -ENODEV;
	return s->provider->ops->snap_usage(s->provider, snapshot_psnap_const(s),
	                                    s->state == SNAPSHOT_STATE_MERGING, u);
}

static int prop_storage_used(Bus *b, void *u, DBusMessageIter *it)
{
	ProviderUsage pu;

	if (read_usage(u, &pu) < 0)
		return bus_append_u64(it, 0);
	return bus_append_u64(it, pu.used);
}

static int prop_storage_size(Bus *b, void *u, DBusMessageIter *it)
{
	Snapshot *s = u;
	ProviderUsage pu;

	if (read_usage(s, &pu) < 0)
		return bus_append_u64(
			it, s->provider->ops->snap_storage_bytes(snapshot_psnap_const(s)));
	return bus_append_u64(it, pu.total);
}

static int prop_exposed(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, strempty(((Snapshot *)u)->exposed_path));
}

static int prop_revert_progress(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_double(it, ((Snapshot *)u)->revert_progress);
}

/* ---- methods --------------------------------------------------------------------------------- */

int snapshot_dbus_expose(Bus *b, DBusMessage *m, void *userdata, const BusCaller *c, VssErr *err)
{
	bool auto_mp = false;
	const BusOption opts[] = {
		{ "auto-mount-point", 'b', &auto_mp },
		{ NULL },
	};
	_cleanup_free_ char *exposed = NULL;
	DBusMessageIter it;
	DBusMessage *reply;
	const char *path;
	int r;

	dbus_message_iter_init(m, &it);
	dbus_message_iter_get_basic(&it, &path);
	dbus_message_iter_next(&it);
	r = bus_read_options(&it, opts, err);
	if (r < 0)
		return r;
	if (strlen(path) > VSSD_PATH_MAX)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -ENAMETOOLONG,
		                   "mount point is longer than %d bytes", VSSD_PATH_MAX);
	r = expose_mount_flags(userdata, path, auto_mp ? EXPOSE_AUTO_MOUNT_POINT : 0, &exposed,
	                       err);
	if (r < 0)
		return r;
	reply = dbus_message_new_method_return(m);
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_STRING,
	                                        &(const char *){ bus_safe_string(exposed) },
	                                        DBUS_TYPE_INVALID)) {
		if (reply)
			dbus_message_unref(reply);
		return -ENOMEM;
	}
	return bus_send(b, reply);
}

static int method_unexpose(Bus *b, DBusMessage *m, void *userdata, const BusCaller *c, VssErr *err)
{
	int r = expose_unmount(userdata, err);

	if (r < 0)
		return r;
	return bus_reply_empty(b, m);
}

int snapshot_dbus_revert(Bus *b, DBusMessage *m, void *userdata, const BusCaller *c, VssErr *err)
{
	const BusOption opts[] = { { NULL } }; /* none defined: any key is InvalidArgument */
	DBusMessageIter it;
	int r;

	dbus_message_iter_init(m, &it);
	r = bus_read_options(&it, opts, err);
	if (r < 0)
		return r;
	r = revert_start(userdata, err);
	if (r < 0)
		return r;
	return bus_reply_empty(b, m);
}

static int method_delete(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapshot *s = u;
	int r;

	r = snapset_delete_snapshot(s->set, s, "requested", err);
	if (r < 0)
		return r;
	return bus_reply_empty(b, m);
}

static const BusMethod snapshot_methods[] = {
	{ "Expose", "sa{sv}", snapshot_dbus_expose, BUS_ACCESS_ADMIN },
	{ "Unexpose", "", method_unexpose, BUS_ACCESS_ADMIN },
	{ "Delete", "", method_delete, BUS_ACCESS_ADMIN },
	{ "Revert", "a{sv}", snapshot_dbus_revert, BUS_ACCESS_ADMIN },
	{ NULL },
};

static const BusProperty snapshot_properties[] = {
	{ "Id", "s", prop_id },
	{ "SetId", "s", prop_set_id },
	{ "Volume", "s", prop_volume },
	{ "OriginalDevice", "s", prop_original },
	{ "Device", "s", prop_device },
	{ "Provider", "s", prop_provider },
	{ "Context", "s", prop_context },
	{ "Attributes", "u", prop_attributes },
	{ "CreationTime", "t", prop_creation_time },
	{ "State", "s", prop_state },
	{ "StorageUsed", "t", prop_storage_used },
	{ "StorageSize", "t", prop_storage_size },
	{ "ExposedPath", "s", prop_exposed },
	{ "RevertProgress", "d", prop_revert_progress },
	{ NULL },
};

const BusInterface snapshot_interface = {
	.name = VSSD_IFACE_SNAP,
	.methods = snapshot_methods,
	.properties = snapshot_properties,
};
