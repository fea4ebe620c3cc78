/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.h - /etc/vssd/vssd.conf: defaults, strict parsing, errors that name file and line */
#pragma once

#include "common/macro.h"

#define CONFIG_PATH_DEFAULT        "/etc/vssd/vssd.conf"
#define CONFIG_STORAGE_DIR_DEFAULT "/var/lib/vssd/storage"
#define CONFIG_LVM_BINARY_DEFAULT  "/sbin/lvm"

/* Parsed once at start-up, read-only afterwards; embedded in Daemon. Every field is documented,
 * with its key, default and range, in doc/vssd.conf.example. */
typedef struct Config {
	char *storage_dir;                /* [storage] directory: absolute */
	uint32_t storage_default_percent; /* [storage] default-percent: of the volume, 1..100 */
	uint64_t storage_min_bytes;       /* [storage] minimum: VSS's MinDiffAreaFileSize */
	uint64_t storage_initial_bytes;   /* [storage] initial: first allocation of a COW file */
	uint64_t storage_grow_bytes;      /* [storage] grow-step */
	uint32_t storage_warn_percent;    /* [storage] warning-percent */
	uint32_t chunk_kib;               /* [snapshot] chunk-size: power of two, 4..512 KiB */
	usec_t hold_timeout;              /* [timeouts] hold-ms */
	usec_t flush_timeout;             /* [timeouts] flush-ms */
	usec_t writer_freeze_default;     /* [timeouts] writer-freeze-ms */
	usec_t writer_freeze_max;         /* [timeouts] writer-freeze-max-ms */
	usec_t writer_event_timeout;      /* [timeouts] writer-event-ms: the other writer events */
	usec_t set_idle_timeout;          /* [timeouts] set-idle-ms: the creation slot's owner */
	uint32_t max_shadow_copies;       /* [limits] max-shadow-copies */
	uint32_t writers_per_connection;  /* [limits] writers-per-connection */
	uint32_t writers_per_uid;         /* [limits] writers-per-uid */
	uint32_t sets_per_uid;            /* [limits] sets-per-uid */
	bool parallel_freeze; /* [commit] freeze = parallel (FIFREEZE from threads) | lockfs */
	char *lvm_binary;     /* [lvm] binary: absolute path of lvm(8) */
	char *lvm_config;     /* [lvm] config: text for lvm's --config, NULL: none */
} Config;

/* Fills c with the defaults; c's previous content is not freed. -ENOMEM only. */
int config_init_defaults(Config *c);
/* Defaults overlaid with the file. c is zeroed or a loaded Config: replaced on success, untouched
 * on failure. -ENOENT when the file is missing (the caller decides whether that is fine),
 * -EINVAL for any mistake in it. On failure *ret_error (may be NULL) gets a sentence to log:
 * "<path>:<line>: <what is wrong and what is allowed>". */
int config_load(const char *path, Config *c, char **ret_error);
/* The same for text in memory; name stands for the file in messages. */
int config_load_string(const char *text, const char *name, Config *c, char **ret_error);
/* Frees what c owns and zeroes it; idempotent. */
void config_done(Config *c);
