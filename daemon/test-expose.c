/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-expose.c - Expose / Unexpose against fake dm and host: checks, options, delete, restart */
#include <sys/sysmacros.h>

#include "common/vssid.h"

#include "daemon/bus.h"
#include "daemon/dmdev.h"
#include "daemon/expose.h"
#include "daemon/snapshot-dbus.h"
#include "daemon/snapshot.h"
#include "tests/lib/check-main.h"
#include "tests/lib/test-daemon.h"

#define MNT "/mnt/snap"

/* A set of context over volume a, its shadow copy, and an empty directory MNT on 8:2 */
static Snapshot *setup(TestDaemon **ret, const char *context, const char *fstype,
                       char dev[static 160])
{
	Snapshot *s;

	ck_assert_int_eq(test_daemon_new(ret), 0);
	s = test_released_snapshot(*ret, context, 0, dev);
	if (fstype)
		fake_host_set_fstype((*ret)->host, dev, fstype);
	fake_host_add_dir((*ret)->host, MNT, makedev(8, 2));
	return s;
}

static bool snap_mounted_at(TestDaemon *t, const char *dev, const char *path)
{
	return fake_host_mount_options(t->host, path) != NULL && dev[0];
}

START_TEST(expose_ext4_and_unexpose)
{
	_cleanup_free_ char *got = NULL;
	VssErr err = { 0 };
	char dev[160];
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *s = setup(&t, "persistent", "ext4", dev);

	ck_assert_int_eq(expose_mount(s, MNT, &got, &err), 0);
	ck_assert_str_eq(got, MNT);
	ck_assert_str_eq(s->exposed_path, MNT);
	/* beside the mounted origin: no journal replay, no set-uid, no device nodes */
	ck_assert_str_eq(fake_host_mount_options(t->host, MNT), "ro,nodev,nosuid,noload");

	ck_assert_int_eq(expose_unmount(s, &err), 0);
	ck_assert_ptr_null(s->exposed_path);
	ck_assert_ptr_null(fake_host_mount_options(t->host, MNT));
	/* not exposed any more */
	ck_assert_int_eq(expose_unmount(s, &err), -ENOENT);
	ck_assert_int_eq(err.kind, VSS_ERROR_BAD_STATE);
}
END_TEST

START_TEST(expose_xfs_options)
{
	_cleanup_free_ char *got = NULL;
	VssErr err = { 0 };
	char dev[160];
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *s = setup(&t, "backup", "xfs", dev);

	ck_assert_int_eq(expose_mount(s, MNT, &got, &err), 0);
	ck_assert_str_eq(fake_host_mount_options(t->host, MNT),
	                 "ro,nodev,nosuid,nouuid,norecovery");
	ck_assert_str_eq(expose_mount_options("btrfs"), "ro,nodev,nosuid");
	ck_assert_str_eq(expose_mount_options("ext3"), "ro,nodev,nosuid,noload");
}
END_TEST

/* Each refusal names its error and leaves nothing mounted or recorded. */
static void refused(Snapshot *s, const char *path, VssError kind)
{
	_cleanup_free_ char *got = NULL;
	VssErr err = { 0 };

	ck_assert_int_lt(expose_mount(s, path, &got, &err), 0);
	ck_assert_msg(err.kind == kind, "%s: got %s (%s)", path, vss_error_info(err.kind)->name,
	              err.message);
	ck_assert_ptr_null(got);
	ck_assert_ptr_null(s->exposed_path);
}

START_TEST(expose_refusals)
{
	char dev[160];
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *s = setup(&t, "persistent", "ext4", dev);

	refused(s, "relative/dir", VSS_ERROR_INVALID_ARGUMENT);
	refused(s, "/mnt/../mnt/snap", VSS_ERROR_INVALID_ARGUMENT);
	refused(s, "/nonexistent", VSS_ERROR_OBJECT_NOT_FOUND);
	fake_host_add_file(t->host, "/etc/passwd");
	refused(s, "/etc/passwd", VSS_ERROR_INVALID_ARGUMENT);
	fake_host_add_dir(t->host, "/mnt/full", makedev(8, 2));
	fake_host_add_file(t->host, "/mnt/full/file");
	refused(s, "/mnt/full", VSS_ERROR_INVALID_ARGUMENT);
	/* a mount point already */
	fake_host_add_dir(t->host, "/mnt/other", makedev(8, 2));
	fake_host_add_mount(t->host, makedev(8, 3), "/mnt/other");
	refused(s, "/mnt/other", VSS_ERROR_INVALID_ARGUMENT);
	/* on the volume of the set itself */
	fake_host_add_dir(t->host, "/srv/a/empty", t->devno[0]);
	refused(s, "/srv/a/empty", VSS_ERROR_INVALID_ARGUMENT);

	/* not created, invalid, merging: BadState */
	s->state = SNAPSHOT_STATE_PREPARING;
	refused(s, MNT, VSS_ERROR_BAD_STATE);
	s->state = SNAPSHOT_STATE_INVALID;
	refused(s, MNT, VSS_ERROR_BAD_STATE);
	s->state = SNAPSHOT_STATE_MERGING;
	refused(s, MNT, VSS_ERROR_BAD_STATE);
	s->state = SNAPSHOT_STATE_CREATED;
	ck_assert_ptr_null(fake_host_mount_options(t->host, MNT));

	/* exposed already: BadState, and the first exposure stays */
	{
		_cleanup_free_ char *got = NULL;
		VssErr err = { 0 };

		ck_assert_int_eq(expose_mount(s, MNT, &got, &err), 0);
	}
	fake_host_add_dir(t->host, "/mnt/second", makedev(8, 2));
	{
		_cleanup_free_ char *got = NULL;
		VssErr err = { 0 };

		ck_assert_int_lt(expose_mount(s, "/mnt/second", &got, &err), 0);
		ck_assert_int_eq(err.kind, VSS_ERROR_BAD_STATE);
	}
	ck_assert_str_eq(s->exposed_path, MNT);
	ck_assert_ptr_null(fake_host_mount_options(t->host, "/mnt/second"));
}
END_TEST

/* On another shadow copy's exposure (a vssd device): refused */
START_TEST(expose_refuses_a_directory_on_a_shadow_copy)
{
	_cleanup_free_ char *got = NULL;
	VssErr err = { 0 };
	char dev[160], devb[160];
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *s = setup(&t, "persistent", "ext4", dev), *sb;
	DmdevInfo info;

	sb = test_released_snapshot(t, "persistent", 1, devb);
	ck_assert_int_eq(dmdev_info(t->d.dm, test_dm(sb)->snap_name, &info), 0);
	fake_host_add_dir(t->host, "/mnt/b-snap/dir", makedev(info.major, info.minor));
	ck_assert_int_lt(expose_mount(s, "/mnt/b-snap/dir", &got, &err), 0);
	ck_assert_int_eq(err.kind, VSS_ERROR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(expose_device_only)
{
	VssErr err = { 0 };
	char dev[160];
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *s = setup(&t, "persistent", NULL, dev);

	/* "": the device only, nothing mounted, nothing recorded */
	{
		_cleanup_free_ char *got = NULL;

		ck_assert_int_eq(expose_mount(s, "", &got, &err), 0);
		ck_assert_str_eq(got, "");
		ck_assert_ptr_null(s->exposed_path);
	}
	/* no file system recognised: the device only, with success */
	{
		_cleanup_free_ char *got = NULL;

		ck_assert_int_eq(expose_mount(s, MNT, &got, &err), 0);
		ck_assert_str_eq(got, "");
		ck_assert_ptr_null(s->exposed_path);
		ck_assert_ptr_null(fake_host_mount_options(t->host, MNT));
	}
	/* a file system that refuses the read-only mount: the device only as well */
	fake_host_set_fstype(t->host, dev, "btrfs");
	fake_host_fail_nth(t->host, FAKE_HOST_MOUNT, 1, -EINVAL);
	{
		_cleanup_free_ char *got = NULL;

		ck_assert_int_eq(expose_mount(s, MNT, &got, &err), 0);
		ck_assert_str_eq(got, "");
		ck_assert_ptr_null(s->exposed_path);
	}
	/* but a mount that fails for a reason of our own is an error */
	fake_host_fail_nth(t->host, FAKE_HOST_MOUNT, 1, -EPERM);
	{
		_cleanup_free_ char *got = NULL;

		ck_assert_int_eq(expose_mount(s, MNT, &got, &err), -EPERM);
		ck_assert_int_eq(err.kind, VSS_ERROR_UNEXPECTED_PROVIDER_ERROR);
		ck_assert_ptr_null(s->exposed_path);
	}
}
END_TEST

START_TEST(delete_unmounts_first_and_refuses_while_busy)
{
	_cleanup_free_ char *got = NULL;
	VssErr err = { 0 };
	char dev[160], name[128];
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *s = setup(&t, "persistent", "ext4", dev);
	Snapset *set = s->set;

	snprintf(name, sizeof(name), "%s", test_dm(s)->snap_name);
	ck_assert_int_eq(expose_mount(s, MNT, &got, &err), 0);
	fake_host_set_busy(t->host, MNT, true);
	ck_assert_int_eq(snapset_delete_snapshot(set, s, "test", &err), -EBUSY);
	ck_assert_int_eq(err.kind, VSS_ERROR_VOLUME_IN_USE);
	ck_assert_ptr_nonnull(strstr(err.message, MNT));
	/* nothing changed: still mounted, still there */
	ck_assert(fake_dm_exists(t->dm, name));
	ck_assert(snap_mounted_at(t, dev, MNT));
	ck_assert_str_eq(s->exposed_path, MNT);
	ck_assert_ptr_eq(daemon_find_snapshot(&t->d, &s->id), s);

	fake_host_set_busy(t->host, MNT, false);
	err = (VssErr){ 0 };
	ck_assert_int_eq(snapset_delete_snapshot(set, s, "test", &err), 0);
	ck_assert(!fake_dm_exists(t->dm, name));
	ck_assert_ptr_null(fake_host_mount_options(t->host, MNT));
	ck_assert_uint_eq(t->d.n_sets, 0); /* no owner, no shadow copies: the set went too */
}
END_TEST

/* A restart: an exposure that is still mounted stays; one that is gone is mounted again; one
 * that cannot be mounted again is forgotten. */
START_TEST(recover_mounts_again)
{
	_cleanup_free_ char *got = NULL;
	VssErr err = { 0 };
	char dev[160], devb[160];
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *s = setup(&t, "persistent", "ext4", dev), *sb;

	sb = test_released_snapshot(t, "persistent", 1, devb);
	fake_host_set_fstype(t->host, devb, "xfs");
	fake_host_add_dir(t->host, "/mnt/b", makedev(8, 2));
	ck_assert_int_eq(expose_mount(s, MNT, &got, &err), 0);
	/* b was exposed at /mnt/b before the restart, but nothing is mounted there now */
	sb->exposed_path = strdup("/mnt/b");

	expose_recover(&t->d);
	ck_assert_str_eq(s->exposed_path, MNT);
	ck_assert_str_eq(sb->exposed_path, "/mnt/b");
	ck_assert_str_eq(fake_host_mount_options(t->host, "/mnt/b"),
	                 "ro,nodev,nosuid,nouuid,norecovery");

	/* gone again, and its directory is not empty any more: forgotten */
	ck_assert_int_eq(expose_unmount(sb, &err), 0);
	sb->exposed_path = strdup("/mnt/b");
	fake_host_add_file(t->host, "/mnt/b/junk");
	expose_recover(&t->d);
	ck_assert_ptr_null(sb->exposed_path);
	ck_assert_str_eq(s->exposed_path, MNT);
}
END_TEST

/* vssadmin is not root: a mount point below a component others own or may write, or through a
 * symlink, is refused naming that component, and nothing is mounted */
START_TEST(expose_refuses_what_others_may_change)
{
	_cleanup_free_ char *got = NULL;
	VssErr err = { 0 };
	char dev[160];
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *s = setup(&t, "persistent", "ext4", dev);

	fake_host_add_dir(t->host, "/tmp/x", makedev(8, 2));
	fake_host_set_unsafe(t->host, "/tmp", -EACCES);
	ck_assert_int_eq(expose_mount(s, "/tmp/x", &got, &err), -EACCES);
	ck_assert_int_eq(err.kind, VSS_ERROR_ACCESS_DENIED);
	ck_assert_msg(strstr(err.message, "/tmp is writable by users other than root"), "%s",
	              err.message);
	fake_host_add_dir(t->host, "/home/u/x", makedev(8, 2));
	fake_host_set_unsafe(t->host, "/home/u", -EPERM);
	refused(s, "/home/u/x", VSS_ERROR_ACCESS_DENIED);
	fake_host_add_dir(t->host, "/mnt/link", makedev(8, 2));
	fake_host_set_unsafe(t->host, "/mnt/link", -ELOOP);
	refused(s, "/mnt/link", VSS_ERROR_INVALID_ARGUMENT);
	ck_assert_ptr_null(fake_host_mount_options(t->host, "/tmp/x"));
	ck_assert_ptr_null(fake_host_mount_options(t->host, "/mnt/link"));
}
END_TEST

/* auto-mount-point: vssd makes VSSD_EXPOSE_DIR/<id>, mounts there, and removes it again */
START_TEST(expose_auto_mount_point)
{
	_cleanup_free_ char *got = NULL, *want = NULL;
	VssErr err = { 0 };
	char dev[160], id[VSSID_PATH_MAX];
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *s = setup(&t, "persistent", "ext4", dev);

	ck_assert_int_ge(asprintf(&want, VSSD_EXPOSE_DIR "/%s", vssid_to_path(&s->id, id)), 0);
	/* a path and the option: one or the other */
	ck_assert_int_eq(expose_mount_flags(s, MNT, EXPOSE_AUTO_MOUNT_POINT, &got, &err), -EINVAL);
	ck_assert_int_eq(err.kind, VSS_ERROR_INVALID_ARGUMENT);
	ck_assert(!fake_host_dir_exists(t->host, want));

	ck_assert_int_eq(expose_mount_flags(s, "", EXPOSE_AUTO_MOUNT_POINT, &got, &err), 0);
	ck_assert_str_eq(got, want);
	ck_assert_str_eq(s->exposed_path, want);
	ck_assert(fake_host_dir_exists(t->host, want));
	ck_assert_str_eq(fake_host_mount_options(t->host, want), "ro,nodev,nosuid,noload");
	ck_assert_int_eq(expose_unmount(s, &err), 0);
	ck_assert_ptr_null(fake_host_mount_options(t->host, want));
	ck_assert(!fake_host_dir_exists(t->host, want));

	/* nothing mountable: the device only, and no directory left behind */
	fake_host_fail_nth(t->host, FAKE_HOST_MOUNT, 1, -EINVAL);
	free(got);
	got = NULL;
	ck_assert_int_eq(expose_mount_flags(s, "", EXPOSE_AUTO_MOUNT_POINT, &got, &err), 0);
	ck_assert_str_eq(got, "");
	ck_assert(!fake_host_dir_exists(t->host, want));

	/* gone with /run at a reboot: made again by recovery */
	free(got);
	got = NULL;
	ck_assert_int_eq(expose_mount_flags(s, "", EXPOSE_AUTO_MOUNT_POINT, &got, &err), 0);
	ck_assert_int_eq(expose_unmount(s, &err), 0);
	s->exposed_path = strdup(want);
	expose_recover(&t->d);
	ck_assert_str_eq(s->exposed_path, want);
	ck_assert(fake_host_dir_exists(t->host, want));
	ck_assert_str_eq(fake_host_mount_options(t->host, want), "ro,nodev,nosuid,noload");
}
END_TEST

/* Unexpose unmounts only the shadow copy's own mount: another mount put on the path since is
 * left alone, and the exposure is forgotten */
START_TEST(unexpose_leaves_other_mounts_alone)
{
	_cleanup_free_ char *got = NULL;
	VssErr err = { 0 };
	char dev[160];
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *s = setup(&t, "persistent", "ext4", dev);

	ck_assert_int_eq(expose_mount(s, MNT, &got, &err), 0);
	fake_host_add_mount(t->host, makedev(8, 9), MNT); /* on top: the visible one */
	ck_assert_int_eq(expose_unmount(s, &err), 0);
	ck_assert_ptr_null(s->exposed_path);
	ck_assert_ptr_nonnull(fake_host_mount_options(t->host, MNT)); /* ours is still below */
}
END_TEST

/* The bus method: strict options, and the reply */
START_TEST(method_options_are_strict)
{
	DBusMessage *m;
	DBusMessageIter it, dict;
	const char *path = MNT;
	VssErr err = { 0 };
	char dev[160];
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapshot *s = setup(&t, "persistent", "ext4", dev);

	m = dbus_message_new_method_call(VSSD_BUS_NAME, s->path, VSSD_IFACE_SNAP, "Expose");
	ck_assert_ptr_nonnull(m);
	dbus_message_iter_init_append(m, &it);
	ck_assert(dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &path));
	ck_assert_int_eq(bus_dict_open(&it, &dict), 0);
	ck_assert_int_eq(bus_dict_add_bool(&dict, "bogus", true), 0);
	ck_assert_int_eq(bus_dict_close(&it, &dict), 0);

	ck_assert_int_eq(snapshot_dbus_expose(&t->d.bus, m, s, NULL, &err), -EINVAL);
	ck_assert_int_eq(err.kind, VSS_ERROR_INVALID_ARGUMENT);
	ck_assert_ptr_null(s->exposed_path);
	ck_assert_ptr_null(fake_host_mount_options(t->host, MNT));
	dbus_message_unref(m);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("expose",
	TEST(expose_ext4_and_unexpose)
	TEST(expose_xfs_options)
	TEST(expose_refusals)
	TEST(expose_refuses_a_directory_on_a_shadow_copy)
	TEST(expose_device_only)
	TEST(delete_unmounts_first_and_refuses_while_busy)
	TEST(recover_mounts_again)
	TEST(method_options_are_strict)
	TEST(expose_refuses_what_others_may_change)
	TEST(expose_auto_mount_point)
	TEST(unexpose_leaves_other_mounts_alone))
/* clang-format on */
