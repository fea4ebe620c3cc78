/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dmsnap-blocking.h - blocking forms of the dm-snapshot set's sync and freeze, for the test tool
 * and the unit tests only: the daemon drives the event-loop forms from its loop */
#pragma once

#include "daemon/dmsnap.h"
#include "daemon/freeze.h"

/* syncfs of the set's file systems from threads, waiting up to timeout */
int dmsnap_set_sync(DmsnapSet *s, const DmsnapEnv *env, usec_t timeout);
/* The set's FIFREEZE, as the daemon's creation pipeline does it but blocking: the ledger
 * (NULL: none) written, the group lent to the engine's guard, every mounted file system of the set
 * frozen within env->flush_timeout. *ret_group: the group (NULL when nothing was frozen: fifreeze
 * false or nothing mounted), which the caller frees after the commit or the abort. On failure
 * the set is rolled back and everything thawed. */
int dmsnap_set_freeze(DmsnapSet *s, const DmsnapEnv *env, bool fifreeze, const char *ledger,
                      FreezeGroup **ret_group, VssErr *err);
