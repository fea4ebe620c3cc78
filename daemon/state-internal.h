/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state-internal.h - what state.c, state-check.c and state-json.c share: failures, the check */
#pragma once

#include <json.h>

#include "common/macro.h"
#include "daemon/state.h"

#define NUMBER_MAX ((uint64_t)INT64_MAX) /* json-c clamps larger numbers silently */
/* "sets[<20 digits>].snapshots[<20 digits>].provider_data" */
#define WHERE_MAX 160

DEFINE_POINTER_CLEANUP(json_object_putp, json_object *, json_object_put)

/* Where failures go: the file name for messages, the errno (-EBADMSG when loading, -EINVAL when
 * validating for a save) and the caller's message pointer. Every check stops at the first. */
typedef struct Ctx {
	const char *name;
	int error;
	char **ret_error;
} Ctx;

/* "<name>: <where>.<key>: <reason>"; where may be "" and key NULL. Returns x->error. */
int state_fail(const Ctx *x, const char *where, const char *key, const char *fmt, ...)
	_printf_(4, 5);
/* "<name>:<line>:<column>: <reason>" for a byte offset into text. */
int state_fail_at(const Ctx *x, const char *text, size_t offset, const char *fmt, ...)
	_printf_(4, 5);
/* "<name>: <message>" */
int state_fail_message(const Ctx *x, const char *message);
/* A string that may be quoted in a message: short, printable. */
bool state_printable(const char *s, size_t n);
bool state_in_list(const char *const *l, const char *s);
/* Every rule (state_validate() with a context) */
int state_check(const Ctx *x, const State *s);
