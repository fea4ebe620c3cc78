/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vssd-bus-names.h - vssd's bus name, object path and interfaces, as dbus/org.vssd.ShadowCopy1.xml
 * spells them; for vssd, vssctl and libvsswriter */
#pragma once

#include <errno.h>

#define VSSD_BUS_NAME      "org.vssd.ShadowCopy1"
#define VSSD_ROOT_PATH     "/org/vssd/ShadowCopy1"
#define VSSD_IFACE_MANAGER "org.vssd.ShadowCopy1.Manager"
#define VSSD_IFACE_SET     "org.vssd.ShadowCopy1.SnapshotSet"
#define VSSD_IFACE_SNAP    "org.vssd.ShadowCopy1.Snapshot"
#define VSSD_IFACE_WRITER  "org.vssd.ShadowCopy1.Writer"
#define VSSD_IFACE_RESTORE "org.vssd.ShadowCopy1.RestoreSession"
/* A writer's veto is an error named this prefix and Retryable, NonRetryable, OutOfResources,
 * InconsistentSnapshot or Timeout */
#define VSSD_WRITER_ERROR_PREFIX "org.vssd.ShadowCopy1.Writer.Error."

/* The events vssd calls on a writer's object (the Writer interface's methods, in VSS order) */
typedef enum WriterEvent {
	WRITER_EVENT_IDENTIFY,
	WRITER_EVENT_PREPARE_BACKUP,
	WRITER_EVENT_PREPARE_SNAPSHOT,
	WRITER_EVENT_FREEZE,
	WRITER_EVENT_THAW,
	WRITER_EVENT_POST_SNAPSHOT,
	WRITER_EVENT_ABORT,
	WRITER_EVENT_BACKUP_COMPLETE,
	WRITER_EVENT_BACKUP_SHUTDOWN,
	/* optional (a writer answering UnknownMethod has nothing to do): each component's result,
	 * sent before BackupComplete */
	WRITER_EVENT_BACKUP_RESULTS,
	WRITER_EVENT_PRE_RESTORE,
	WRITER_EVENT_POST_RESTORE,
	_WRITER_EVENT_MAX,
	_WRITER_EVENT_INVALID = -EINVAL,
} WriterEvent;
