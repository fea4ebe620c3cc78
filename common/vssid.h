/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vssid.h - RFC 4122 ids: generation, the 8-4-4-4-12 form, and the 32-digit object-path form */
#pragma once

#include "common/macro.h"

typedef struct VssId {
	uint8_t bytes[16];
} VssId;

#define VSSID_STRING_MAX 37 /* 36 characters and NUL */
#define VSSID_PATH_MAX   33 /* 32 hex digits and NUL */

void vssid_generate(VssId *ret);
bool vssid_is_null(const VssId *id);
bool vssid_equal(const VssId *a, const VssId *b);
/* buf must hold VSSID_STRING_MAX bytes; returns buf */
char *vssid_to_string(const VssId *id, char buf[static VSSID_STRING_MAX]);
/* buf must hold VSSID_PATH_MAX bytes: 32 lower-case hex digits, as used in object paths */
char *vssid_to_path(const VssId *id, char buf[static VSSID_PATH_MAX]);
/* Strict: exactly 8-4-4-4-12 hex digits (either case). -EINVAL otherwise. */
int vssid_from_string(const char *s, VssId *ret);
/* Strict: exactly 32 hex digits. -EINVAL otherwise. */
int vssid_from_path(const char *s, VssId *ret);
