/* SPDX-License-Identifier: GPL-2.0-or-later */
/* storage.h - shadow storage: where a volume's COW files live and how much they may take */
#pragma once

#include "common/macro.h"
#include "common/vss-error.h"

typedef struct Daemon Daemon;
typedef struct DmsnapVolume DmsnapVolume;
typedef struct Snapshot Snapshot;

/* An explicit association (AddStorage); volumes without one use the configured default. */
typedef struct StorageAssoc {
	char *volume_name;  /* dm name of the volume */
	char *location;     /* directory for the COW files */
	uint64_t max_bytes; /* 0: the default (a percentage of the volume, at least the minimum) */
} StorageAssoc;

typedef struct StorageUsage {
	uint64_t used;      /* what the COW stores hold now (dm status) */
	uint64_t allocated; /* the size of the COW files */
	uint64_t max;       /* the budget */
	unsigned n_snapshots;
} StorageUsage;

StorageAssoc *storage_find(Daemon *d, const char *volume_name);
void storage_done(Daemon *d); /* frees every association */
int storage_restore(Daemon *d, const char *volume, const char *location, uint64_t max_bytes);

/* The effective budget and usage of a volume's shadow storage */
int storage_usage(Daemon *d, const char *volume_name, StorageUsage *ret);
/* Where a new snapshot of v goes and how large its COW file starts; InsufficientStorage when
 * the budget is used up. */
int storage_plan(Daemon *d, const DmsnapVolume *v, const char **ret_dir, uint64_t *ret_cow_bytes,
                 VssErr *err);

int storage_add(Daemon *d, const char *volume, const char *location, uint64_t max_bytes,
                VssErr *err);
int storage_resize(Daemon *d, const char *volume, uint64_t max_bytes, VssErr *err);
int storage_delete(Daemon *d, const char *volume, bool delete_snapshots, VssErr *err);
