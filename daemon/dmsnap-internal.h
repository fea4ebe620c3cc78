/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dmsnap-internal.h - what the dm-snapshot provider's files share (dmsnap.c, dmsnap-volume.c,
 * dmsnap-merge.c): names, tables, counting; nothing outside the provider */
#pragma once

#include "daemon/dmdev.h"
#include "daemon/dmsnap.h"
#include "daemon/provider.h"

/* A snapshot device's live table "snapshot <real> <cow> P|N <chunk>", taken apart */
typedef struct SnapTable {
	uint64_t sectors;
	dev_t real;
	dev_t cow;
	bool persistent;
	unsigned chunk;
} SnapTable;

/* "<volume>-vssd-real" into buf; -ENAMETOOLONG if it does not fit */
int dmsnap_real_name_of(const char *volume_name, char buf[static 128]);
int dmsnap_read_snap_table(const DmsnapEnv *env, const char *snap_name, SnapTable *ret);
/* "<real maj:min>" of a snapshot-origin table, or of the first field of a snapshot table */
int dmsnap_table_first_devno(const DmdevTable *t, const char *type, dev_t *ret);
/* The live snapshots registered on the -real device real_devno (other than skip) */
int dmsnap_count_snapshots_of(const DmsnapEnv *env, dev_t real_devno, const char *skip);
/* The volume's live table is snapshot-merge: a revert runs */
bool dmsnap_volume_merging(const DmsnapEnv *env, const char *volume_name);
int dmsnap_snap_uuid(const VssId *set_id, const VssId *snap_id, char buf[static 129]);
int dmsnap_refuse_merging(const char *path, VssErr *err);
int dmsnap_check_plain_targets(const DmdevTable *t, const char *what, VssErr *err);
/* Loads t into name and makes it live; on failure name keeps (and runs) the table it had: the
 * staged table is cleared and name resumed, never left suspended. */
int dmsnap_swap_table(Dmdev *dm, const char *name, const DmdevTable *t);
/* A snapshot of volume_name is gone: when no other snapshot uses -real, the volume gets its own
 * table back and -real goes; with others left, nothing changes. A volume merging keeps its
 * merge table, unless end_merge (the merge is over: -EAGAIN while it still has data to merge),
 * when it becomes the origin of the others again, or gets its own table. Idempotent. Returns
 * the number of other snapshots of the volume, or a negative errno with err filled. */
int dmsnap_release_volume(const DmsnapEnv *env, const char *volume_name, bool end_merge,
                          VssErr *err);

int64_t dmsnap_merge_left(const DmsnapEnv *env, const char *vol);
void dmsnap_remove_cow(const DmsnapEnv *env, const DmsnapSnapshot *snap);

/* The revert (dmsnap-merge.c). check: may it start now; -EALREADY: a merge runs already;
 * -ENXIO: the shadow copy's device is missing; -ENOSPC: it is invalid (none of the three
 * fills err); *ret_sectors: what there is to merge. start: claims the
 * devices, stages the merge, calls intent() before the first change (a failure of intent
 * stops it), then makes the merge live and removes the shadow copy's device. poll: where it
 * stands (RUNNING and DONE fill *ret_left). finish: after DONE, the volume released and the COW
 * removed (-EAGAIN or another errno: try again); returns the other snapshots of the volume. */
int dmsnap_merge_check(const DmsnapEnv *env, const DmsnapSnapshot *snap, const char *volume_path,
                       uint64_t *ret_sectors, VssErr *err);
int dmsnap_merge_start(const DmsnapEnv *env, const DmsnapSnapshot *snap, const char *volume_path,
                       int (*intent)(void *userdata), void *userdata, VssErr *err);
ProviderMerge dmsnap_merge_poll(const DmsnapEnv *env, const DmsnapSnapshot *snap,
                                uint64_t *ret_left);
int dmsnap_merge_finish(const DmsnapEnv *env, const DmsnapSnapshot *snap);
