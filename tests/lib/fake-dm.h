/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fake-dm.h - an in-memory device-mapper for unit tests: records calls, keeps state, injects errors
 */
#pragma once

#include <sys/types.h>

#include "daemon/dmdev.h"

#define FAKE_DM_MAJOR 253

typedef enum FakeDmOp {
	FAKE_DM_CREATE,
	FAKE_DM_LOAD,
	FAKE_DM_CLEAR,
	FAKE_DM_SUSPEND,
	FAKE_DM_RESUME,
	FAKE_DM_REMOVE,
	FAKE_DM_INFO,
	FAKE_DM_TABLE,
	FAKE_DM_STATUS,
	FAKE_DM_LIST,
	FAKE_DM_MESSAGE,
	FAKE_DM_EMERGENCY_RESUME, /* from the hold watchdog's thread */
	_FAKE_DM_OP_MAX,
} FakeDmOp;

typedef struct FakeDm FakeDm;

int fake_dm_new(FakeDm **ret);
FakeDm *fake_dm_free(FakeDm *f);
DEFINE_POINTER_CLEANUP(fake_dm_freep, FakeDm *, fake_dm_free)
Dmdev *fake_dm_dmdev(FakeDm *f);

/* Adds a live device with a one-line table "type params" of sectors; returns its devno. */
dev_t fake_dm_add(FakeDm *f, const char *name, const char *uuid, uint64_t sectors, const char *type,
                  const char *params);
/* The nth (1-based) call of op from now on fails with error. */
void fake_dm_fail_nth(FakeDm *f, FakeDmOp op, unsigned nth, int error);
/* The nth (1-based) call of op from now on hangs, as an ioctl stuck in the kernel would, until
 * emergency_resume() has been called release_after times from another thread (a watchdog
 * giving up the hold), or 10 s passed; then it goes on as usual. emergency_resume() is the one
 * op that may run on another thread while a call hangs. */
void fake_dm_hang_nth(FakeDm *f, FakeDmOp op, unsigned nth, unsigned release_after);
/* Whether a hung call was released by emergency resumes (true) or by the 10 s bound (false) */
bool fake_dm_hang_released(FakeDm *f);
/* emergency_resume() calls so far (each one, whether the device was suspended or not) */
unsigned fake_dm_emergency_resumes(FakeDm *f);
/* Every dm call advances *clock by step (to test hold deadlines). */
void fake_dm_set_clock(FakeDm *f, usec_t *clock, usec_t step);
/* Makes the fd of event_open() readable, as a dm event would. */
void fake_dm_fire_event(FakeDm *f);
/* Status line returned for a snapshot device (default "0/<size> 0"). */
int fake_dm_set_status(FakeDm *f, const char *name, const char *status);
/* What info() reports as the device's open count (default 0). */
int fake_dm_set_open_count(FakeDm *f, const char *name, int32_t n);

/* The device number of name, 0 when there is no such device */
dev_t fake_dm_devno(FakeDm *f, const char *name);
/* dm calls of op (_FAKE_DM_OP_MAX: of every kind) since the last fake_dm_clear_calls(), reads
 * included: what the real engine would issue as ioctls */
unsigned fake_dm_count_ops(FakeDm *f, FakeDmOp op);
/* Recorded calls, one string each: "suspend vol-a skip_lockfs", "resume vssd-...". */
char *const *fake_dm_calls(FakeDm *f);
void fake_dm_clear_calls(FakeDm *f);
/* Calls joined with "\n", only those whose verb is in verbs (space-separated); caller frees. */
char *fake_dm_calls_filtered(FakeDm *f, const char *verbs);

unsigned fake_dm_count_suspended(FakeDm *f);
unsigned fake_dm_count_devices(FakeDm *f);
unsigned fake_dm_count_uuid_prefix(FakeDm *f, const char *prefix);
bool fake_dm_exists(FakeDm *f, const char *name);
/* Live table as "type params" of the first target; NULL if none. Borrowed. */
const char *fake_dm_live(FakeDm *f, const char *name);
bool fake_dm_has_inactive(FakeDm *f, const char *name);
