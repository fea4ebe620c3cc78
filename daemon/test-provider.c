/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-provider.c - the provider registry: lookup, pick order, errors; the dm-snapshot table */
#include "daemon/provider-dmsnap.h"
#include "daemon/provider-lvm.h"
#include "daemon/provider.h"
#include "daemon/snapshot.h"
#include "tests/lib/check-main.h"
#include "tests/lib/test-daemon.h"

/* A provider that supports nothing, ranked first: no volume is its kind (-EMEDIUMTYPE) */
static int never_probe(Provider *p, const char *path, ProviderVolume *ret, VssErr *err)
{
	(*(int *)p->env)++;
	return vss_err_set(err, VSS_ERROR_VOLUME_NOT_SUPPORTED, -EMEDIUMTYPE, "never %s", path);
}

static const ProviderOps never_ops = {
	.name = "never",
	.id = "00000000-0000-4000-8000-00000000abcd",
	.version = "1",
	.type = PROVIDER_TYPE_SOFTWARE,
	.pick_rank = 5,
	.probe = never_probe,
};

START_TEST(lookup_and_pick)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	ProviderRegistry *reg;
	ProviderVolume v = { 0 };
	Provider *p = NULL;
	VssErr err = { 0 };
	char path[64];
	int probes = 0;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	reg = &t->d.providers;
	/* in pick order: lvm-thin, lvm, dm-snapshot */
	ck_assert_uint_eq(reg->n, 3);
	ck_assert_str_eq(reg->providers[0].ops->name, "lvm-thin");
	ck_assert_str_eq(reg->providers[1].ops->name, "lvm");
	ck_assert_ptr_eq(provider_find_by_name(reg, "dm-snapshot"), &reg->providers[2]);
	ck_assert_ptr_eq(provider_find_by_id(reg, PROVIDER_DMSNAP_ID), &reg->providers[2]);
	ck_assert_ptr_eq(provider_find_by_id(reg, PROVIDER_LVM_ID), &reg->providers[1]);
	ck_assert_ptr_eq(provider_find_by_id(reg, PROVIDER_LVM_THIN_ID), &reg->providers[0]);
	ck_assert_ptr_null(provider_find_by_name(reg, "zfs"));
	ck_assert_ptr_eq(provider_ops_by_name("dm-snapshot"), &provider_dmsnap_ops);
	ck_assert_ptr_eq(provider_ops_by_name("lvm"), &provider_lvm_ops);
	ck_assert_ptr_null(provider_ops_by_name("zfs"));
	ck_assert_str_eq(provider_type_to_string(provider_dmsnap_ops.type), "system");
	ck_assert_int_eq(provider_register(reg, &provider_dmsnap_ops, reg->providers[2].env),
	                 -EEXIST);

	/* by name, by id, and "" (picked by probing) */
	test_daemon_volume_path(t, 0, path);
	ck_assert_int_eq(provider_pick(reg, "dm-snapshot", path, &p, &v, &err), 0);
	ck_assert_str_eq(p->ops->name, "dm-snapshot");
	ck_assert_str_eq(v.name, t->volume[0]);
	ck_assert_str_eq(v.dev_path, path);
	ck_assert_uint_eq(v.sectors, TEST_DAEMON_SECTORS);
	provider_volume_done(&v);
	ck_assert_int_eq(provider_pick(reg, PROVIDER_DMSNAP_ID, path, &p, NULL, &err), 0);
	ck_assert_int_eq(provider_pick(reg, "", path, &p, NULL, &err), 0);
	ck_assert_str_eq(p->ops->name, "dm-snapshot");

	/* an unknown name lists the registered ones */
	ck_assert_int_eq(provider_pick(reg, "zfs", path, &p, NULL, &err), -ENOENT);
	ck_assert_int_eq(err.kind, VSS_ERROR_OBJECT_NOT_FOUND);
	ck_assert_str_eq(err.message, "there is no provider \"zfs\"; the providers are: "
	                              "lvm-thin (" PROVIDER_LVM_THIN_ID "), lvm (" PROVIDER_LVM_ID
	                              "), dm-snapshot (" PROVIDER_DMSNAP_ID ")");
	/* an LVM provider named for a volume that is not LVM's says so */
	err = (VssErr){ 0 };
	ck_assert_int_eq(provider_pick(reg, "lvm", path, &p, NULL, &err), -EOPNOTSUPP);
	ck_assert_int_eq(err.kind, VSS_ERROR_VOLUME_NOT_SUPPORTED);
	ck_assert_ptr_nonnull(strstr(err.message, "not an LVM logical volume"));

	/* pick order: the lower rank is asked first; one that refuses passes the volume on */
	ck_assert_int_eq(provider_register(reg, &never_ops, &probes), 0);
	ck_assert_str_eq(reg->providers[0].ops->name, "never");
	err = (VssErr){ 0 };
	ck_assert_int_eq(provider_pick(reg, "", path, &p, NULL, &err), 0);
	ck_assert_str_eq(p->ops->name, "dm-snapshot");
	ck_assert_int_eq(probes, 1);
	ck_assert(!vss_err_is_set(&err));
	/* named, it answers for itself */
	ck_assert_int_eq(provider_pick(reg, "never", path, &p, NULL, &err), -EOPNOTSUPP);
	ck_assert_int_eq(err.kind, VSS_ERROR_VOLUME_NOT_SUPPORTED);
	/* nothing supports a missing volume: dm-snapshot's reason */
	err = (VssErr){ 0 };
	ck_assert_int_lt(provider_pick(reg, "", "/dev/mapper/none", &p, NULL, &err), 0);
	ck_assert_int_eq(err.kind, VSS_ERROR_OBJECT_NOT_FOUND);
}
END_TEST

/* The provider's object of a shadow copy goes to the state and back unchanged */
START_TEST(export_import)
{
	_cleanup_(test_daemon_freep) TestDaemon *t = NULL;
	Snapset *s;
	Snapshot *snap;
	Provider *p;
	ProviderSnap *back = NULL;
	json_object *o = NULL;
	char *error = NULL;
	const DmsnapSnapshot *a, *b;

	ck_assert_int_eq(test_daemon_new(&t), 0);
	s = test_created_set(t, "persistent", 1);
	snap = s->snaps[0];
	p = snap->provider;
	ck_assert_int_eq(p->ops->snap_export(snap->ps, &o), 0);
	ck_assert_int_eq(p->ops->state_check(o, "x", &error), 0);
	ck_assert_int_eq(
		p->ops->snap_import(p,
	                            &(const ProviderSnapBase){ .id = snap->id,
	                                                       .set_id = s->id,
	                                                       .volume_name = snap->volume_name,
	                                                       .sectors = snap->sectors,
	                                                       .persistent = true },
	                            o, "x", &back, &error),
		0);
	a = test_dm(snap);
	b = provider_dmsnap_snap(back);
	ck_assert_str_eq(a->snap_name, b->snap_name);
	ck_assert_str_eq(a->cow_path, b->cow_path);
	ck_assert_str_eq(a->volume_name, b->volume_name);
	ck_assert_uint_eq(a->cow_bytes, b->cow_bytes);
	ck_assert_uint_eq(a->chunk_sectors, b->chunk_sectors);
	ck_assert_uint_eq(a->sectors, b->sectors);
	ck_assert(vssid_equal(&a->id, &b->id));
	p->ops->snap_free(back);

	/* its own rules: "x.<key>: <reason>" */
	json_object_object_add(o, "chunk_sectors", json_object_new_int(3));
	ck_assert_int_eq(p->ops->state_check(o, "x", &error), -EINVAL);
	ck_assert_str_eq(error, "x.chunk_sectors: 3 is out of range 8..1024");
	free(error);
	json_object_put(o);
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("provider",
	TEST(lookup_and_pick)
	TEST(export_import))
/* clang-format on */
