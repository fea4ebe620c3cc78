/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dmsnap.h - the dm-snapshot system provider: stage, commit and roll back sets; delete; recover */
#pragma once

#include <sys/types.h>

#include "common/macro.h"
#include "common/vss-error.h"
#include "common/vssid.h"

typedef struct Dmdev Dmdev;
typedef struct Host Host;
typedef struct FreezeGroup FreezeGroup;
typedef struct FaultPoints FaultPoints;

typedef struct DmsnapEnv {
	Dmdev *dm;
	const Host *host;
	usec_t hold_timeout;       /* from the first suspend to the last resume: VSS's 10 s */
	usec_t flush_timeout;      /* FIFREEZE of every file system of the set */
	unsigned chunk_sectors;    /* copy-on-write chunk */
	uint64_t min_cow_bytes;    /* smallest COW accepted (0: the engine's own floor) */
	const FaultPoints *faults; /* test-only fault points (daemon/fault.h), NULL: none */
} DmsnapEnv;

#define DMSNAP_REAL_SUFFIX   "-vssd-real"
#define DMSNAP_UUID_PREFIX   "VSSD-"
#define DMSNAP_UUID_SNAP     "VSSD-S-"
#define DMSNAP_UUID_REAL     "VSSD-R-"
#define DMSNAP_COW_MIN_BYTES (1ULL << 20) /* header, metadata and a few data chunks */

/* A volume as found on the system. */
typedef struct DmsnapVolume {
	char *name;     /* dm name of the origin */
	char *dev_path; /* /dev/mapper/<name> */
	dev_t devno;
	uint64_t sectors;
	bool converted;   /* has <name>-vssd-real: snapshots exist already */
	dev_t real_devno; /* that of <name>-vssd-real when converted */
	char *mountpoint; /* first mount point, or NULL */
} DmsnapVolume;

/* Resolves any path to a dm volume we may snapshot, or explains why not (err filled). */
int dmsnap_volume_resolve(const DmsnapEnv *env, const char *path, DmsnapVolume *ret, VssErr *err);
void dmsnap_volume_done(DmsnapVolume *v);

/* One snapshot: everything needed to delete it, or to re-create it after a reboot. */
typedef struct DmsnapSnapshot {
	VssId id;
	VssId set_id;
	char *volume_name; /* origin dm name */
	char *snap_name;   /* dm name of the snapshot device */
	char *cow_path;    /* the COW file */
	uint64_t sectors;  /* size of the volume at snapshot time */
	uint64_t cow_bytes;
	unsigned chunk_sectors;
	bool persistent;
	/* the COW file vssd created (st_dev, st_ino): re-attached only if it is still that file;
	 * cow_ino 0: not recorded (an older state file), then only a root-owned regular file */
	uint64_t cow_dev;
	uint64_t cow_ino;
	usec_t cow_ctime; /* read back from dm (dmsnap_snapshot_from_dm): the COW's change time */
} DmsnapSnapshot;

void dmsnap_snapshot_done(DmsnapSnapshot *s);
int dmsnap_snapshot_copy(const DmsnapSnapshot *s, DmsnapSnapshot *ret);
/* "vssd-<first 8 of set>-<volume>" into buf (128 bytes); -ENAMETOOLONG if it does not fit */
int dmsnap_snapshot_dm_name(const VssId *set_id, const char *volume_name, char buf[static 128]);

typedef struct DmsnapSet DmsnapSet;

int dmsnap_set_new(const DmsnapEnv *env, const VssId *set_id, bool persistent, DmsnapSet **ret);
DmsnapSet *dmsnap_set_free(DmsnapSet *s); /* rolls back whatever was not committed */
DEFINE_POINTER_CLEANUP(dmsnap_set_freep, DmsnapSet *, dmsnap_set_free)

/* Adds a volume (validated: dm, not LVM, not ours, not twice, under the limits) with the
 * directory for its COW file and the COW size. snap_id: the new snapshot's id (NULL: a new
 * one). Nothing on the system changes yet. */
int dmsnap_set_add(DmsnapSet *s, const char *volume_path, const char *storage_dir,
                   uint64_t cow_bytes, const VssId *snap_id, VssErr *err);
/* After a reboot: a persistent snapshot whose devices are gone comes back from its COW file,
 * in a set of its own (id and names as recorded; the COW is never removed on rollback). */
int dmsnap_set_add_existing(DmsnapSet *s, const DmsnapSnapshot *snap, VssErr *err);
size_t dmsnap_set_count(const DmsnapSet *s);
const DmsnapVolume *dmsnap_set_volume(const DmsnapSet *s, size_t i);
const DmsnapSnapshot *dmsnap_set_snapshot(const DmsnapSet *s, size_t i);
/* The member whose snapshot has this id, or NULL. Objects are paired with members by id,
 * never by position. */
const DmsnapSnapshot *dmsnap_set_find(const DmsnapSet *s, const VssId *snap_id);
/* Takes a member out again before prepare: -EBUSY once prepared, -ENOENT if not there. */
int dmsnap_set_remove(DmsnapSet *s, const VssId *snap_id);

/* Step 2, no I/O held: COW files, loop devices, -real devices, snapshot tables loaded
 * inactive, origins' snapshot-origin tables staged. On failure everything is undone. */
int dmsnap_set_prepare(DmsnapSet *s, VssErr *err);
/* Step 4a, the set's FIFREEZE: the set freezes its file systems itself (daemon/freeze.c) and
 * lends its group here first when this commit is the last of its frozen window (frozen; NULL
 * when another provider commits after it, or nothing is mounted): from now on the hold watchdog
 * (daemon/watchdog.h) covers the devices and the group, armed for timeout µs (the flush limit
 * plus the hold limit), and thaws it with the devices when the loop is stuck. The group stays
 * the set's: the engine thaws it at the end of the commit or the abort and forgets it then; the
 * set frees it after that. */
int dmsnap_set_guard(DmsnapSet *s, FreezeGroup *frozen, usec_t timeout, VssErr *err);
/* Step 4b, the instant: suspend every origin before resuming any, resume snapshots, then
 * origins, then thaw the lent group (if one was lent). fs_frozen: the set froze its mounted file
 * systems (their origins suspend without lockfs, lent group or not); otherwise a mounted one keeps
 * lockfs and the kernel freezes and flushes it. A hold longer than hold_timeout resumes everything
 * and fails with HoldWritesTimeout. The loop checks that between two ioctls; the hold watchdog
 * thread (daemon/watchdog.h), armed from the guard (flush_timeout + hold_timeout) and again from
 * the first suspend (hold_timeout), resumes and thaws by itself when the loop is stuck past it, and
 * the set then fails the same way. On any failure every device is resumed, every file system thawed
 * and the set rolled back completely. Returns the time I/O was held in *ret_held (may be NULL). */
int dmsnap_set_commit(DmsnapSet *s, bool fs_frozen, usec_t *ret_held, VssErr *err);
/* Undoes prepare (before commit). Idempotent. */
void dmsnap_set_abort(DmsnapSet *s);
bool dmsnap_set_is_committed(const DmsnapSet *s);
/* CLOCK_MONOTONIC µs of the first suspend and the last resume of the commit */
void dmsnap_set_hold_window(const DmsnapSet *s, usec_t *ret_start, usec_t *ret_end);

/* Deletes a committed snapshot: removes the device; when it was the volume's last, restores
 * the volume's own table and removes -real; removes the COW file. Idempotent. */
int dmsnap_snapshot_delete(const DmsnapEnv *env, const DmsnapSnapshot *snap, VssErr *err);

/* Grows a snapshot's COW file to new_bytes and tells its loop device. */
int dmsnap_snapshot_grow(const DmsnapEnv *env, DmsnapSnapshot *snap, uint64_t new_bytes);

/* Reads a snapshot back from dm (for the test tool and for recovery without state). */
int dmsnap_snapshot_from_dm(const DmsnapEnv *env, const char *snap_name, DmsnapSnapshot *ret);

/* Start-up: resume every VSSD- device and every origin of ours left suspended, drop origin
 * tables staged for a set that never committed. (The file systems a set froze are the set's:
 * recovery thaws them from the freeze ledger, daemon/freeze.h.) Returns the number of devices it
 * had to resume. */
int dmsnap_recover_held(const DmsnapEnv *env);
