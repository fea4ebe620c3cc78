/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bus-manager.c - org.vssd.ShadowCopy1.Manager: sets, deletion, volumes, providers */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "common/vssd-version.h"
#include "daemon/bus.h"
#include "daemon/daemon.h"
#include "daemon/dmdev.h"
#include "daemon/document.h"
#include "daemon/hostops.h"
#include "daemon/restore-dbus.h"
#include "daemon/snapset-dbus.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/storage.h"
#include "daemon/volume.h"
#include "daemon/writer.h"

/* A list of writer class or instance ids (option key): each must be a UUID; rewritten in the
 * canonical spelling the writers' ids have, so that "ABC..." finds "abc..." */
static int read_id_list(const char *key, char **l, VssErr *err)
{
	for (char **c = l; c && *c; c++) {
		VssId id;

		if (vssid_from_string(*c, &id) < 0)
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "%s: \"%.64s\" is not a UUID", key, *c);
		if (strlen(*c) + 1 >= VSSID_STRING_MAX)
			vssid_to_string(&id, *c);
		else {
			char *n = malloc(VSSID_STRING_MAX);

			if (!n)
				return -ENOMEM;
			vssid_to_string(&id, n);
			free(*c);
			*c = n;
		}
	}
	return 0;
}

/* Reads the StartSnapshotSet / CreateSnapshotSet options. */
static int read_set_options(DBusMessageIter *it, SnapsetOptions *o, VssErr *err)
{
	const char *context = NULL, *backup_type = NULL, *description = NULL, *failures = NULL,
		   *previous = NULL, *schedule = NULL;
	static const char *const types[] = { "full", "copy", "incremental", "differential", "log" };
	const BusOption opts[] = {
		{ "context", 's', &context },
		{ "no-writers", 'b', &o->no_writers },
		{ "no-auto-release", 'b', &o->no_auto_release },
		{ "backup-type", 's', &backup_type },
		{ "description", 's', &description },
		{ "schedule", 's', &schedule },
		{ "exclude-writer-classes", 'a', &o->exclude_writer_classes, NULL,
		  VSSD_WRITERS_MAX },
		{ "exclude-writer-instances", 'a', &o->exclude_writer_instances, NULL,
		  VSSD_WRITERS_MAX },
		{ "include-writer-classes", 'a', &o->include_writer_classes, NULL,
		  VSSD_WRITERS_MAX },
		{ "writer-failures", 's', &failures },
		{ "previous-document", 's', &previous },
		{ NULL },
	};
	int r;

	o->context = SNAPSET_CONTEXT_BACKUP;
	r = bus_read_options(it, opts, err);
	if (r < 0)
		return r;
	if (context) {
		o->context = snapset_context_from_string(context);
		if (o->context < 0)
			return vss_err_set(
				err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
				"unknown context \"%.64s\"; use backup, file-share-backup, "
				"persistent, app-rollback, client-accessible, "
				"client-accessible-writers or nas-rollback",
				bus_safe_string(context));
	}
	if (backup_type) {
		bool ok = false;

		for (size_t i = 0; i < ELEMENTSOF(types); i++)
			ok = ok || streq(backup_type, types[i]);
		if (!ok)
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "unknown backup-type \"%.64s\"; use full, copy, "
			                   "incremental, differential or log",
			                   bus_safe_string(backup_type));
	}
	if (description && !valid_text_or_empty(description, VSSD_STRING_MAX))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "description must be at most %d bytes without control "
		                   "characters",
		                   VSSD_STRING_MAX);
	if (schedule && !valid_schedule_name(schedule))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "schedule must be 1 to %d characters of A-Z, a-z, 0-9, \"_\", "
		                   "\".\" and \"-\", not starting with \".\" or \"-\"",
		                   VSSD_SCHEDULE_NAME_MAX);
	if (failures && !streq(failures, "abort") && !streq(failures, "continue"))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "unknown writer-failures \"%.64s\"; use abort (any writer "
		                   "failure fails the set) or continue (the set goes on without "
		                   "the failing writer)",
		                   bus_safe_string(failures));
	o->writer_failures_continue = failures && streq(failures, "continue");
	if (previous) {
		o->previous = calloc(1, sizeof(BackupDocument));
		if (!o->previous)
			return -ENOMEM;
		r = document_from_json(previous, o->previous, err);
		if (r < 0)
			return r;
	}
	if ((r = read_id_list("exclude-writer-classes", o->exclude_writer_classes, err)) < 0 ||
	    (r = read_id_list("exclude-writer-instances", o->exclude_writer_instances, err)) < 0 ||
	    (r = read_id_list("include-writer-classes", o->include_writer_classes, err)) < 0)
		return r;
	o->backup_type = backup_type;
	o->description = description;
	o->schedule = schedule;
	return 0;
}

static int start_set(Daemon *d, const BusCaller *c, const SnapsetOptions *o, Snapset **ret,
                     VssErr *err)
{
	_cleanup_(snapset_freep) Snapset *s = NULL;
	unsigned owned = 0;
	VssId id;
	int r;

	/* root takes the slot over from another user's set that waits for its owner: a vssadmin
	 * member cannot keep root's backups out */
	if (d->creating && c->uid == 0 && d->creating->owner_uid != 0 &&
	    snapset_idle(d->creating)) {
		log_set_warning(d->creating->id_str,
		                "aborted, root (%s) takes over the creation slot from uid %u",
		                c->name, (unsigned)d->creating->owner_uid);
		(void)snapset_abort(d->creating, NULL);
	}
	/* The schedule tag decides what "vssctl schedule run" prunes: a vssadmin member who could
	 * tag a set would make root's pruning count it and delete the schedule's own copies. */
	if (o->schedule && c->uid != 0)
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, -EACCES,
		                   "only root may create a set for a schedule (option schedule); "
		                   "uid %u may not",
		                   (unsigned)c->uid);
	if (d->creating)
		return vss_err_set(err, VSS_ERROR_SNAPSHOT_SET_IN_PROGRESS, -EALREADY,
		                   "another snapshot set (%s) is being created; retry when it is "
		                   "done",
		                   d->creating->id_str);
	for (size_t i = 0; i < d->n_sets; i++)
		owned += d->sets[i]->owner && d->sets[i]->owner_uid == c->uid;
	if (owned >= d->config.sets_per_uid)
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, -EACCES,
		                   "uid %u holds %u open sets already (sets-per-uid); release "
		                   "some first",
		                   (unsigned)c->uid, owned);
	vssid_generate(&id);
	r = snapset_new(d, &id, c->name, c->uid, o, &s);
	if (r < 0)
		return r;
	r = snapset_export(s);
	if (r < 0)
		return r;
	r = snapset_watch_idle(s);
	if (r < 0)
		return r;
	r = daemon_add_set(d, s);
	if (r < 0)
		return r;
	daemon_set_creating(d, s);
	log_set_event(LOG_EVENT_SET_STARTED, s->id_str, LOG_NOTICE,
	              "started by %s (uid %u), context %s", c->name, (unsigned)c->uid,
	              snapset_context_to_string(s->context));
	*ret = TAKE_PTR(s);
	return 0;
}

static void drop_set(Daemon *d, Snapset *s)
{
	daemon_remove_set(d, s);
	snapset_free(s);
}

static int method_start(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Daemon *d = u;
	SnapsetOptions o = { 0 };
	DBusMessageIter it;
	DBusMessage *reply;
	Snapset *s;
	int r;

	dbus_message_iter_init(m, &it);
	r = read_set_options(&it, &o, err);
	if (r >= 0)
		r = start_set(d, c, &o, &s, err);
	snapset_options_done(&o);
	if (r < 0)
		return r;
	reply = dbus_message_new_method_return(m);
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_OBJECT_PATH,
	                                        &(const char *){ s->path }, DBUS_TYPE_INVALID))
		return -ENOMEM;
	return bus_send(b, reply);
}

static int method_create(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Daemon *d = u;
	_cleanup_strv_free_ char **volumes = NULL;
	SnapsetOptions o = { 0 };
	DBusMessageIter it;
	Snapset *s = NULL;
	size_t n;
	int r;

	dbus_message_iter_init(m, &it);
	n = bus_array_count(&it); /* before reading: 200000 volumes are refused, not copied */
	if (n > VSSD_VOLUMES_PER_SET_MAX)
		return vss_err_set(err, VSS_ERROR_MAXIMUM_NUMBER_OF_VOLUMES_REACHED, -E2BIG,
		                   "%zu volumes given; a shadow copy set holds at most %d", n,
		                   VSSD_VOLUMES_PER_SET_MAX);
	r = bus_read_strv(&it, VSSD_PATH_MAX, VSSD_VOLUMES_PER_SET_MAX, &volumes, err);
	if (r < 0)
		return r;
	if (!volumes[0])
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "no volumes given; name at least one volume");
	dbus_message_iter_next(&it);
	r = read_set_options(&it, &o, err);
	if (r >= 0)
		r = start_set(d, c, &o, &s, err);
	snapset_options_done(&o);
	if (r < 0)
		return r;
	for (char **v = volumes; *v; v++) {
		Snapshot *snap;

		r = snapset_add_volume(s, *v, "", &snap, err);
		if (r < 0) {
			drop_set(d, s); /* nothing was created yet */
			return r;
		}
	}
	/* Identify, PrepareForBackup and DoSnapshotSet in a row; the reply comes at the end. */
	r = snapset_create_all(s, snapset_dbus_reply_set_snapshots, dbus_message_ref(m), err);
	if (r < 0) {
		dbus_message_unref(m);
		drop_set(d, s);
	}
	return r;
}

static int delete_list(Daemon *d, Snapshot **l, size_t n, uint32_t *count, VssErr *err)
{
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		VssErr e = { 0 };
		int r = snapset_delete_snapshot(l[i]->set, l[i], "requested", &e);

		if (r < 0) {
			if (ret == 0) {
				*err = e;
				ret = r;
			}
			continue;
		}
		(*count)++;
	}
	return ret;
}

static bool match_all(Snapshot *s, const void *arg)
{
	return true;
}

static bool match_set(Snapshot *s, const void *arg)
{
	return vssid_equal(&s->set->id, arg);
}

static int method_delete(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Daemon *d = u;
	const char *set = NULL, *snapshot = NULL, *volume = NULL;
	bool oldest = false, all = false, has_set = false, has_snap = false, has_vol = false;
	const BusOption opts[] = {
		{ "set", 's', &set, &has_set },
		{ "snapshot", 's', &snapshot, &has_snap },
		{ "volume", 's', &volume, &has_vol },
		{ "oldest", 'b', &oldest },
		{ "all", 'b', &all },
		{ NULL },
	};
	_cleanup_free_ Snapshot **l = NULL;
	DBusMessageIter it;
	DBusMessage *reply;
	uint32_t count = 0;
	size_t n = 0;
	VssId id;
	int r;

	dbus_message_iter_init(m, &it);
	r = bus_read_options(&it, opts, err);
	if (r < 0)
		return r;
	if (has_set + has_snap + has_vol + (all && !has_vol) != 1 || (oldest && !has_vol) ||
	    (has_vol && oldest == all))
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "select exactly one of: set, snapshot, volume with oldest or "
		                   "all, or all alone");
	if (has_set || has_snap) {
		if (vssid_from_string(has_set ? set : snapshot, &id) < 0)
			return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
			                   "\"%.64s\" is not a UUID (8-4-4-4-12 hex digits)",
			                   bus_safe_string(has_set ? set : snapshot));
	}
	if (has_snap) {
		Snapshot *s = daemon_find_snapshot(d, &id);

		if (!s || s->state == SNAPSHOT_STATE_PREPARING)
			return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
			                   "there is no shadow copy %s", snapshot);
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		l[n++] = s;
	} else if (has_set) {
		if (!daemon_find_set(d, &id))
			return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
			                   "there is no shadow copy set %s", set);
		r = daemon_snapshots(d, match_set, &id, &l, &n);
	} else if (has_vol) {
		ProviderVolume v = { 0 };

		r = provider_pick(&d->providers, "", volume, NULL, &v, err);
		if (r < 0)
			return r;
		r = daemon_volume_snapshots(d, v.name, &l, &n);
		provider_volume_done(&v);
		if (r >= 0 && n == 0)
			return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
			                   "volume %s has no shadow copies", volume);
		if (r >= 0 && oldest)
			n = 1;
	} else
		r = daemon_snapshots(d, match_all, NULL, &l, &n);
	if (r < 0)
		return r;
	r = delete_list(d, l, n, &count, err);
	if (r < 0)
		return r;
	reply = dbus_message_new_method_return(m);
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_UINT32, &count, DBUS_TYPE_INVALID))
		return -ENOMEM;
	return bus_send(b, reply);
}

/* ---- volumes and providers ------------------------------------------------------------------- */

static uint64_t sysfs_u64(const char *kname, const char *attr)
{
	char p[512], buf[64];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	snprintf(p, sizeof(p), "/sys/class/block/%s/%s", kname, attr);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strtoull(buf, NULL, 10);
}

static int append_volume(Daemon *d, DBusMessageIter *arr, const char *kname)
{
	_cleanup_free_ char *dev = NULL;
	_cleanup_free_ Snapshot **snaps = NULL;
	_cleanup_strv_free_ char **mounts = NULL;
	ProviderVolume v = { 0 };
	Provider *p = NULL;
	VssErr e = { 0 };
	DBusMessageIter dict;
	size_t n_snaps = 0;
	uint64_t sectors = sysfs_u64(kname, "size");
	dev_t devno;
	bool ok;
	int r;

	if (sectors == 0 || asprintf(&dev, "/dev/%s", kname) < 0)
		return 0;
	if (d->host->ops->stat_block(d->host->userdata, dev, &devno) < 0)
		return 0;
	ok = provider_pick(&d->providers, "", dev, &p, &v, &e) >= 0;
	if (ok)
		(void)daemon_volume_snapshots(d, v.name, &snaps, &n_snaps);
	(void)d->host->ops->mountpoints(d->host->userdata, devno, &mounts);

	if (!dbus_message_iter_open_container(arr, DBUS_TYPE_ARRAY, "{sv}", &dict)) {
		provider_volume_done(&v);
		return -ENOMEM;
	}
	r = bus_dict_add_string(&dict, "volume", ok ? v.dev_path : dev);
	if (r >= 0)
		r = bus_dict_add_string(&dict, "device", dev);
	if (r >= 0)
		r = bus_dict_add_u64(&dict, "size-bytes", sectors * 512);
	if (r >= 0)
		r = bus_dict_add_bool(&dict, "supported", ok);
	if (r >= 0)
		r = bus_dict_add_string(&dict, "provider", ok ? p->ops->name : "");
	if (r >= 0)
		r = bus_dict_add_string(&dict, "reason", ok ? "" : e.message);
	if (r >= 0)
		r = bus_dict_add_u32(&dict, "snapshot-count", (uint32_t)n_snaps);
	if (r >= 0)
		r = bus_dict_add_string(&dict, "mountpoint", mounts && mounts[0] ? mounts[0] : "");
	if (r >= 0)
		r = bus_dict_add_bool(&dict, "managed", ok && volume_find(d, v.name));
	provider_volume_done(&v);
	if (r < 0 || !dbus_message_iter_close_container(arr, &dict))
		return -ENOMEM;
	return 0;
}

static int kname_cmp(const struct dirent **a, const struct dirent **b)
{
	return strverscmp((*a)->d_name, (*b)->d_name);
}

static int method_list_volumes(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Daemon *d = u;
	struct dirent **names = NULL;
	DBusMessage *reply = dbus_message_new_method_return(m);
	DBusMessageIter it, arr;
	int n, r = 0;

	if (!reply)
		return -ENOMEM;
	n = scandir("/sys/class/block", &names, NULL, kname_cmp);
	dbus_message_iter_init_append(reply, &it);
	if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &arr))
		r = -ENOMEM;
	for (int i = 0; i < n; i++) {
		if (r >= 0 && names[i]->d_name[0] != '.')
			r = append_volume(d, &arr, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	if (r >= 0 && !dbus_message_iter_close_container(&it, &arr))
		r = -ENOMEM;
	if (r < 0) {
		dbus_message_unref(reply);
		return r;
	}
	return bus_send(b, reply);
}

static int method_list_providers(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Daemon *d = u;
	DBusMessage *reply = dbus_message_new_method_return(m);
	DBusMessageIter it, arr, dict;
	bool ok;

	if (!reply)
		return -ENOMEM;
	dbus_message_iter_init_append(reply, &it);
	ok = dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &arr);
	for (size_t i = 0; ok && i < d->providers.n; i++) {
		const ProviderOps *o = d->providers.providers[i].ops;

		ok = dbus_message_iter_open_container(&arr, DBUS_TYPE_ARRAY, "{sv}", &dict) &&
		     bus_dict_add_string(&dict, "name", o->name) >= 0 &&
		     bus_dict_add_string(&dict, "id", o->id) >= 0 &&
		     bus_dict_add_string(&dict, "type", provider_type_to_string(o->type)) >= 0 &&
		     bus_dict_add_string(&dict, "version", o->version) >= 0 &&
		     dbus_message_iter_close_container(&arr, &dict);
	}
	if (!ok || !dbus_message_iter_close_container(&it, &arr)) {
		dbus_message_unref(reply);
		return -ENOMEM;
	}
	return bus_send(b, reply);
}

/* ---- writers --------------------------------------------------------------------------------- */

static int method_register_writer(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Daemon *d = u;
	DBusMessageIter it;
	const char *object;
	Writer *w;
	int r;

	dbus_message_iter_init(m, &it);
	dbus_message_iter_get_basic(&it, &object);
	dbus_message_iter_next(&it);
	r = writer_register(d, c, object, &it, &w, err);
	if (r < 0)
		return r;
	return bus_send(b, ({
				DBusMessage *reply = dbus_message_new_method_return(m);
				const char *id = w->id_str;

				if (reply && !dbus_message_append_args(reply, DBUS_TYPE_STRING, &id,
		                                                       DBUS_TYPE_INVALID)) {
					dbus_message_unref(reply);
					reply = NULL;
				}
				reply;
			}));
}

static int method_unregister_writer(Bus *b, DBusMessage *m, void *u, const BusCaller *c,
                                    VssErr *err)
{
	Daemon *d = u;
	const char *id;
	Writer *w;
	VssId iid;

	if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &id, DBUS_TYPE_INVALID))
		return -EINVAL;
	if (vssid_from_string(id, &iid) < 0)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL,
		                   "\"%.64s\" is not a UUID (8-4-4-4-12 hex digits)",
		                   bus_safe_string(id));
	w = writer_find(d, &iid);
	if (!w)
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, -ENOENT,
		                   "there is no writer with instance id %s", id);
	if (!streq(w->owner, c->name) && c->uid != 0)
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, -EACCES,
		                   "writer %s belongs to another connection", id);
	log_writer_notice(w->id_str, NULL, "%s unregistered", w->name);
	writer_free(w);
	return bus_reply_empty(b, m);
}

static int reply_writer_list(Daemon *d, DBusMessage *m)
{
	DBusMessage *reply = dbus_message_new_method_return(m);
	DBusMessageIter it, arr;

	if (!reply)
		return -ENOMEM;
	dbus_message_iter_init_append(reply, &it);
	if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &arr))
		goto oom;
	for (size_t i = 0; i < d->n_writers; i++)
		if (writer_append_dict(d->writers[i], &arr, false) < 0)
			goto oom;
	if (!dbus_message_iter_close_container(&it, &arr))
		goto oom;
	return bus_send(&d->bus, reply);
oom:
	dbus_message_unref(reply);
	return -ENOMEM;
}

typedef struct ListCall {
	Daemon *d;
	DBusMessage *m;
} ListCall;

static void on_list_identified(WriterBroadcast *bc, int r, const VssErr *err, void *userdata)
{
	ListCall *l = userdata;

	writer_broadcast_cancel(bc);
	if (reply_writer_list(l->d, l->m) < 0)
		(void)bus_reply_error(&l->d->bus, l->m, NULL, -ENOMEM);
	dbus_message_unref(l->m);
	free(l);
}

static int method_list_writers(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Daemon *d = u;
	dbus_bool_t refresh;
	_cleanup_free_ VssId *ids = NULL;
	WriterEventArgs args = { 0 };
	ListCall *l;
	int r;

	if (!dbus_message_get_args(m, NULL, DBUS_TYPE_BOOLEAN, &refresh, DBUS_TYPE_INVALID))
		return -EINVAL;
	if (!refresh || d->n_writers == 0)
		return reply_writer_list(d, m);
	/* like vssadmin list writers: Identify first, answer when all did (or timed out) */
	ids = calloc(d->n_writers, sizeof(VssId));
	l = calloc(1, sizeof(*l));
	if (!ids || !l) {
		free(l);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d->n_writers; i++)
		ids[i] = d->writers[i]->instance_id;
	*l = (ListCall){ .d = d, .m = dbus_message_ref(m) };
	r = writer_broadcast_start(d, WRITER_EVENT_IDENTIFY, ids, d->n_writers, &args,
	                           on_list_identified, l, NULL);
	if (r < 0) {
		dbus_message_unref(l->m);
		free(l);
		return r;
	}
	return 0;
}

static int method_create_volume(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	const char *device, *name = NULL;
	const BusOption opts[] = {
		{ "name", 's', &name },
		{ NULL },
	};
	_cleanup_free_ char *volume = NULL;
	DBusMessageIter it;
	DBusMessage *reply;
	int r;

	dbus_message_iter_init(m, &it);
	dbus_message_iter_get_basic(&it, &device);
	dbus_message_iter_next(&it);
	r = bus_read_options(&it, opts, err);
	if (r >= 0)
		r = volume_create(u, device, name, &volume, err);
	if (r < 0)
		return r;
	reply = dbus_message_new_method_return(m);
	if (!reply ||
	    !dbus_message_append_args(reply, DBUS_TYPE_STRING, &volume, DBUS_TYPE_INVALID)) {
		if (reply)
			dbus_message_unref(reply);
		return -ENOMEM;
	}
	return bus_send(b, reply);
}

static int method_remove_volume(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	const char *volume;
	int r;

	if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &volume, DBUS_TYPE_INVALID))
		return -EINVAL;
	r = volume_remove(u, volume, err);
	return r < 0 ? r : bus_reply_empty(b, m);
}

/* ---- shadow storage -------------------------------------------------------------------------- */

static int method_add_storage(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	const char *volume, *location;
	uint64_t max;
	int r;

	if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &volume, DBUS_TYPE_STRING, &location,
	                           DBUS_TYPE_UINT64, &max, DBUS_TYPE_INVALID))
		return -EINVAL;
	r = storage_add(u, volume, location, max, err);
	return r < 0 ? r : bus_reply_empty(b, m);
}

static int method_resize_storage(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	const char *volume;
	uint64_t max;
	int r;

	if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &volume, DBUS_TYPE_UINT64, &max,
	                           DBUS_TYPE_INVALID))
		return -EINVAL;
	r = storage_resize(u, volume, max, err);
	return r < 0 ? r : bus_reply_empty(b, m);
}

static int method_delete_storage(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	bool delete_snapshots = false;
	const BusOption opts[] = {
		{ "delete-snapshots", 'b', &delete_snapshots },
		{ NULL },
	};
	DBusMessageIter it;
	const char *volume;
	int r;

	dbus_message_iter_init(m, &it);
	dbus_message_iter_get_basic(&it, &volume);
	dbus_message_iter_next(&it);
	r = bus_read_options(&it, opts, err);
	if (r >= 0)
		r = storage_delete(u, volume, delete_snapshots, err);
	return r < 0 ? r : bus_reply_empty(b, m);
}

static int append_storage(Daemon *d, DBusMessageIter *arr, const char *volume_name)
{
	StorageAssoc *a = storage_find(d, volume_name);
	_cleanup_free_ char *volume = NULL;
	DBusMessageIter dict;
	StorageUsage u;
	int r;

	r = storage_usage(d, volume_name, &u);
	if (r < 0)
		return r;
	if (asprintf(&volume, "/dev/mapper/%s", volume_name) < 0)
		return -ENOMEM;
	if (!dbus_message_iter_open_container(arr, DBUS_TYPE_ARRAY, "{sv}", &dict))
		return -ENOMEM;
	r = bus_dict_add_string(&dict, "volume", volume);
	if (r >= 0)
		r = bus_dict_add_string(&dict, "location", a ? a->location : d->config.storage_dir);
	if (r >= 0)
		r = bus_dict_add_u64(&dict, "used-bytes", u.used);
	if (r >= 0)
		r = bus_dict_add_u64(&dict, "allocated-bytes", u.allocated);
	if (r >= 0)
		r = bus_dict_add_u64(&dict, "max-bytes", u.max);
	if (r >= 0)
		r = bus_dict_add_u32(&dict, "snapshot-count", u.n_snapshots);
	if (r >= 0)
		r = bus_dict_add_bool(&dict, "default", !a);
	if (r < 0 || !dbus_message_iter_close_container(arr, &dict))
		return -ENOMEM;
	return 0;
}

/* Every volume with an association or with shadow copies */
static int method_list_storage(Bus *b, DBusMessage *m, void *u, const BusCaller *c, VssErr *err)
{
	Daemon *d = u;
	_cleanup_strv_free_ char **names = NULL;
	DBusMessage *reply = dbus_message_new_method_return(m);
	DBusMessageIter it, arr;
	int r = 0;

	if (!reply)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_storage && r >= 0; i++)
		if (!strv_contains(names, d->storage[i].volume_name))
			r = strv_extend(&names, d->storage[i].volume_name);
	for (size_t i = 0; i < d->n_sets && r >= 0; i++)
		for (size_t j = 0; j < d->sets[i]->n_snaps && r >= 0; j++) {
			Snapshot *s = d->sets[i]->snaps[j];

			if (s->state != SNAPSHOT_STATE_PREPARING &&
			    !strv_contains(names, s->volume_name))
				r = strv_extend(&names, s->volume_name);
		}
	dbus_message_iter_init_append(reply, &it);
	if (r >= 0 && !dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &arr))
		r = -ENOMEM;
	for (char **n = names; r >= 0 && n && *n; n++)
		r = append_storage(d, &arr, *n);
	if (r >= 0 && !dbus_message_iter_close_container(&it, &arr))
		r = -ENOMEM;
	if (r < 0) {
		dbus_message_unref(reply);
		return r;
	}
	return bus_send(b, reply);
}

static int prop_version(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_string(it, VSSD_VERSION);
}

static int prop_max_shadow_copies(Bus *b, void *u, DBusMessageIter *it)
{
	return bus_append_u32(it, ((Daemon *)u)->config.max_shadow_copies);
}

static int prop_set_in_progress(Bus *b, void *u, DBusMessageIter *it)
{
	Daemon *d = u;

	return bus_append_path(it, d->creating ? d->creating->path : "/");
}

static const BusMethod manager_methods[] = {
	{ "StartSnapshotSet", "a{sv}", method_start, BUS_ACCESS_ADMIN },
	{ "CreateSnapshotSet", "asa{sv}", method_create, BUS_ACCESS_ADMIN },
	{ "DeleteSnapshots", "a{sv}", method_delete, BUS_ACCESS_ADMIN },
	{ "ListVolumes", "", method_list_volumes, BUS_ACCESS_ADMIN },
	{ "ListProviders", "", method_list_providers, BUS_ACCESS_ADMIN },
	{ "RegisterWriter", "oa{sv}", method_register_writer, BUS_ACCESS_WRITER },
	{ "UnregisterWriter", "s", method_unregister_writer, BUS_ACCESS_WRITER },
	{ "ListWriters", "b", method_list_writers, BUS_ACCESS_ADMIN },
	{ "CreateVolume", "sa{sv}", method_create_volume, BUS_ACCESS_ADMIN },
	{ "RemoveVolume", "s", method_remove_volume, BUS_ACCESS_ADMIN },
	{ "AddStorage", "sst", method_add_storage, BUS_ACCESS_ADMIN },
	{ "ResizeStorage", "st", method_resize_storage, BUS_ACCESS_ADMIN },
	{ "DeleteStorage", "sa{sv}", method_delete_storage, BUS_ACCESS_ADMIN },
	{ "ListStorage", "", method_list_storage, BUS_ACCESS_ADMIN },
	{ "StartRestore", "sa{sv}", restore_dbus_start, BUS_ACCESS_ADMIN },
	{ NULL },
};

static const BusProperty manager_properties[] = {
	{ "Version", "s", prop_version },
	{ "MaxShadowCopies", "u", prop_max_shadow_copies },
	{ "SetInProgress", "o", prop_set_in_progress },
	{ NULL },
};

const BusInterface daemon_manager_interface = {
	.name = VSSD_IFACE_MANAGER,
	.methods = manager_methods,
	.properties = manager_properties,
};
