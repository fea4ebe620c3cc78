/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dmdev.h - device-mapper operations behind an ops table (libdm for real, a fake in unit tests) */
#pragma once

#include <sys/types.h>

#include "common/macro.h"

typedef struct DmdevTarget {
	uint64_t start;  /* sectors */
	uint64_t length; /* sectors */
	char *type;
	char *params; /* table parameters, or the status line for status() */
} DmdevTarget;

typedef struct DmdevTable {
	size_t n;
	DmdevTarget *targets;
} DmdevTable;

#define DMDEV_TABLE_NULL ((DmdevTable){ 0 })

void dmdev_table_done(DmdevTable *t);
int dmdev_table_add(DmdevTable *t, uint64_t start, uint64_t length, const char *type,
                    const char *params_fmt, ...) _printf_(5, 6);
int dmdev_table_copy(const DmdevTable *t, DmdevTable *ret);
bool dmdev_table_equal(const DmdevTable *a, const DmdevTable *b);
uint64_t dmdev_table_sectors(const DmdevTable *t);
/* "0 2048 linear 7:0 0\n..." for logs and tests; caller frees */
char *dmdev_table_to_string(const DmdevTable *t);

typedef struct DmdevInfo {
	bool exists;
	bool suspended;
	bool live_table;
	bool inactive_table;
	bool read_only;
	uint32_t major;
	uint32_t minor;
	int32_t open_count;
	uint32_t event_nr;
	char name[128];
	char uuid[129];
} DmdevInfo;

typedef struct DmdevSnapshotStatus {
	uint64_t used_sectors; /* data and metadata chunks in the COW */
	uint64_t total_sectors;
	uint64_t metadata_sectors;
	bool invalid;
	bool overflow;
	bool merge_failed;
} DmdevSnapshotStatus;

/* Parses the status line of a snapshot or snapshot-merge target. */
int dmdev_parse_snapshot_status(const char *params, DmdevSnapshotStatus *ret);

enum {
	DMDEV_SUSPEND_SKIP_LOCKFS = 1 << 0, /* the file system is frozen already, or none */
	DMDEV_SUSPEND_NOFLUSH = 1 << 1,
};

/* Every call returns 0 or a negative errno. Names are dm device names (not paths). */
typedef struct DmdevOps {
	/* Creates a device; with a table it is loaded and resumed (live), without it stays empty.
	 */
	/* ret_devno (may be NULL): the new device's number, from the create ioctl's answer (0 when
	 * the answer lacks it: ask with info) */
	int (*create)(void *ud, const char *name, const char *uuid, const DmdevTable *t,
	              dev_t *ret_devno);
	int (*load)(void *ud, const char *name, const DmdevTable *t); /* into the inactive slot */
	int (*clear)(void *ud, const char *name);                     /* drops the inactive table */
	int (*suspend)(void *ud, const char *name, unsigned flags);
	int (*resume)(void *ud, const char *name); /* swaps in an inactive table, if any */
	int (*remove)(void *ud, const char *name);
	/* ret->exists is false (and 0 returned) when there is no such device */
	int (*info)(void *ud, const char *name, DmdevInfo *ret);
	int (*info_devno)(void *ud, dev_t devno, DmdevInfo *ret);
	int (*table)(void *ud, const char *name, bool inactive, DmdevTable *ret);
	int (*status)(void *ud, const char *name, DmdevTable *ret);
	int (*list)(void *ud, char ***ret_names);
	int (*message)(void *ud, const char *name, const char *msg);
	bool (*is_dm_major)(void *ud, uint32_t major);
	/* Waits for the udev events of earlier create/resume/remove calls (bounded). */
	int (*settle)(void *ud);
	/* An fd that polls readable after any dm event (DM_DEV_ARM_POLL on the control node);
	 * arm() re-arms it after each wake-up. */
	int (*event_open)(void *ud);
	int (*event_arm)(void *ud, int fd);
	/* The one op any thread may call, concurrently with the others (the hold watchdog): when
	 * name is suspended, drops its inactive table and resumes it. Returns 1 when it resumed
	 * the device, 0 when it was not suspended. The real one issues raw ioctls on a control fd
	 * of its own and never enters libdm, whose state is process-wide and unlocked. */
	int (*emergency_resume)(void *ud, const char *name);
	/* The hold window's suspend and resume, which the commit issues from a crew of threads
	 * (daemon/crew.h): like suspend() and resume(), but any thread may call them, concurrently
	 * with each other and with emergency_resume(). The real ones are one raw ioctl each on a
	 * control fd, never libdm (whose node-op list and log are process-wide and unlocked), so
	 * resume_raw() neither creates a node nor takes part in settle()'s udev cookie: only for a
	 * device whose node exists (an origin). */
	int (*suspend_raw)(void *ud, const char *name, unsigned flags);
	int (*resume_raw)(void *ud, const char *name);
} DmdevOps;

typedef struct Dmdev {
	const DmdevOps *ops;
	void *userdata;
} Dmdev;

/* The real thing. dmdev_libdm_new() routes libdm's log into ours and picks udev sync. */
int dmdev_libdm_new(Dmdev **ret);
Dmdev *dmdev_libdm_free(Dmdev *dm);
DEFINE_POINTER_CLEANUP(dmdev_libdm_freep, Dmdev *, dmdev_libdm_free)

/* Convenience wrappers: the only way the rest of the daemon calls dm. */
static inline int dmdev_create(Dmdev *dm, const char *name, const char *uuid, const DmdevTable *t,
                               dev_t *ret_devno)
{
	return dm->ops->create(dm->userdata, name, uuid, t, ret_devno);
}
static inline int dmdev_load(Dmdev *dm, const char *name, const DmdevTable *t)
{
	return dm->ops->load(dm->userdata, name, t);
}
static inline int dmdev_clear(Dmdev *dm, const char *name)
{
	return dm->ops->clear(dm->userdata, name);
}
static inline int dmdev_suspend(Dmdev *dm, const char *name, unsigned flags)
{
	return dm->ops->suspend(dm->userdata, name, flags);
}
static inline int dmdev_resume(Dmdev *dm, const char *name)
{
	return dm->ops->resume(dm->userdata, name);
}
static inline int dmdev_remove(Dmdev *dm, const char *name)
{
	return dm->ops->remove(dm->userdata, name);
}
static inline int dmdev_info(Dmdev *dm, const char *name, DmdevInfo *ret)
{
	return dm->ops->info(dm->userdata, name, ret);
}
static inline int dmdev_info_devno(Dmdev *dm, dev_t devno, DmdevInfo *ret)
{
	return dm->ops->info_devno(dm->userdata, devno, ret);
}
static inline int dmdev_get_table(Dmdev *dm, const char *name, bool inactive, DmdevTable *ret)
{
	return dm->ops->table(dm->userdata, name, inactive, ret);
}
static inline int dmdev_get_status(Dmdev *dm, const char *name, DmdevTable *ret)
{
	return dm->ops->status(dm->userdata, name, ret);
}
static inline int dmdev_list(Dmdev *dm, char ***ret_names)
{
	return dm->ops->list(dm->userdata, ret_names);
}
static inline int dmdev_message(Dmdev *dm, const char *name, const char *msg)
{
	return dm->ops->message(dm->userdata, name, msg);
}
static inline bool dmdev_is_dm_major(Dmdev *dm, uint32_t major)
{
	return dm->ops->is_dm_major(dm->userdata, major);
}
static inline int dmdev_settle(Dmdev *dm)
{
	return dm->ops->settle(dm->userdata);
}
static inline int dmdev_event_open(Dmdev *dm)
{
	return dm->ops->event_open(dm->userdata);
}
static inline int dmdev_event_arm(Dmdev *dm, int fd)
{
	return dm->ops->event_arm(dm->userdata, fd);
}

static inline int dmdev_emergency_resume(Dmdev *dm, const char *name)
{
	return dm->ops->emergency_resume(dm->userdata, name);
}

static inline int dmdev_suspend_raw(Dmdev *dm, const char *name, unsigned flags)
{
	return dm->ops->suspend_raw(dm->userdata, name, flags);
}

static inline int dmdev_resume_raw(Dmdev *dm, const char *name)
{
	return dm->ops->resume_raw(dm->userdata, name);
}

/* Names of every device whose uuid starts with prefix ("VSSD-"); caller frees. */
int dmdev_list_by_uuid_prefix(Dmdev *dm, const char *prefix, char ***ret_names);
/* Reads a snapshot's status (first target). */
int dmdev_snapshot_status(Dmdev *dm, const char *name, DmdevSnapshotStatus *ret);
