/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vss-error.c - the org.vssd.ShadowCopy1.Error.* names, their VSS codes, and a carrier for messages
 */
#include <stdarg.h>

#include "common/vss-error.h"

/* Values from the Windows SDK headers (vss.h, winerror.h), see shared/reference/vss-semantics.md */
static const VssErrorInfo table[_VSS_ERROR_MAX] = {
	[VSS_ERROR_NONE] = { "None", "S_OK", 0 },
	[VSS_ERROR_BAD_STATE] = { "BadState", "VSS_E_BAD_STATE", 0x80042301 },
	[VSS_ERROR_SNAPSHOT_SET_IN_PROGRESS] = { "SnapshotSetInProgress",
	                                         "VSS_E_SNAPSHOT_SET_IN_PROGRESS", 0x80042316 },
	[VSS_ERROR_OBJECT_NOT_FOUND] = { "ObjectNotFound", "VSS_E_OBJECT_NOT_FOUND", 0x80042308 },
	[VSS_ERROR_OBJECT_ALREADY_EXISTS] = { "ObjectAlreadyExists", "VSS_E_OBJECT_ALREADY_EXISTS",
	                                      0x8004230D },
	[VSS_ERROR_VOLUME_NOT_SUPPORTED] = { "VolumeNotSupported", "VSS_E_VOLUME_NOT_SUPPORTED",
	                                     0x8004230C },
	[VSS_ERROR_VOLUME_IN_USE] = { "VolumeInUse", "VSS_E_VOLUME_IN_USE", 0x8004231D },
	[VSS_ERROR_MAXIMUM_NUMBER_OF_VOLUMES_REACHED] = { "MaximumNumberOfVolumesReached",
	                                                  "VSS_E_MAXIMUM_NUMBER_OF_VOLUMES_REACHED",
	                                                  0x80042312 },
	[VSS_ERROR_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED] = { "MaximumNumberOfSnapshotsReached",
	                                                    "VSS_E_MAXIMUM_NUMBER_OF_SNAPSHOTS_"
	                                                    "REACHED",
	                                                    0x80042317 },
	[VSS_ERROR_INSUFFICIENT_STORAGE] = { "InsufficientStorage", "VSS_E_INSUFFICIENT_STORAGE",
	                                     0x8004231F },
	[VSS_ERROR_WRITER_TIMEOUT] = { "WriterTimeout", "VSS_E_WRITERERROR_TIMEOUT", 0x800423F2 },
	[VSS_ERROR_WRITER_NOT_RESPONDING] = { "WriterNotResponding", "VSS_E_WRITER_NOT_RESPONDING",
	                                      0x80042319 },
	[VSS_ERROR_WRITER_VETO] = { "WriterVeto", "VSS_E_UNEXPECTED_WRITER_ERROR", 0x80042315 },
	[VSS_ERROR_FLUSH_WRITES_TIMEOUT] = { "FlushWritesTimeout", "VSS_E_FLUSH_WRITES_TIMEOUT",
	                                     0x80042313 },
	[VSS_ERROR_HOLD_WRITES_TIMEOUT] = { "HoldWritesTimeout", "VSS_E_HOLD_WRITES_TIMEOUT",
	                                    0x80042314 },
	[VSS_ERROR_PROVIDER_VETO] = { "ProviderVeto", "VSS_E_PROVIDER_VETO", 0x80042306 },
	[VSS_ERROR_UNEXPECTED_PROVIDER_ERROR] = { "UnexpectedProviderError",
	                                          "VSS_E_UNEXPECTED_PROVIDER_ERROR", 0x8004230F },
	[VSS_ERROR_ACCESS_DENIED] = { "AccessDenied", "E_ACCESSDENIED", 0x80070005 },
	[VSS_ERROR_INVALID_ARGUMENT] = { "InvalidArgument", "E_INVALIDARG", 0x80070057 },
	[VSS_ERROR_UNSUPPORTED_CONTEXT] = { "UnsupportedContext", "VSS_E_UNSUPPORTED_CONTEXT",
	                                    0x8004231B },
};

const VssErrorInfo *vss_error_info(VssError e)
{
	if (e < 0 || e >= _VSS_ERROR_MAX)
		return &table[VSS_ERROR_UNEXPECTED_PROVIDER_ERROR];
	return &table[e];
}

VssError vss_error_from_errno(int error)
{
	switch (error < 0 ? -error : error) {
	case 0:
		return VSS_ERROR_NONE;
	case EBUSY:
		return VSS_ERROR_BAD_STATE;
	case EALREADY:
		return VSS_ERROR_SNAPSHOT_SET_IN_PROGRESS;
	case ENOENT:
	case ENXIO:
	case ENODEV:
		return VSS_ERROR_OBJECT_NOT_FOUND;
	case EEXIST:
		return VSS_ERROR_OBJECT_ALREADY_EXISTS;
	case ENOTBLK:
	case EOPNOTSUPP:
		return VSS_ERROR_VOLUME_NOT_SUPPORTED;
	case ETXTBSY:
		return VSS_ERROR_VOLUME_IN_USE;
	case E2BIG:
		return VSS_ERROR_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED;
	case ENOSPC:
	case EDQUOT:
		return VSS_ERROR_INSUFFICIENT_STORAGE;
	case ETIMEDOUT:
		return VSS_ERROR_WRITER_NOT_RESPONDING;
	case ETIME:
		return VSS_ERROR_HOLD_WRITES_TIMEOUT;
	case ECANCELED:
		return VSS_ERROR_WRITER_VETO;
	case EACCES:
	case EPERM:
		return VSS_ERROR_ACCESS_DENIED;
	case EINVAL:
	case ERANGE:
	case ENAMETOOLONG:
	case EILSEQ:
		return VSS_ERROR_INVALID_ARGUMENT;
	default:
		return VSS_ERROR_UNEXPECTED_PROVIDER_ERROR;
	}
}

VssError vss_error_from_dbus_name(const char *name)
{
	const char *n;

	if (!name || !(n = startswith(name, VSS_ERROR_PREFIX)))
		return _VSS_ERROR_INVALID;
	for (int i = VSS_ERROR_NONE + 1; i < _VSS_ERROR_MAX; i++)
		if (streq(n, table[i].name))
			return (VssError)i;
	return _VSS_ERROR_INVALID;
}

int vss_err_set(VssErr *err, VssError kind, int error, const char *fmt, ...)
{
	int e = error < 0 ? error : -error;
	va_list ap;

	if (e == 0)
		e = -EIO;
	if (!err || err->kind != VSS_ERROR_NONE)
		return e;
	err->kind = kind == VSS_ERROR_NONE ? vss_error_from_errno(e) : kind;
	err->error = e;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return e;
}

char *vss_err_format(VssError kind, const char *message, char *buf, size_t size)
{
	const VssErrorInfo *i = vss_error_info(kind);

	snprintf(buf, size, "%s (0x%08X): %s", i->code_name, (unsigned)i->code, message);
	return buf;
}

char *vss_err_format_err(const VssErr *err, char *buf, size_t size)
{
	if (!err->code_name)
		return vss_err_format(err->kind, err->message, buf, size);
	snprintf(buf, size, "%s (0x%08X): %s", err->code_name, (unsigned)err->code, err->message);
	return buf;
}
