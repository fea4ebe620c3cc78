/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapset.c - shadow copy sets: the requester session, its state machine, creation and release */
#include <inttypes.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/dmsnap.h"
#include "daemon/fault.h"
#include "daemon/freeze.h"
#include "daemon/hostops.h"
#include "daemon/monitor.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/storage.h"
#include "daemon/writer.h"

static const char *const state_names[_SNAPSET_STATE_MAX] = {
	[SNAPSET_STATE_STARTED] = "started",   [SNAPSET_STATE_GATHERED] = "gathered",
	[SNAPSET_STATE_PREPARED] = "prepared", [SNAPSET_STATE_CREATING] = "creating",
	[SNAPSET_STATE_CREATED] = "created",   [SNAPSET_STATE_COMPLETED] = "completed",
	[SNAPSET_STATE_ABORTED] = "aborted",   [SNAPSET_STATE_FAILED] = "failed",
};

static const struct {
	const char *name;
	uint32_t attributes; /* the VSS_SNAPSHOT_CONTEXT value */
	bool writers;
} contexts[_SNAPSET_CONTEXT_MAX] = {
	[SNAPSET_CONTEXT_BACKUP] = { "backup", 0x0, true },
	[SNAPSET_CONTEXT_FILE_SHARE_BACKUP] = { "file-share-backup", 0x10, false },
	[SNAPSET_CONTEXT_PERSISTENT] = { "persistent", 0x9, true },
	[SNAPSET_CONTEXT_APP_ROLLBACK] = { "app-rollback", 0x9, true },
	[SNAPSET_CONTEXT_CLIENT_ACCESSIBLE] = { "client-accessible", 0x1D, false },
	[SNAPSET_CONTEXT_NAS_ROLLBACK] = { "nas-rollback", 0x19, false },
};

const char *snapset_state_to_string(SnapsetState s)
{
	return s >= 0 && s < _SNAPSET_STATE_MAX ? state_names[s] : NULL;
}

SnapsetState snapset_state_from_string(const char *s)
{
	for (int i = 0; i < _SNAPSET_STATE_MAX; i++)
		if (s && streq(s, state_names[i]))
			return (SnapsetState)i;
	return _SNAPSET_STATE_INVALID;
}

const char *snapset_context_to_string(SnapsetContext c)
{
	return c >= 0 && c < _SNAPSET_CONTEXT_MAX ? contexts[c].name : NULL;
}

SnapsetContext snapset_context_from_string(const char *s)
{
	for (int i = 0; i < _SNAPSET_CONTEXT_MAX; i++)
		if (s && streq(s, contexts[i].name))
			return (SnapsetContext)i;
	return _SNAPSET_CONTEXT_INVALID;
}

bool snapset_context_persistent(SnapsetContext c)
{
	return contexts[c].attributes & VSS_ATTR_PERSISTENT;
}

bool snapset_context_writers(SnapsetContext c)
{
	return contexts[c].writers;
}

uint32_t snapset_context_attributes(SnapsetContext c)
{
	return contexts[c].attributes;
}

/* ---- writers --------------------------------------------------------------------------------- */

static bool class_excluded(const Snapset *s, const Writer *w)
{
	return strv_contains(s->exclude_writer_classes, w->class_id);
}

#define WRITER_PATHS_DEADLINE_USEC (USEC_PER_SEC) /* see writer_involved() */

/* A writer takes part when one of its paths lies on a volume of the set, or when it names
 * no paths at all (it cannot say what it protects, so it is asked every time), or when where
 * its paths lie is not known by the deadline (looked up as the writer, off the loop: see
 * daemon/pathres.h). */
static bool writer_involved(const Snapset *s, Writer *w, usec_t deadline)
{
	const dev_t *devs;
	size_t n;

	if (!s->writers || class_excluded(s, w))
		return false;
	if (writer_path_devices(w, deadline, &devs, &n) < 0) {
		log_notice("set=%s writer=%s: where its paths lie is not known yet; it takes part",
		           s->id_str, w->id_str);
		return true;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; devs[i] != 0 && j < s->n_snaps; j++)
			if (s->snaps[j]->devno == devs[i])
				return true;
	return n == 0;
}

static int compute_involved(Snapset *s, bool all)
{
	VssId *ids = calloc(s->d->n_writers ? s->d->n_writers : 1, sizeof(VssId));
	/* one budget for all writers whose paths are still being looked up */
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + WRITER_PATHS_DEADLINE_USEC;
	size_t n = 0;

	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < s->d->n_writers; i++) {
		Writer *w = s->d->writers[i];

		if (all ? s->writers && !class_excluded(s, w) : writer_involved(s, w, deadline))
			ids[n++] = w->instance_id;
	}
	free(s->involved);
	s->involved = ids;
	s->n_involved = n;
	return 0;
}

static void event_args(Snapset *s, WriterEventArgs *a)
{
	*a = (WriterEventArgs){ .set_id = s->id_str,
		                .backup_type = s->backup_type,
		                .context = snapset_context_to_string(s->context),
		                .components = s->components };
}

/* Abort and BackupShutdown: sent without waiting for the answers. */
static void writers_notify(Snapset *s, WriterEvent ev)
{
	WriterEventArgs a;

	if (s->n_involved == 0)
		return;
	event_args(s, &a);
	(void)writer_broadcast_start(s->d, ev, s->involved, s->n_involved, &a, NULL, NULL, NULL);
}

static int start_event(Snapset *s, WriterEvent ev, const WriterEventArgs *a, WriterDoneFn done)
{
	s->bcast = NULL;
	return writer_broadcast_start(s->d, ev, s->involved, s->n_involved, a, done, s, &s->bcast);
}

static void bcast_done(Snapset *s, WriterBroadcast *b)
{
	writer_broadcast_cancel(b);
	if (s->bcast == b)
		s->bcast = NULL;
}

static int append_writer_list(Snapset *s, DBusMessageIter *it, bool metadata)
{
	DBusMessageIter arr;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "a{sv}", &arr))
		return -ENOMEM;
	for (size_t i = 0; i < s->n_involved; i++) {
		Writer *w = writer_find(s->d, &s->involved[i]);

		/* a writer whose Identify failed is missing from the metadata, as in VSS */
		if (!w || (metadata && w->state == WRITER_STATE_FAILED_AT_IDENTIFY))
			continue;
		if (writer_append_dict(w, &arr, metadata) < 0)
			return -ENOMEM;
	}
	return dbus_message_iter_close_container(it, &arr) ? 0 : -ENOMEM;
}

/* Replies to the pending call (GatherWriterMetadata, PrepareForBackup, BackupComplete). */
static void call_reply(Snapset *s, const VssErr *err, int error, bool writer_list)
{
	DBusMessage *m = TAKE_PTR(s->call), *reply;
	DBusMessageIter it;

	if (!m)
		return;
	if (error < 0)
		(void)bus_reply_error(&s->d->bus, m, err, error);
	else {
		reply = dbus_message_new_method_return(m);
		if (reply && writer_list) {
			dbus_message_iter_init_append(reply, &it);
			if (append_writer_list(s, &it, true) < 0) {
				dbus_message_unref(reply);
				reply = dbus_message_new_error(m, DBUS_ERROR_NO_MEMORY,
				                               "no memory");
			}
		}
		(void)bus_send(&s->d->bus, reply);
	}
	dbus_message_unref(m);
}

/* ---- lifetime -------------------------------------------------------------------------------- */

int snapset_new(Daemon *d, const VssId *id, const char *owner, uid_t uid, const SnapsetOptions *o,
                Snapset **ret)
{
	_cleanup_(snapset_freep) Snapset *s = NULL;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->id = *id;
	vssid_to_string(id, s->id_str);
	bus_object_path("set", id, s->path, sizeof(s->path));
	s->owner_uid = uid;
	s->context = o->context;
	s->writers = snapset_context_writers(o->context) && !o->no_writers;
	s->auto_release = !snapset_context_persistent(o->context) && !o->no_auto_release;
	s->attributes = snapset_context_attributes(o->context) | VSS_ATTR_DIFFERENTIAL;
	if (o->no_auto_release)
		s->attributes |= VSS_ATTR_NO_AUTO_RELEASE;
	if (!s->writers)
		s->attributes |= VSS_ATTR_NO_WRITERS;
	if (owner && !(s->owner = strdup(owner)))
		return -ENOMEM;
	s->backup_type = strdup(o->backup_type ? o->backup_type : "full");
	s->description = strdup(strempty(o->description));
	if (!s->backup_type || !s->description)
		return -ENOMEM;
	for (char **c = o->exclude_writer_classes; c && *c; c++)
		if (strv_extend(&s->exclude_writer_classes, *c) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(s);
	return 0;
}

/* From the file-system freeze to the end of the commit nothing may write to a file system: the
 * monitor's COW growth waits (a COW file may lie on a file system of the set). */
static void hold_begin(Snapset *s)
{
	s->d->io_held = true;
}

/* Call only once the engine has thawed and resumed everything (commit returned, or the
 * engine was freed). */
static void hold_end(Snapset *s)
{
	if (!s->d->io_held || s->d->creating != s)
		return;
	s->d->io_held = false;
	monitor_resume(s->d->monitor);
}

static void creation_sources_done(Snapset *s)
{
	s->sync_io = sd_event_source_disable_unref(s->sync_io);
	s->sync = freeze_group_free(s->sync);
	s->freeze_io = sd_event_source_disable_unref(s->freeze_io);
	s->flush_timer = sd_event_source_disable_unref(s->flush_timer);
	s->freeze_window = sd_event_source_disable_unref(s->freeze_window);
}

Snapset *snapset_free(Snapset *s)
{
	if (!s)
		return NULL;
	s->idle_timer = sd_event_source_disable_unref(s->idle_timer);
	creation_sources_done(s);
	if (s->bcast)
		writer_broadcast_cancel(TAKE_PTR(s->bcast));
	if (s->engine && s->state == SNAPSET_STATE_CREATING)
		writers_notify(s, WRITER_EVENT_ABORT); /* nobody stays frozen */
	s->engine = dmsnap_set_free(s->engine);        /* rolls back anything not committed */
	hold_end(s);
	if (s->call) {
		VssErr err = { 0 };

		vss_err_set(&err, VSS_ERROR_BAD_STATE, -ECANCELED, "the set went away");
		(void)bus_reply_error(&s->d->bus, s->call, &err, -ECANCELED);
		dbus_message_unref(s->call);
	}
	if (s->reply_to) {
		VssErr err = { 0 };

		vss_err_set(&err, VSS_ERROR_BAD_STATE, -ECANCELED, "the set went away");
		(void)bus_reply_error(&s->d->bus, s->reply_to, &err, -ECANCELED);
		dbus_message_unref(s->reply_to);
	}
	if (s->d->creating == s)
		daemon_set_creating(s->d, NULL);
	for (size_t i = 0; i < s->n_snaps; i++)
		snapshot_free(s->snaps[i]);
	free(s->snaps);
	if (s->exported)
		bus_remove_object(&s->d->bus, s->path);
	free(s->owner);
	free(s->backup_type);
	free(s->description);
	free(s->involved);
	strv_free(s->exclude_writer_classes);
	strv_free(s->components);
	free(s);
	return NULL;
}

static const BusInterface *const snapset_ifaces[] = { &snapset_interface, NULL };

int snapset_export(Snapset *s)
{
	int r;

	if (s->exported)
		return 0;
	r = bus_add_object(&s->d->bus, s->path, snapset_ifaces, s);
	if (r < 0)
		return r;
	s->exported = true;
	return 0;
}

void snapset_set_state(Snapset *s, SnapsetState state)
{
	static const char *const changed[] = { "State", "CreationTime", "Snapshots", NULL };

	if (s->state == state)
		return;
	log_debug("set=%s: %s -> %s", s->id_str, snapset_state_to_string(s->state),
	          snapset_state_to_string(state));
	s->state = state;
	if (s->exported)
		bus_emit_properties_changed(&s->d->bus, s->path, VSSD_IFACE_SET, changed);
}

int snapset_add_snapshot(Snapset *s, Snapshot *snap)
{
	Snapshot **n = reallocarray(s->snaps, s->n_snaps + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	s->snaps = n;
	s->snaps[s->n_snaps++] = snap;
	snap->set = s;
	return 0;
}

static void snapset_forget_snapshot(Snapset *s, Snapshot *snap)
{
	static const char *const changed[] = { "Snapshots", NULL };

	for (size_t i = 0; i < s->n_snaps; i++)
		if (s->snaps[i] == snap) {
			memmove(s->snaps + i, s->snaps + i + 1,
			        (s->n_snaps - i - 1) * sizeof(*s->snaps));
			s->n_snaps--;
			break;
		}
	snapshot_free(snap);
	if (s->exported)
		bus_emit_properties_changed(&s->d->bus, s->path, VSSD_IFACE_SET, changed);
}

/* A set with no owner and no snapshots has no reason to exist. */
static bool snapset_gc(Snapset *s)
{
	if (s->owner || s->n_snaps > 0)
		return false;
	daemon_remove_set(s->d, s);
	snapset_free(s);
	return true;
}

/* ---- volumes --------------------------------------------------------------------------------- */

static unsigned count_client_accessible(Daemon *d, const char *volume_name)
{
	_cleanup_free_ Snapshot **l = NULL;
	size_t n = 0;
	unsigned c = 0;

	if (daemon_volume_snapshots(d, volume_name, &l, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		c += l[i]->set->context == SNAPSET_CONTEXT_CLIENT_ACCESSIBLE;
	return c;
}

/* vssd writes its state file and grows COW files while other sets are created, and its own
 * set's file systems are frozen while it is created: neither directory may lie on the volume,
 * or vssd would wait on a file system only it can thaw. */
static int refuse_own_directories(Daemon *d, const ProviderVolume *v, const char *storage_dir,
                                  VssErr *err)
{
	dev_t fs;

	if (d->state_dir && d->host->ops->fs_devno(d->host->userdata, d->state_dir, &fs) >= 0 &&
	    fs == v->devno)
		return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -ELOOP,
		                   "%s holds vssd's state directory %s: vssd cannot snapshot the "
		                   "volume it writes its state to (it would wait on its own "
		                   "frozen file system); move the state directory (--state-dir)",
		                   v->dev_path, d->state_dir);
	if (storage_dir && d->host->ops->fs_devno(d->host->userdata, storage_dir, &fs) >= 0 &&
	    fs == v->devno)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -ELOOP,
		                   "the shadow storage of %s, %s, lies on that volume itself; put "
		                   "it on a file system outside the set (vssctl add storage)",
		                   v->dev_path, storage_dir);
	return 0;
}

int snapset_add_volume(Snapset *s, const char *volume, const char *provider, Snapshot **ret,
                       VssErr *err)
{
	_cleanup_(snapshot_freep) Snapshot *snap = NULL;
	ProviderVolume v = { 0 };
	Provider *p = NULL;
	const char *dir;
	uint64_t cow;
	VssId id;
	int r;

	if (s->state != SNAPSET_STATE_STARTED && s->state != SNAPSET_STATE_GATHERED &&
	    s->state != SNAPSET_STATE_PREPARED)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "volumes can only be added before DoSnapshotSet (the set is %s)",
		                   snapset_state_to_string(s->state));
	if (!valid_text_or_empty(provider, VSSD_STRING_MAX))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "the provider name is not valid text");
	if (provider[0] && !provider_find_by_name(&s->d->providers, provider) &&
	    !provider_find_by_id(&s->d->providers, provider))
		return provider_pick(&s->d->providers, provider, volume, NULL, NULL, err);
	if (s->n_snaps >= VSSD_VOLUMES_PER_SET_MAX)
		return vss_err_set(err, VSS_ERROR_MAXIMUM_NUMBER_OF_VOLUMES_REACHED, -E2BIG,
		                   "a shadow copy set holds at most %d volumes",
		                   VSSD_VOLUMES_PER_SET_MAX);

	r = provider_pick(&s->d->providers, provider, volume, &p, &v, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < s->n_snaps; i++)
		if (streq(s->snaps[i]->dm.volume_name, v.name)) {
			r = vss_err_set(err, VSS_ERROR_OBJECT_ALREADY_EXISTS, -EEXIST,
			                "volume %s is already in the set (as %s)", volume,
			                s->snaps[i]->volume);
			goto out;
		}
	if (s->context == SNAPSET_CONTEXT_CLIENT_ACCESSIBLE &&
	    count_client_accessible(s->d, v.name) >= s->d->config.max_shadow_copies) {
		r = vss_err_set(err, VSS_ERROR_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED, -E2BIG,
		                "volume %s has %u client-accessible shadow copies, the configured "
		                "maximum (max-shadow-copies); delete old ones first",
		                v.dev_path, s->d->config.max_shadow_copies);
		goto out;
	}
	r = storage_plan(s->d, p, &v, &dir, &cow, err);
	if (r < 0)
		goto out;
	r = refuse_own_directories(s->d, &v, dir, err);
	if (r < 0)
		goto out;
	if (!s->engine) {
		r = dmsnap_set_new(&s->d->env, &s->id, snapset_context_persistent(s->context),
		                   &s->engine);
		if (r < 0)
			goto out;
	}
	vssid_generate(&id);
	r = dmsnap_set_add(s->engine, volume, dir, cow, &id, err);
	if (r < 0)
		goto out;
	r = snapshot_new(s->d, s, p, &id, v.name, &snap);
	if (r < 0)
		goto undo;
	/* the names the engine will use, known now for the intent record */
	dmsnap_snapshot_done(&snap->dm);
	r = dmsnap_snapshot_copy(dmsnap_set_find(s->engine, &id), &snap->dm);
	if (r < 0)
		goto undo;
	snap->devno = v.devno;
	if (asprintf(&snap->original_device, "/dev/dm-%u", minor(v.devno)) < 0) {
		r = -ENOMEM;
		goto undo;
	}
	r = snapshot_export(snap);
	if (r < 0)
		goto undo;
	r = snapset_add_snapshot(s, snap);
	if (r < 0)
		goto undo;
	*ret = TAKE_PTR(snap);
	{
		static const char *const changed[] = { "Snapshots", NULL };

		bus_emit_properties_changed(&s->d->bus, s->path, VSSD_IFACE_SET, changed);
	}
	r = 0;
	goto out;
undo:
	/* the engine keeps no member without its object: they are paired by id */
	(void)dmsnap_set_remove(s->engine, &id);
out:
	provider_volume_done(&v);
	return r;
}

/* ---- creation -------------------------------------------------------------------------------- */

static void creation_reply(Snapset *s, const VssErr *err, int error)
{
	DBusMessage *m = TAKE_PTR(s->reply_to);
	DBusMessage *reply;
	DBusMessageIter it;

	if (!m)
		return;
	if (error < 0) {
		(void)bus_reply_error(&s->d->bus, m, err, error);
		dbus_message_unref(m);
		return;
	}
	reply = dbus_message_new_method_return(m);
	if (reply && s->reply_snapshots) {
		_cleanup_strv_free_ char **paths = NULL;

		for (size_t i = 0; i < s->n_snaps; i++)
			(void)strv_extend(&paths, s->snaps[i]->path);
		dbus_message_iter_init_append(reply, &it);
		if (bus_append_path(&it, s->path) < 0 || bus_append_pathv(&it, paths) < 0) {
			dbus_message_unref(reply);
			reply = dbus_message_new_error(m, DBUS_ERROR_NO_MEMORY, "out of memory");
		}
	}
	(void)bus_send(&s->d->bus, reply);
	dbus_message_unref(m);
}

static void creation_failed(Snapset *s, const VssErr *err, int error)
{
	creation_sources_done(s);
	if (s->bcast) {
		writer_broadcast_cancel(s->bcast);
		s->bcast = NULL;
	}
	/* Writers first: they must not stay frozen while we clean up. */
	writers_notify(s, WRITER_EVENT_ABORT);
	if (s->engine && dmsnap_set_is_committed(s->engine))
		for (size_t i = 0; i < dmsnap_set_count(s->engine); i++)
			(void)dmsnap_snapshot_delete(&s->d->env, dmsnap_set_snapshot(s->engine, i),
			                             NULL);
	s->engine = dmsnap_set_free(s->engine); /* full rollback of whatever exists */
	hold_end(s);
	log_error("set=%s: creation failed: %s", s->id_str,
	          vss_err_is_set(err) ? err->message : strerror(-error));
	if (s->d->creating == s)
		daemon_set_creating(s->d, NULL);
	snapset_set_state(s, SNAPSET_STATE_FAILED);
	(void)daemon_save_state(s->d);
	creation_reply(s, err, error);
	call_reply(s, err, error, false);
}

static void creation_done(Snapset *s)
{
	creation_sources_done(s);
	monitor_sync(s->d->monitor);
	s->engine = dmsnap_set_free(s->engine); /* committed: frees memory only */
	if (s->d->creating == s)
		daemon_set_creating(s->d, NULL);
	snapset_set_state(s, SNAPSET_STATE_CREATED);
	fault_point_kill(s->d->env.faults, "kill-before-created-save");
	(void)daemon_save_state(s->d);
	log_notice("set=%s: created %zu shadow copies, I/O held %" PRIu64 " us", s->id_str,
	           s->n_snaps, s->held_usec);
	creation_reply(s, NULL, 0);
}

static void on_post_snapshot_done(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	Snapset *s = userdata;

	bcast_done(s, b);
	if (r < 0) {
		creation_failed(s, err, r);
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

	bcast_done(s, b);
	if (r < 0) {
		creation_failed(s, err, r);
		return;
	}
	event_args(s, &a);
	for (size_t i = 0; i < s->n_snaps; i++)
		if (strv_extend(&devices, s->snaps[i]->volume) < 0 ||
		    strv_extend(&devices, snapshot_device(s->snaps[i], dev, sizeof(dev))) < 0) {
			creation_failed(s, NULL, -ENOMEM);
			return;
		}
	a.devices = devices;
	if (start_event(s, WRITER_EVENT_POST_SNAPSHOT, &a, on_post_snapshot_done) < 0)
		creation_failed(s, NULL, -ENOMEM);
}

/* The snapshots exist: Thaw and PostSnapshot, then creation_done() records them. */
static void creation_committed(Snapset *s)
{
	usec_t now = now_usec(CLOCK_REALTIME), t1, t2;
	WriterEventArgs a;

	s->freeze_window = sd_event_source_disable_unref(s->freeze_window);
	dmsnap_set_hold_window(s->engine, &t1, &t2);
	log_notice("set=%s: I/O held from %" PRIu64 " to %" PRIu64 " (monotonic us)", s->id_str, t1,
	           t2);
	for (size_t i = 0; i < s->n_snaps; i++) {
		Snapshot *snap = s->snaps[i];
		const DmsnapSnapshot *made = dmsnap_set_find(s->engine, &snap->dm.id);
		DmsnapSnapshot copy;

		/* by id, never by position: snapset_create() checked that they pair up */
		if (made && dmsnap_snapshot_copy(made, &copy) >= 0) {
			dmsnap_snapshot_done(&snap->dm);
			snap->dm = copy;
		}
		snap->creation_time = now;
		snapshot_set_state(snap, SNAPSHOT_STATE_CREATED);
	}
	s->creation_time = now;
	/* Thaw first, and no state save here: the writers are still frozen, and an fsync can
	 * take seconds. The intent record written by snapset_create() names every device; a
	 * crash before creation_done() writes "created" leaves a set recorded as creating,
	 * which start-up recovery deletes with whatever of it exists (restore_set()). */
	fault_point_kill(s->d->env.faults, "kill-after-commit");
	event_args(s, &a);
	if (start_event(s, WRITER_EVENT_THAW, &a, on_thaw_done) < 0)
		creation_failed(s, NULL, -ENOMEM);
}

static void creation_commit(Snapset *s)
{
	VssErr err = { 0 };
	int r;

	r = dmsnap_set_commit(s->engine, &s->held_usec, &err);
	hold_end(s); /* thawed and resumed, whatever the result */
	if (r < 0) {
		creation_failed(s, &err, r);
		return;
	}
	creation_committed(s);
}

static int on_freeze_io(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
	Snapset *s = userdata;
	VssErr err = { 0 };
	int r;

	r = dmsnap_set_freeze_process(s->engine, &err);
	if (r < 0)
		creation_failed(s, &err, r);
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
	creation_failed(s, &err, -ETIME);
	return 0;
}

static void creation_freeze_fs(Snapset *s)
{
	VssErr err = { 0 };
	int r, fd;

	hold_begin(s);
	r = dmsnap_set_freeze_start(s->engine, &err);
	if (r < 0) {
		creation_failed(s, &err, r);
		return;
	}
	fd = dmsnap_set_freeze_fd(s->engine);
	if (fd < 0) { /* nothing mounted, or lockfs mode */
		(void)dmsnap_set_freeze_process(s->engine, &err);
		creation_commit(s);
		return;
	}
	r = sd_event_add_io(s->d->event, &s->freeze_io, fd, EPOLLIN, on_freeze_io, s);
	if (r >= 0)
		r = sd_event_add_time_relative(s->d->event, &s->flush_timer, CLOCK_MONOTONIC,
		                               s->d->config.flush_timeout, 1000, on_flush_timeout,
		                               s);
	if (r < 0) {
		vss_err_set(&err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		            "cannot watch the freeze: %s", strerror(-r));
		creation_failed(s, &err, r);
	}
}

/* The shortest freeze window of the involved writers ran out before the snapshot was taken */
static int on_freeze_window(sd_event_source *es, uint64_t usec, void *userdata)
{
	Snapset *s = userdata;
	VssErr err = { 0 };

	vss_err_set(&err, VSS_ERROR_WRITER_TIMEOUT, -ETIME,
	            "a writer's freeze window expired before the shadow copies were taken");
	creation_failed(s, &err, -ETIME);
	return 0;
}

static void on_freeze_done(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	Snapset *s = userdata;

	bcast_done(s, b);
	if (r < 0) {
		creation_failed(s, err, r);
		return;
	}
	fault_point_kill(s->d->env.faults, "kill-after-writers-frozen");
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
		creation_failed(s, NULL, -ENOMEM);
		return;
	}
	event_args(s, &a);
	if (start_event(s, WRITER_EVENT_FREEZE, &a, on_freeze_done) < 0)
		creation_failed(s, NULL, -ENOMEM);
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

	log_warning("set=%s: syncfs of the set's file systems still runs after %" PRIu64
	            " ms, going on",
	            s->id_str, s->d->config.flush_timeout / USEC_PER_MSEC);
	creation_freeze_writers(s);
	return 0;
}

static void on_prepare_snapshot_done(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	Snapset *s = userdata;
	VssErr e2 = { 0 };

	bcast_done(s, b);
	if (r < 0) {
		creation_failed(s, err, r);
		return;
	}
	fault_point_kill(s->d->env.faults, "kill-after-prepare-snapshot");
	/* Provider prepare: everything staged, no I/O held yet. */
	r = dmsnap_set_prepare(s->engine, &e2);
	if (r < 0) {
		creation_failed(s, &e2, r);
		return;
	}
	fault_point_kill(s->d->env.faults, "kill-after-tables-loaded");
	/* syncfs from worker threads, so that the freeze that follows flushes little */
	r = dmsnap_set_sync_start(s->engine, &s->sync);
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

	r = compute_involved(s, false);
	for (size_t i = 0; r >= 0 && i < s->n_snaps; i++)
		r = strv_extend(&volumes, s->snaps[i]->volume);
	if (r < 0) {
		creation_failed(s, NULL, r);
		return;
	}
	event_args(s, &a);
	a.volumes = volumes;
	if (start_event(s, WRITER_EVENT_PREPARE_SNAPSHOT, &a, on_prepare_snapshot_done) < 0)
		creation_failed(s, NULL, -ENOMEM);
}

/* Every shadow copy object has exactly one provider member with its id, and the other way
 * round: what the provider creates for one volume can only reach that volume's object. */
static int engine_pairs_up(const Snapset *s)
{
	if (dmsnap_set_count(s->engine) != s->n_snaps)
		return -EPROTO;
	for (size_t i = 0; i < s->n_snaps; i++) {
		const DmsnapSnapshot *m = dmsnap_set_find(s->engine, &s->snaps[i]->dm.id);

		if (!m || !streq(m->volume_name, s->snaps[i]->dm.volume_name))
			return -EPROTO;
	}
	return 0;
}

int snapset_create(Snapset *s, DBusMessage *m, bool reply_snapshots, VssErr *err)
{
	int r;

	if (s->state == SNAPSET_STATE_CREATING || s->call)
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

	s->reply_to = dbus_message_ref(m);
	s->reply_snapshots = reply_snapshots;
	snapset_set_state(s, SNAPSET_STATE_CREATING);
	/* Intent first: a crash from here on leaves a record that recovery rolls back. */
	r = daemon_save_state(s->d);
	if (r < 0) {
		vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		            "cannot write the state file: %s", strerror(-r));
		creation_failed(s, err, r);
		return 0; /* replied */
	}
	creation_begin(s);
	return 0;
}

/* ---- metadata, prepare, complete --------------------------------------------------------------
 */

static void on_identified(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	Snapset *s = userdata;

	bcast_done(s, b);
	snapset_set_state(s, SNAPSET_STATE_GATHERED);
	if (s->one_call) {
		snapset_prepare(s, NULL);
		return;
	}
	call_reply(s, NULL, 0, true);
}

static void on_prepared(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	Snapset *s = userdata;

	bcast_done(s, b);
	if (r < 0) {
		writers_notify(s, WRITER_EVENT_ABORT);
		if (s->d->creating == s)
			daemon_set_creating(s->d, NULL);
		snapset_set_state(s, SNAPSET_STATE_FAILED);
		if (s->one_call)
			creation_reply(s, err, r);
		call_reply(s, err, r, false);
		return;
	}
	snapset_set_state(s, SNAPSET_STATE_PREPARED);
	if (s->one_call) {
		VssErr e2 = { 0 };
		DBusMessage *m = TAKE_PTR(s->reply_to);

		r = snapset_create(s, m, true, &e2);
		if (r < 0)
			(void)bus_reply_error(&s->d->bus, m, &e2, r);
		dbus_message_unref(m);
		return;
	}
	call_reply(s, NULL, 0, false);
}

int snapset_gather(Snapset *s, DBusMessage *m, VssErr *err)
{
	WriterEventArgs a;
	int r;

	if (s->call || s->bcast)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "another call on this set is still running");
	if (s->state != SNAPSET_STATE_STARTED && s->state != SNAPSET_STATE_GATHERED)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "GatherWriterMetadata comes before PrepareForBackup (the set is "
		                   "%s)",
		                   snapset_state_to_string(s->state));
	r = compute_involved(s, true); /* Identify goes to every writer not excluded */
	if (r < 0)
		return r;
	if (m)
		s->call = dbus_message_ref(m);
	event_args(s, &a);
	r = start_event(s, WRITER_EVENT_IDENTIFY, &a, on_identified);
	if (r < 0 && m)
		dbus_message_unref(TAKE_PTR(s->call));
	return r;
}

int snapset_prepare(Snapset *s, DBusMessage *m)
{
	WriterEventArgs a;
	int r;

	r = compute_involved(s, false);
	if (r >= 0) {
		if (m)
			s->call = dbus_message_ref(m);
		event_args(s, &a);
		r = start_event(s, WRITER_EVENT_PREPARE_BACKUP, &a, on_prepared);
	}
	if (r < 0) {
		if (s->call)
			dbus_message_unref(TAKE_PTR(s->call));
		if (s->one_call)
			creation_reply(s, NULL, r);
	}
	return r;
}

/* CreateSnapshotSet: Identify, PrepareForBackup, DoSnapshotSet in one call. */
int snapset_create_all(Snapset *s, DBusMessage *m, VssErr *err)
{
	s->one_call = true;
	s->reply_to = dbus_message_ref(m);
	s->reply_snapshots = true;
	if (!s->writers) {
		snapset_set_state(s, SNAPSET_STATE_PREPARED);
		m = TAKE_PTR(s->reply_to);
		{
			int r = snapset_create(s, m, true, err);

			dbus_message_unref(m);
			return r;
		}
	}
	{
		int r = snapset_gather(s, NULL, err);

		if (r < 0)
			dbus_message_unref(TAKE_PTR(s->reply_to));
		return r;
	}
}

static void on_completed(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	Snapset *s = userdata;

	bcast_done(s, b);
	call_reply(s, NULL, 0, false);
}

/* ---- abort, release, delete ------------------------------------------------------------------ */

bool snapset_idle(const Snapset *s)
{
	return s->d->creating == s && s->state != SNAPSET_STATE_CREATING && !s->call && !s->bcast &&
	       !s->reply_to;
}

static int on_idle_timer(sd_event_source *es, uint64_t usec, void *userdata)
{
	Snapset *s = userdata;
	usec_t limit = s->d->config.set_idle_timeout, now = now_usec(CLOCK_MONOTONIC);

	if (s->d->creating != s) { /* created, failed or aborted: the slot is free */
		s->idle_timer = sd_event_source_disable_unref(s->idle_timer);
		return 0;
	}
	if (!snapset_idle(s)) /* a call or an event is under way, with deadlines of its own */
		s->last_call = now;
	if (now - s->last_call < limit) { /* a oneshot source: enable it again */
		int r = sd_event_source_set_time(es, s->last_call + limit);

		return r < 0 ? r : sd_event_source_set_enabled(es, SD_EVENT_ONESHOT);
	}
	log_warning("set=%s: aborted, its owner %s (uid %u) left it %s for %" PRIu64
	            " ms (set-idle-ms); the creation slot is free",
	            s->id_str, s->owner ? s->owner : "-", (unsigned)s->owner_uid,
	            snapset_state_to_string(s->state), (now - s->last_call) / USEC_PER_MSEC);
	s->idle_timer = sd_event_source_disable_unref(s->idle_timer);
	(void)snapset_abort(s, NULL);
	return 0;
}

int snapset_watch_idle(Snapset *s)
{
	s->last_call = now_usec(CLOCK_MONOTONIC);
	s->idle_timer = sd_event_source_disable_unref(s->idle_timer);
	return sd_event_add_time(s->d->event, &s->idle_timer, CLOCK_MONOTONIC,
	                         s->last_call + s->d->config.set_idle_timeout, USEC_PER_SEC / 10,
	                         on_idle_timer, s);
}

int snapset_abort(Snapset *s, VssErr *err)
{
	switch (s->state) {
	case SNAPSET_STATE_COMPLETED:
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "the backup is complete already; call Release");
	case SNAPSET_STATE_ABORTED:
		return 0;
	case SNAPSET_STATE_CREATING: {
		VssErr e2 = { 0 };

		vss_err_set(&e2, VSS_ERROR_BAD_STATE, -ECANCELED,
		            "the requester aborted the set during DoSnapshotSet");
		creation_failed(s, &e2, -ECANCELED);
		break;
	}
	case SNAPSET_STATE_STARTED:
	case SNAPSET_STATE_GATHERED:
	case SNAPSET_STATE_PREPARED:
	case SNAPSET_STATE_CREATED:
	case SNAPSET_STATE_FAILED:
		break;
	case _SNAPSET_STATE_MAX:
	case _SNAPSET_STATE_INVALID:
		return -EINVAL;
	}
	if (s->bcast) {
		writer_broadcast_cancel(s->bcast);
		s->bcast = NULL;
		call_reply(s, NULL, -ECANCELED, false);
	}
	if (s->state != SNAPSET_STATE_FAILED && s->state != SNAPSET_STATE_CREATING)
		writers_notify(s, WRITER_EVENT_ABORT); /* creation_failed() sent it already */
	s->engine = dmsnap_set_free(s->engine);
	if (s->d->creating == s)
		daemon_set_creating(s->d, NULL);
	/* snapshots not created yet go now; created ones stay until Release (auto-release) */
	for (size_t i = s->n_snaps; i-- > 0;)
		if (s->snaps[i]->state == SNAPSHOT_STATE_PREPARING)
			snapset_forget_snapshot(s, s->snaps[i]);
	snapset_set_state(s, SNAPSET_STATE_ABORTED);
	(void)daemon_save_state(s->d);
	log_notice("set=%s: aborted", s->id_str);
	return 0;
}

/* Manager.SnapshotDeleted(snapshot, volume, reason): vssd deleted a shadow copy that nobody
 * asked it to delete by id (storage-full, storage-resized, storage-deleted, reverted,
 * auto-release) */
static void emit_snapshot_deleted(Daemon *d, const Snapshot *snap, const char *reason)
{
	daemon_emit_manager_signal(d, "SnapshotDeleted", snap->id_str, snap->volume, reason, NULL,
	                           NULL);
}

int snapset_delete_snapshot(Snapset *s, Snapshot *snap, const char *reason, VssErr *err)
{
	Daemon *d = s->d;
	int r;

	if (s->state == SNAPSET_STATE_CREATING)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "shadow copy %s is being created", snap->id_str);
	if (snap->state == SNAPSHOT_STATE_PREPARING)
		return vss_err_set(
			err, VSS_ERROR_BAD_STATE, -EBUSY,
			"shadow copy %s is not created yet (its set %s is %s); Abort the "
			"set to drop its volumes",
			snap->id_str, s->id_str, snapset_state_to_string(s->state));
	r = snapshot_destroy(snap, err);
	if (r < 0)
		return r;
	log_debug("snap=%s: deleted (%s)", snap->id_str, reason);
	if (!streq(reason, "requested"))
		emit_snapshot_deleted(d, snap, reason);
	snapset_forget_snapshot(s, snap);
	(void)snapset_gc(s); /* may free s */
	fault_point_kill(d->env.faults, "kill-delete-before-state-save");
	(void)daemon_save_state(d);
	return 0;
}

void snapset_release(Snapset *s)
{
	Daemon *d = s->d;

	if (s->state != SNAPSET_STATE_CREATED && s->state != SNAPSET_STATE_COMPLETED)
		(void)snapset_abort(s, NULL); /* also drops snapshots never created */
	if (s->bcast)                         /* e.g. BackupComplete still waiting for writers */
		writer_broadcast_cancel(TAKE_PTR(s->bcast));
	writers_notify(s, WRITER_EVENT_BACKUP_SHUTDOWN);
	if (s->auto_release)
		for (size_t i = s->n_snaps; i-- > 0;) {
			VssErr err = { 0 };
			Snapshot *snap = s->snaps[i];

			if (snapshot_destroy(snap, &err) < 0) {
				log_error("set=%s snap=%s: auto-release failed, keeping it: %s",
				          s->id_str, snap->id_str, err.message);
				continue;
			}
			emit_snapshot_deleted(d, snap, "auto-release");
			snapset_forget_snapshot(s, snap);
		}
	free(s->owner);
	s->owner = NULL;
	{
		static const char *const changed[] = { "Owner", NULL };

		if (s->exported)
			bus_emit_properties_changed(&d->bus, s->path, VSSD_IFACE_SET, changed);
	}
	log_notice("set=%s: released, %zu shadow copies kept", s->id_str, s->n_snaps);
	(void)snapset_gc(s);
	(void)daemon_save_state(d);
}

/* ---- bus ------------------------------------------------------------------------------------- */

static int check_owner(Snapset *s, const BusCaller *c, VssErr *err)
{
	if (!s->owner || !streq(s->owner, c->name))
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, -EACCES,
		                   "set %s belongs to another requester%s; only its owner may "
		                   "drive it",
		                   s->id_str, s->owner ? "" : " (it was released)");
	s->last_call = now_usec(CLOCK_MONOTONIC); /* the idle limit counts from here */
	return 0;
}

static int method_add_volume(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	const char *volume, *provider;
	Snapshot *snap;
	DBusMessage *reply;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &volume, DBUS_TYPE_STRING, &provider,
	                           DBUS_TYPE_INVALID))
		return -EINVAL;
	r = snapset_add_volume(s, volume, provider, &snap, err);
	if (r < 0)
		return r;
	reply = dbus_message_new_method_return(m);
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_OBJECT_PATH,
	                                        &(const char *){ snap->path }, DBUS_TYPE_INVALID))
		return -ENOMEM;
	return bus_send(b, reply);
}

static int method_gather_metadata(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	return snapset_gather(s, m, err); /* replies when every writer answered Identify */
}

/* SetComponents(aa{sv}): each entry instance-id s (an involved writer) and name s (one of its
 * components). Replaces an earlier selection; PrepareForBackup then tells each writer which of
 * its components were selected. */
int snapset_set_components(Snapset *s, DBusMessage *m, VssErr *err)
{
	_cleanup_strv_free_ char **sel = NULL;
	DBusMessageIter it, arr;
	size_t n = 0, count;
	int r;

	if (!dbus_message_iter_init(m, &it) ||
	    dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_ARRAY ||
	    dbus_message_iter_get_element_type(&it) != DBUS_TYPE_ARRAY)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "components must be an array of dictionaries aa{sv}");
	/* counted before anything is read, then the selection is built in one allocation */
	count = bus_array_count(&it);
	if (count > s->n_involved * (size_t)VSSD_COMPONENTS_PER_WRITER_MAX)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -E2BIG,
		                   "%zu components given, more than the involved writers have",
		                   count);
	sel = calloc(2 * count + 1, sizeof(char *));
	if (!sel)
		return -ENOMEM;
	dbus_message_iter_recurse(&it, &arr);
	for (; n < count && dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_ARRAY;
	     dbus_message_iter_next(&arr)) {
		const char *id = NULL, *name = NULL;
		bool has_id = false, has_name = false;
		const BusOption opts[] = {
			{ "instance-id", 's', &id, &has_id },
			{ "name", 's', &name, &has_name },
			{ NULL },
		};
		VssId wid;
		Writer *w;
		bool involved = false;

		r = bus_read_options(&arr, opts, err);
		if (r < 0)
			return r;
		if (!has_id || !has_name)
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "each component needs instance-id and name");
		if (vssid_from_string(id, &wid) < 0)
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "instance-id \"%.64s\" is not a UUID",
			                   bus_safe_string(id));
		w = writer_find(s->d, &wid);
		for (size_t i = 0; w && i < s->n_involved; i++)
			involved = involved || vssid_equal(&s->involved[i], &wid);
		if (!w || !involved)
			return vss_err_set(
				err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
				"writer %s takes no part in this set (GatherWriterMetadata "
				"lists those that do)",
				id);
		if (!writer_has_component(w, name))
			return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
			                   "writer \"%s\" (%s) has no component \"%.64s\"", w->name,
			                   w->id_str, bus_safe_string(name));
		sel[2 * n] = strdup(w->id_str);
		if (!sel[2 * n])
			return -ENOMEM;
		sel[2 * n + 1] = strdup(name);
		if (!sel[2 * n + 1])
			return -ENOMEM;
		n++;
	}
	strv_free(s->components);
	s->components = TAKE_PTR(sel);
	log_info("set=%s: %zu components selected", s->id_str, n);
	return 0;
}

static int method_set_components(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	if (s->state != SNAPSET_STATE_GATHERED)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "SetComponents comes after GatherWriterMetadata and before "
		                   "PrepareForBackup (the set is %s)",
		                   snapset_state_to_string(s->state));
	r = snapset_set_components(s, m, err);
	if (r < 0)
		return r;
	return bus_reply_empty(b, m);
}

static int method_prepare(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	if (s->call || s->bcast)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "another call on this set is still running");
	if (s->state != SNAPSET_STATE_GATHERED &&
	    !(s->state == SNAPSET_STATE_STARTED && !s->writers))
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "PrepareForBackup comes after GatherWriterMetadata (the set is "
		                   "%s)",
		                   snapset_state_to_string(s->state));
	return snapset_prepare(s, m); /* replies when the writers answered */
}

static int method_do_snapshot_set(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	return snapset_create(s, m, false, err);
}

static int method_gather_status(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	DBusMessage *reply;
	DBusMessageIter it;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	if (s->state == SNAPSET_STATE_CREATING || s->call)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "writer status is not available while a call on the set runs");
	reply = dbus_message_new_method_return(m);
	if (!reply)
		return -ENOMEM;
	dbus_message_iter_init_append(reply, &it);
	if (append_writer_list(s, &it, false) < 0) {
		dbus_message_unref(reply);
		return -ENOMEM;
	}
	return bus_send(b, reply);
}

static int method_backup_complete(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	dbus_bool_t success;
	WriterEventArgs a;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	if (!dbus_message_get_args(m, NULL, DBUS_TYPE_BOOLEAN, &success, DBUS_TYPE_INVALID))
		return -EINVAL;
	if (s->state != SNAPSET_STATE_CREATED || s->call)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "BackupComplete comes after DoSnapshotSet succeeded (the set is "
		                   "%s)",
		                   snapset_state_to_string(s->state));
	snapset_set_state(s, SNAPSET_STATE_COMPLETED);
	(void)daemon_save_state(s->d);
	log_notice("set=%s: backup complete (%s)", s->id_str, success ? "success" : "failure");
	s->call = dbus_message_ref(m);
	event_args(s, &a);
	a.success = success;
	r = start_event(s, WRITER_EVENT_BACKUP_COMPLETE, &a, on_completed);
	if (r < 0)
		dbus_message_unref(TAKE_PTR(s->call));
	return r;
}

static int method_abort(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	r = snapset_abort(s, err);
	if (r < 0)
		return r;
	return bus_reply_empty(b, m);
}

static int method_release(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Snapset *s = u;
	int r;

	r = check_owner(s, c, err);
	if (r < 0)
		return r;
	snapset_release(s); /* may free s; the reply comes once auto-release is done */
	return bus_reply_empty(b, m);
}

static int prop_id(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Snapset *)u)->id_str);
}

static int prop_context(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, snapset_context_to_string(((Snapset *)u)->context));
}

static int prop_attributes(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_u32(it, ((Snapset *)u)->attributes);
}

static int prop_backup_type(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Snapset *)u)->backup_type);
}

static int prop_state(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, snapset_state_to_string(((Snapset *)u)->state));
}

static int prop_creation_time(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_u64(it, ((Snapset *)u)->creation_time);
}

static int prop_owner(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, strempty(((Snapset *)u)->owner));
}

static int prop_description(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, ((Snapset *)u)->description);
}

static int prop_snapshots(Bus *b, void *u, DBusMessageIter *it)
{
	Snapset *s = u;
	DBusMessageIter a;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "o", &a))
		return -ENOMEM;
	for (size_t i = 0; i < s->n_snaps; i++)
		if (bus_append_path(&a, s->snaps[i]->path) < 0)
			return -ENOMEM;
	return dbus_message_iter_close_container(it, &a) ? 0 : -ENOMEM;
}

static int prop_writer_status(Bus *b, void *u, DBusMessageIter *it)
{
	return append_writer_list(u, it, false);
}

static const BusMethod snapset_methods[] = {
	{ "AddVolume", "ss", method_add_volume, BUS_ACCESS_ADMIN },
	{ "GatherWriterMetadata", "", method_gather_metadata, BUS_ACCESS_ADMIN },
	{ "SetComponents", "aa{sv}", method_set_components, BUS_ACCESS_ADMIN },
	{ "PrepareForBackup", "", method_prepare, BUS_ACCESS_ADMIN },
	{ "DoSnapshotSet", "", method_do_snapshot_set, BUS_ACCESS_ADMIN },
	{ "GatherWriterStatus", "", method_gather_status, BUS_ACCESS_ADMIN },
	{ "BackupComplete", "b", method_backup_complete, BUS_ACCESS_ADMIN },
	{ "Abort", "", method_abort, BUS_ACCESS_ADMIN },
	{ "Release", "", method_release, BUS_ACCESS_ADMIN },
	{ NULL },
};

static const BusProperty snapset_properties[] = {
	{ "Id", "s", prop_id },
	{ "Context", "s", prop_context },
	{ "Attributes", "u", prop_attributes },
	{ "BackupType", "s", prop_backup_type },
	{ "State", "s", prop_state },
	{ "CreationTime", "t", prop_creation_time },
	{ "Owner", "s", prop_owner },
	{ "Description", "s", prop_description },
	{ "Snapshots", "ao", prop_snapshots },
	{ "WriterStatus", "aa{sv}", prop_writer_status },
	{ NULL },
};

const BusInterface snapset_interface = {
	.name = VSSD_IFACE_SET,
	.methods = snapset_methods,
	.properties = snapset_properties,
};
