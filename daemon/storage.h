/* SPDX-License-Identifier: GPL-2.0-or-later */
/* storage.h - shadow storage: where a volume's COW files live and how much they may take */
#pragma once

#include "common/macro.h"
#include "common/vss-error.h"

typedef struct Daemon Daemon;
typedef struct Provider Provider;
typedef struct ProviderVolume ProviderVolume;
typedef struct Snapshot Snapshot;

/* An explicit association (AddStorage); volumes without one use the configured default. */
typedef struct StorageAssoc {
	char *volume_name;  /* dm name of the volume */
	char *location;     /* directory for the COW files */
	uint64_t max_bytes; /* 0: the default (a percentage of the volume, at least the minimum) */
} StorageAssoc;

/* A volume's shadow copies together are held to its maximum: each COW file is sparse at the
 * maximum (so no shadow copy ever waits for room while writes come in), and the monitor deletes
 * the oldest while what they hold together passes it. */
typedef struct StorageUsage {
	uint64_t used;      /* what the valid COW stores hold together now (dm status) */
	uint64_t allocated; /* what the COW files take on their file system (allocated blocks) */
	uint64_t max;       /* the budget, for used */
	unsigned n_snapshots;
} StorageUsage;

StorageAssoc *storage_find(Daemon *d, const char *volume_name);
void storage_done(Daemon *d); /* frees every association */
int storage_restore(Daemon *d, const char *volume, const char *location, uint64_t max_bytes);

/* The effective budget and usage of a volume's shadow storage */
int storage_usage(Daemon *d, const char *volume_name, StorageUsage *ret);
/* Where a new snapshot of v goes and the size of its (sparse) COW file: the volume's maximum;
 * InsufficientStorage when the volume's shadow copies hold the maximum already. */
int storage_plan(Daemon *d, Provider *p, const ProviderVolume *v, const char **ret_dir,
                 uint64_t *ret_cow_bytes, VssErr *err);

int storage_add(Daemon *d, const char *volume, const char *location, uint64_t max_bytes,
                VssErr *err);
int storage_resize(Daemon *d, const char *volume, uint64_t max_bytes, VssErr *err);
int storage_delete(Daemon *d, const char *volume, bool delete_snapshots, VssErr *err);
