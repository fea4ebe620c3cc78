/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dmsnap-blocking.h - blocking forms of the dm-snapshot set's sync and freeze, for the test tool
 * and the unit tests only: the daemon drives the event-loop forms from its loop */
#pragma once

#include "daemon/dmsnap.h"

/* syncfs of the set's file systems from threads, waiting up to timeout */
int dmsnap_set_sync(DmsnapSet *s, usec_t timeout);
/* FIFREEZE of every mounted file system of the set, waiting up to timeout; on failure
 * everything frozen is thawed (and on a timeout the set is rolled back) */
int dmsnap_set_freeze(DmsnapSet *s, usec_t timeout, VssErr *err);
