/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fault.h - named test-only fault points, enabled by VSSD_TEST_FAULT when vssd starts */
#pragma once

#include "common/macro.h"

/* VSSD_TEST_FAULT="name[=arg][,name[=arg]...]" turns on the named points; each point reads its
 * arg (an unsigned number, 0 when absent) as it documents. Read once at start-up, logged as a
 * warning, never changed afterwards (so any thread may read it). Unset: no point is on, and
 * every check is a NULL test. Points (add new ones to the table in fault.c):
 *   hang-after-suspend=MS  dmsnap commit: the loop sleeps MS ms (default 30000) after the last
 *                          origin is suspended, as a loop stuck in the hold window would */
#define FAULT_ENV "VSSD_TEST_FAULT"

typedef struct FaultPoints FaultPoints;

/* Parses spec (NULL or "": *ret = NULL, nothing on). -EINVAL for an unknown name or a bad arg,
 * with the offending part in *ret_bad (borrowed from spec, may be NULL). */
int fault_points_parse(const char *spec, FaultPoints **ret, char **ret_bad);
FaultPoints *fault_points_free(FaultPoints *f);
DEFINE_POINTER_CLEANUP(fault_points_freep, FaultPoints *, fault_points_free)

/* Whether point name is on (f may be NULL); its arg in *ret_arg (may be NULL) */
bool fault_point(const FaultPoints *f, const char *name, unsigned *ret_arg);
/* When point name is on, logs it and sleeps its arg in ms (default_ms when 0) on the calling
 * thread. Returns whether it slept. */
bool fault_point_hang(const FaultPoints *f, const char *name, unsigned default_ms);
