/* SPDX-License-Identifier: GPL-2.0-or-later */
/* provider.h - the provider ops table (VSS's provider sequence) and the registry of providers
 *
 * A provider is the one module that knows a snapshot technology (dm-snapshot today; lvm and
 * lvm-thin next, DESIGN.md §4b). Sets, storage, monitor, expose, revert, state and recovery speak
 * to it through this table alone, the way LVM's segtype_handler or systemd's UnitVTable work.
 *
 * Asynchronous operations. A provider that runs commands as child processes from the event loop
 * (LVM) must never block it. Every long operation (prepare, commit, delete, revert start) takes a
 * completion: it returns 0 when it is done already (dm-snapshot always is), 1 when it is under
 * way and will call done(userdata, r, err) exactly once later from the loop, or a negative errno
 * (err filled) when it failed at once. Providers keep their own event sources (sd_event from the
 * registration env). A provider does not freeze or sync file systems: the set owns the syncfs and
 * the FIFREEZE groups and tells commit whether the file systems are frozen.
 */
#pragma once

#include <sys/types.h>

#include <json.h>
#include <systemd/sd-event.h>

#include "common/macro.h"
#include "common/vss-error.h"
#include "common/vssid.h"

typedef struct Provider Provider;
typedef struct Dmdev Dmdev;
typedef struct Host Host;
typedef struct Config Config;
typedef struct FaultPoints FaultPoints;

/* What the daemon hands every provider at registration; each takes from it what it needs (its
 * own settings from the configuration) into an environment of its own (ops->init). */
typedef struct ProviderHostEnv {
	Dmdev *dm;
	const Host *host;
	const Config *config;
	const FaultPoints *faults; /* test-only fault points, NULL: none */
	sd_event *event;           /* the daemon's loop, for providers' own event sources */
} ProviderHostEnv;
typedef struct ProviderSet ProviderSet; /* a set under creation, provider-owned */
typedef struct ProviderSnap ProviderSnap;
typedef struct FreezeGroup FreezeGroup; /* one snapshot, provider-owned, opaque to the daemon */

/* VSS_PROVIDER_TYPE: how ListProviders reports it */
typedef enum ProviderType {
	PROVIDER_TYPE_SYSTEM,
	PROVIDER_TYPE_SOFTWARE,
	PROVIDER_TYPE_HARDWARE,
	_PROVIDER_TYPE_MAX,
} ProviderType;

const char *provider_type_to_string(ProviderType t);

/* A volume a provider can snapshot (probe's answer). */
typedef struct ProviderVolume {
	char *name;       /* the provider's key for it (dm name for dm-snapshot, vg/lv for LVM) */
	char *dev_path;   /* the path clients see: /dev/mapper/<name> */
	dev_t devno;      /* of the volume */
	uint64_t sectors; /* its size */
	char *mountpoint; /* first mount point, or NULL */
} ProviderVolume;

void provider_volume_done(ProviderVolume *v);

/* state_check's refusal: *ret_error = "WHERE.KEY: reason" (or "WHERE: reason" without a key);
 * returns -EINVAL, or -ENOMEM */
int provider_state_fail(char **ret_error, const char *where, const char *key, const char *fmt, ...)
	_printf_(4, 5);

/* What a snapshot's storage holds (StorageUsed, the monitor's fill level). */
typedef struct ProviderUsage {
	uint64_t used;      /* bytes in use in its store */
	uint64_t total;     /* bytes its store holds now (it may grow up to the volume's max) */
	uint64_t allocated; /* bytes it takes on the backing file system, or used */
	bool invalid;       /* overflowed: the snapshot cannot be read any more */
	bool merging;       /* it is being merged into its volume */
} ProviderUsage;

/* Where a revert stands (revert_poll) */
typedef enum ProviderMerge {
	PROVIDER_MERGE_RUNNING,     /* still merging: *ret_left says how much is left */
	PROVIDER_MERGE_DONE,        /* merged: finish() removes what is left of the snapshot */
	PROVIDER_MERGE_NOT_STARTED, /* the merge never went live: the snapshot is intact */
	PROVIDER_MERGE_INTERRUPTED, /* cut short (a reboot): start it again */
	PROVIDER_MERGE_FAILED,      /* the provider reports the merge failed: leave it as it is */
	PROVIDER_MERGE_UNKNOWN,     /* cut short and its store cannot be read: leave it */
	PROVIDER_MERGE_RETRY,       /* cannot tell now (logged): look again later */
	_PROVIDER_MERGE_MAX,
} ProviderMerge;

typedef void (*ProviderDoneFn)(void *userdata, int r, const VssErr *err);

/* What every snapshot has, whatever its provider (the daemon keeps its own copy) */
typedef struct ProviderSnapBase {
	VssId id;
	VssId set_id;
	const char *volume_name; /* the provider's name of the volume */
	uint64_t sectors;        /* the volume's size at the snapshot's instant */
	bool persistent;
	usec_t creation_time; /* discover(): what the provider knows of it, or 0 */
} ProviderSnapBase;

typedef struct ProviderOps {
	/* Identity, as ListProviders reports it */
	const char *name;    /* "dm-snapshot" */
	const char *id;      /* its UUID, stable */
	const char *version; /* "1.0" */
	ProviderType type;
	/* Picking for an empty provider string: the registered providers are asked in order of
	 * rising rank, and the first that supports the volume takes it (lvm-thin, lvm, then
	 * dm-snapshot, by what the volume is). */
	unsigned pick_rank;

	/* Registration: its environment from the daemon's (freed by done) */
	int (*init)(const ProviderHostEnv *h, void **ret_env);
	void (*done)(void *env);

	/* Volume: supported or not. 0 and *ret filled (may be NULL: only the answer); a negative
	 * errno with the reason in err (VolumeNotSupported and friends). -EMEDIUMTYPE: not this
	 * provider's kind of volume at all (another provider's reason is the better one). */
	int (*probe)(Provider *p, const char *path, ProviderVolume *ret, VssErr *err);
	/* The smallest storage one snapshot accepts, and the unit its size is a multiple of
	 * (storage planning) */
	uint64_t (*storage_min_bytes)(Provider *p);
	uint64_t (*storage_unit_bytes)(Provider *p);

	/* Set: begin, add, prepare (no I/O held), commit (the instant: the file systems are
	 * frozen by the set when fs_frozen), rollback (before commit; idempotent) */
	int (*set_begin)(Provider *p, const VssId *set_id, bool persistent, ProviderSet **ret);
	/* Rolls back whatever was not committed; cancels a prepare or commit under way (its
	 * done is never called after this) */
	ProviderSet *(*set_free)(ProviderSet *s);
	int (*set_add)(ProviderSet *s, const char *volume_path, const char *storage_dir,
	               uint64_t storage_bytes, const VssId *snap_id, VssErr *err);
	int (*set_remove)(ProviderSet *s, const VssId *snap_id);
	int (*set_prepare)(ProviderSet *s, ProviderDoneFn done, void *userdata, VssErr *err);
	/* The set is about to FIFREEZE its file systems: the provider's guarantee that nothing
	 * stays held (dm-snapshot: its hold watchdog) covers what it holds from now on, for
	 * timeout µs. frozen: the set's group, lent to the provider whose commit is the last in
	 * the frozen window (until its set_commit or set_rollback returns): its guarantee thaws
	 * the group too when the loop is stuck, and it may thaw the group as soon as its own
	 * instant is behind it (dm-snapshot: right after its last resume). NULL for the other
	 * providers (the set's own watchdog bounds the window then) and when nothing is
	 * mounted. Only providers that commit frozen (set_commit_frozen_ok) are guarded. */
	int (*set_guard)(ProviderSet *s, FreezeGroup *frozen, usec_t timeout, VssErr *err);
	/* fs_frozen: every mounted file system of this provider's volumes is frozen by the set
	 * (suspend them without lockfs) */
	int (*set_commit)(ProviderSet *s, bool fs_frozen, usec_t *ret_held, ProviderDoneFn done,
	                  void *userdata, VssErr *err);
	/* Can this set's commit run while the set holds its file systems frozen?  false: the set
	 * commits this provider after it thaws, one volume after another, and says so on the set */
	bool (*set_commit_frozen_ok)(ProviderSet *s);
	void (*set_rollback)(ProviderSet *s);
	/* The committed snapshot with this id, as a new object the caller owns */
	int (*set_take)(ProviderSet *s, const VssId *snap_id, ProviderSnap **ret);
	/* Mount points of the set's volumes: the set syncs and freezes them */
	int (*set_mountpoints)(ProviderSet *s, char ***ret);
	/* Members, and the volume of the member snap_id (NULL: none): the set pairs them with its
	 * objects by id */
	size_t (*set_count)(ProviderSet *s);
	const char *(*set_member_volume)(ProviderSet *s, const VssId *snap_id);
	bool (*set_committed)(ProviderSet *s);
	/* CLOCK_MONOTONIC µs of the first and last moment I/O was held by the commit */
	void (*set_hold_window)(ProviderSet *s, usec_t *ret_start, usec_t *ret_end);

	/* Snapshot */
	void (*snap_free)(ProviderSnap *ps);
	void (*snap_base)(const ProviderSnap *ps, ProviderSnapBase *ret); /* borrowed strings */
	/* Its name in logs (dm-snapshot: the dm name of its device) */
	const char *(*snap_label)(const ProviderSnap *ps);
	/* Where its storage lives (a path; recovery leaves alone what is not in vssd's storage) */
	const char *(*snap_storage_path)(const ProviderSnap *ps);
	int (*snap_delete)(Provider *p, ProviderSnap *ps, ProviderDoneFn done, void *userdata,
	                   VssErr *err);
	/* merging: it is being reverted (its store is the merge's now) */
	int (*snap_usage)(Provider *p, const ProviderSnap *ps, bool merging, ProviderUsage *ret);
	/* Grows its store to new_bytes, rounded down to the provider's own unit: 1 grown, 0 it
	 * is that large already (the monitor) */
	int (*snap_grow)(Provider *p, ProviderSnap *ps, uint64_t new_bytes);
	uint64_t (*snap_storage_bytes)(const ProviderSnap *ps); /* the store's size now */
	/* After a reboot: its device comes back from its store (0: it was there already) */
	int (*snap_reactivate)(Provider *p, ProviderSnap *ps, VssErr *err);
	/* The read-only block device of the snapshot, for Expose ("" when it has none) */
	int (*snap_device)(Provider *p, const ProviderSnap *ps, char *buf, size_t size);
	bool (*snap_exists)(Provider *p, const ProviderSnap *ps);
	int (*snap_devno)(Provider *p, const ProviderSnap *ps, dev_t *ret); /* -ENODEV: none */

	/* Revert. check: may it start now (the volume unmounted and unused...); -EALREADY: a
	 * revert of the volume runs already; -ENXIO: the snapshot's device is missing; -ENOSPC:
	 * it is invalid (these three leave err to the caller); *ret_total: what
	 * there is to merge. start: calls intent(intent_userdata) before its first change (the
	 * caller records "merging"; a failure stops the start), and returns 0 once the merge runs,
	 * or 1 and done() later. poll: where it stands (RUNNING and DONE fill *ret_left). finish:
	 * after DONE, everything of the snapshot removed and the volume released; returns the
	 * number of other snapshots of the volume, or a negative errno: try again later. */
	int (*revert_check)(Provider *p, const ProviderSnap *ps, const char *volume_path,
	                    uint64_t *ret_total, VssErr *err);
	int (*revert_start)(Provider *p, ProviderSnap *ps, const char *volume_path,
	                    int (*intent)(void *intent_userdata), void *intent_userdata,
	                    ProviderDoneFn done, void *userdata, VssErr *err);
	ProviderMerge (*revert_poll)(Provider *p, ProviderSnap *ps, uint64_t *ret_left);
	int (*revert_finish)(Provider *p, ProviderSnap *ps);

	/* Start-up: resume and thaw what a crash left held; returns what it had to undo */
	int (*recover)(Provider *p);
	/* Start-up: every snapshot of this provider on the system, as new objects (orphans are
	 * deleted; after a lost state file, persistent ones are adopted) */
	int (*discover)(Provider *p, ProviderSnap ***ret, size_t *ret_n);

	/* State: the provider's own object inside the snapshot record (state format 2). import
	 * validates it; on failure *ret_error is "<where>.<key>: <reason>". unique_keys: string
	 * members that must differ between any two snapshots of this provider (state.c checks). */
	int (*snap_export)(const ProviderSnap *ps, json_object **ret);
	int (*snap_import)(Provider *p, const ProviderSnapBase *base, json_object *o,
	                   const char *where, ProviderSnap **ret, char **ret_error);
	int (*state_check)(json_object *o, const char *where, char **ret_error);
	const char *const *unique_keys;
} ProviderOps;

/* A registered provider: its table and the environment it was registered with (its config,
 * the dm handle, the host ops... whatever it needs; the table's functions cast it back). */
struct Provider {
	const ProviderOps *ops;
	void *env;
};

/* The registry: a fixed number of slots, filled at start-up in pick order (one per daemon). */
#define PROVIDERS_MAX 8

typedef struct ProviderRegistry {
	Provider providers[PROVIDERS_MAX];
	bool owned[PROVIDERS_MAX]; /* env made by ops->init, freed by provider_registry_done() */
	size_t n;
} ProviderRegistry;

int provider_register(ProviderRegistry *reg, const ProviderOps *ops, void *env);
/* Every built-in provider, each with its environment from h (ops->init) */
int provider_register_builtin(ProviderRegistry *reg, const ProviderHostEnv *h);
/* Frees the environments made by provider_register_builtin() and empties the registry */
void provider_registry_done(ProviderRegistry *reg);
Provider *provider_find_by_name(ProviderRegistry *reg, const char *name);
Provider *provider_find_by_id(ProviderRegistry *reg, const char *id);
/* name, or UUID; "" picks by probing (lowest pick_rank first that supports the volume). -ENOENT
 * with ObjectNotFound in err when named and absent; probe's error when none supports the
 * volume. ret_volume may be NULL. */
int provider_pick(ProviderRegistry *reg, const char *name_or_id, const char *volume_path,
                  Provider **ret, ProviderVolume *ret_volume, VssErr *err);
/* The ops table of a provider by name even when it is not registered (state validation of a
 * file: every built-in table is known). NULL: unknown. */
const ProviderOps *provider_ops_by_name(const char *name);
/* The i-th built-in table, NULL past the last */
const ProviderOps *provider_ops_builtin(size_t i);
