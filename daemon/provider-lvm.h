/* SPDX-License-Identifier: GPL-2.0-or-later */
/* provider-lvm.h - the LVM providers `lvm` (thick LVs: linear, striped, raid) and `lvm-thin`
 * (thin LVs), DESIGN.md §4b: LVM through its own tools (lvm-run.h), reports read as JSON
 * (lvm-report.h), every LV vssd makes tagged so that start-up can rebuild from LVM alone. */
#pragma once

#include "daemon/lvm-report.h"
#include "daemon/lvm-run.h"
#include "daemon/provider.h"

#define PROVIDER_LVM_NAME      "lvm"
#define PROVIDER_LVM_ID        "8b6c1f4e-2d3a-4c5b-9e7f-0a1b2c3d4e51"
#define PROVIDER_LVM_THIN_NAME "lvm-thin"
#define PROVIDER_LVM_THIN_ID   "5d2e9a7c-6b4f-4e1d-8c3a-7f9e0d1c2b63"

/* The tags of an LV vssd made (LVM tags: [A-Za-z0-9_+.-]) */
#define LVM_TAG_VSSD       "vssd"
#define LVM_TAG_SET        "vssd_set_"  /* + 32 hex digits of the set id */
#define LVM_TAG_SNAP       "vssd_snap_" /* + 32 hex digits of the snapshot id */
#define LVM_TAG_COUNT      "vssd_n_"    /* + the number of volumes of the set */
#define LVM_TAG_PERSISTENT "vssd_persistent"

#define LVM_REPORT_TIMEOUT  (30 * USEC_PER_SEC)
#define LVM_COMMAND_TIMEOUT (60 * USEC_PER_SEC)
/* The kernel from which LVM's lockfs suspend nests inside a FIFREEZE (freeze holders, 6.6;
 * measured: Debian's 6.1 EBUSY, 6.12 works) */
#define LVM_FROZEN_OK_KERNEL 0x060600

extern const ProviderOps provider_lvm_ops;
extern const ProviderOps provider_lvm_thin_ops;

typedef struct LvmEnv {
	sd_event *event;
	LvmRunner *runner; /* owned */
	Dmdev *dm;
	const Host *host;
	bool thin;     /* which of the two providers */
	int frozen_ok; /* set_commit_frozen_ok()'s answer: 1, 0; -1: from the kernel version */
	const FaultPoints *faults; /* test-only fault points (daemon/fault.h), NULL: none */
	usec_t report_timeout, command_timeout;
	/* probe's last report: ListVolumes asks for every device in a row, and an lvs costs a
	 * process start; dropped by any change this env makes, and after LVM_PROBE_CACHE_USEC */
	LvmLv *cache;
	size_t cache_n;
	usec_t cache_at;
} LvmEnv;

#define LVM_PROBE_CACHE_USEC (2 * USEC_PER_SEC)

/* One snapshot LV (a ProviderSnap of either provider) */
typedef struct LvmSnap {
	VssId id, set_id;
	char *volume_name; /* the origin's dm name (vg-lv) */
	char *vg, *lv;     /* the snapshot LV */
	char *lv_uuid;     /* "" until it is made */
	char *origin;      /* the origin LV's name in vg */
	char *pool;        /* thin: the pool's name in vg; NULL for thick */
	char *store;       /* "lvm:<vg>" or "lvm-thin:<vg>/<pool>" (ListStorage's location) */
	uint64_t sectors;  /* the origin's size at the instant */
	uint64_t cow_bytes;
	bool persistent, thin;
	unsigned set_count; /* volumes of its set, from its tags (discover) */
} LvmSnap;

/* LVM's dm name of vg/lv ("-" doubled in both), into buf */
int lvm_dm_name(const char *vg, const char *lv, char *buf, size_t size);
/* Is the running kernel's release (uname -r) at least LVM_FROZEN_OK_KERNEL */
bool lvm_kernel_nests_freeze(const char *release);
/* The LV report of everything (-a), through env's runner, on a private loop */
int lvm_env_lvs(LvmEnv *env, const char *select, LvmLv **ret, size_t *ret_n, VssErr *err);
