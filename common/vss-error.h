/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-error.h - the org.vssd.ShadowCopy1.Error.* names, their VSS codes, and a carrier for messages
 */
#pragma once

#include "common/macro.h"

#define VSS_ERROR_PREFIX "org.vssd.ShadowCopy1.Error."

typedef enum VssError {
	VSS_ERROR_NONE,
	VSS_ERROR_BAD_STATE,
	VSS_ERROR_SNAPSHOT_SET_IN_PROGRESS,
	VSS_ERROR_OBJECT_NOT_FOUND,
	VSS_ERROR_OBJECT_ALREADY_EXISTS,
	VSS_ERROR_VOLUME_NOT_SUPPORTED,
	VSS_ERROR_VOLUME_IN_USE,
	VSS_ERROR_MAXIMUM_NUMBER_OF_VOLUMES_REACHED,
	VSS_ERROR_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED,
	VSS_ERROR_INSUFFICIENT_STORAGE,
	VSS_ERROR_WRITER_TIMEOUT,
	VSS_ERROR_WRITER_NOT_RESPONDING,
	VSS_ERROR_WRITER_VETO,
	VSS_ERROR_FLUSH_WRITES_TIMEOUT,
	VSS_ERROR_HOLD_WRITES_TIMEOUT,
	VSS_ERROR_PROVIDER_VETO,
	VSS_ERROR_UNEXPECTED_PROVIDER_ERROR,
	VSS_ERROR_ACCESS_DENIED,
	VSS_ERROR_INVALID_ARGUMENT,
	VSS_ERROR_UNSUPPORTED_CONTEXT,
	_VSS_ERROR_MAX,
	_VSS_ERROR_INVALID = -EINVAL,
} VssError;

typedef struct VssErrorInfo {
	const char *name;      /* "BadState": appended to VSS_ERROR_PREFIX */
	const char *code_name; /* "VSS_E_BAD_STATE" */
	uint32_t code;         /* 0x80042301 */
} VssErrorInfo;

const VssErrorInfo *vss_error_info(VssError e);
/* The default name for a negative errno, used when no layer named the error itself. */
VssError vss_error_from_errno(int error);
/* "org.vssd.ShadowCopy1.Error.BadState" -> VSS_ERROR_BAD_STATE; _VSS_ERROR_INVALID if unknown */
VssError vss_error_from_dbus_name(const char *name);

/* The first failure of an operation, with the sentence a person can act on. Lower layers fill it
 * where they know the details; the D-Bus layer turns it into the error reply. */
typedef struct VssErr {
	VssError kind;
	int error; /* negative errno */
	char message[512];
	/* A code other than the table's, e.g. a writer's own VSS_E_WRITERERROR_* for WriterVeto */
	const char *code_name;
	uint32_t code;
} VssErr;

/* Records the failure unless one is already recorded (the first cause wins). Returns -abs(error),
 * so that recording and returning are one statement. err may be NULL. */
int vss_err_set(VssErr *err, VssError kind, int error, const char *fmt, ...) _printf_(4, 5);
static inline bool vss_err_is_set(const VssErr *err)
{
	return err && err->kind != VSS_ERROR_NONE;
}
/* "VSS_E_BAD_STATE (0x80042301): <message>" into buf */
char *vss_err_format(VssError kind, const char *message, char *buf, size_t size);
/* The same for a recorded error, with its own code when it has one */
char *vss_err_format_err(const VssErr *err, char *buf, size_t size);
