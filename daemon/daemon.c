/* SPDX-License-Identifier: GPL-2.0-or-later */
/* daemon.c - the daemon context: start-up order, recovery, state, registries, shutdown */
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
#include "daemon/recovery.h"
#include "daemon/revert.h"
#include "daemon/snapset.h"
#include "daemon/snapshot.h"
#include "daemon/state.h"
#include "daemon/storage.h"
#include "daemon/volume.h"
#include "daemon/writer.h"

/* ---- registries ------------------------------------------------------------------------------ */

int daemon_add_set(Daemon *d, Snapset *s)
{
	Snapset **n = reallocarray(d->sets, d->n_sets + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	d->sets = n;
	d->sets[d->n_sets++] = s;
	return 0;
}

void daemon_remove_set(Daemon *d, Snapset *s)
{
	for (size_t i = 0; i < d->n_sets; i++)
		if (d->sets[i] == s) {
			memmove(d->sets + i, d->sets + i + 1,
			        (d->n_sets - i - 1) * sizeof(*d->sets));
			d->n_sets--;
			return;
		}
}

void daemon_set_creating(Daemon *d, Snapset *s)
{
	static const char *const changed[] = { "SetInProgress", NULL };

	if (d->creating == s)
		return;
	d->creating = s;
	bus_emit_properties_changed(&d->bus, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER, changed);
}

Snapset *daemon_find_set(Daemon *d, const VssId *id)
{
	for (size_t i = 0; i < d->n_sets; i++)
		if (vssid_equal(&d->sets[i]->id, id))
			return d->sets[i];
	return NULL;
}

Snapshot *daemon_find_snapshot(Daemon *d, const VssId *id)
{
	for (size_t i = 0; i < d->n_sets; i++)
		for (size_t j = 0; j < d->sets[i]->n_snaps; j++)
			if (vssid_equal(&d->sets[i]->snaps[j]->id, id))
				return d->sets[i]->snaps[j];
	return NULL;
}

static int snap_cmp_age(const void *a, const void *b)
{
	const Snapshot *x = *(Snapshot *const *)a, *y = *(Snapshot *const *)b;

	return x->creation_time < y->creation_time ? -1 : x->creation_time > y->creation_time;
}

int daemon_snapshots(Daemon *d, bool (*match)(Snapshot *s, const void *arg), const void *arg,
                     Snapshot ***ret, size_t *ret_n)
{
	Snapshot **l = NULL;
	size_t n = 0;

	for (size_t i = 0; i < d->n_sets; i++)
		for (size_t j = 0; j < d->sets[i]->n_snaps; j++) {
			Snapshot *s = d->sets[i]->snaps[j], **x;

			if (s->state == SNAPSHOT_STATE_PREPARING || !match(s, arg))
				continue;
			x = reallocarray(l, n + 1, sizeof(*l));
			if (!x) {
				free(l);
				return -ENOMEM;
			}
			l = x;
			l[n++] = s;
		}
	*ret = l;
	*ret_n = n;
	return 0;
}

static bool match_volume(Snapshot *s, const void *volume_name)
{
	return streq(s->volume_name, volume_name);
}

int daemon_volume_snapshots(Daemon *d, const char *volume_name, Snapshot ***ret, size_t *ret_n)
{
	int r = daemon_snapshots(d, match_volume, volume_name, ret, ret_n);

	if (r >= 0 && *ret_n > 1)
		qsort(*ret, *ret_n, sizeof(**ret), snap_cmp_age);
	return r;
}

/* ---- state ----------------------------------------------------------------------------------- */

static int snapshot_to_state(const Snapshot *s, StateSnapshot *ret)
{
	StateSnapshot x = {
		.id = s->id,
		.set_id = s->set->id,
		.sectors = s->sectors,
		.persistent = s->persistent,
		.creation_time = s->creation_time,
	};
	int r;

	x.volume = strdup(s->volume);
	x.volume_name = strdup(s->volume_name);
	x.provider = strdup(s->provider->ops->name);
	x.state = strdup(snapshot_state_to_string(s->state));
	x.exposed_path = s->exposed_path ? strdup(s->exposed_path) : NULL;
	r = s->provider->ops->snap_export(snapshot_psnap_const(s), &x.provider_data);
	*ret = x;
	if (r < 0)
		return r;
	if (!x.volume || !x.volume_name || !x.provider || !x.state)
		return -ENOMEM;
	return 0;
}

/* What survives a restart: sets that have devices (created) or may have them (creating). */
static bool set_is_durable(const Snapset *s)
{
	if (s->state == SNAPSET_STATE_CREATING)
		return true;
	for (size_t i = 0; i < s->n_snaps; i++)
		if (s->snaps[i]->state != SNAPSHOT_STATE_PREPARING)
			return true;
	return false;
}

int daemon_save_state(Daemon *d)
{
	_cleanup_free_ char *error = NULL;
	State st = STATE_NULL;
	int r = 0;

	if (!d->state_path)
		return 0;
	for (size_t i = 0; i < d->n_sets && r >= 0; i++) {
		Snapset *s = d->sets[i];
		StateSet x = { .id = s->id,
			       .attributes = s->attributes,
			       .creation_time = s->creation_time,
			       .per_volume_instant = s->instant_per_volume };

		if (!set_is_durable(s))
			continue;
		x.context = strdup(snapset_context_to_string(s->context));
		x.backup_type = strdup(s->backup_type);
		x.description = strdup(s->description);
		/* the file knows creating, created and completed: an aborted or failed set
		 * that still has shadow copies keeps them as a created one does */
		x.state = strdup(s->state == SNAPSET_STATE_CREATING    ? "creating"
		                 : s->state == SNAPSET_STATE_COMPLETED ? "completed"
		                                                       : "created");
		x.snapshots = calloc(s->n_snaps ? s->n_snaps : 1, sizeof(StateSnapshot));
		if (!x.context || !x.backup_type || !x.description || !x.state || !x.snapshots)
			r = -ENOMEM;
		for (size_t j = 0; j < s->n_snaps && r >= 0; j++) {
			if (!s->snaps[j]->ps) /* nothing of it exists any more */
				continue;
			r = snapshot_to_state(s->snaps[j], &x.snapshots[x.n_snapshots]);
			x.n_snapshots++;
		}
		if (r >= 0)
			r = state_add_set(&st, &x);
		else
			state_set_done(&x);
	}
	for (size_t i = 0; i < d->n_storage && r >= 0; i++) {
		StateStorage x = { .max_bytes = d->storage[i].max_bytes };

		if (asprintf(&x.volume, "/dev/mapper/%s", d->storage[i].volume_name) < 0)
			x.volume = NULL;
		x.location = strdup(d->storage[i].location);
		r = x.volume && x.location ? state_add_storage(&st, &x) : -ENOMEM;
		if (r < 0)
			state_storage_done(&x);
	}
	if (r >= 0)
		r = volumes_save(d, &st);
	if (r >= 0)
		r = state_save(d->state_path, &st, &error);
	state_done(&st);
	if (r < 0)
		return log_error_errno(r, "cannot write %s: %s", d->state_path,
		                       error ? error : strerror(-r));
	d->n_state_saves++;
	return 0;
}

/* ---- signals --------------------------------------------------------------------------------- */

void daemon_emit_manager_signal(Daemon *d, const char *member, const char *a, const char *b,
                                const char *c, const uint64_t *u1, const uint64_t *u2)
{
	DBusMessage *s = dbus_message_new_signal(VSSD_ROOT_PATH, VSSD_IFACE_MANAGER, member);
	DBusMessageIter it;

	if (!s)
		return;
	dbus_message_iter_init_append(s, &it);
	if ((a && bus_append_string(&it, a) < 0) || (b && bus_append_string(&it, b) < 0) ||
	    (c && bus_append_string(&it, c) < 0) || (u1 && bus_append_u64(&it, *u1) < 0) ||
	    (u2 && bus_append_u64(&it, *u2) < 0)) {
		dbus_message_unref(s);
		return;
	}
	(void)bus_emit_signal(&d->bus, s);
	dbus_message_unref(s);
}

/* ---- bus peers ------------------------------------------------------------------------------- */

/* Releases every set owned by name (every owned set when name is NULL). */
static void release_owned(Daemon *d, const char *name)
{
	/* release() may free the set and change the array: restart after each */
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < d->n_sets; i++) {
			Snapset *s = d->sets[i];

			if (!s->owner || (name && !streq(s->owner, name)))
				continue;
			log_set_notice(s->id_str, "owner %s %s, releasing", s->owner,
			               name ? "left the bus" : "is cut off by the shutdown");
			snapset_release(s);
			again = true;
			break;
		}
	}
}

static void daemon_on_peer_gone(void *userdata, const char *name)
{
	writers_peer_gone(userdata, name);
	release_owned(userdata, name);
}

/* ---- lifetime -------------------------------------------------------------------------------- */

static const BusInterface *const root_ifaces[] = { &daemon_manager_interface, NULL };

static int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int daemon_init(Daemon *d, const DaemonOptions *o)
{
	_cleanup_free_ char *error = NULL;
	const char *config = o->config_path ? o->config_path : CONFIG_PATH_DEFAULT;
	int r;

	/* 1. loop and signals, before any thread exists (threads inherit the mask) */
	r = sd_event_default(&d->event);
	if (r < 0)
		return log_error_errno(r, "cannot create the event loop: %m");
	r = sd_event_add_signal(d->event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
	if (r >= 0)
		r = sd_event_add_signal(d->event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, NULL,
		                        NULL);
	/* SIGHUP too: its default action would skip the cleanup (no reload to do) */
	if (r >= 0)
		r = sd_event_add_signal(d->event, NULL, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, NULL,
		                        NULL);
	if (r < 0)
		return log_error_errno(r, "cannot watch signals: %m");
	(void)signal(SIGPIPE, SIG_IGN);
	(void)sd_event_set_watchdog(d->event, true);

	/* 2. configuration */
	r = config_init_defaults(&d->config);
	if (r < 0)
		return log_oom();
	r = config_load(config, &d->config, &error);
	if (r == -ENOENT && !o->config_path)
		log_debug("no %s, using defaults", config);
	else if (r < 0)
		return log_error_errno(r, "%s", error ? error : "cannot read the configuration");

	/* Test-only fault points: refused when unknown, and loud, so that nobody runs them by
	 * accident and no test passes with a fault that never happened. */
	{
		const char *spec = getenv(FAULT_ENV);
		char *bad = NULL;

		r = fault_points_parse(spec, &d->faults, &bad);
		if (r == -EINVAL)
			return log_error_errno(r,
			                       "%s=\"%s\": unknown fault point or bad value at "
			                       "\"%s\"",
			                       FAULT_ENV, spec, strempty(bad));
		if (r < 0)
			return log_oom();
		if (d->faults)
			log_warning("TEST FAULT POINTS ON (%s=%s): this vssd misbehaves on purpose "
			            "and must never manage real data",
			            FAULT_ENV, spec);
	}

	/* 3. engine */
	r = dmdev_libdm_new(&d->dm);
	if (r < 0)
		return log_error_errno(r, "cannot initialise libdevmapper: %m");
	d->own_dm = true;
	{
		_cleanup_strv_free_ char **names = NULL;

		/* fail early and plainly where the kernel has no device-mapper */
		r = dmdev_list(d->dm, &names);
		if (r < 0)
			return log_error_errno(r, "device-mapper is not usable here (is dm_mod "
			                          "loaded? /dev/mapper/control?): %m");
	}
	d->host = &host_real;

	/* 4. directories, providers, state, recovery: before anyone can reach us */
	d->state_dir = strdup(o->state_dir ? o->state_dir : VSSD_STATE_DIR_DEFAULT);
	if (!d->state_dir || asprintf(&d->state_path, "%s/state.json", d->state_dir) < 0 ||
	    asprintf(&d->freeze_ledger, "%s/frozen", d->state_dir) < 0)
		return log_oom();
	r = daemon_register_providers(d);
	if (r < 0)
		return log_error_errno(r, "cannot register the providers: %m");
	r = mkdir_p(d->state_dir, 0700);
	if (r < 0)
		return log_error_errno(r, "cannot create %s: %m", d->state_dir);
	r = mkdir_p(d->config.storage_dir, 0700);
	if (r < 0)
		return log_error_errno(r, "cannot create %s: %m", d->config.storage_dir);
	r = daemon_recover(d);
	if (r < 0)
		return r;

	/* 5. bus, objects, then the name: clients never see a half-built daemon */
	r = bus_init(&d->bus, d->event, o->bus_address, daemon_on_peer_gone, d);
	if (r < 0)
		return r;
	r = bus_add_object(&d->bus, VSSD_ROOT_PATH, root_ifaces, d);
	if (r < 0)
		return log_oom();
	for (size_t i = 0; i < d->n_sets; i++) {
		r = snapset_export(d->sets[i]);
		for (size_t j = 0; r >= 0 && j < d->sets[i]->n_snaps; j++)
			r = snapshot_export(d->sets[i]->snaps[j]);
		if (r < 0)
			return log_error_errno(r, "cannot export objects: %m");
	}
	/* 6. storage monitoring: one look now (a restart may find full COWs), then on events */
	r = monitor_new(d, &d->monitor);
	if (r < 0)
		return log_error_errno(r, "cannot watch shadow storage: %m");
	monitor_sync(d->monitor);
	monitor_check(d->monitor);

	r = bus_request_name(&d->bus, VSSD_BUS_NAME);
	if (r < 0)
		return r;
	log_info("vssd %s ready: %zu sets restored", VSSD_VERSION, d->n_sets);
	return 0;
}

int daemon_register_providers(Daemon *d)
{
	const ProviderHostEnv h = {
		.dm = d->dm,
		.host = d->host,
		.config = &d->config,
		.faults = d->faults,
		.event = d->event,
	};

	provider_registry_done(&d->providers);
	return provider_register_builtin(&d->providers, &h);
}

void daemon_done(Daemon *d)
{
	/* Sessions end with the daemon: creations roll back, auto-release snapshots go. */
	d->stopping = true;
	d->monitor = monitor_free(d->monitor);
	release_owned(d, NULL);
	while (d->n_sets > 0) {
		Snapset *s = d->sets[d->n_sets - 1];

		daemon_remove_set(d, s);
		snapset_free(s); /* objects only: persistent snapshots stay */
	}
	free(d->sets);
	d->sets = NULL;
	writer_broadcasts_done(d);
	while (d->n_writers > 0)
		writer_free(d->writers[d->n_writers - 1]);
	storage_done(d);
	volumes_done(d);
	free(d->writers);
	d->writers = NULL;
	bus_done(&d->bus);
	if (d->own_dm)
		d->dm = dmdev_libdm_free(d->dm);
	provider_registry_done(&d->providers);
	config_done(&d->config);
	d->faults = fault_points_free(d->faults);
	free(d->state_dir);
	free(d->state_path);
	free(d->freeze_ledger);
	d->state_dir = d->state_path = d->freeze_ledger = NULL;
	d->event = sd_event_unref(d->event);
}
