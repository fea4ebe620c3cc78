/* SPDX-License-Identifier: GPL-2.0-or-later */
/* snapset.c - shadow copy sets: the requester session, its state machine, creation and release */
#include <inttypes.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/document.h"
#include "daemon/fault.h"
#include "daemon/freeze.h"
#include "daemon/hostops.h"
#include "daemon/monitor.h"
#include "daemon/provider.h"
#include "daemon/snapset-internal.h"
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
	[SNAPSET_CONTEXT_CLIENT_ACCESSIBLE_WRITERS] = { "client-accessible-writers", 0x0D, true },
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

bool snapset_context_client_accessible(SnapsetContext c)
{
	return contexts[c].attributes & VSS_ATTR_CLIENT_ACCESSIBLE;
}

/* ---- writers --------------------------------------------------------------------------------- */

#define WRITER_PATHS_DEADLINE_USEC (USEC_PER_SEC) /* see writer_involved() */

/* A writer takes part when one of its paths lies on a volume of the set, or when it names
 * no paths at all (it cannot say what it protects, so it is asked every time), or when where
 * its paths lie is not known by the deadline (looked up as the writer, off the loop: see
 * daemon/pathres.h). */
static bool writer_involved(const Snapset *s, Writer *w, usec_t deadline)
{
	const dev_t *devs;
	size_t n;

	if (!s->writers || snapset_writer_excluded(s, w))
		return false;
	if (writer_path_devices(w, deadline, &devs, &n) < 0) {
		log_writer_notice(w->id_str, s->id_str,
		                  "where its paths lie is not known yet; it takes part");
		return true;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; devs[i] != 0 && j < s->n_snaps; j++)
			if (s->snaps[j]->devno == devs[i])
				return true;
	return n == 0;
}

int snapset_compute_involved(Snapset *s, bool all)
{
	VssId *ids = calloc(s->d->n_writers ? s->d->n_writers : 1, sizeof(VssId));
	/* one budget for all writers whose paths are still being looked up */
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + WRITER_PATHS_DEADLINE_USEC;
	size_t n = 0;

	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < s->d->n_writers; i++) {
		Writer *w = s->d->writers[i];

		if (snapset_writer_failed(s, w)) /* writer-failures=continue: it left the set */
			continue;
		if (all ? s->writers && !snapset_writer_excluded(s, w)
		        : writer_involved(s, w, deadline))
			ids[n++] = w->instance_id;
	}
	free(s->involved);
	s->involved = ids;
	s->n_involved = n;
	return 0;
}

void snapset_event_args(Snapset *s, WriterEventArgs *a)
{
	*a = (WriterEventArgs){ .set_id = s->id_str,
		                .backup_type = s->backup_type,
		                .context = snapset_context_to_string(s->context),
		                .components = s->components,
		                .continue_on_failure = s->writer_failures_continue };
}

/* Abort and BackupShutdown: sent without waiting for the answers. */
void snapset_writers_notify(Snapset *s, WriterEvent ev)
{
	WriterEventArgs a;

	snapset_event_args(s, &a);
	if (s->n_involved > 0)
		(void)writer_broadcast_start(s->d, ev, s->involved, s->n_involved, &a, NULL, NULL,
		                             NULL);
	/* writers that failed under writer-failures=continue took part: they get BackupShutdown */
	if (ev == WRITER_EVENT_BACKUP_SHUTDOWN && s->n_failed > 0)
		(void)writer_broadcast_start(s->d, ev, s->failed, s->n_failed, &a, NULL, NULL,
		                             NULL);
}

int snapset_start_event(Snapset *s, WriterEvent ev, const WriterEventArgs *a, WriterDoneFn done)
{
	s->bcast = NULL;
	return writer_broadcast_start(s->d, ev, s->involved, s->n_involved, a, done, s, &s->bcast);
}

void snapset_bcast_done(Snapset *s, WriterBroadcast *b)
{
	if (s->writer_failures_continue && writer_broadcast_event(b) != WRITER_EVENT_IDENTIFY)
		snapset_drop_failed_writers(s, writer_broadcast_event(b));
	writer_broadcast_cancel(b);
	if (s->bcast == b)
		s->bcast = NULL;
}

/* Ends the pending call (GatherWriterMetadata, PrepareForBackup, BackupComplete). */
void snapset_call_reply(Snapset *s, const VssErr *err, int error)
{
	SnapsetDoneFn done = TAKE_PTR(s->call_done);
	void *userdata = TAKE_PTR(s->call_userdata);

	if (done)
		done(s, error, err, userdata);
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
	if (snapset_take_writer_options(s, o) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(s);
	return 0;
}

Snapset *snapset_free(Snapset *s)
{
	if (!s)
		return NULL;
	s->idle_timer = sd_event_source_disable_unref(s->idle_timer);
	snapset_creation_sources_done(s);
	if (s->bcast)
		writer_broadcast_cancel(TAKE_PTR(s->bcast));
	if (s->n_engines > 0 && s->state == SNAPSET_STATE_CREATING)
		snapset_writers_notify(s, WRITER_EVENT_ABORT); /* nobody stays frozen */
	snapset_engine_free(s); /* rolls back anything not committed */
	snapset_hold_end(s);
	if (s->call_done) {
		VssErr err = { 0 };

		vss_err_set(&err, VSS_ERROR_BAD_STATE, -ECANCELED, "the set went away");
		snapset_call_reply(s, &err, -ECANCELED);
	}
	if (s->create_done) {
		VssErr err = { 0 };

		vss_err_set(&err, VSS_ERROR_BAD_STATE, -ECANCELED, "the set went away");
		snapset_creation_reply(s, &err, -ECANCELED);
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
	free(s->failed);
	strv_free(s->exclude_writer_classes);
	strv_free(s->exclude_writer_instances);
	strv_free(s->include_writer_classes);
	strv_free(s->components);
	strv_free(s->results);
	if (s->previous) {
		document_done(s->previous);
		free(s->previous);
	}
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
	log_set_debug(s->id_str, "%s -> %s", snapset_state_to_string(s->state),
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

void snapset_forget_snapshot(Snapset *s, Snapshot *snap)
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
		c += snapset_context_client_accessible(l[i]->set->context);
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
	ProviderSnap *ps = NULL;
	SnapsetEngine *e = NULL;
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
		if (streq(s->snaps[i]->volume_name, v.name)) {
			r = vss_err_set(err, VSS_ERROR_OBJECT_ALREADY_EXISTS, -EEXIST,
			                "volume %s is already in the set (as %s)", volume,
			                s->snaps[i]->volume);
			goto out;
		}
	if (snapset_context_client_accessible(s->context) &&
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
	/* one provider set per provider of the set: a set mixes providers (DESIGN §4b) */
	r = snapset_engine_get(s, p, &e);
	if (r < 0) {
		vss_err_set(err, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR, r,
		            "provider %s cannot begin a set: %s", p->ops->name, strerror(-r));
		goto out;
	}
	vssid_generate(&id);
	r = p->ops->set_add(e->ps, volume, dir, cow, &id, err);
	if (r < 0)
		goto out;
	r = snapshot_new(s->d, s, p, &id, v.name, &snap);
	if (r < 0)
		goto undo;
	/* the names the engine will use, known now for the intent record */
	r = p->ops->set_take(e->ps, &id, &ps);
	if (r < 0)
		goto undo;
	(void)snapshot_set_psnap(snap, ps);
	snap->sectors = v.sectors;
	snap->persistent = snapset_context_persistent(s->context);
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
	(void)p->ops->set_remove(e->ps, &id);
out:
	if (e)
		snapset_engine_drop_empty(s); /* also asks each provider how it commits */
	provider_volume_done(&v);
	return r;
}

/* ---- metadata, prepare, complete --------------------------------------------------------------
 */

static void on_identified(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	Snapset *s = userdata;

	snapset_bcast_done(s, b);
	snapset_set_state(s, SNAPSET_STATE_GATHERED);
	if (s->one_call) {
		snapset_prepare(s, NULL, NULL);
		return;
	}
	snapset_call_reply(s, NULL, 0);
}

static void on_prepared(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	Snapset *s = userdata;

	snapset_bcast_done(s, b);
	if (r < 0) {
		snapset_writers_notify(s, WRITER_EVENT_ABORT);
		if (s->d->creating == s)
			daemon_set_creating(s->d, NULL);
		snapset_set_state(s, SNAPSET_STATE_FAILED);
		if (s->one_call)
			snapset_creation_reply(s, err, r);
		snapset_call_reply(s, err, r);
		return;
	}
	snapset_set_state(s, SNAPSET_STATE_PREPARED);
	if (s->one_call) {
		VssErr e2 = { 0 };
		SnapsetDoneFn done = TAKE_PTR(s->create_done);
		void *ud = TAKE_PTR(s->create_userdata);

		r = snapset_create(s, done, ud, &e2);
		if (r < 0 && done)
			done(s, r, &e2, ud);
		return;
	}
	snapset_call_reply(s, NULL, 0);
}

int snapset_gather(Snapset *s, SnapsetDoneFn done, void *userdata, VssErr *err)
{
	WriterEventArgs a;
	int r;

	if (s->call_done || s->bcast)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "another call on this set is still running");
	if (s->state != SNAPSET_STATE_STARTED && s->state != SNAPSET_STATE_GATHERED)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "GatherWriterMetadata comes before PrepareForBackup (the set is "
		                   "%s)",
		                   snapset_state_to_string(s->state));
	r = snapset_compute_involved(s, true); /* Identify goes to every writer not excluded */
	if (r < 0)
		return r;
	s->call_done = done;
	s->call_userdata = userdata;
	snapset_event_args(s, &a);
	r = snapset_start_event(s, WRITER_EVENT_IDENTIFY, &a, on_identified);
	if (r < 0) {
		s->call_done = NULL;
		s->call_userdata = NULL;
	}
	return r;
}

int snapset_prepare(Snapset *s, SnapsetDoneFn done, void *userdata)
{
	WriterEventArgs a;
	int r;

	r = snapset_compute_involved(s, false);
	if (r >= 0) {
		s->call_done = done;
		s->call_userdata = userdata;
		snapset_event_args(s, &a);
		r = snapset_start_event(s, WRITER_EVENT_PREPARE_BACKUP, &a, on_prepared);
	}
	if (r < 0) {
		s->call_done = NULL;
		s->call_userdata = NULL;
		if (s->one_call)
			snapset_creation_reply(s, NULL, r);
	}
	return r;
}

/* CreateSnapshotSet: Identify, PrepareForBackup, DoSnapshotSet in one call. */
int snapset_create_all(Snapset *s, SnapsetDoneFn done, void *userdata, VssErr *err)
{
	int r;

	s->one_call = true;
	if (!s->writers) {
		snapset_set_state(s, SNAPSET_STATE_PREPARED);
		return snapset_create(s, done, userdata, err);
	}
	s->create_done = done;
	s->create_userdata = userdata;
	r = snapset_gather(s, NULL, NULL, err);
	if (r < 0) {
		s->create_done = NULL;
		s->create_userdata = NULL;
	}
	return r;
}

static void on_completed(WriterBroadcast *b, int r, const VssErr *err, void *userdata)
{
	Snapset *s = userdata;

	snapset_bcast_done(s, b);
	snapset_call_reply(s, NULL, 0);
}

/* SetComponents: one entry, writer wid (id as given) and its component name */
int snapset_check_component(Snapset *s, const VssId *wid, const char *id, const char *name,
                            VssErr *err)
{
	Writer *w = writer_find(s->d, wid);
	bool involved = false;

	for (size_t i = 0; w && i < s->n_involved; i++)
		involved = involved || vssid_equal(&s->involved[i], wid);
	if (!w || !involved)
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
		                   "writer %s takes no part in this set (GatherWriterMetadata "
		                   "lists those that do)",
		                   id);
	if (!writer_has_component(w, name))
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
		                   "writer \"%s\" (%s) has no component \"%.64s\"", w->name,
		                   w->id_str, bus_safe_string(name));
	return 0;
}

int snapset_set_components(Snapset *s, char **pairs, size_t n, VssErr *err)
{
	_cleanup_strv_free_ char **sel = NULL;
	int r;

	sel = calloc(2 * n + 1, sizeof(char *));
	if (!sel)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		VssId wid;

		if (vssid_from_string(pairs[2 * i], &wid) < 0)
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "instance-id \"%.64s\" is not a UUID",
			                   bus_safe_string(pairs[2 * i]));
		r = snapset_check_component(s, &wid, pairs[2 * i], pairs[2 * i + 1], err);
		if (r < 0)
			return r;
		sel[2 * i] = strdup(writer_find(s->d, &wid)->id_str);
		if (!sel[2 * i])
			return -ENOMEM;
		sel[2 * i + 1] = strdup(pairs[2 * i + 1]);
		if (!sel[2 * i + 1])
			return -ENOMEM;
	}
	strv_free(s->components);
	s->components = TAKE_PTR(sel);
	s->components_set = true;
	log_set_info(s->id_str, "%zu components selected", n);
	return 0;
}

int snapset_backup_complete(Snapset *s, bool success, SnapsetDoneFn done, void *userdata,
                            VssErr *err)
{
	WriterEventArgs a;
	int r;

	if (s->state != SNAPSET_STATE_CREATED || s->call_done)
		return vss_err_set(err, VSS_ERROR_BAD_STATE, -EBUSY,
		                   "BackupComplete comes after DoSnapshotSet succeeded (the set is "
		                   "%s)",
		                   snapset_state_to_string(s->state));
	s->backup_success = success;
	snapset_set_state(s, SNAPSET_STATE_COMPLETED);
	(void)daemon_save_state(s->d);
	log_set_notice(s->id_str, "backup complete (%s)", success ? "success" : "failure");
	s->call_done = done;
	s->call_userdata = userdata;
	snapset_event_args(s, &a);
	a.success = success;
	r = snapset_start_event(s, WRITER_EVENT_BACKUP_COMPLETE, &a, on_completed);
	if (r < 0) {
		s->call_done = NULL;
		s->call_userdata = NULL;
	}
	return r;
}

/* ---- abort, release, delete ------------------------------------------------------------------ */

bool snapset_idle(const Snapset *s)
{
	return s->d->creating == s && s->state != SNAPSET_STATE_CREATING && !s->call_done &&
	       !s->bcast && !s->create_done;
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
	log_set_warning(s->id_str,
	                "aborted, its owner %s (uid %u) left it %s for %" PRIu64
	                " ms (set-idle-ms); the creation slot is free",
	                s->owner ? s->owner : "-", (unsigned)s->owner_uid,
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
		snapset_creation_failed(s, &e2, -ECANCELED);
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
		snapset_call_reply(s, NULL, -ECANCELED);
	}
	if (s->state != SNAPSET_STATE_FAILED && s->state != SNAPSET_STATE_CREATING)
		snapset_writers_notify(
			s, WRITER_EVENT_ABORT); /* snapset_creation_failed() sent it already */
	snapset_engine_free(s);
	if (s->d->creating == s)
		daemon_set_creating(s->d, NULL);
	/* snapshots not created yet go now; created ones stay until Release (auto-release) */
	for (size_t i = s->n_snaps; i-- > 0;)
		if (s->snaps[i]->state == SNAPSHOT_STATE_PREPARING)
			snapset_forget_snapshot(s, s->snaps[i]);
	snapset_set_state(s, SNAPSET_STATE_ABORTED);
	(void)daemon_save_state(s->d);
	log_set_notice(s->id_str, "aborted");
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
	log_snap_debug(snap->id_str, NULL, "deleted (%s)", reason);
	if (!streq(reason, "requested"))
		emit_snapshot_deleted(d, snap, reason);
	snapset_forget_snapshot(s, snap);
	(void)snapset_gc(s); /* may free s */
	fault_point_kill(d->faults, "kill-delete-before-state-save");
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
	snapset_writers_notify(s, WRITER_EVENT_BACKUP_SHUTDOWN);
	if (s->auto_release)
		for (size_t i = s->n_snaps; i-- > 0;) {
			VssErr err = { 0 };
			Snapshot *snap = s->snaps[i];

			if (snapshot_destroy(snap, &err) < 0) {
				(void)log_keys_full_errno(
					(&(const LogKeys){ .set = s->id_str,
				                           .snap = snap->id_str }),
					LOG_ERR, 0, "auto-release failed, keeping it: %s",
					err.message);
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
	log_set_notice(s->id_str, "released, %zu shadow copies kept", s->n_snaps);
	(void)snapset_gc(s);
	(void)daemon_save_state(d);
}
