/* SPDX-License-Identifier: GPL-2.0-or-later */
/* provider-lvm-internal.h - what provider-lvm.c (volumes, sets) and provider-lvm-snap.c
 * (snapshots, state, discovery, the two ops tables) share */
#pragma once

#include "daemon/provider-lvm.h"

static inline LvmEnv *lvm_env_of(Provider *p)
{
	return p->env;
}

/* Runs argv on a private loop; on failure err (may be NULL) gets what LVM said, escaped */
int lvm_env_run(LvmEnv *env, char *const *argv, usec_t timeout, LvmResult *ret, VssErr *err,
                const char *what);
/* The one LV with this uuid, or vg/lv when uuid is empty: 0 and *ret; -ENOENT */
int lvm_env_find(LvmEnv *env, const char *vg, const char *lv, const char *uuid, LvmLv *ret,
                 VssErr *err);
void lvm_snap_free(LvmSnap *s);
void lvm_env_drop_cache(LvmEnv *env);
/* Fills s->store from vg and pool */
int lvm_snap_make_store(LvmSnap *s);

int lvm_init(const ProviderHostEnv *h, void **ret_env);
int lvm_thin_init(const ProviderHostEnv *h, void **ret_env);
void lvm_done(void *env);
int lvm_probe(Provider *p, const char *path, ProviderVolume *ret, VssErr *err);
/* probe, and the LV's report row (ret_lv may be NULL) */
int lvm_probe_lv(Provider *p, const char *path, ProviderVolume *ret, LvmLv *ret_lv, VssErr *err);
uint64_t lvm_storage_min_bytes(Provider *p);
uint64_t lvm_storage_unit_bytes(Provider *p);
int lvm_set_begin(Provider *p, const VssId *set_id, bool persistent, ProviderSet **ret);
ProviderSet *lvm_set_free(ProviderSet *s);
int lvm_set_add(ProviderSet *s, const char *volume_path, const char *storage_dir,
                uint64_t storage_bytes, const VssId *snap_id, VssErr *err);
int lvm_set_remove(ProviderSet *s, const VssId *snap_id);
int lvm_set_prepare(ProviderSet *s, ProviderDoneFn done, void *userdata, VssErr *err);
int lvm_set_guard(ProviderSet *s, FreezeGroup *frozen, usec_t timeout, VssErr *err);
int lvm_set_commit(ProviderSet *s, bool fs_frozen, usec_t *ret_held, ProviderDoneFn done,
                   void *userdata, VssErr *err);
bool lvm_set_commit_frozen_ok(ProviderSet *s);
void lvm_set_rollback(ProviderSet *s);
int lvm_set_take(ProviderSet *s, const VssId *snap_id, ProviderSnap **ret);
int lvm_set_mountpoints(ProviderSet *s, char ***ret);
size_t lvm_set_count(ProviderSet *s);
const char *lvm_set_member_volume(ProviderSet *s, const VssId *snap_id);
bool lvm_set_committed(ProviderSet *s);
void lvm_set_hold_window(ProviderSet *s, usec_t *ret_start, usec_t *ret_end);
