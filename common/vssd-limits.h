/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vssd-limits.h - every cap in one place; the daemon enforces each, vssctl checks early */
#pragma once

#include <stdint.h>

#define VSSD_STRING_MAX                 255 /* bytes: labels, writer names, descriptions */
#define VSSD_PATH_MAX                   4095
#define VSSD_PATH_BUF                   4096
#define VSSD_SCHEDULE_NAME_MAX          64  /* bytes: a schedule (vssd-snapshot@NAME) */
#define VSSD_DM_NAME_MAX                127 /* DM_NAME_LEN - 1 */
#define VSSD_VOLUMES_PER_SET_MAX        64  /* VSS_E_MAXIMUM_NUMBER_OF_VOLUMES_REACHED beyond */
#define VSSD_SNAPSHOTS_PER_VOLUME_MAX   512 /* VSS's system provider limit */
#define VSSD_MAX_SHADOW_COPIES_DEFAULT  64  /* client-accessible ones, like VSS's MaxShadowCopies */
#define VSSD_WRITERS_PER_CONNECTION_MAX 16
#define VSSD_SETS_PER_UID_MAX           16
#define VSSD_RESTORES_PER_UID_MAX       8 /* VSS: 8 restore sessions */
#define VSSD_RESTORES_MAX               64
#define VSSD_PENDING_CALLS_MAX          64 /* dbus-daemon allows 128 pending replies per connection */
#define VSSD_WRITERS_PER_UID_MAX        256  /* [limits] writers-per-uid caps it lower */
#define VSSD_WRITERS_MAX                1024 /* all uids together */
#define VSSD_COMPONENTS_PER_WRITER_MAX  256
#define VSSD_PATHS_PER_COMPONENT_MAX    256
#define VSSD_FILES_PER_LIST_MAX         256 /* a component's files, exclude-files, mappings */
#define VSSD_DEPS_PER_COMPONENT_MAX     64  /* a component's dependencies */
#define VSSD_BACKUP_SCHEMA_MAX          15  /* the VSS_BACKUP_SCHEMA bits */
/* bytes of writer metadata vssd keeps (names, class ids, components, paths, files...) */
#define VSSD_WRITER_METADATA_PER_UID_MAX (4U << 20)
#define VSSD_WRITER_METADATA_MAX         (16U << 20) /* all uids together */
#define VSSD_OPTION_ARRAY_MAX            256 /* elements of an array option without its own cap */
#define VSSD_HOLD_TIMEOUT_USEC           (10 * 1000000ULL) /* VSS: flush-and-hold lasts 10 s at most */
#define VSSD_FLUSH_TIMEOUT_USEC          (10 * 1000000ULL)
#define VSSD_SET_IDLE_TIMEOUT_USEC       (300 * 1000000ULL) /* an idle owner frees the slot */
#define VSSD_FREEZE_TIMEOUT_DEFAULT_MSEC 60000              /* VSS's dwTimeoutFreeze default */
#define VSSD_CHUNK_SECTORS_DEFAULT       32 /* 16 KiB copy-on-write chunks, as VSS */
#define VSSD_STORAGE_BYTES_MAX           ((uint64_t)INT64_MAX) /* the state file holds int64 */
#define VSSD_STORAGE_MIN_BYTES                                            \
	(320ULL << 20) /* VSS's MinDiffAreaFileSize for volumes >= 500 MB \
	                */
