/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lvm-report.h - LVM's `--reportformat json` reports (lvs, vgs) read with json-c, validated */
#pragma once

#include "common/macro.h"

#define LVM_NAME_MAX 127 /* LVM's NAME_LEN - 1 */

/* The fields vssd asks for, in `-o` form; sizes in bytes (--units b --nosuffix) */
#define LVM_LV_FIELDS                                                                              \
	"lv_name,vg_name,lv_uuid,lv_attr,lv_size,origin,origin_size,pool_lv,lv_tags,data_percent," \
	"metadata_percent,snap_percent,lv_kernel_major,lv_kernel_minor,segtype,lv_dm_path"
#define LVM_VG_FIELDS "vg_name,vg_attr,vg_free,vg_extent_size,vg_missing_pv_count"

typedef struct LvmLv {
	char *name, *vg, *uuid, *attr, *origin, *pool, *segtype, *dm_path;
	char **tags;
	uint64_t size, origin_size; /* bytes; origin_size: 0 when none */
	int major, minor;           /* -1: not active */
	/* per mille of data/metadata/COW use; -1: LVM has no value */
	int data_permille, meta_permille, snap_permille;
} LvmLv;

typedef struct LvmVg {
	char *name, *attr;
	uint64_t free, extent_size, missing_pvs;
} LvmVg;

void lvm_lv_done(LvmLv *lv);
int lvm_lv_copy(const LvmLv *lv, LvmLv *ret);
void lvm_lvs_free(LvmLv *l, size_t n);
void lvm_vgs_free(LvmVg *l, size_t n);

/* LVM's name rules: 1..127 of [A-Za-z0-9+_.-], not starting with "-" */
bool lvm_valid_name(const char *s);
/* Tag characters: [A-Za-z0-9_+.-/=!:&#], 1..128 */
bool lvm_valid_tag(const char *s);

/* {"report":[{"lv":[{...}, ...]}]}: every LV in order. -EBADMSG with *ret_error (may be NULL)
 * saying what is wrong. */
int lvm_report_lvs(const char *json, LvmLv **ret, size_t *ret_n, char **ret_error);
int lvm_report_vgs(const char *json, LvmVg **ret, size_t *ret_n, char **ret_error);

/* The lv_attr letters vssd looks at */
static inline char lvm_attr_type(const LvmLv *lv)
{
	return lv->attr && lv->attr[0] ? lv->attr[0] : '-';
}
static inline char lvm_attr_state(const LvmLv *lv)
{
	return lv->attr && strlen(lv->attr) > 4 ? lv->attr[4] : '-';
}
bool lvm_lv_has_tag(const LvmLv *lv, const char *tag);
/* The value of the first tag "prefix<value>", or NULL */
const char *lvm_lv_tag_value(const LvmLv *lv, const char *prefix);
