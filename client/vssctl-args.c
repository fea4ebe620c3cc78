/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssctl-args.c - vssctl's command line: verbs, options, early validation, usage texts */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>

#include "client/vssctl-args.h"
#include "common/valid.h"
#include "common/vssd-limits.h"
#include "common/vssd-version.h"

enum {
	OPT_VERSION = 0x100,
	OPT_BUS,
	OPT_JSON,
	OPT_TIMEOUT,
	OPT_SET, /* the first verb option: BIT() counts from here */
	OPT_SHADOW,
	OPT_VOLUME,
	OPT_FOR,
	OPT_ON,
	OPT_MAXSIZE,
	OPT_CONTEXT,
	OPT_TYPE,
	OPT_DESCRIPTION,
	OPT_NAME,
	OPT_NO_WRITERS,
	OPT_NO_AUTO_RELEASE,
	OPT_OLDEST,
	OPT_ALL,
	OPT_QUIET,
	OPT_MOUNT,
	OPT_DEVICE_ONLY,
	OPT_DELETE_SNAPSHOTS,
	OPT_DETAILED,
	OPT_DOCUMENT,
	OPT_PREVIOUS,
	OPT_COMPONENT,
};

#define BIT(o) (1ULL << ((o)-OPT_SET))

static const struct option options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "bus", required_argument, NULL, OPT_BUS },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "set", required_argument, NULL, OPT_SET },
	{ "shadow", required_argument, NULL, OPT_SHADOW },
	{ "volume", required_argument, NULL, OPT_VOLUME },
	{ "for", required_argument, NULL, OPT_FOR },
	{ "on", required_argument, NULL, OPT_ON },
	{ "maxsize", required_argument, NULL, OPT_MAXSIZE },
	{ "context", required_argument, NULL, OPT_CONTEXT },
	{ "type", required_argument, NULL, OPT_TYPE },
	{ "description", required_argument, NULL, OPT_DESCRIPTION },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "no-writers", no_argument, NULL, OPT_NO_WRITERS },
	{ "no-auto-release", no_argument, NULL, OPT_NO_AUTO_RELEASE },
	{ "oldest", no_argument, NULL, OPT_OLDEST },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "mount", no_argument, NULL, OPT_MOUNT },
	{ "device-only", no_argument, NULL, OPT_DEVICE_ONLY },
	{ "delete-snapshots", no_argument, NULL, OPT_DELETE_SNAPSHOTS },
	{ "detailed", no_argument, NULL, OPT_DETAILED },
	{ "document", required_argument, NULL, OPT_DOCUMENT },
	{ "previous", required_argument, NULL, OPT_PREVIOUS },
	{ "component", required_argument, NULL, OPT_COMPONENT },
	{},
};

static const char *const contexts[] = {
	"backup",
	"file-share-backup",
	"persistent",
	"app-rollback",
	"client-accessible",
	"nas-rollback",
	"client-accessible-writers",
};
static const char *const backup_types[] = { "full", "copy", "incremental", "differential", "log" };

#define CONTEXTS_TEXT                                                                            \
	"backup, file-share-backup, persistent, app-rollback, client-accessible, nas-rollback, " \
	"client-accessible-writers"
#define TYPES_TEXT "full, copy, incremental, differential, log"

typedef struct Verb {
	const char *words; /* one or two words */
	uint64_t options;
	unsigned args_min, args_max;
	const char *synopsis; /* after "vssctl " */
	const char *help;
} Verb;

/* clang-format off */
static const Verb verbs[_VSSCTL_VERB_MAX] = {
	[VSSCTL_LIST_SHADOWS] = {
		"list shadows", BIT(OPT_SET) | BIT(OPT_SHADOW) | BIT(OPT_VOLUME), 0, 0,
		"list shadows [--set ID] [--shadow ID] [--volume V]",
		"List the shadow copies vssd keeps, grouped by shadow copy set (id, context,\n"
		"creation time in local time), like 'vssadmin list shadows'.\n"
		"\n"
		"  --set ID       only the shadow copies of this set\n"
		"  --shadow ID    only this shadow copy\n"
		"  --volume V     only the shadow copies of this volume (any path of its device)\n"
		"  --json         an array of objects: id, set_id, volume, original_device,\n"
		"                 device, provider, context, attributes, creation_time (us\n"
		"                 since the epoch), state, storage_used, storage_size,\n"
		"                 exposed_path\n",
	},
	[VSSCTL_LIST_VOLUMES] = {
		"list volumes", 0, 0, 0,
		"list volumes",
		"List the block devices vssd sees: size, whether and by which provider they\n"
		"can be snapshotted (or why not), their shadow copy count and mount point.\n",
	},
	[VSSCTL_LIST_PROVIDERS] = {
		"list providers", 0, 0, 0,
		"list providers",
		"List the shadow copy providers: name, type, id and version.\n",
	},
	[VSSCTL_LIST_WRITERS] = {
		"list writers", BIT(OPT_DETAILED), 0, 0,
		"list writers [--detailed]",
		"Ask every registered writer to identify itself, then list them: name, class id,\n"
		"instance id, state and last error, like 'vssadmin list writers'.\n"
		"\n"
		"  --detailed     also each writer's metadata, like 'diskshadow list writers\n"
		"                 detailed': restore method, backup schema, excluded files,\n"
		"                 alternate locations, and its components with their files,\n"
		"                 paths, volumes and dependencies\n",
	},
	[VSSCTL_LIST_STORAGE] = {
		"list storage", BIT(OPT_FOR), 0, 0,
		"list storage [--for V]",
		"List the shadow copy storage associations (where the copy-on-write data of\n"
		"each volume goes) with the used, allocated and maximum space.\n"
		"\n"
		"  --for V        only the association of volume V\n",
	},
	[VSSCTL_CREATE_SHADOW] = {
		"create shadow",
		BIT(OPT_VOLUME) | BIT(OPT_CONTEXT) | BIT(OPT_NO_WRITERS) | BIT(OPT_NO_AUTO_RELEASE) |
			BIT(OPT_TYPE) | BIT(OPT_DESCRIPTION),
		0, 0,
		"create shadow --volume V [--volume V]... [--context C]\n"
		"[--no-writers] [--no-auto-release] [--type T]\n"
		"[--description TEXT]",
		"Create one shadow copy set over the volumes (CreateSnapshotSet); writers are\n"
		"asked to freeze unless --no-writers. Prints the set id, then each shadow copy's\n"
		"id and device.\n"
		"\n"
		"  --volume V          a volume (device path); repeat for more, at most 64\n"
		"  --context C         backup, file-share-backup, persistent, app-rollback,\n"
		"                      client-accessible, client-accessible-writers or\n"
		"                      nas-rollback. Default: client-accessible-writers, a\n"
		"                      persistent shadow copy with writers, as 'vssadmin create\n"
		"                      shadow' makes. The backup and\n"
		"                      file-share-backup contexts release the shadow copies when\n"
		"                      vssctl exits, unless --no-auto-release is given.\n"
		"  --no-writers        do not involve writers (crash-consistent copy)\n"
		"  --no-auto-release   keep the shadow copies when vssctl leaves the bus\n"
		"  --type T            the backup type writers are told: full (default), copy,\n"
		"                      incremental, differential or log\n"
		"  --description TEXT  a label for the set, at most 255 bytes\n"
		"  --json              {\"set_id\", \"snapshots\": [{\"id\", \"volume\", \"device\"}]}\n",
	},
	[VSSCTL_DELETE_SHADOWS] = {
		"delete shadows",
		BIT(OPT_SET) | BIT(OPT_SHADOW) | BIT(OPT_VOLUME) | BIT(OPT_OLDEST) | BIT(OPT_ALL) |
			BIT(OPT_QUIET),
		0, 0,
		"delete shadows (--set ID | --shadow ID | --all |\n"
		" --volume V (--oldest | --all)) [--quiet]",
		"Delete shadow copies (DeleteSnapshots) and print how many were deleted. On a\n"
		"terminal vssctl asks first, unless --quiet.\n"
		"\n"
		"  --set ID            every shadow copy of this set\n"
		"  --shadow ID         this shadow copy\n"
		"  --volume V --oldest the oldest shadow copy of volume V\n"
		"  --volume V --all    every shadow copy of volume V\n"
		"  --all               every shadow copy vssd has\n"
		"  --quiet             do not ask\n"
		"  --json              {\"deleted\": N}\n",
	},
	[VSSCTL_BACKUP] = {
		"backup",
		BIT(OPT_VOLUME) | BIT(OPT_CONTEXT) | BIT(OPT_TYPE) | BIT(OPT_NO_WRITERS) |
			BIT(OPT_MOUNT) | BIT(OPT_DESCRIPTION) | BIT(OPT_DOCUMENT) |
			BIT(OPT_PREVIOUS),
		0, UINT_MAX,
		"backup --volume V [--volume V]... [--context C] [--type T]\n"
		"[--no-writers] [--mount] [--description TEXT] [--document FILE]\n"
		"[--previous FILE]\n"
		"-- CMD [ARGS]...",
		"Run CMD while shadow copies of the volumes exist, as diskshadow's exec does:\n"
		"StartSnapshotSet, AddVolume for each volume, GatherWriterMetadata,\n"
		"PrepareForBackup, DoSnapshotSet, GatherWriterStatus, then CMD, then\n"
		"BackupComplete (success when CMD exits 0) and Release. If anything fails before\n"
		"CMD runs, the set is aborted and released. SIGINT, SIGTERM and SIGHUP are passed\n"
		"on to CMD; the set is then aborted and released.\n"
		"\n"
		"CMD gets in its environment:\n"
		"  VSSD_SET_ID             the set id\n"
		"  VSSD_SNAPSHOT_IDS       the shadow copy ids, space-separated, in volume order\n"
		"  VSSD_SNAPSHOT_DEVICES   \"VOLUME=DEVICE ...\", in volume order\n"
		"  VSSD_SNAPSHOT_MOUNTS    with --mount: \"VOLUME=MOUNTPOINT ...\"\n"
		"\n"
		"  --volume V          a volume (device path, no white space); repeat for more\n"
		"  --context C         default: backup (released when the backup ends)\n"
		"  --type T            full (default), copy, incremental, differential or log\n"
		"                      (diskshadow defaults to copy: pass --type copy to keep\n"
		"                      writers from treating this as their full backup)\n"
		"  --no-writers        do not involve writers\n"
		"  --mount             expose each shadow copy read-only where vssd chooses,\n"
		"                      /run/vssd/expose/ID (unmounted when CMD ends)\n"
		"  --description TEXT  a label for the set\n"
		"  --document FILE     after BackupComplete, write the backup document\n"
		"                      (GetBackupDocument, JSON) to FILE, mode 0600; keep it\n"
		"                      with the backup\n"
		"  --previous FILE     the document of the backup this one follows (e.g. the\n"
		"                      full one before an incremental): its writers' backup\n"
		"                      stamps become the previous stamps (previous-document)\n"
		"\n"
		"Exit status: CMD's; 128+N if CMD was killed by signal N or vssctl got it; 1\n"
		"when vssd failed; 2 on a usage error.\n",
	},
	[VSSCTL_RESTORE] = {
		"restore",
		BIT(OPT_DOCUMENT) | BIT(OPT_COMPONENT),
		0, UINT_MAX,
		"restore --document FILE [--component INSTANCE:NAME]...\n"
		"-- CMD [ARGS]...",
		"Restore components of a backup with the writers' help, as diskshadow's\n"
		"restore does: StartRestore with the backup document, GatherWriterMetadata,\n"
		"SetSelectedForRestore, PreRestore (writers stop using their files), then\n"
		"CMD, which copies the files back, then SetFileRestoreStatus (all when CMD\n"
		"exits 0, failed otherwise), PostRestore (writers take the files back),\n"
		"GatherWriterStatus and Release. No shadow copy is involved.\n"
		"\n"
		"CMD gets in its environment:\n"
		"  VSSD_RESTORE_ID          the restore session id\n"
		"  VSSD_BACKUP_SET_ID       the set the backup was taken from\n"
		"  VSSD_RESTORE_COMPONENTS  the selected components, \"INSTANCE-ID:NAME ...\"\n"
		"                           (the document's instance ids), space-separated\n"
		"  VSSD_RESTORE_FAILED      those whose writer vetoed PreRestore (restore\n"
		"                           them anyway at your own risk), likewise\n"
		"\n"
		"  --document FILE         the backup document (vssctl backup --document)\n"
		"  --component INSTANCE:NAME\n"
		"                          a component to restore: INSTANCE is the writer's\n"
		"                          instance id in the document, its instance name, or\n"
		"                          its name; repeat for more. Default: every component\n"
		"                          that was part of the backup\n"
		"\n"
		"Exit status: 0 when CMD succeeded and no writer failed; CMD's status when it\n"
		"failed; 1 when a writer failed or vssd did; 2 on a usage error.\n",
	},
	[VSSCTL_ADD_STORAGE] = {
		"add storage", BIT(OPT_FOR) | BIT(OPT_ON) | BIT(OPT_MAXSIZE), 0, 0,
		"add storage --for V --on DIR [--maxsize SIZE]",
		"Keep the copy-on-write data of volume V in directory DIR (outside V).\n"
		"\n"
		"  --for V         the volume\n"
		"  --on DIR        an absolute directory path\n"
		"  --maxsize SIZE  the most all shadow copies of V may use together: bytes\n"
		"                  with an optional K, M, G or T suffix (powers of 1024), or\n"
		"                  N% of the size of V. Default: vssd's (10 % of the volume,\n"
		"                  at least its configured minimum)\n",
	},
	[VSSCTL_RESIZE_STORAGE] = {
		"resize storage", BIT(OPT_FOR) | BIT(OPT_MAXSIZE), 0, 0,
		"resize storage --for V --maxsize SIZE",
		"Change the maximum size of the shadow copy storage of volume V. Shrinking it\n"
		"may delete shadow copies, as in VSS.\n"
		"\n"
		"  --for V         the volume\n"
		"  --maxsize SIZE  bytes with an optional K, M, G or T suffix, or N% of the\n"
		"                  size of V\n",
	},
	[VSSCTL_DELETE_STORAGE] = {
		"delete storage", BIT(OPT_FOR) | BIT(OPT_DELETE_SNAPSHOTS) | BIT(OPT_QUIET), 0, 0,
		"delete storage --for V [--delete-snapshots] [--quiet]",
		"Remove the shadow copy storage association of volume V. vssd refuses while V\n"
		"has shadow copies, unless --delete-snapshots is given (then vssctl asks first\n"
		"on a terminal, unless --quiet).\n",
	},
	[VSSCTL_EXPOSE] = {
		"expose", BIT(OPT_DEVICE_ONLY), 1, 2,
		"expose SHADOW-ID (PATH | \"\" | --device-only)",
		"Mount the shadow copy read-only on PATH, an existing empty directory, or with \"\"\n"
		"or --device-only just report its device. Prints the mount point or the device.\n",
	},
	[VSSCTL_UNEXPOSE] = {
		"unexpose", 0, 1, 1,
		"unexpose SHADOW-ID",
		"Undo expose: unmount the shadow copy.\n",
	},
	[VSSCTL_REVERT] = {
		"revert", BIT(OPT_QUIET), 1, 1,
		"revert SHADOW-ID [--quiet]",
		"Revert the shadow copy's volume to its contents (persistent contexts only; the\n"
		"volume must be unmounted). The merge runs in the background: see 'vssctl query\n"
		"reverts'. On a terminal vssctl asks first, unless --quiet.\n",
	},
	[VSSCTL_QUERY_REVERTS] = {
		"query reverts", BIT(OPT_FOR), 0, 0,
		"query reverts [--for V]",
		"List the reverts in progress (shadow copies being merged) with their progress.\n"
		"\n"
		"  --for V   only the revert of volume V\n",
	},
	[VSSCTL_ADD_VOLUME] = {
		"add volume", BIT(OPT_NAME), 1, 1,
		"add volume DEVICE [--name NAME]",
		"Wrap an unmounted, unused block device in a vssd-managed dm-linear volume so\n"
		"that it can have shadow copies (CreateVolume). Prints the new volume path.\n"
		"\n"
		"  --name NAME   the device-mapper name (default: vssd-<kernel name>)\n",
	},
	[VSSCTL_DELETE_VOLUME] = {
		"delete volume", 0, 1, 1,
		"delete volume VOLUME",
		"Undo 'add volume' (RemoveVolume).\n",
	},
	[VSSCTL_SCHEDULE_RUN] = {
		"schedule run", 0, 1, 1,
		"schedule run NAME",
		"Run the schedule NAME once, as vssd-snapshot@NAME.service does: create a shadow\n"
		"copy set of its volumes from /etc/vssd/schedule.d/NAME.conf (vssd-schedule(5)),\n"
		"tagged with the schedule, then delete the schedule's own sets, oldest first,\n"
		"beyond its keep count or older than its max-age. Sets that another schedule or\n"
		"no schedule made are never deleted. Root only (the tag is root's).\n",
	},
};
/* clang-format on */

/* vssadmin's spellings, and singular/plural slips */
static const struct {
	const char *words;
	VssctlVerb verb;
} aliases[] = {
	{ "list shadow", VSSCTL_LIST_SHADOWS },
	{ "list shadowstorage", VSSCTL_LIST_STORAGE },
	{ "create shadows", VSSCTL_CREATE_SHADOW },
	{ "delete shadow", VSSCTL_DELETE_SHADOWS },
	{ "add shadowstorage", VSSCTL_ADD_STORAGE },
	{ "resize shadowstorage", VSSCTL_RESIZE_STORAGE },
	{ "delete shadowstorage", VSSCTL_DELETE_STORAGE },
	{ "revert shadow", VSSCTL_REVERT },
	{ "query revert", VSSCTL_QUERY_REVERTS },
};

void vssctl_args_done(VssctlArgs *a)
{
	a->volumes = strv_free(a->volumes);
	a->components = strv_free(a->components);
}

const char *vssctl_verb_to_string(VssctlVerb v)
{
	if (v < 0 || v >= _VSSCTL_VERB_MAX)
		return NULL;
	return verbs[v].words;
}

/* The synopsis after prefix; its continuation lines line up after the verb's words */
static void synopsis_print(FILE *f, const char *prefix, VssctlVerb v)
{
	int indent = (int)(strlen(prefix) + strlen(verbs[v].words) + 1);

	fputs(prefix, f);
	for (const char *p = verbs[v].synopsis; *p;) {
		size_t l = strcspn(p, "\n");

		fprintf(f, "%*s%.*s\n", p == verbs[v].synopsis ? 0 : indent, "", (int)l, p);
		p += l + (p[l] ? 1 : 0);
	}
}

static void usage_global(FILE *f, bool brief)
{
	fputs("Usage: vssctl [--bus ADDRESS] [--json] [--timeout-ms MS] VERB [OPTIONS]\n", f);
	if (brief) {
		fputs("Try 'vssctl --help' for the verbs.\n", f);
		return;
	}
	fputs("       vssctl VERB --help | --help | --version\n"
	      "\n"
	      "Shadow copies of block devices through vssd, with the verbs of vssadmin and\n"
	      "diskshadow.\n"
	      "\n"
	      "Verbs:\n",
	      f);
	for (int v = 0; v < _VSSCTL_VERB_MAX; v++)
		synopsis_print(f, "  ", (VssctlVerb)v);
	fputs("\n"
	      "Global options (before or after the verb):\n"
	      "  --bus ADDRESS    a D-Bus address instead of the system bus (which\n"
	      "                   DBUS_SYSTEM_BUS_ADDRESS may name)\n"
	      "  --json           JSON output from the list verbs, query reverts, create\n"
	      "                   shadow, delete shadows, expose and add volume\n"
	      "  --timeout-ms MS  the timeout of every call (default 120000; 900000 for the\n"
	      "                   calls that wait for writers or create shadow copies)\n"
	      "  -h, --help       this text, or with a verb that verb's\n"
	      "  --version        the version\n"
	      "\n"
	      "Ids are 8-4-4-4-12 UUIDs, with or without braces. A volume is any path of a\n"
	      "block device. Exit status: 0 success, 1 failure (vssd's message, with its VSS\n"
	      "code, on stderr), 2 usage error. See vssctl(1).\n",
	      f);
}

void vssctl_usage(FILE *f, VssctlVerb v, bool brief)
{
	if (v < 0 || v >= _VSSCTL_VERB_MAX) {
		usage_global(f, brief);
		return;
	}
	synopsis_print(f, "Usage: vssctl ", v);
	if (brief)
		fprintf(f, "Try 'vssctl %s --help' for details.\n", verbs[v].words);
	else
		fprintf(f, "\n%s", verbs[v].help);
}

/* Prints (f may be NULL) the synopses of every two-word verb that starts with word ("list");
 * false if there is none. */
static bool usage_group(FILE *f, const char *word)
{
	size_t l = strlen(word);
	bool found = false;

	for (int v = 0; v < _VSSCTL_VERB_MAX; v++)
		if (strncmp(verbs[v].words, word, l) == 0 && verbs[v].words[l] == ' ') {
			if (f)
				synopsis_print(f, found ? "       vssctl " : "Usage: vssctl ",
				               (VssctlVerb)v);
			found = true;
		}
	return found;
}

_printf_(3, 4) static int usage_error(FILE *err, VssctlVerb v, const char *fmt, ...)
{
	va_list ap;

	fputs("vssctl: ", err);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputc('\n', err);
	vssctl_usage(err, v, true);
	return -EINVAL;
}

/* Does words ("list shadows") match the first one or two of args? Returns the count or 0. */
static int words_match(const char *words, char *const *args, int n)
{
	const char *space = strchr(words, ' ');

	if (!space)
		return n >= 1 && streq(words, args[0]) ? 1 : 0;
	if (n < 2 || strlen(args[0]) != (size_t)(space - words) ||
	    strncmp(words, args[0], (size_t)(space - words)) != 0 || !streq(space + 1, args[1]))
		return 0;
	return 2;
}

/* The longest match wins: "revert shadow ID" is the alias, not "revert" with "shadow" as ID */
static VssctlVerb verb_find(char *const *args, int n, int *ret_consumed)
{
	for (int want = 2; want > 0; want--) {
		for (int v = 0; v < _VSSCTL_VERB_MAX; v++)
			if (words_match(verbs[v].words, args, n) == want) {
				*ret_consumed = want;
				return (VssctlVerb)v;
			}
		for (size_t i = 0; i < ELEMENTSOF(aliases); i++)
			if (words_match(aliases[i].words, args, n) == want) {
				*ret_consumed = want;
				return aliases[i].verb;
			}
	}
	return _VSSCTL_VERB_INVALID;
}

static const char *option_name(int val)
{
	for (const struct option *o = options; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

static bool in_list(const char *s, const char *const *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (streq(s, l[i]))
			return true;
	return false;
}

bool vssctl_context_valid(const char *s)
{
	return s && in_list(s, contexts, ELEMENTSOF(contexts));
}

bool vssctl_backup_type_valid(const char *s)
{
	return s && in_list(s, backup_types, ELEMENTSOF(backup_types));
}

int vssctl_parse_id(const char *s, char ret[static VSSID_STRING_MAX])
{
	char buf[VSSID_STRING_MAX];
	size_t l;
	VssId id;

	if (!s)
		return -EINVAL;
	l = strlen(s);
	if (l == VSSID_STRING_MAX + 1 && s[0] == '{' && s[l - 1] == '}') {
		memcpy(buf, s + 1, l - 2);
		buf[l - 2] = 0;
		s = buf;
	}
	if (vssid_from_string(s, &id) < 0)
		return -EINVAL;
	vssid_to_string(&id, ret);
	return 0;
}

int vssctl_parse_maxsize(const char *s, VssctlSize *ret)
{
	size_t l = s ? strlen(s) : 0;
	uint64_t bytes;
	int r;

	if (l >= 2 && s[l - 1] == '%') {
		unsigned p = 0;

		for (size_t i = 0; i + 1 < l; i++) {
			if (!isdigit((unsigned char)s[i]))
				return -EINVAL;
			p = p * 10 + (unsigned)(s[i] - '0');
			if (p > 100)
				return -EINVAL;
		}
		if (p == 0)
			return -EINVAL;
		*ret = (VssctlSize){ .set = true, .is_percent = true, .percent = p };
		return 0;
	}
	r = parse_size(s, &bytes);
	if (r < 0)
		return r;
	if (bytes == 0)
		return -EINVAL;
	*ret = (VssctlSize){ .set = true, .bytes = bytes };
	return 0;
}

uint64_t vssctl_size_bytes(const VssctlSize *s, uint64_t volume_bytes)
{
	if (!s->is_percent)
		return s->bytes;
	/* no overflow for any 64-bit size */
	return volume_bytes / 100 * s->percent + volume_bytes % 100 * s->percent / 100;
}

static int parse_timeout(const char *s, int *ret)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v == 0 || v > INT_MAX)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

/* One option from getopt_long(). verb < 0 while reading the options before the verb. Returns 1
 * to go on, 0 after --help/--version, or a negative errno. */
static int handle_option(VssctlArgs *a, int c, char *const *argv, VssctlVerb verb, FILE *out,
                         FILE *err)
{
	const char *what = verb >= 0 ? verbs[verb].words : NULL;
	int r;

	switch (c) {
	case 'h':
		vssctl_usage(out, verb, false);
		return 0;
	case OPT_VERSION:
		fprintf(out, "vssctl %s\n", VSSD_VERSION);
		return 0;
	case ':':
		return usage_error(err, verb, "option --%s needs an argument", option_name(optopt));
	case '?':
		if (optopt >= OPT_VERSION)
			return usage_error(err, verb, "option --%s takes no argument",
			                   option_name(optopt));
		if (optopt > 0)
			return usage_error(err, verb, "unknown option -%c", optopt);
		return usage_error(err, verb, "unknown option %s", argv[optind - 1]);
	case OPT_BUS:
		if (!valid_text(optarg, VSSD_PATH_MAX))
			return usage_error(err, verb, "--bus needs a D-Bus address");
		a->bus_address = optarg;
		return 1;
	case OPT_JSON:
		a->json = true;
		return 1;
	case OPT_TIMEOUT:
		if (parse_timeout(optarg, &a->timeout_ms) < 0)
			return usage_error(
				err, verb,
				"invalid --timeout-ms '%s': expected milliseconds, 1 or more",
				optarg);
		return 1;
	}

	if (c < OPT_SET || c > OPT_COMPONENT) /* getopt_long() returns nothing else */
		return usage_error(err, verb, "unexpected option %d", c);
	if (verb < 0)
		return usage_error(err, verb, "option --%s belongs after the verb", option_name(c));
	if (!(verbs[verb].options & BIT(c)))
		return usage_error(err, verb, "option --%s is not valid for '%s'", option_name(c),
		                   what);

	switch (c) {
	case OPT_SET:
	case OPT_SHADOW:
		if (vssctl_parse_id(optarg, c == OPT_SET ? a->set_id : a->shadow_id) < 0)
			return usage_error(
				err, verb,
				"invalid %s id '%s': expected a UUID, 8-4-4-4-12 hex digits",
				c == OPT_SET ? "set" : "shadow copy", optarg);
		return 1;
	case OPT_VOLUME:
		r = strv_extend(&a->volumes, optarg);
		return r < 0 ? r : 1;
	case OPT_FOR:
		a->for_volume = optarg;
		return 1;
	case OPT_ON:
		a->on_dir = optarg;
		return 1;
	case OPT_MAXSIZE:
		r = vssctl_parse_maxsize(optarg, &a->maxsize);
		if (r < 0)
			return usage_error(
				err, verb,
				"invalid size '%s': expected bytes with an optional K, M, G "
				"or T suffix, or a percentage from 1%% to 100%%",
				optarg);
		return 1;
	case OPT_CONTEXT:
		if (!vssctl_context_valid(optarg))
			return usage_error(err, verb, "unknown context '%s'; one of " CONTEXTS_TEXT,
			                   optarg);
		a->context = optarg;
		return 1;
	case OPT_TYPE:
		if (!vssctl_backup_type_valid(optarg))
			return usage_error(err, verb,
			                   "unknown backup type '%s'; one of " TYPES_TEXT, optarg);
		a->backup_type = optarg;
		return 1;
	case OPT_DESCRIPTION:
		if (!valid_text(optarg, VSSD_STRING_MAX))
			return usage_error(err, verb,
			                   "the description must be 1 to %d bytes without control "
			                   "characters",
			                   VSSD_STRING_MAX);
		a->description = optarg;
		return 1;
	case OPT_NAME:
		if (!valid_dm_name(optarg))
			return usage_error(
				err, verb,
				"invalid name '%s': 1 to %d of A-Z a-z 0-9 # + - . : = @ _", optarg,
				VSSD_DM_NAME_MAX);
		a->name = optarg;
		return 1;
	case OPT_NO_WRITERS:
		a->no_writers = true;
		return 1;
	case OPT_NO_AUTO_RELEASE:
		a->no_auto_release = true;
		return 1;
	case OPT_OLDEST:
		a->oldest = true;
		return 1;
	case OPT_ALL:
		a->all = true;
		return 1;
	case OPT_QUIET:
		a->quiet = true;
		return 1;
	case OPT_MOUNT:
		a->mount = true;
		return 1;
	case OPT_DEVICE_ONLY:
		a->device_only = true;
		return 1;
	case OPT_DOCUMENT:
		if (!valid_text(optarg, VSSD_PATH_MAX))
			return usage_error(err, verb, "--document needs a file name");
		a->document = optarg;
		return 1;
	case OPT_PREVIOUS:
		if (!valid_text(optarg, VSSD_PATH_MAX))
			return usage_error(err, verb, "--previous needs a file name");
		a->previous = optarg;
		return 1;
	case OPT_COMPONENT:
		if (!valid_text(optarg, VSSD_STRING_MAX * 2) || !strchr(optarg, ':') ||
		    optarg[0] == ':' || strchr(optarg, ':')[1] == 0)
			return usage_error(err, verb, "--component needs INSTANCE:NAME, not '%s'",
			                   optarg);
		if (strv_extend(&a->components, optarg) < 0)
			return -ENOMEM;
		return 1;
	case OPT_DELETE_SNAPSHOTS:
		a->delete_snapshots = true;
		return 1;
	case OPT_DETAILED:
		a->detailed = true;
		return 1;
	}
	return usage_error(err, verb, "unexpected option %d", c);
}

static int check_path(FILE *err, VssctlVerb v, const char *what, const char *p)
{
	if (!valid_abs_path(p))
		return usage_error(err, v, "%s '%s' is not an absolute path", what, p);
	return 0;
}

static int check_volumes(const VssctlArgs *a, FILE *err, size_t min, size_t max)
{
	size_t n = strv_length(a->volumes);
	int r;

	if (n < min)
		return usage_error(err, a->verb, "missing --volume");
	if (n > max)
		return max == 1 ? usage_error(err, a->verb, "--volume may be given only once")
		                : usage_error(err, a->verb, "more than %zu volumes", max);
	for (size_t i = 0; i < n; i++) {
		r = check_path(err, a->verb, "volume", a->volumes[i]);
		if (r < 0)
			return r;
		for (size_t j = 0; j < i; j++)
			if (streq(a->volumes[i], a->volumes[j]))
				return usage_error(err, a->verb, "volume %s given twice",
				                   a->volumes[i]);
	}
	return 0;
}

static int check_id_arg(VssctlArgs *a, FILE *err, const char *s)
{
	if (vssctl_parse_id(s, a->shadow_id) < 0)
		return usage_error(
			err, a->verb,
			"invalid shadow copy id '%s': expected a UUID, 8-4-4-4-12 hex digits", s);
	return 0;
}

static int check_delete_selector(const VssctlArgs *a, FILE *err)
{
	bool vol = a->volumes;
	int n = !!a->set_id[0] + !!a->shadow_id[0] + vol + (a->all && !vol);
	int r;

	if (a->oldest && !vol)
		return usage_error(err, a->verb, "--oldest needs --volume");
	if (n == 0)
		return usage_error(err, a->verb,
		                   "say what to delete: --set, --shadow, --volume or --all");
	if (n > 1)
		return usage_error(err, a->verb,
		                   "--set, --shadow, --volume and --all exclude each other");
	if (vol) {
		r = check_volumes(a, err, 1, 1);
		if (r < 0)
			return r;
		if (a->oldest == a->all)
			return usage_error(err, a->verb, "--volume needs either --oldest or --all");
	}
	return 0;
}

static int check_backup(const VssctlArgs *a, FILE *err)
{
	int r = check_volumes(a, err, 1, VSSD_VOLUMES_PER_SET_MAX);

	if (r < 0)
		return r;
	/* VSSD_SNAPSHOT_DEVICES separates its pairs with spaces */
	for (char **v = a->volumes; *v; v++)
		for (const char *p = *v; *p; p++)
			if (isspace((unsigned char)*p))
				return usage_error(err, a->verb, "volume '%s' contains white space",
				                   *v);
	if (!a->command || !a->command[0])
		return usage_error(err, a->verb, "missing the command to run, after --");
	if (!a->command[0][0])
		return usage_error(err, a->verb, "the command is empty");
	return 0;
}

/* What each verb needs beyond what handle_option() checked. */
static int check_verb(VssctlArgs *a, char *const *pos, int n, FILE *err)
{
	VssctlVerb v = a->verb;
	int r = 0;

	if (v != VSSCTL_BACKUP && v != VSSCTL_RESTORE) {
		if ((unsigned)n < verbs[v].args_min)
			return usage_error(err, v, "missing argument");
		if ((unsigned)n > verbs[v].args_max)
			return usage_error(err, v, "unexpected argument '%s'",
			                   pos[verbs[v].args_max]);
	}

	switch (v) {
	case VSSCTL_LIST_SHADOWS:
		return check_volumes(a, err, 0, 1);
	case VSSCTL_LIST_VOLUMES:
	case VSSCTL_LIST_PROVIDERS:
	case VSSCTL_LIST_WRITERS:
		return 0;
	case VSSCTL_LIST_STORAGE:
	case VSSCTL_QUERY_REVERTS:
		return a->for_volume ? check_path(err, v, "volume", a->for_volume) : 0;
	case VSSCTL_CREATE_SHADOW:
		return check_volumes(a, err, 1, VSSD_VOLUMES_PER_SET_MAX);
	case VSSCTL_DELETE_SHADOWS:
		return check_delete_selector(a, err);
	case VSSCTL_BACKUP:
		return check_backup(a, err);
	case VSSCTL_RESTORE:
		if (!a->document)
			return usage_error(err, v, "missing --document");
		if (!a->command || !a->command[0] || !a->command[0][0])
			return usage_error(err, v, "missing the command to run, after --");
		return 0;
	case VSSCTL_ADD_STORAGE:
	case VSSCTL_RESIZE_STORAGE:
	case VSSCTL_DELETE_STORAGE:
		if (!a->for_volume)
			return usage_error(err, v, "missing --for");
		r = check_path(err, v, "volume", a->for_volume);
		if (r < 0)
			return r;
		if (v == VSSCTL_ADD_STORAGE) {
			if (!a->on_dir)
				return usage_error(err, v, "missing --on");
			return check_path(err, v, "directory", a->on_dir);
		}
		if (v == VSSCTL_RESIZE_STORAGE && !a->maxsize.set)
			return usage_error(err, v, "missing --maxsize");
		return 0;
	case VSSCTL_EXPOSE:
		r = check_id_arg(a, err, pos[0]);
		if (r < 0)
			return r;
		if (n == 2 && a->device_only)
			return usage_error(err, v, "give PATH or --device-only, not both");
		if (n == 1 && !a->device_only)
			return usage_error(err, v,
			                   "missing PATH (\"\" or --device-only for the device)");
		a->path = n == 2 ? pos[1] : "";
		return a->path[0] ? check_path(err, v, "mount point", a->path) : 0;
	case VSSCTL_UNEXPOSE:
	case VSSCTL_REVERT:
		return check_id_arg(a, err, pos[0]);
	case VSSCTL_SCHEDULE_RUN:
		if (!valid_schedule_name(pos[0]))
			return usage_error(err, v,
			                   "'%s' is not a schedule name: 1 to %d characters of "
			                   "A-Z a-z 0-9 _ . -, not starting with . or -",
			                   pos[0], VSSD_SCHEDULE_NAME_MAX);
		a->schedule = pos[0];
		return 0;
	case VSSCTL_ADD_VOLUME:
	case VSSCTL_DELETE_VOLUME:
		a->device = pos[0];
		return check_path(err, v, v == VSSCTL_ADD_VOLUME ? "device" : "volume", a->device);
	case _VSSCTL_VERB_MAX:
	case _VSSCTL_VERB_INVALID:
		break;
	}
	return usage_error(err, v, "internal error: unknown verb");
}

/* No verb matched args[0..n): say why, with the synopses of the verbs it may have meant. */
static int unknown_verb(char *const *args, int n, FILE *out, FILE *err)
{
	if (!usage_group(NULL, args[0])) {
		fprintf(err, "vssctl: unknown verb '%s'\n", args[0]);
		vssctl_usage(err, _VSSCTL_VERB_INVALID, true);
		return -EINVAL;
	}
	if (n >= 2 && (streq(args[1], "--help") || streq(args[1], "-h"))) {
		usage_group(out, args[0]);
		return 0;
	}
	if (n < 2 || args[1][0] == '-')
		fprintf(err, "vssctl: missing what to %s\n", args[0]);
	else
		fprintf(err, "vssctl: unknown verb '%s %s'\n", args[0], args[1]);
	usage_group(err, args[0]);
	return -EINVAL;
}

int vssctl_parse_argv(int argc, char *argv[], VssctlArgs *a, FILE *out, FILE *err)
{
	_cleanup_free_ char **sub = NULL;
	int c, r, consumed = 0, base, n;

	/* The options before the verb: global ones only. "+": stop at the verb. */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:h", options, NULL)) >= 0) {
		r = handle_option(a, c, argv, _VSSCTL_VERB_INVALID, out, err);
		if (r <= 0)
			return r;
	}
	if (optind >= argc)
		return usage_error(err, _VSSCTL_VERB_INVALID, "missing verb");

	a->verb = verb_find(argv + optind, argc - optind, &consumed);
	if (a->verb < 0)
		return unknown_verb(argv + optind, argc - optind, out, err);

	/* The verb's own options, and the global ones again. backup stops at CMD. */
	base = optind + consumed;
	n = argc - base;
	sub = calloc((size_t)n + 2, sizeof(char *));
	if (!sub)
		return -ENOMEM;
	sub[0] = argv[0];
	memcpy(sub + 1, argv + base, (size_t)n * sizeof(char *));
	optind = 0;
	while ((c = getopt_long(n + 1, sub,
	                        a->verb == VSSCTL_BACKUP || a->verb == VSSCTL_RESTORE ? "+:h"
	                                                                              : ":h",
	                        options, NULL)) >= 0) {
		r = handle_option(a, c, sub, a->verb, out, err);
		if (r <= 0)
			return r;
	}
	if (a->verb == VSSCTL_BACKUP || a->verb == VSSCTL_RESTORE)
		a->command = argv + base + optind - 1; /* "+" does not permute: same order */
	r = check_verb(a, sub + optind, n + 1 - optind, err);
	return r < 0 ? r : 1;
}
