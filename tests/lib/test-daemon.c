/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-daemon.c - a fresh Daemon for unit tests: sd-event, default config, fake dm and host, no bus
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>

#include "daemon/dmdev.h"
#include "daemon/monitor.h"
#include "daemon/snapset-dbus.h"
#include "daemon/snapshot.h"
#include "daemon/storage.h"
#include "daemon/writer.h"
#include "tests/lib/test-daemon.h"

static void tap(void *userdata, DBusMessage *m)
{
	TestDaemon *t = userdata;
	DBusMessage **n = reallocarray(t->sent, t->n_sent + 1, sizeof(*n));

	if (!n)
		return;
	t->sent = n;
	t->sent[t->n_sent++] = dbus_message_ref(m);
}

static void add_volume(TestDaemon *t)
{
	size_t i = t->n_volumes;
	char path[64], params[32];

	if (i < 26)
		snprintf(t->volume[i], sizeof(t->volume[i]), "%c", (char)('a' + i));
	else
		snprintf(t->volume[i], sizeof(t->volume[i]), "v%zu", i);
	snprintf(params, sizeof(params), "7:%zu 0", i);
	t->devno[i] = fake_dm_add(t->dm, t->volume[i], "", TEST_DAEMON_SECTORS, "linear", params);
	fake_host_add_block(t->host, test_daemon_volume_path(t, i, path), t->devno[i]);
	t->n_volumes++;
}

int test_daemon_new_opts(TestDaemon **ret, const TestDaemonOptions *o)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	size_t n = o && o->n_volumes ? o->n_volumes : 3;
	int r;

	if (n > TEST_DAEMON_VOLUMES_MAX)
		return -E2BIG;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->d = DAEMON_NULL;
	r = sd_event_new(&t->d.event);
	if (r < 0)
		return r;
	r = config_init_defaults(&t->d.config);
	if (r < 0)
		return r;
	r = fake_dm_new(&t->dm);
	if (r < 0)
		return r;
	r = fake_host_new(&t->host);
	if (r < 0)
		return r;
	/* as daemon_init() does, with the fakes in place of libdm and the real host */
	t->d.dm = fake_dm_dmdev(t->dm);
	t->d.host = fake_host_host(t->host);
	r = daemon_register_providers(&t->d);
	if (r < 0)
		return r;
	t->d.bus = BUS_NULL;
	t->d.bus.tap = tap;
	t->d.bus.tap_userdata = t;
	for (size_t i = 0; i < n; i++)
		add_volume(t);
	fake_host_add_dir(t->host, t->d.config.storage_dir, TEST_DAEMON_STORAGE_DEVNO);

	if (o && o->state_file) {
		snprintf(t->state_dir, sizeof(t->state_dir), "/tmp/test-daemon-XXXXXX");
		if (!mkdtemp(t->state_dir)) {
			r = -errno;
			t->state_dir[0] = 0;
			return r;
		}
		t->d.state_dir = strdup(t->state_dir);
		if (!t->d.state_dir ||
		    asprintf(&t->d.state_path, "%s/state.json", t->state_dir) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(t);
	return 0;
}

int test_daemon_new(TestDaemon **ret)
{
	return test_daemon_new_opts(ret, NULL);
}

static void remove_state_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	(void)rmdir(dir);
}

TestDaemon *test_daemon_free(TestDaemon *t)
{
	Daemon *d;

	if (!t)
		return NULL;
	d = &t->d;
	d->stopping = true;
	d->monitor = monitor_free(d->monitor);
	/* sets first: a creation under way rolls back in the fake dm, broadcasts are cancelled */
	while (d->n_sets > 0) {
		Snapset *s = d->sets[d->n_sets - 1];

		daemon_remove_set(d, s);
		snapset_free(s);
	}
	free(d->sets);
	d->sets = NULL;
	d->creating = NULL;
	writer_broadcasts_done(d); /* as daemon_done(): the broadcasts' list itself too */
	while (d->n_writers > 0)
		writer_free(d->writers[d->n_writers - 1]);
	free(d->writers);
	d->writers = NULL;
	storage_done(d);
	bus_done(&d->bus); /* the object list; there is no connection */
	provider_registry_done(&d->providers);
	config_done(&d->config);
	if (t->state_dir[0])
		remove_state_dir(t->state_dir);
	free(d->state_dir);
	free(d->state_path);
	d->event = sd_event_unref(d->event);
	test_daemon_clear_sent(t);
	free(t->sent);
	fake_dm_free(t->dm);
	fake_host_free(t->host);
	free(t);
	return NULL;
}

const char *test_daemon_volume_path(TestDaemon *t, size_t i, char buf[static 64])
{
	snprintf(buf, 64, "/dev/mapper/%s", t->volume[i]);
	return buf;
}

const char *test_daemon_volume_table(TestDaemon *t, size_t i, char buf[static 64])
{
	snprintf(buf, 64, "linear 7:%zu 0", i);
	return buf;
}

BusCaller test_caller(const char *name, uid_t uid)
{
	return (BusCaller){ .name = (char *)name, .uid = uid, .pid = 1, .ready = true };
}

DBusMessage *test_call_new(TestDaemon *t, const char *path, const char *iface, const char *member,
                           const char *sender)
{
	DBusMessage *m = dbus_message_new_method_call(VSSD_BUS_NAME, path, iface, member);

	ck_assert_ptr_nonnull(m);
	dbus_message_set_serial(m, ++t->serial);
	ck_assert(dbus_message_set_sender(m, sender ? sender : TEST_DAEMON_OWNER));
	return m;
}

int test_daemon_call(TestDaemon *t, const BusInterface *iface, void *userdata, DBusMessage *m,
                     const BusCaller *c, VssErr *err)
{
	const char *member = dbus_message_get_member(m);

	for (const BusMethod *x = iface->methods; x && x->name; x++)
		if (streq(x->name, member))
			return x->fn(&t->d.bus, m, userdata, c, err);
	ck_abort_msg("%s has no method %s", iface->name, member);
	return -ENOENT;
}

size_t test_daemon_count_sent(TestDaemon *t, int type, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n_sent; i++) {
		DBusMessage *m = t->sent[i];
		const char *x = type == DBUS_MESSAGE_TYPE_ERROR    ? dbus_message_get_error_name(m)
		                : type == DBUS_MESSAGE_TYPE_SIGNAL ? dbus_message_get_member(m)
		                                                   : NULL;

		if (dbus_message_get_type(m) == type && (!name || streq_ptr(x, name)))
			n++;
	}
	return n;
}

DBusMessage *test_daemon_reply_to(TestDaemon *t, DBusMessage *m)
{
	uint32_t serial = dbus_message_get_serial(m);

	for (size_t i = 0; i < t->n_sent; i++) {
		int type = dbus_message_get_type(t->sent[i]);

		if ((type == DBUS_MESSAGE_TYPE_METHOD_RETURN || type == DBUS_MESSAGE_TYPE_ERROR) &&
		    dbus_message_get_reply_serial(t->sent[i]) == serial)
			return t->sent[i];
	}
	return NULL;
}

void test_daemon_clear_sent(TestDaemon *t)
{
	for (size_t i = 0; i < t->n_sent; i++)
		dbus_message_unref(t->sent[i]);
	t->n_sent = 0;
}

int test_start_set(TestDaemon *t, const char *owner, const char *context, bool no_writers,
                   bool no_auto_release, Snapset **ret, VssErr *err)
{
	DBusMessage *m =
		test_call_new(t, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER, "StartSnapshotSet", owner);
	BusCaller c = test_caller(owner ? owner : TEST_DAEMON_OWNER, 0);
	DBusMessageIter it, dict;
	size_t n = t->d.n_sets;
	int r;

	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(bus_dict_open(&it, &dict), 0);
	if (context)
		ck_assert_int_eq(bus_dict_add_string(&dict, "context", context), 0);
	if (no_writers)
		ck_assert_int_eq(bus_dict_add_bool(&dict, "no-writers", true), 0);
	if (no_auto_release)
		ck_assert_int_eq(bus_dict_add_bool(&dict, "no-auto-release", true), 0);
	ck_assert_int_eq(bus_dict_close(&it, &dict), 0);
	r = test_daemon_call(t, &daemon_manager_interface, &t->d, m, &c, err);
	dbus_message_unref(m);
	if (r >= 0) {
		ck_assert_uint_eq(t->d.n_sets, n + 1);
		*ret = t->d.sets[n];
	}
	return r;
}

Snapset *test_set(TestDaemon *t, const char *context, bool no_writers)
{
	VssErr err = { 0 };
	Snapset *s = NULL;

	ck_assert_msg(test_start_set(t, NULL, context, no_writers, false, &s, &err) >= 0, "%s",
	              err.message);
	return s;
}

Snapshot *test_add(Snapset *s, size_t i)
{
	TestDaemon *t = TEST_DAEMON(s->d);
	Snapshot *snap = NULL;
	VssErr err = { 0 };
	char p[64];

	ck_assert_msg(snapset_add_volume(s, test_daemon_volume_path(t, i, p), "", &snap, &err) >= 0,
	              "%s", err.message);
	return snap;
}

int test_create(Snapset *s, VssErr *err)
{
	TestDaemon *t = TEST_DAEMON(s->d);
	DBusMessage *m = test_call_new(t, s->path, VSSD_IFACE_SET, "DoSnapshotSet", s->owner);
	int r = snapset_create(s, snapset_dbus_reply_empty, dbus_message_ref(m), err);

	if (r < 0)
		dbus_message_unref(m); /* not taken */
	dbus_message_unref(m);
	return r;
}

/* StartSnapshotSet with no-writers, AddVolume of volumes [first, first + n), DoSnapshotSet */
static Snapset *created_set(TestDaemon *t, const char *context, bool no_auto_release, size_t first,
                            size_t n)
{
	VssErr err = { 0 };
	Snapset *s = NULL;

	ck_assert_msg(test_start_set(t, NULL, context, true, no_auto_release, &s, &err) >= 0, "%s",
	              err.message);
	for (size_t i = first; i < first + n; i++)
		(void)test_add(s, i);
	ck_assert_msg(test_create(s, &err) >= 0, "%s", err.message);
	ck_assert_str_eq(snapset_state_to_string(s->state), "created");
	return s;
}

Snapset *test_created_set(TestDaemon *t, const char *context, size_t n)
{
	return created_set(t, context, false, 0, n);
}

Snapshot *test_released_snapshot(TestDaemon *t, const char *context, size_t i, char dev[static 160])
{
	Snapset *s = created_set(t, context, true, i, 1);
	Snapshot *snap = s->snaps[0];
	DmdevInfo info;

	snapset_release(s); /* no-auto-release: the shadow copy stays, and so does its set */
	ck_assert_ptr_null(s->owner);
	ck_assert_uint_eq(s->n_snaps, 1);
	ck_assert_int_eq(dmdev_info(t->d.dm, test_dm(snap)->snap_name, &info), 0);
	ck_assert(info.exists);
	fake_host_add_block(t->host, snapshot_device(snap, dev, 160),
	                    makedev(info.major, info.minor));
	fake_dm_clear_calls(t->dm);
	return snap;
}

Writer *test_writer(TestDaemon *t, const char *name, const char *owner)
{
	return test_writer_with_components(t, name, owner, NULL);
}

Writer *test_writer_with_components(TestDaemon *t, const char *name, const char *owner,
                                    const char *const *components)
{
	DBusMessage *m = dbus_message_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH,
	                                              VSSD_IFACE_MANAGER, "RegisterWriter");
	BusCaller c = test_caller(owner ? owner : ":1.50", 0);
	DBusMessageIter it, dict;
	VssErr err = { 0 };
	Writer *w = NULL;
	char object[128];

	ck_assert_ptr_nonnull(m);
	snprintf(object, sizeof(object), "/w/%s", name);
	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(bus_dict_open(&it, &dict), 0);
	ck_assert_int_eq(bus_dict_add_string(&dict, "name", name), 0);
	ck_assert_int_eq(
		bus_dict_add_string(&dict, "class-id", "00000000-0000-4000-8000-000000000001"), 0);
	if (components) {
		DBusMessageIter e, v, a, comp;
		const char *key = "components";
		char *none[] = { NULL };

		ck_assert(dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &e));
		ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key));
		ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "aa{sv}", &v));
		ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
		for (const char *const *n = components; *n; n++) {
			ck_assert(dbus_message_iter_open_container(&a, DBUS_TYPE_ARRAY, "{sv}",
			                                           &comp));
			ck_assert_int_eq(bus_dict_add_string(&comp, "name", *n), 0);
			ck_assert_int_eq(bus_dict_add_strv(&comp, "paths", none), 0);
			ck_assert(dbus_message_iter_close_container(&a, &comp));
		}
		ck_assert(dbus_message_iter_close_container(&v, &a));
		ck_assert(dbus_message_iter_close_container(&e, &v));
		ck_assert(dbus_message_iter_close_container(&dict, &e));
	}
	ck_assert_int_eq(bus_dict_close(&it, &dict), 0);
	ck_assert(dbus_message_iter_init(m, &it));
	ck_assert_msg(writer_register(&t->d, &c, object, &it, &w, &err) == 0, "%s", err.message);
	dbus_message_unref(m);
	return w;
}
