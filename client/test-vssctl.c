/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-vssctl.c - vssctl without a bus: argument parsing, sizes, busutil, text and JSON output */
#include <json-c/json.h>

#include "client/busutil.h"
#include "client/vssctl-args.h"
#include "client/vssctl-backup.h"
#include "client/vssctl-format.h"
#include "client/vssctl-verbs.h"
#include "common/log.h"
#include "common/vssd-bus-names.h"
#include "common/vssd-limits.h"
#include "common/vssd-version.h"
#include "tests/lib/check-main.h"

#define ID1  "11111111-1111-1111-1111-111111111111"
#define ID2  "22222222-2222-2222-2222-222222222222"
#define SA1  "aaaaaaaa-0000-0000-0000-000000000001"
#define SA2  "aaaaaaaa-0000-0000-0000-000000000002"
#define SB1  "bbbbbbbb-0000-0000-0000-000000000001"
#define VOLA "/dev/mapper/a"
#define VOLB "/dev/mapper/b"

/* ---- parsing ---------------------------------------------------------------------------- */

typedef struct P {
	VssctlArgs a;
	int r;
	char *out, *err;
	size_t out_size, err_size;
	char *argv[160];
	int argc;
} P;

static void p_run(P *p, const char *const *args, bool main)
{
	FILE *out, *err;

	*p = (P){ .a = VSSCTL_ARGS_NULL };
	p->argv[p->argc++] = (char *)"vssctl";
	for (; args[p->argc - 1]; p->argc++) {
		ck_assert_int_lt(p->argc, (int)ELEMENTSOF(p->argv) - 1);
		p->argv[p->argc] = (char *)args[p->argc - 1];
	}
	p->argv[p->argc] = NULL;
	out = open_memstream(&p->out, &p->out_size);
	err = open_memstream(&p->err, &p->err_size);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	if (main)
		p->r = vssctl_main(p->argc, p->argv, out, err);
	else
		p->r = vssctl_parse_argv(p->argc, p->argv, &p->a, out, err);
	fclose(out);
	fclose(err);
}

static void p_done(P *p)
{
	vssctl_args_done(&p->a);
	free(p->out);
	free(p->err);
}

/* parse only: the struct is inspected */
#define PARSE(p, ...) p_run((p), (const char *const[]){ __VA_ARGS__, NULL }, false)
/* the whole of vssctl: exit status; usage errors never reach the bus */
#define MAIN(p, ...) p_run((p), (const char *const[]){ __VA_ARGS__, NULL }, true)

static void parse_ok(P *p)
{
	ck_assert_msg(p->r == 1, "parse returned %d, stderr: %s", p->r, p->err);
	ck_assert_str_eq(p->err, "");
}

/* exit status 2, what is wrong first, then the usage of the verb */
static void usage_fails(P *p, const char *message, const char *usage)
{
	ck_assert_msg(p->r == 2, "exit status %d, not 2; stderr: %s", p->r, p->err);
	ck_assert_msg(startswith(p->err, "vssctl: "), "stderr: %s", p->err);
	ck_assert_msg(strstr(p->err, message), "stderr lacks \"%s\": %s", message, p->err);
	ck_assert_msg(strstr(p->err, usage), "stderr lacks \"%s\": %s", usage, p->err);
	ck_assert_msg(strstr(p->err, message) < strstr(p->err, usage), "order: %s", p->err);
	ck_assert_str_eq(p->out, "");
}

#define FAILS(message, usage, ...)                \
	do {                                      \
		P p_;                             \
		MAIN(&p_, __VA_ARGS__);           \
		usage_fails(&p_, message, usage); \
		p_done(&p_);                      \
	} while (0)

START_TEST(global_options_and_help)
{
	P p;

	MAIN(&p, "--help");
	ck_assert_int_eq(p.r, 0);
	ck_assert_ptr_nonnull(strstr(p.out, "Verbs:"));
	ck_assert_ptr_nonnull(strstr(p.out, "  backup --volume V"));
	ck_assert_ptr_nonnull(strstr(p.out, "  add volume DEVICE [--name NAME]"));
	ck_assert_str_eq(p.err, "");
	p_done(&p);

	MAIN(&p, "--version");
	ck_assert_int_eq(p.r, 0);
	ck_assert_str_eq(p.out, "vssctl " VSSD_VERSION "\n");
	p_done(&p);

	MAIN(&p, "create", "shadow", "--help");
	ck_assert_int_eq(p.r, 0);
	ck_assert(startswith(p.out, "Usage: vssctl create shadow --volume V"));
	ck_assert_ptr_nonnull(strstr(p.out, "Default: client-accessible-writers"));
	p_done(&p);

	MAIN(&p, "--json", "list", "shadows", "-h");
	ck_assert_int_eq(p.r, 0);
	ck_assert(startswith(p.out, "Usage: vssctl list shadows"));
	p_done(&p);

	MAIN(&p, "list", "--help"); /* the group */
	ck_assert_int_eq(p.r, 0);
	ck_assert_ptr_nonnull(strstr(p.out, "vssctl list writers"));
	ck_assert_ptr_nonnull(strstr(p.out, "vssctl list storage [--for V]"));
	ck_assert_ptr_null(strstr(p.out, "create shadow"));
	p_done(&p);

	/* global options go before or after the verb */
	PARSE(&p, "--bus", "unix:path=/tmp/x", "--json", "--timeout-ms", "5000", "list", "volumes");
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_LIST_VOLUMES);
	ck_assert_str_eq(p.a.bus_address, "unix:path=/tmp/x");
	ck_assert(p.a.json);
	ck_assert_int_eq(p.a.timeout_ms, 5000);
	p_done(&p);

	PARSE(&p, "list", "writers", "--json", "--timeout-ms=7", "--bus=unix:abstract=x");
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_LIST_WRITERS);
	ck_assert(p.a.json);
	ck_assert_int_eq(p.a.timeout_ms, 7);
	ck_assert_str_eq(p.a.bus_address, "unix:abstract=x");
	p_done(&p);

	PARSE(&p, "list", "writers", "--detailed");
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_LIST_WRITERS);
	ck_assert(p.a.detailed);
	p_done(&p);

	PARSE(&p, "list", "providers");
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_LIST_PROVIDERS);
	ck_assert_ptr_null(p.a.bus_address); /* the system bus */
	ck_assert(!p.a.json);
	ck_assert_int_eq(p.a.timeout_ms, -1);
	p_done(&p);
}
END_TEST

START_TEST(global_usage_errors)
{
	FAILS("missing verb", "Usage: vssctl [--bus ADDRESS]", "--json");
	FAILS("unknown verb 'frobnicate'", "Try 'vssctl --help'", "frobnicate");
	FAILS("missing what to list", "Usage: vssctl list shadows", "list");
	FAILS("unknown verb 'list everything'", "vssctl list volumes", "list", "everything");
	FAILS("missing what to delete", "vssctl delete volume VOLUME", "delete", "--all");
	FAILS("unknown option --frob", "Usage: vssctl [--bus", "--frob", "list", "volumes");
	FAILS("unknown option -x", "Usage: vssctl [--bus", "-x", "list", "volumes");
	FAILS("option --bus needs an argument", "Usage: vssctl [--bus", "--bus");
	FAILS("--bus needs a D-Bus address", "Usage", "--bus", "", "list", "volumes");
	FAILS("invalid --timeout-ms '0'", "Usage", "--timeout-ms", "0", "list", "volumes");
	FAILS("invalid --timeout-ms 'soon'", "Usage: vssctl list volumes", "list", "volumes",
	      "--timeout-ms", "soon");
	FAILS("invalid --timeout-ms '99999999999'", "Usage", "--timeout-ms", "99999999999", "list",
	      "volumes");
	FAILS("option --json takes no argument", "Usage: vssctl list volumes", "list", "volumes",
	      "--json=yes");
	FAILS("option --set belongs after the verb", "Usage: vssctl [--bus", "--set", ID1, "list",
	      "shadows");
}
END_TEST

START_TEST(list_verbs)
{
	P p;

	PARSE(&p, "list", "shadows");
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_LIST_SHADOWS);
	ck_assert_str_eq(p.a.set_id, "");
	ck_assert_str_eq(p.a.shadow_id, "");
	ck_assert_ptr_null(p.a.volumes);
	p_done(&p);

	/* vssadmin prints ids in braces; upper case is accepted too, and normalised */
	PARSE(&p, "list", "shadows", "--set", "{AAAAAAAA-0000-0000-0000-000000000001}", "--volume",
	      VOLA, "--shadow", SB1);
	parse_ok(&p);
	ck_assert_str_eq(p.a.set_id, SA1);
	ck_assert_str_eq(p.a.shadow_id, SB1);
	ck_assert_str_eq(p.a.volumes[0], VOLA);
	ck_assert_ptr_null(p.a.volumes[1]);
	p_done(&p);

	PARSE(&p, "list", "shadow"); /* singular slip */
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_LIST_SHADOWS);
	p_done(&p);

	PARSE(&p, "list", "storage", "--for", VOLA);
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_LIST_STORAGE);
	ck_assert_str_eq(p.a.for_volume, VOLA);
	p_done(&p);

	PARSE(&p, "list", "shadowstorage"); /* vssadmin's word */
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_LIST_STORAGE);
	ck_assert_ptr_null(p.a.for_volume);
	p_done(&p);

	FAILS("invalid set id 'nope'", "Usage: vssctl list shadows", "list", "shadows", "--set",
	      "nope");
	FAILS("invalid shadow copy id '" SA1 "0'", "Usage: vssctl list shadows", "list", "shadows",
	      "--shadow", SA1 "0");
	FAILS("invalid shadow copy id '{" SA1 "'", "Usage: vssctl list shadows", "list", "shadows",
	      "--shadow", "{" SA1);
	FAILS("volume 'dm-3' is not an absolute path", "Usage: vssctl list shadows", "list",
	      "shadows", "--volume", "dm-3");
	FAILS("--volume may be given only once", "Usage: vssctl list shadows", "list", "shadows",
	      "--volume", VOLA, "--volume", VOLB);
	FAILS("option --all is not valid for 'list shadows'", "Usage: vssctl list shadows", "list",
	      "shadows", "--all");
	FAILS("unexpected argument 'extra'", "Usage: vssctl list shadows", "list", "shadows",
	      "extra");
	FAILS("option --set needs an argument", "Usage: vssctl list shadows", "list", "shadows",
	      "--set");
	FAILS("option --for is not valid for 'list volumes'", "Usage: vssctl list volumes", "list",
	      "volumes", "--for", VOLA);
	FAILS("option --volume is not valid for 'list providers'", "Usage: vssctl list providers",
	      "list", "providers", "--volume", VOLA);
	FAILS("option --quiet is not valid for 'list writers'", "Usage: vssctl list writers",
	      "list", "writers", "--quiet");
	FAILS("option --detailed is not valid for 'list volumes'", "Usage: vssctl list volumes",
	      "list", "volumes", "--detailed");
	FAILS("volume '../a' is not an absolute path", "Usage: vssctl list storage", "list",
	      "storage", "--for", "../a");
}
END_TEST

START_TEST(create_shadow)
{
	char big[VSSD_STRING_MAX + 2];
	P p;

	PARSE(&p, "create", "shadow", "--volume", VOLA);
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_CREATE_SHADOW);
	ck_assert_ptr_null(p.a.context); /* client-accessible, chosen in the verb */
	ck_assert(!p.a.no_writers && !p.a.no_auto_release);
	p_done(&p);

	PARSE(&p, "create", "shadow", "--volume", VOLA, "--volume", VOLB, "--context", "backup",
	      "--no-writers", "--no-auto-release", "--type", "copy", "--description", "nightly run",
	      "--json");
	parse_ok(&p);
	ck_assert_str_eq(p.a.volumes[0], VOLA);
	ck_assert_str_eq(p.a.volumes[1], VOLB);
	ck_assert_ptr_null(p.a.volumes[2]);
	ck_assert_str_eq(p.a.context, "backup");
	ck_assert(p.a.no_writers && p.a.no_auto_release && p.a.json);
	ck_assert_str_eq(p.a.backup_type, "copy");
	ck_assert_str_eq(p.a.description, "nightly run");
	p_done(&p);

	for (const char *const *c =
	             (const char *const[]){ "backup", "file-share-backup", "persistent",
	                                    "app-rollback", "client-accessible", "nas-rollback",
	                                    "client-accessible-writers", NULL };
	     *c; c++) {
		PARSE(&p, "create", "shadows", "--volume", VOLA, "--context", *c);
		parse_ok(&p);
		ck_assert_str_eq(p.a.context, *c);
		p_done(&p);
	}
	for (const char *const *t = (const char *const[]){ "full", "copy", "incremental",
	                                                   "differential", "log", NULL };
	     *t; t++) {
		PARSE(&p, "create", "shadow", "--volume", VOLA, "--type", *t);
		parse_ok(&p);
		ck_assert_str_eq(p.a.backup_type, *t);
		p_done(&p);
	}

	FAILS("missing --volume", "Usage: vssctl create shadow", "create", "shadow");
	FAILS("missing --volume", "Usage: vssctl create shadow", "create", "shadow",
	      "--no-writers");
	FAILS("unknown context 'volatile'; one of backup,", "Usage: vssctl create shadow", "create",
	      "shadow", "--volume", VOLA, "--context", "volatile");
	FAILS("unknown backup type 'weekly'", "Usage: vssctl create shadow", "create", "shadow",
	      "--volume", VOLA, "--type", "weekly");
	FAILS("volume /dev/mapper/a given twice", "Usage: vssctl create shadow", "create", "shadow",
	      "--volume", VOLA, "--volume", VOLB, "--volume", VOLA);
	FAILS("volume 'sda' is not an absolute path", "Usage: vssctl create shadow", "create",
	      "shadow", "--volume", "sda");
	FAILS("the description must be 1 to 255 bytes", "Usage: vssctl create shadow", "create",
	      "shadow", "--volume", VOLA, "--description", "tab\there");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	FAILS("the description must be 1 to 255 bytes", "Usage: vssctl create shadow", "create",
	      "shadow", "--volume", VOLA, "--description", big);
	FAILS("option --mount is not valid for 'create shadow'", "Usage: vssctl create shadow",
	      "create", "shadow", "--volume", VOLA, "--mount");
	FAILS("unexpected argument '/dev/sdb'", "Usage: vssctl create shadow", "create", "shadow",
	      "--volume", VOLA, "/dev/sdb");
}
END_TEST

START_TEST(create_shadow_volume_limit)
{
	const char *args[4 + 2 * (VSSD_VOLUMES_PER_SET_MAX + 1) + 1] = { "create", "shadow" };
	char names[VSSD_VOLUMES_PER_SET_MAX + 1][32];
	size_t n = 2;
	P p;

	for (int i = 0; i <= VSSD_VOLUMES_PER_SET_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "/dev/mapper/v%d", i);
		args[n++] = "--volume";
		args[n++] = names[i];
	}
	args[n] = NULL;
	p_run(&p, args, true);
	usage_fails(&p, "more than 64 volumes", "Usage: vssctl create shadow");
	p_done(&p);

	args[n - 2] = NULL; /* exactly 64 */
	p_run(&p, args, false);
	parse_ok(&p);
	ck_assert_uint_eq(strv_length(p.a.volumes), VSSD_VOLUMES_PER_SET_MAX);
	p_done(&p);
}
END_TEST

START_TEST(delete_shadows)
{
	P p;

	PARSE(&p, "delete", "shadows", "--set", ID1);
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_DELETE_SHADOWS);
	ck_assert_str_eq(p.a.set_id, ID1);
	ck_assert(!p.a.quiet);
	p_done(&p);

	PARSE(&p, "delete", "shadows", "--shadow", SA1, "--quiet");
	parse_ok(&p);
	ck_assert_str_eq(p.a.shadow_id, SA1);
	ck_assert(p.a.quiet);
	p_done(&p);

	PARSE(&p, "delete", "shadows", "--volume", VOLA, "--oldest");
	parse_ok(&p);
	ck_assert_str_eq(p.a.volumes[0], VOLA);
	ck_assert(p.a.oldest && !p.a.all);
	p_done(&p);

	PARSE(&p, "delete", "shadow", "--all", "--volume", VOLA);
	parse_ok(&p);
	ck_assert(p.a.all && !p.a.oldest);
	p_done(&p);

	PARSE(&p, "delete", "shadows", "--all");
	parse_ok(&p);
	ck_assert(p.a.all);
	ck_assert_ptr_null(p.a.volumes);
	p_done(&p);

	FAILS("say what to delete", "Usage: vssctl delete shadows", "delete", "shadows");
	FAILS("say what to delete", "Usage: vssctl delete shadows", "delete", "shadows", "--quiet");
	FAILS("exclude each other", "Usage: vssctl delete shadows", "delete", "shadows", "--set",
	      ID1, "--shadow", SA1);
	FAILS("exclude each other", "Usage: vssctl delete shadows", "delete", "shadows", "--set",
	      ID1, "--all");
	FAILS("exclude each other", "Usage: vssctl delete shadows", "delete", "shadows", "--volume",
	      VOLA, "--all", "--shadow", SA1);
	FAILS("--volume needs either --oldest or --all", "Usage: vssctl delete shadows", "delete",
	      "shadows", "--volume", VOLA);
	FAILS("--volume needs either --oldest or --all", "Usage: vssctl delete shadows", "delete",
	      "shadows", "--volume", VOLA, "--oldest", "--all");
	FAILS("--oldest needs --volume", "Usage: vssctl delete shadows", "delete", "shadows",
	      "--oldest");
	FAILS("--oldest needs --volume", "Usage: vssctl delete shadows", "delete", "shadows",
	      "--set", ID1, "--oldest");
	FAILS("invalid set id", "Usage: vssctl delete shadows", "delete", "shadows", "--set", "1");
	FAILS("--volume may be given only once", "Usage: vssctl delete shadows", "delete",
	      "shadows", "--volume", VOLA, "--volume", VOLB, "--all");
}
END_TEST

START_TEST(backup_verb)
{
	P p;

	PARSE(&p, "backup", "--volume", VOLA, "--volume", VOLB, "--mount", "--", "tar", "-cf",
	      "/backup/x.tar", "--json", "-C", "/mnt");
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_BACKUP);
	ck_assert(p.a.mount);
	ck_assert(!p.a.json); /* CMD's, not ours */
	ck_assert_ptr_null(p.a.context);
	ck_assert_ptr_null(p.a.backup_type);
	ck_assert_uint_eq(strv_length(p.a.command), 6);
	ck_assert_str_eq(p.a.command[0], "tar");
	ck_assert_str_eq(p.a.command[1], "-cf");
	ck_assert_str_eq(p.a.command[3], "--json");
	ck_assert_str_eq(p.a.command[5], "/mnt");
	ck_assert_ptr_eq(p.a.command, p.argv + 8); /* points into argv, NULL-terminated */
	p_done(&p);

	/* without "--": the first word that is not an option starts CMD */
	PARSE(&p, "--json", "backup", "--volume", VOLA, "--type", "copy", "--context",
	      "app-rollback", "--no-writers", "--description", "db", "/usr/bin/backup.sh", "-v");
	parse_ok(&p);
	ck_assert(p.a.json && p.a.no_writers);
	ck_assert_str_eq(p.a.backup_type, "copy");
	ck_assert_str_eq(p.a.context, "app-rollback");
	ck_assert_str_eq(p.a.description, "db");
	ck_assert_uint_eq(strv_length(p.a.command), 2);
	ck_assert_str_eq(p.a.command[0], "/usr/bin/backup.sh");
	ck_assert_str_eq(p.a.command[1], "-v");
	p_done(&p);

	FAILS("missing the command to run", "Usage: vssctl backup", "backup", "--volume", VOLA);
	FAILS("missing the command to run", "Usage: vssctl backup", "backup", "--volume", VOLA,
	      "--");
	FAILS("the command is empty", "Usage: vssctl backup", "backup", "--volume", VOLA, "--", "");
	FAILS("missing --volume", "Usage: vssctl backup", "backup", "--", "true");
	FAILS("volume '/dev/disk/by-label/my disk' contains white space", "Usage: vssctl backup",
	      "backup", "--volume", "/dev/disk/by-label/my disk", "--", "true");
	FAILS("unknown backup type 'weekly'", "Usage: vssctl backup", "backup", "--volume", VOLA,
	      "--type", "weekly", "--", "true");
	FAILS("option --no-auto-release is not valid for 'backup'", "Usage: vssctl backup",
	      "backup", "--volume", VOLA, "--no-auto-release", "--", "true");
	FAILS("unknown option --frob", "Usage: vssctl backup", "backup", "--frob", "--volume", VOLA,
	      "--", "true");
}
END_TEST

START_TEST(storage_verbs)
{
	P p;

	PARSE(&p, "add", "storage", "--for", VOLA, "--on", "/var/lib/vssd/storage", "--maxsize",
	      "10G");
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_ADD_STORAGE);
	ck_assert_str_eq(p.a.for_volume, VOLA);
	ck_assert_str_eq(p.a.on_dir, "/var/lib/vssd/storage");
	ck_assert(p.a.maxsize.set && !p.a.maxsize.is_percent);
	ck_assert_uint_eq(p.a.maxsize.bytes, 10ULL << 30);
	p_done(&p);

	PARSE(&p, "add", "shadowstorage", "--for", VOLA, "--on", "/srv/cow", "--maxsize", "15%");
	parse_ok(&p);
	ck_assert(p.a.maxsize.set && p.a.maxsize.is_percent);
	ck_assert_uint_eq(p.a.maxsize.percent, 15);
	p_done(&p);

	PARSE(&p, "add", "storage", "--for", VOLA, "--on", "/srv/cow"); /* vssd's default */
	parse_ok(&p);
	ck_assert(!p.a.maxsize.set);
	p_done(&p);

	PARSE(&p, "resize", "storage", "--for", VOLA, "--maxsize", "512M");
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_RESIZE_STORAGE);
	ck_assert_uint_eq(p.a.maxsize.bytes, 512ULL << 20);
	p_done(&p);

	PARSE(&p, "delete", "storage", "--for", VOLA, "--delete-snapshots", "--quiet");
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_DELETE_STORAGE);
	ck_assert(p.a.delete_snapshots && p.a.quiet);
	p_done(&p);

	FAILS("missing --for", "Usage: vssctl add storage", "add", "storage", "--on", "/srv");
	FAILS("missing --on", "Usage: vssctl add storage", "add", "storage", "--for", VOLA);
	FAILS("directory 'cow' is not an absolute path", "Usage: vssctl add storage", "add",
	      "storage", "--for", VOLA, "--on", "cow");
	FAILS("invalid size '10X'", "Usage: vssctl add storage", "add", "storage", "--for", VOLA,
	      "--on", "/srv", "--maxsize", "10X");
	FAILS("invalid size '101%'", "Usage: vssctl add storage", "add", "storage", "--for", VOLA,
	      "--on", "/srv", "--maxsize", "101%");
	FAILS("invalid size '0'", "Usage: vssctl resize storage", "resize", "storage", "--for",
	      VOLA, "--maxsize", "0");
	FAILS("missing --maxsize", "Usage: vssctl resize storage", "resize", "storage", "--for",
	      VOLA);
	FAILS("missing --for", "Usage: vssctl resize storage", "resize", "storage", "--maxsize",
	      "1G");
	FAILS("option --on is not valid for 'resize storage'", "Usage: vssctl resize storage",
	      "resize", "storage", "--for", VOLA, "--maxsize", "1G", "--on", "/srv");
	FAILS("missing --for", "Usage: vssctl delete storage", "delete", "storage");
	FAILS("option --maxsize is not valid for 'delete storage'", "Usage: vssctl delete storage",
	      "delete", "storage", "--for", VOLA, "--maxsize", "1G");
	FAILS("unknown verb 'resize volume'", "Usage: vssctl resize storage", "resize", "volume");
}
END_TEST

START_TEST(snapshot_verbs)
{
	P p;

	PARSE(&p, "expose", SA1, "/mnt/snap");
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_EXPOSE);
	ck_assert_str_eq(p.a.shadow_id, SA1);
	ck_assert_str_eq(p.a.path, "/mnt/snap");
	p_done(&p);

	PARSE(&p, "expose", "{" SA1 "}", "");
	parse_ok(&p);
	ck_assert_str_eq(p.a.shadow_id, SA1);
	ck_assert_str_eq(p.a.path, "");
	p_done(&p);

	PARSE(&p, "expose", "--device-only", SA1);
	parse_ok(&p);
	ck_assert(p.a.device_only);
	ck_assert_str_eq(p.a.path, "");
	p_done(&p);

	PARSE(&p, "unexpose", SA2);
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_UNEXPOSE);
	ck_assert_str_eq(p.a.shadow_id, SA2);
	p_done(&p);

	PARSE(&p, "revert", SB1);
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_REVERT);
	ck_assert_str_eq(p.a.shadow_id, SB1);
	p_done(&p);

	PARSE(&p, "revert", "shadow", SB1, "--quiet"); /* vssadmin's spelling */
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_REVERT);
	ck_assert(p.a.quiet);
	p_done(&p);

	PARSE(&p, "query", "reverts", "--for", VOLB);
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_QUERY_REVERTS);
	ck_assert_str_eq(p.a.for_volume, VOLB);
	p_done(&p);

	FAILS("missing PATH", "Usage: vssctl expose SHADOW-ID", "expose", SA1);
	FAILS("give PATH or --device-only, not both", "Usage: vssctl expose", "expose", SA1, "/mnt",
	      "--device-only");
	FAILS("mount point 'mnt' is not an absolute path", "Usage: vssctl expose", "expose", SA1,
	      "mnt");
	FAILS("invalid shadow copy id 'C:'", "Usage: vssctl expose", "expose", "C:", "/mnt");
	FAILS("unexpected argument 'more'", "Usage: vssctl expose", "expose", SA1, "/mnt", "more");
	FAILS("missing argument", "Usage: vssctl expose", "expose");
	FAILS("missing argument", "Usage: vssctl unexpose SHADOW-ID", "unexpose");
	FAILS("invalid shadow copy id 'x'", "Usage: vssctl unexpose", "unexpose", "x");
	FAILS("unexpected argument '" SA2 "'", "Usage: vssctl revert", "revert", SA1, SA2);
	FAILS("missing argument", "Usage: vssctl revert SHADOW-ID", "revert");
	FAILS("option --set is not valid for 'revert'", "Usage: vssctl revert", "revert", SA1,
	      "--set", ID1);
	FAILS("unexpected argument", "Usage: vssctl query reverts", "query", "reverts", VOLA);
	FAILS("missing what to query", "Usage: vssctl query reverts", "query");
}
END_TEST

START_TEST(volume_verbs)
{
	P p;

	PARSE(&p, "add", "volume", "/dev/sdb", "--name", "data");
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_ADD_VOLUME);
	ck_assert_str_eq(p.a.device, "/dev/sdb");
	ck_assert_str_eq(p.a.name, "data");
	p_done(&p);

	PARSE(&p, "add", "volume", "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4");
	parse_ok(&p);
	ck_assert_ptr_null(p.a.name);
	p_done(&p);

	PARSE(&p, "delete", "volume", "/dev/mapper/vssd-sdb");
	parse_ok(&p);
	ck_assert_int_eq(p.a.verb, VSSCTL_DELETE_VOLUME);
	ck_assert_str_eq(p.a.device, "/dev/mapper/vssd-sdb");
	p_done(&p);

	FAILS("missing argument", "Usage: vssctl add volume DEVICE", "add", "volume");
	FAILS("device 'sdb' is not an absolute path", "Usage: vssctl add volume", "add", "volume",
	      "sdb");
	FAILS("invalid name 'my/vol'", "Usage: vssctl add volume", "add", "volume", "/dev/sdb",
	      "--name", "my/vol");
	FAILS("invalid name '..'", "Usage: vssctl add volume", "add", "volume", "/dev/sdb",
	      "--name", "..");
	FAILS("missing argument", "Usage: vssctl delete volume VOLUME", "delete", "volume");
	FAILS("unexpected argument '/dev/sdc'", "Usage: vssctl delete volume", "delete", "volume",
	      "/dev/sdb", "/dev/sdc");
	FAILS("option --name is not valid for 'delete volume'", "Usage: vssctl delete volume",
	      "delete", "volume", "/dev/sdb", "--name", "x");
}
END_TEST

/* ---- sizes, ids ------------------------------------------------------------------------- */

START_TEST(size_parsing)
{
	VssctlSize s;

	ck_assert_int_eq(vssctl_parse_maxsize("1073741824", &s), 0);
	ck_assert(s.set && !s.is_percent);
	ck_assert_uint_eq(s.bytes, 1ULL << 30);
	ck_assert_int_eq(vssctl_parse_maxsize("300M", &s), 0);
	ck_assert_uint_eq(s.bytes, 300ULL << 20);
	ck_assert_int_eq(vssctl_parse_maxsize("2GiB", &s), 0);
	ck_assert_uint_eq(s.bytes, 2ULL << 30);
	ck_assert_int_eq(vssctl_parse_maxsize("1t", &s), 0);
	ck_assert_uint_eq(s.bytes, 1ULL << 40);
	ck_assert_int_eq(vssctl_parse_maxsize("64K", &s), 0);
	ck_assert_uint_eq(s.bytes, 64ULL << 10);

	ck_assert_int_eq(vssctl_parse_maxsize("10%", &s), 0);
	ck_assert(s.set && s.is_percent);
	ck_assert_uint_eq(s.percent, 10);
	ck_assert_int_eq(vssctl_parse_maxsize("100%", &s), 0);
	ck_assert_uint_eq(s.percent, 100);
	ck_assert_int_eq(vssctl_parse_maxsize("1%", &s), 0);

	for (const char *const *bad =
	             (const char *const[]){ "", "0", "0%", "101%", "%", "-5", "-5%", "5.5%", "1.5G",
	                                    "10X", "G", "10 G", "1000%", "99999999999999999999",
	                                    "20000000T", " 1G", "12%%", NULL };
	     *bad; bad++)
		ck_assert_msg(vssctl_parse_maxsize(*bad, &s) < 0, "'%s' accepted", *bad);
	ck_assert_int_lt(vssctl_parse_maxsize(NULL, &s), 0);

	/* percentages of the volume's size, exact and without overflow */
	s = (VssctlSize){ .set = true, .is_percent = true, .percent = 10 };
	ck_assert_uint_eq(vssctl_size_bytes(&s, 1000), 100);
	ck_assert_uint_eq(vssctl_size_bytes(&s, 64ULL << 30), (64ULL << 30) / 10);
	ck_assert_uint_eq(vssctl_size_bytes(&s, 9), 0);
	s.percent = 100;
	ck_assert_uint_eq(vssctl_size_bytes(&s, UINT64_MAX), UINT64_MAX);
	s.percent = 50;
	ck_assert_uint_eq(vssctl_size_bytes(&s, UINT64_MAX), UINT64_MAX / 2);
	s.percent = 33;
	ck_assert_uint_eq(vssctl_size_bytes(&s, 300), 99);
	s = (VssctlSize){ .set = true, .bytes = 4096 };
	ck_assert_uint_eq(vssctl_size_bytes(&s, 1), 4096); /* bytes ignore the volume */
}
END_TEST

START_TEST(id_parsing)
{
	char id[VSSID_STRING_MAX];

	ck_assert_int_eq(vssctl_parse_id(SA1, id), 0);
	ck_assert_str_eq(id, SA1);
	ck_assert_int_eq(vssctl_parse_id("{6F1C2D3E-0A1B-4C5D-8E9F-A0B1C2D3E4F5}", id), 0);
	ck_assert_str_eq(id, "6f1c2d3e-0a1b-4c5d-8e9f-a0b1c2d3e4f5");
	ck_assert_int_lt(vssctl_parse_id("6f1c2d3e0a1b4c5d8e9fa0b1c2d3e4f5", id), 0);
	ck_assert_int_lt(vssctl_parse_id("{" SA1, id), 0);
	ck_assert_int_lt(vssctl_parse_id("(" SA1 ")", id), 0);
	ck_assert_int_lt(vssctl_parse_id("", id), 0);

	ck_assert_int_eq(vssctl_id_from_path("/org/vssd/ShadowCopy1/set/"
	                                     "6f1c2d3e0a1b4c5d8e9fa0b1c2d3e4f5",
	                                     id),
	                 0);
	ck_assert_str_eq(id, "6f1c2d3e-0a1b-4c5d-8e9f-a0b1c2d3e4f5");
	ck_assert_int_lt(vssctl_id_from_path("/org/vssd/ShadowCopy1", id), 0);
}
END_TEST

/* ---- busutil ----------------------------------------------------------------------------- */

static DBusMessage *message_new(void)
{
	DBusMessage *m = dbus_message_new_method_call("org.vssd.ShadowCopy1", "/org/vssd/Test",
	                                              "org.vssd.Test", "Test");

	ck_assert_ptr_nonnull(m);
	return m;
}

static void dict_append_double(DBusMessageIter *d, const char *key, double value)
{
	DBusMessageIter e, v;

	ck_assert(dbus_message_iter_open_container(d, DBUS_TYPE_DICT_ENTRY, NULL, &e));
	ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key));
	ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "d", &v));
	ck_assert(dbus_message_iter_append_basic(&v, DBUS_TYPE_DOUBLE, &value));
	ck_assert(dbus_message_iter_close_container(&e, &v));
	ck_assert(dbus_message_iter_close_container(d, &e));
}

START_TEST(busutil_round_trip)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = message_new();
	_cleanup_(busutil_value_freep) BusValue *args = NULL;
	char *volumes[] = { (char *)VOLA, (char *)VOLB, NULL };
	DBusMessageIter it, d, e, v, a, c;
	const char *key = "components";
	const BusValue *dict, *x;
	uint64_t u;
	double dv;
	bool b;

	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(busmsg_append_strv(&it, volumes), 0);
	ck_assert_int_eq(busmsg_dict_open(&it, &d), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "context", "backup"), 0);
	ck_assert_int_eq(busmsg_dict_append_bool(&d, "no-writers", true), 0);
	ck_assert_int_eq(busmsg_dict_append_u32(&d, "state", 5), 0);
	ck_assert_int_eq(busmsg_dict_append_u64(&d, "max-bytes", UINT64_MAX), 0);
	ck_assert_int_eq(busmsg_dict_append_strv(&d, "exclude-writer-classes", volumes), 0);
	dict_append_double(&d, "progress", 0.25);
	/* components: aa{sv} in a variant */
	ck_assert(dbus_message_iter_open_container(&d, DBUS_TYPE_DICT_ENTRY, NULL, &e));
	ck_assert(dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &key));
	ck_assert(dbus_message_iter_open_container(&e, DBUS_TYPE_VARIANT, "aa{sv}", &v));
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
	ck_assert_int_eq(busmsg_dict_open(&a, &c), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&c, "name", "db"), 0);
	ck_assert_int_eq(busmsg_dict_close(&a, &c), 0);
	ck_assert(dbus_message_iter_close_container(&v, &a));
	ck_assert(dbus_message_iter_close_container(&e, &v));
	ck_assert(dbus_message_iter_close_container(&d, &e));
	ck_assert_int_eq(busmsg_dict_close(&it, &d), 0);
	ck_assert_int_eq(busmsg_append_empty_dict(&it), 0);
	ck_assert_str_eq(dbus_message_get_signature(m), "asa{sv}a{sv}");

	ck_assert_int_eq(busutil_message_read(m, &args), 0);
	ck_assert_int_eq(args->type, DBUS_TYPE_STRUCT);
	ck_assert_uint_eq(args->n, 3);
	ck_assert_int_eq(args->items[0].type, DBUS_TYPE_ARRAY);
	ck_assert_uint_eq(args->items[0].n, 2);
	ck_assert_str_eq(args->items[0].items[1].str, VOLB);
	ck_assert_int_eq(args->items[2].type, BUSUTIL_DICT);
	ck_assert_uint_eq(args->items[2].n, 0);

	dict = &args->items[1];
	ck_assert_int_eq(dict->type, BUSUTIL_DICT);
	ck_assert_str_eq(busutil_dict_get_string(dict, "context"), "backup");
	ck_assert_int_eq(busutil_dict_get_bool(dict, "no-writers", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(busutil_dict_get_u64(dict, "state", &u), 0);
	ck_assert_uint_eq(u, 5);
	ck_assert_int_eq(busutil_dict_get_u64(dict, "max-bytes", &u), 0);
	ck_assert_uint_eq(u, UINT64_MAX);
	ck_assert_int_eq(busutil_dict_get_double(dict, "progress", &dv), 0);
	ck_assert_double_eq(dv, 0.25);
	ck_assert_int_eq(busutil_dict_get_double(dict, "state", &dv), 0); /* any number */
	ck_assert_double_eq(dv, 5.0);
	x = busutil_dict_get(dict, "exclude-writer-classes");
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(x->type, DBUS_TYPE_ARRAY);
	ck_assert_str_eq(x->items[0].str, VOLA);
	x = busutil_dict_get(dict, "components");
	ck_assert_ptr_nonnull(x);
	ck_assert_uint_eq(x->n, 1);
	ck_assert_str_eq(busutil_dict_get_string(&x->items[0], "name"), "db");

	/* absent, and of another type */
	ck_assert_ptr_null(busutil_dict_get(dict, "nothing"));
	ck_assert_ptr_null(busutil_dict_get_string(dict, "state"));
	ck_assert_int_eq(busutil_dict_get_u64(dict, "nothing", &u), -ENOENT);
	ck_assert_int_eq(busutil_dict_get_u64(dict, "context", &u), -EBADMSG);
	ck_assert_int_eq(busutil_dict_get_bool(dict, "state", &b), -EBADMSG);
	ck_assert_int_eq(busutil_dict_get_double(dict, "context", &dv), -EBADMSG);
	ck_assert_ptr_null(busutil_dict_get(&args->items[0], "x")); /* not a dictionary */
}
END_TEST

START_TEST(busutil_refuses_what_libdbus_would_abort_on)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = message_new();
	char *bad[] = { (char *)"ok", (char *)"\xff\xfe", NULL };
	DBusMessage *x = NULL;
	DBusMessageIter it, d;

	dbus_message_iter_init_append(m, &it);
	ck_assert_int_eq(busmsg_append_string(&it, "\xc3\x28"), -EINVAL);
	ck_assert_int_eq(busmsg_append_strv(&it, bad), -EINVAL);
	ck_assert_int_eq(busmsg_dict_open(&it, &d), 0);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "description", "\xff"), -EINVAL);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "\xff", "x"), -EINVAL);
	ck_assert_int_eq(busmsg_dict_append_strv(&d, "x", bad), -EINVAL);
	ck_assert_int_eq(busmsg_dict_append_string(&d, "ok", "fine"), 0);
	ck_assert_int_eq(busmsg_dict_close(&it, &d), 0);
	ck_assert_str_eq(dbus_message_get_signature(m), "a{sv}");

	ck_assert_int_eq(
		busutil_new_method_call("org.vssd.ShadowCopy1", "not/a/path", NULL, "M", &x),
		-EINVAL);
	ck_assert_int_eq(
		busutil_new_method_call("org.vssd.ShadowCopy1", "/a", NULL, "Bad-Member", &x),
		-EINVAL);
	ck_assert_ptr_null(x);

	ck_assert_int_eq(busutil_errno_from_name(DBUS_ERROR_NO_REPLY), -ETIMEDOUT);
	ck_assert_int_eq(busutil_errno_from_name(DBUS_ERROR_SERVICE_UNKNOWN), -EHOSTUNREACH);
	ck_assert_int_eq(busutil_errno_from_name("org.vssd.ShadowCopy1.Error.AccessDenied"),
	                 -EACCES);
	ck_assert_int_eq(busutil_errno_from_name("org.vssd.ShadowCopy1.Error.BadState"),
	                 -EREMOTEIO);
}
END_TEST

/* ---- list shadows from a canned GetManagedObjects reply --------------------------------- */

typedef struct Snap {
	const char *id, *set, *volume, *orig, *device, *provider, *context, *state, *exposed;
	uint32_t attrs;
	uint64_t time, used, size;
	double progress;
} Snap;

static const Snap snaps[] = {
	{ SA2, ID1, "/dev/mapper/data", "/dev/dm-3", "/dev/mapper/vssd-a2", "dm-snapshot",
	  "client-accessible", "created", "", 0x2000D, 1700000000000005ULL, 12ULL << 20, 1ULL << 30,
	  0.0 },
	{ SB1, ID2, "/dev/mapper/data", "/dev/dm-3", "/dev/mapper/vssd-b1", "dm-snapshot", "backup",
	  "merging", "/mnt/x", 0x20000, 1600000000000000ULL, 0, 64ULL << 20, 0.42 },
	{ SA1, ID1, "/dev/mapper/alpha", "/dev/dm-1", "/dev/mapper/vssd-a1", "dm-snapshot",
	  "client-accessible", "created", "", 0x2000D, 1700000000000000ULL, 5000, 1ULL << 30, 0.0 },
};

static void object_path(const char *kind, const char *id, char *buf, size_t size)
{
	size_t o = (size_t)snprintf(buf, size, "/org/vssd/ShadowCopy1/%s/", kind);

	for (; *id && o + 1 < size; id++)
		if (*id != '-')
			buf[o++] = *id;
	buf[o] = 0;
}

/* Opens object path's entry and its interface iface; the caller fills props. */
static void object_open(DBusMessageIter *objs, const char *path, const char *iface,
                        DBusMessageIter it[3], DBusMessageIter *props)
{
	ck_assert(dbus_message_iter_open_container(objs, DBUS_TYPE_DICT_ENTRY, NULL, &it[0]));
	ck_assert(dbus_message_iter_append_basic(&it[0], DBUS_TYPE_OBJECT_PATH, &path));
	ck_assert(dbus_message_iter_open_container(&it[0], DBUS_TYPE_ARRAY, "{sa{sv}}", &it[1]));
	ck_assert(dbus_message_iter_open_container(&it[1], DBUS_TYPE_DICT_ENTRY, NULL, &it[2]));
	ck_assert(dbus_message_iter_append_basic(&it[2], DBUS_TYPE_STRING, &iface));
	ck_assert_int_eq(busmsg_dict_open(&it[2], props), 0);
}

static void object_close(DBusMessageIter *objs, DBusMessageIter it[3], DBusMessageIter *props)
{
	ck_assert_int_eq(busmsg_dict_close(&it[2], props), 0);
	ck_assert(dbus_message_iter_close_container(&it[1], &it[2]));
	ck_assert(dbus_message_iter_close_container(&it[0], &it[1]));
	ck_assert(dbus_message_iter_close_container(objs, &it[0]));
}

static void put_string(DBusMessageIter *d, const char *key, const char *value)
{
	if (value)
		ck_assert_int_eq(busmsg_dict_append_string(d, key, value), 0);
}

/* a{oa{sa{sv}}}: the snapshots, set ID1 with a description, and a writer to be ignored */
static BusValue *objects_new(const Snap *s, size_t n)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = message_new();
	DBusMessageIter it, objs, o[3], d;
	BusValue *args = NULL;
	char path[128];

	dbus_message_iter_init_append(m, &it);
	ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{oa{sa{sv}}}", &objs));
	for (size_t i = 0; i < n; i++) {
		object_path("snapshot", s[i].id, path, sizeof(path));
		object_open(&objs, path, VSSD_IFACE_SNAP, o, &d);
		put_string(&d, "Id", s[i].id);
		put_string(&d, "SetId", s[i].set);
		put_string(&d, "Volume", s[i].volume);
		put_string(&d, "OriginalDevice", s[i].orig);
		put_string(&d, "Device", s[i].device);
		put_string(&d, "Provider", s[i].provider);
		put_string(&d, "Context", s[i].context);
		ck_assert_int_eq(busmsg_dict_append_u32(&d, "Attributes", s[i].attrs), 0);
		ck_assert_int_eq(busmsg_dict_append_u64(&d, "CreationTime", s[i].time), 0);
		put_string(&d, "State", s[i].state);
		ck_assert_int_eq(busmsg_dict_append_u64(&d, "StorageUsed", s[i].used), 0);
		ck_assert_int_eq(busmsg_dict_append_u64(&d, "StorageSize", s[i].size), 0);
		put_string(&d, "ExposedPath", s[i].exposed);
		dict_append_double(&d, "RevertProgress", s[i].progress);
		object_close(&objs, o, &d);
	}
	object_path("set", ID1, path, sizeof(path));
	object_open(&objs, path, VSSD_IFACE_SET, o, &d);
	put_string(&d, "Id", ID1);
	put_string(&d, "Description", "nightly");
	put_string(&d, "Instant", "per-volume");
	object_close(&objs, o, &d);
	object_path("writer", SA1, path, sizeof(path));
	object_open(&objs, path, "org.vssd.ShadowCopy1.Writer", o, &d);
	put_string(&d, "Name", "PostgreSQL");
	object_close(&objs, o, &d);
	ck_assert(dbus_message_iter_close_container(&it, &objs));
	ck_assert_str_eq(dbus_message_get_signature(m), "a{oa{sa{sv}}}");

	ck_assert_int_eq(busutil_message_read(m, &args), 0);
	return args;
}

typedef struct Out {
	char *buf;
	size_t size;
	FILE *f;
} Out;

static FILE *out_open(Out *o)
{
	*o = (Out){ 0 };
	o->f = open_memstream(&o->buf, &o->size);
	ck_assert_ptr_nonnull(o->f);
	return o->f;
}

static const char *out_text(Out *o)
{
	fclose(o->f);
	o->f = NULL;
	return o->buf;
}

static void out_done(Out *o)
{
	if (o->f)
		fclose(o->f);
	free(o->buf);
}

static void utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

static const char shadows_text[] =
	"Contents of shadow copy set ID: " ID2 "\n"
	"   Contained 1 shadow copy at creation time: 2020-09-13 12:26:40 UTC\n"
	"   Context: backup\n"
	"      Shadow Copy ID: " SB1 "\n"
	"         Original Volume: /dev/mapper/data (/dev/dm-3)\n"
	"         Shadow Copy Volume: /dev/mapper/vssd-b1\n"
	"         Provider: dm-snapshot\n"
	"         Attributes: Differential\n"
	"         State: merging\n"
	"         Storage used: 0B (0 bytes) of 64M (67108864 bytes)\n"
	"         Exposed at: /mnt/x\n"
	"         Revert progress: 42%\n"
	"\n"
	"Contents of shadow copy set ID: " ID1 "\n"
	"   Contained 2 shadow copies at creation time: 2023-11-14 22:13:20 UTC\n"
	"   Context: client-accessible\n"
	"   Description: nightly\n"
	"   Instant: per-volume (some volumes taken each at its own moment, after the thaw)\n"
	"      Shadow Copy ID: " SA1 "\n"
	"         Original Volume: /dev/mapper/alpha (/dev/dm-1)\n"
	"         Shadow Copy Volume: /dev/mapper/vssd-a1\n"
	"         Provider: dm-snapshot\n"
	"         Attributes: Persistent, Client-accessible, No auto release, Differential\n"
	"         State: created\n"
	"         Storage used: 4.9K (5000 bytes) of 1.0G (1073741824 bytes)\n"
	"      Shadow Copy ID: " SA2 "\n"
	"         Original Volume: /dev/mapper/data (/dev/dm-3)\n"
	"         Shadow Copy Volume: /dev/mapper/vssd-a2\n"
	"         Provider: dm-snapshot\n"
	"         Attributes: Persistent, Client-accessible, No auto release, Differential\n"
	"         State: created\n"
	"         Storage used: 12M (12582912 bytes) of 1.0G (1073741824 bytes)\n";

START_TEST(list_shadows_text)
{
	_cleanup_(busutil_value_freep) BusValue *args = objects_new(snaps, ELEMENTSOF(snaps));
	VssctlShadowFilter all = { 0 };
	Out o;

	utc();
	ck_assert_int_eq(vssctl_print_shadows(out_open(&o), &args->items[0], &all, false), 0);
	ck_assert_str_eq(out_text(&o), shadows_text);
	out_done(&o);
}
END_TEST

START_TEST(list_shadows_filters)
{
	_cleanup_(busutil_value_freep) BusValue *args = objects_new(snaps, ELEMENTSOF(snaps));
	const BusValue *objects = &args->items[0];
	Out o;

	utc();
	/* by set, any case */
	ck_assert_int_eq(vssctl_print_shadows(out_open(&o), objects,
	                                      &(VssctlShadowFilter){ .set_id = ID2 }, false),
	                 0);
	ck_assert_str_eq(out_text(&o), (const char[]){ "Contents of shadow copy set ID: " ID2 "\n"
	                                               "   Contained 1 shadow copy at creation "
	                                               "time: 2020-09-13 12:26:40 UTC\n"
	                                               "   Context: backup\n"
	                                               "      Shadow Copy ID: " SB1 "\n"
	                                               "         Original Volume: "
	                                               "/dev/mapper/data (/dev/dm-3)\n"
	                                               "         Shadow Copy Volume: "
	                                               "/dev/mapper/vssd-b1\n"
	                                               "         Provider: dm-snapshot\n"
	                                               "         Attributes: Differential\n"
	                                               "         State: merging\n"
	                                               "         Storage used: 0B (0 bytes) of "
	                                               "64M (67108864 bytes)\n"
	                                               "         Exposed at: /mnt/x\n"
	                                               "         Revert progress: 42%\n" });
	out_done(&o);

	/* by volume (the name or the kernel device), and by snapshot */
	ck_assert_int_eq(vssctl_print_shadows(out_open(&o), objects,
	                                      &(VssctlShadowFilter){ .volume = "/dev/dm-3" }, true),
	                 0);
	{
		json_object *j = json_tokener_parse(out_text(&o));

		ck_assert_ptr_nonnull(j);
		ck_assert_int_eq(json_object_array_length(j), 2);
		ck_assert_str_eq(json_object_get_string(json_object_object_get(
					 json_object_array_get_idx(j, 0), "id")),
		                 SB1);
		ck_assert_str_eq(json_object_get_string(json_object_object_get(
					 json_object_array_get_idx(j, 1), "id")),
		                 SA2);
		json_object_put(j);
	}
	out_done(&o);

	ck_assert_int_eq(
		vssctl_print_shadows(out_open(&o), objects,
	                             &(VssctlShadowFilter){ .shadow_id = "AAAAAAAA-0000-0000-0000-"
	                                                                 "000000000001",
	                                                    .volume = "/dev/mapper/alpha" },
	                             false),
		0);
	ck_assert_ptr_nonnull(strstr(out_text(&o), "Contained 1 shadow copy at"));
	ck_assert_ptr_nonnull(strstr(o.buf, "Shadow Copy ID: " SA1));
	ck_assert_ptr_null(strstr(o.buf, SA2));
	out_done(&o);

	/* nothing: vssadmin's sentence, or an empty array */
	ck_assert_int_eq(vssctl_print_shadows(out_open(&o), objects,
	                                      &(VssctlShadowFilter){ .volume = "/dev/mapper/zz" },
	                                      false),
	                 0);
	ck_assert_str_eq(out_text(&o), "No items found that satisfy the query.\n");
	out_done(&o);
	ck_assert_int_eq(vssctl_print_shadows(out_open(&o), objects,
	                                      &(VssctlShadowFilter){ .set_id = SB1 }, true),
	                 0);
	{
		json_object *j = json_tokener_parse(out_text(&o));

		ck_assert(json_object_is_type(j, json_type_array));
		ck_assert_int_eq(json_object_array_length(j), 0);
		json_object_put(j);
	}
	out_done(&o);

	/* not a{oa{sa{sv}}} */
	ck_assert_int_eq(
		vssctl_print_shadows(out_open(&o), args, &(VssctlShadowFilter){ 0 }, false),
		-EBADMSG);
	out_done(&o);
}
END_TEST

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no key %s", key);
	return v;
}

START_TEST(list_shadows_json)
{
	static const char *const keys[] = {
		"id",           "set_id",       "volume",      "original_device", "device",
		"provider",     "context",      "attributes",  "creation_time",   "state",
		"storage_used", "storage_size", "exposed_path"
	};
	Snap partial = snaps[2];
	_cleanup_(busutil_value_freep) BusValue *args = objects_new(snaps, ELEMENTSOF(snaps));
	_cleanup_(busutil_value_freep) BusValue *args2 = NULL;
	json_object *j, *s;
	Out o;
	int i = 0;

	ck_assert_int_eq(vssctl_print_shadows(out_open(&o), &args->items[0],
	                                      &(VssctlShadowFilter){ 0 }, true),
	                 0);
	j = json_tokener_parse(out_text(&o));
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_object_array_length(j), 3);
	/* the order of the text: oldest set first, then by volume */
	ck_assert_str_eq(json_object_get_string(jget(json_object_array_get_idx(j, 0), "id")), SB1);
	ck_assert_str_eq(json_object_get_string(jget(json_object_array_get_idx(j, 1), "id")), SA1);
	ck_assert_str_eq(json_object_get_string(jget(json_object_array_get_idx(j, 2), "id")), SA2);

	s = json_object_array_get_idx(j, 0);
	ck_assert_int_eq(json_object_object_length(s), ELEMENTSOF(keys));
	json_object_object_foreach(s, k, val)
	{
		ck_assert_str_eq(k, keys[i++]); /* exactly these, in this order */
		(void)val;
	}
	ck_assert_str_eq(json_object_get_string(jget(s, "set_id")), ID2);
	ck_assert_str_eq(json_object_get_string(jget(s, "volume")), "/dev/mapper/data");
	ck_assert_str_eq(json_object_get_string(jget(s, "original_device")), "/dev/dm-3");
	ck_assert_str_eq(json_object_get_string(jget(s, "device")), "/dev/mapper/vssd-b1");
	ck_assert_str_eq(json_object_get_string(jget(s, "provider")), "dm-snapshot");
	ck_assert_str_eq(json_object_get_string(jget(s, "context")), "backup");
	ck_assert_int_eq(json_object_get_int64(jget(s, "attributes")), 0x20000);
	ck_assert_int_eq(json_object_get_int64(jget(s, "creation_time")), 1600000000000000LL);
	ck_assert_str_eq(json_object_get_string(jget(s, "state")), "merging");
	ck_assert_int_eq(json_object_get_int64(jget(s, "storage_used")), 0);
	ck_assert_int_eq(json_object_get_int64(jget(s, "storage_size")), 64LL << 20);
	ck_assert_str_eq(json_object_get_string(jget(s, "exposed_path")), "/mnt/x");
	ck_assert(json_object_is_type(jget(s, "storage_size"), json_type_int));
	/* paths are not escaped: jq users compare them as they are */
	ck_assert_ptr_null(strstr(o.buf, "\\/"));
	json_object_put(j);
	out_done(&o);

	/* a property vssd did not send is null, the key stays */
	partial.provider = NULL;
	partial.exposed = NULL;
	args2 = objects_new(&partial, 1);
	ck_assert_int_eq(vssctl_print_shadows(out_open(&o), &args2->items[0],
	                                      &(VssctlShadowFilter){ 0 }, true),
	                 0);
	j = json_tokener_parse(out_text(&o));
	s = json_object_array_get_idx(j, 0);
	ck_assert(json_object_is_type(jget(s, "provider"), json_type_null));
	ck_assert(json_object_is_type(jget(s, "exposed_path"), json_type_null));
	ck_assert_str_eq(json_object_get_string(jget(s, "id")), SA1);
	json_object_put(j);
	out_done(&o);

	/* the text shows "-" for it */
	ck_assert_int_eq(vssctl_print_shadows(out_open(&o), &args2->items[0],
	                                      &(VssctlShadowFilter){ 0 }, false),
	                 0);
	ck_assert_ptr_nonnull(strstr(out_text(&o), "         Provider: -\n"));
	ck_assert_ptr_nonnull(strstr(o.buf, "   Description: nightly\n")); /* from the set */
	out_done(&o);
}
END_TEST

START_TEST(query_reverts_output)
{
	_cleanup_(busutil_value_freep) BusValue *args = objects_new(snaps, ELEMENTSOF(snaps));
	json_object *j, *s;
	Out o;

	ck_assert_int_eq(vssctl_print_reverts(out_open(&o), &args->items[0], NULL, false), 0);
	ck_assert_str_eq(out_text(&o), "Revert of volume: /dev/mapper/data\n"
	                               "   Shadow Copy ID: " SB1 "\n"
	                               "   Shadow copy set ID: " ID2 "\n"
	                               "   Progress: 42%\n");
	out_done(&o);

	ck_assert_int_eq(vssctl_print_reverts(out_open(&o), &args->items[0], NULL, true), 0);
	j = json_tokener_parse(out_text(&o));
	ck_assert_int_eq(json_object_array_length(j), 1);
	s = json_object_array_get_idx(j, 0);
	ck_assert_str_eq(json_object_get_string(jget(s, "id")), SB1);
	ck_assert_str_eq(json_object_get_string(jget(s, "state")), "merging");
	ck_assert_double_eq_tol(json_object_get_double(jget(s, "revert_progress")), 0.42, 1e-9);
	json_object_put(j);
	out_done(&o);

	ck_assert_int_eq(
		vssctl_print_reverts(out_open(&o), &args->items[0], "/dev/mapper/alpha", false), 0);
	ck_assert_str_eq(out_text(&o), "No reverts in progress.\n");
	out_done(&o);
}
END_TEST

/* ---- the other lists ---------------------------------------------------------------------- */

/* aa{sv} of n dictionaries; fill(d, i) adds the entries of the i-th */
static BusValue *list_new(size_t n, void (*fill)(DBusMessageIter *d, size_t i))
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = message_new();
	DBusMessageIter it, a, d;
	BusValue *args = NULL;

	dbus_message_iter_init_append(m, &it);
	ck_assert(dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "a{sv}", &a));
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(busmsg_dict_open(&a, &d), 0);
		fill(&d, i);
		ck_assert_int_eq(busmsg_dict_close(&a, &d), 0);
	}
	ck_assert(dbus_message_iter_close_container(&it, &a));
	ck_assert_int_eq(busutil_message_read(m, &args), 0);
	return args;
}

static void fill_writer(DBusMessageIter *d, size_t i)
{
	put_string(d, "instance-id", i ? SA2 : SA1);
	put_string(d, "class-id", ID1);
	put_string(d, "name", i ? "PostgreSQL" : "hooks");
	put_string(d, "instance-name", i ? "main" : "");
	ck_assert_int_eq(busmsg_dict_append_u32(d, "state", i ? 8 : 1), 0);
	put_string(d, "state-name", i ? "Failed at freeze" : "Stable");
	put_string(d, "last-error", i ? "VSS_E_WRITERERROR_TIMEOUT (0x800423F2): no reply" : "");
	put_string(d, "owner", ":1.42");
}

START_TEST(list_writers_output)
{
	_cleanup_(busutil_value_freep) BusValue *args = list_new(2, fill_writer);
	_cleanup_(busutil_value_freep) BusValue *none = list_new(0, fill_writer);
	json_object *j;
	Out o;

	ck_assert_int_eq(vssctl_print_writers(out_open(&o), &args->items[0], false), 0);
	ck_assert_str_eq(out_text(&o), "Writer name: 'hooks'\n"
	                               "   Writer Id: " ID1 "\n"
	                               "   Writer Instance Id: " SA1 "\n"
	                               "   State: [1] Stable\n"
	                               "   Last error: No error\n"
	                               "\n"
	                               "Writer name: 'PostgreSQL'\n"
	                               "   Writer Id: " ID1 "\n"
	                               "   Writer Instance Id: " SA2 "\n"
	                               "   Writer Instance Name: main\n"
	                               "   State: [8] Failed at freeze\n"
	                               "   Last error: VSS_E_WRITERERROR_TIMEOUT (0x800423F2): no "
	                               "reply\n");
	out_done(&o);

	/* JSON: the daemon's keys in snake_case */
	ck_assert_int_eq(vssctl_print_writers(out_open(&o), &args->items[0], true), 0);
	j = json_tokener_parse(out_text(&o));
	ck_assert_int_eq(json_object_array_length(j), 2);
	ck_assert_str_eq(
		json_object_get_string(jget(json_object_array_get_idx(j, 1), "instance_id")), SA2);
	ck_assert_int_eq(json_object_get_int(jget(json_object_array_get_idx(j, 1), "state")), 8);
	ck_assert_str_eq(
		json_object_get_string(jget(json_object_array_get_idx(j, 0), "state_name")),
		"Stable");
	json_object_put(j);
	out_done(&o);

	ck_assert_int_eq(vssctl_print_writers(out_open(&o), &none->items[0], false), 0);
	ck_assert_str_eq(out_text(&o), "No writers are registered.\n");
	out_done(&o);

	/* a reply of another shape */
	ck_assert_int_eq(vssctl_print_writers(out_open(&o), &args->items[0].items[0], false),
	                 -EBADMSG);
	out_done(&o);
}
END_TEST

static bool has_raw_control(const char *s);

/* A file set entry of a files / exclude-files / mappings list */
static void put_file_set(DBusMessageIter *a, const char *path, const char *spec, bool recursive,
                         const char *alt, const char *kind)
{
	DBusMessageIter d;

	ck_assert_int_eq(busmsg_dict_open(a, &d), 0);
	put_string(&d, "path", path);
	put_string(&d, "filespec", spec);
	ck_assert_int_eq(busmsg_dict_append_bool(&d, "recursive", recursive), 0);
	if (alt)
		put_string(&d, "alternate-path", alt);
	if (kind)
		put_string(&d, "kind", kind);
	ck_assert_int_eq(busmsg_dict_close(a, &d), 0);
}

/* The writer as ListWriters gives it plus its Metadata entries (the second one: none given) */
static void fill_detailed_writer(DBusMessageIter *d, size_t i)
{
	static char *const paths[] = { (char *)"/srv/db", NULL };
	static char *const vols[] = { (char *)"/dev/mapper/data", NULL };
	static char *const deps[] = { (char *)"System\\registry", NULL };
	static char *const schema[] = { (char *)"incremental", (char *)"lsn", NULL };
	DBusMessageIter e, v, a, c, f, fe, fv;

	fill_writer(d, i);
	ck_assert_int_eq(busmsg_entry_open(d, "components", "aa{sv}", &e, &v), 0);
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
	if (i == 1) {
		ck_assert_int_eq(busmsg_dict_open(&a, &c), 0);
		put_string(&c, "name", "main");
		ck_assert_int_eq(busmsg_dict_append_strv(&c, "paths", paths), 0);
		ck_assert_int_eq(busmsg_dict_append_strv(&c, "volumes", vols), 0);
		put_string(&c, "logical-path", "Databases");
		put_string(&c, "type", "database");
		put_string(&c, "caption", "Main\ndatabase");
		ck_assert_int_eq(busmsg_dict_append_bool(&c, "selectable", false), 0);
		ck_assert_int_eq(busmsg_entry_open(&c, "files", "aa{sv}", &fe, &fv), 0);
		ck_assert(dbus_message_iter_open_container(&fv, DBUS_TYPE_ARRAY, "a{sv}", &f));
		put_file_set(&f, "/srv/db", "*.db", false, "", "database");
		put_file_set(&f, "/srv/db/wal/", "*", false, "", "log");
		ck_assert(dbus_message_iter_close_container(&fv, &f));
		ck_assert_int_eq(busmsg_entry_close(&c, &fe, &fv, 0), 0);
		ck_assert_int_eq(busmsg_dict_append_strv(&c, "dependencies", deps), 0);
		ck_assert_int_eq(busmsg_dict_close(&a, &c), 0);
	}
	ck_assert(dbus_message_iter_close_container(&v, &a));
	ck_assert_int_eq(busmsg_entry_close(d, &e, &v, 0), 0);

	ck_assert_int_eq(busmsg_entry_open(d, "exclude-files", "aa{sv}", &e, &v), 0);
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
	if (i == 1)
		put_file_set(&a, "/srv/db", "*.tmp", true, NULL, NULL);
	ck_assert(dbus_message_iter_close_container(&v, &a));
	ck_assert_int_eq(busmsg_entry_close(d, &e, &v, 0), 0);

	ck_assert_int_eq(busmsg_entry_open(d, "restore-method", "a{sv}", &e, &v), 0);
	ck_assert_int_eq(busmsg_dict_open(&v, &a), 0);
	if (i == 1) {
		put_string(&a, "method", "stop-restore-start");
		put_string(&a, "service", "postgresql.service");
		put_string(&a, "writer-restore", "always");
		ck_assert_int_eq(busmsg_dict_append_bool(&a, "reboot-required", false), 0);
	}
	ck_assert_int_eq(busmsg_dict_close(&v, &a), 0);
	ck_assert_int_eq(busmsg_entry_close(d, &e, &v, 0), 0);

	ck_assert_int_eq(busmsg_entry_open(d, "alternate-location-mappings", "aa{sv}", &e, &v), 0);
	ck_assert(dbus_message_iter_open_container(&v, DBUS_TYPE_ARRAY, "a{sv}", &a));
	if (i == 1)
		put_file_set(&a, "/etc/db", "*.conf", false, "/srv/elsewhere", NULL);
	ck_assert(dbus_message_iter_close_container(&v, &a));
	ck_assert_int_eq(busmsg_entry_close(d, &e, &v, 0), 0);
	ck_assert_int_eq(busmsg_dict_append_strv(d, "backup-schema", i == 1 ? schema : NULL), 0);
}

START_TEST(list_writers_detailed_output)
{
	_cleanup_(busutil_value_freep) BusValue *args = list_new(2, fill_detailed_writer);
	_cleanup_(busutil_value_freep) BusValue *plain = list_new(1, fill_writer);
	json_object *j, *w, *c;
	Out o;

	ck_assert_int_eq(vssctl_print_writers_detailed(out_open(&o), &args->items[0], false), 0);
	ck_assert(!has_raw_control(out_text(&o)));
	ck_assert_str_eq(o.buf, "Writer name: 'hooks'\n"
	                        "   Writer Id: " ID1 "\n"
	                        "   Writer Instance Id: " SA1 "\n"
	                        "   Usage: -\n"
	                        "   State: [1] Stable\n"
	                        "   Last error: No error\n"
	                        "   Restore method: (none)\n"
	                        "   Backup schema:\n"
	                        "      (none)\n"
	                        "   Excluded files:\n"
	                        "      (none)\n"
	                        "   Alternate location mappings:\n"
	                        "      (none)\n"
	                        "   Components: 0\n"
	                        "\n"
	                        "Writer name: 'PostgreSQL'\n"
	                        "   Writer Id: " ID1 "\n"
	                        "   Writer Instance Id: " SA2 "\n"
	                        "   Writer Instance Name: main\n"
	                        "   Usage: -\n"
	                        "   State: [8] Failed at freeze\n"
	                        "   Last error: VSS_E_WRITERERROR_TIMEOUT (0x800423F2): no reply\n"
	                        "   Restore method: stop-restore-start\n"
	                        "   Restore service: postgresql.service\n"
	                        "   Writer restore: always\n"
	                        "   Requires reboot after restore: no\n"
	                        "   Backup schema:\n"
	                        "      incremental\n"
	                        "      lsn\n"
	                        "   Excluded files:\n"
	                        "      /srv/db/*.tmp (recursive)\n"
	                        "   Alternate location mappings:\n"
	                        "      /etc/db/*.conf -> /srv/elsewhere\n"
	                        "   Components: 1\n"
	                        "   + Component \"Databases\\main\"\n"
	                        "      - Name: main\n"
	                        "      - Logical path: Databases\n"
	                        "      - Caption: Main\\ndatabase\n"
	                        "      - Type: database\n"
	                        "      - Is selectable: no\n"
	                        "      - Paths affected by this component:\n"
	                        "         /srv/db\n"
	                        "      - Volumes affected by this component:\n"
	                        "         /dev/mapper/data\n"
	                        "      - Files:\n"
	                        "         /srv/db/*.db [database]\n"
	                        "         /srv/db/wal/* [log]\n"
	                        "      - Component dependencies:\n"
	                        "         System\\registry\n");
	out_done(&o);

	/* JSON: exact, snake_case keys, nested the same way */
	ck_assert_int_eq(vssctl_print_writers_detailed(out_open(&o), &args->items[0], true), 0);
	j = json_tokener_parse(out_text(&o));
	ck_assert_ptr_nonnull(j);
	w = json_object_array_get_idx(j, 1);
	ck_assert_str_eq(json_object_get_string(jget(jget(w, "restore_method"), "method")),
	                 "stop-restore-start");
	ck_assert_int_eq(json_object_array_length(jget(w, "backup_schema")), 2);
	ck_assert_str_eq(
		json_object_get_string(
			jget(json_object_array_get_idx(jget(w, "alternate_location_mappings"), 0),
	                     "alternate_path")),
		"/srv/elsewhere");
	c = json_object_array_get_idx(jget(w, "components"), 0);
	ck_assert_str_eq(json_object_get_string(jget(c, "caption")), "Main\ndatabase");
	ck_assert_str_eq(json_object_get_string(jget(c, "logical_path")), "Databases");
	ck_assert(!json_object_get_boolean(jget(c, "selectable")));
	ck_assert_str_eq(json_object_get_string(
				 jget(json_object_array_get_idx(jget(c, "files"), 1), "kind")),
	                 "log");
	ck_assert_int_eq(json_object_array_length(jget(w, "components")), 1);
	json_object_put(j);
	out_done(&o);

	/* a writer that left before its metadata was read */
	ck_assert_int_eq(vssctl_print_writers_detailed(out_open(&o), &plain->items[0], false), 0);
	ck_assert_ptr_nonnull(strstr(out_text(&o), "the writer left before its metadata"));
	out_done(&o);
}
END_TEST

/* Text a hostile writer or caller could have put in what vssd sends */
static void fill_hostile_writer(DBusMessageIter *d, size_t i)
{
	put_string(d, "instance-id", SA1);
	put_string(d, "class-id", ID1);
	put_string(d, "name",
	           "db\xc2\x9b"
	           "2J\x1b]0;owned\x07");
	put_string(d, "instance-name", "a\nWriter name: 'forged'");
	ck_assert_int_eq(busmsg_dict_append_u32(d, "state", 8), 0);
	put_string(d, "state-name", "Failed at freeze");
	put_string(d, "last-error", "VSS_E_WRITERERROR_RETRYABLE");
	put_string(d, "failure-message", "full\r\x1b[31mred C:\\tmp");
}

static bool has_raw_control(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\n') || *s == 0x7f ||
		    ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] >= 0x80 &&
		     (unsigned char)s[1] <= 0x9f))
			return true;
	return false;
}

START_TEST(list_writers_escapes_what_vssd_sent)
{
	_cleanup_(busutil_value_freep) BusValue *args = list_new(1, fill_hostile_writer);
	json_object *j;
	Out o;

	ck_assert_int_eq(vssctl_print_writers(out_open(&o), &args->items[0], false), 0);
	ck_assert(!has_raw_control(out_text(&o)));
	ck_assert_str_eq(o.buf, "Writer name: 'db\\xc2\\x9b2J\\x1b]0;owned\\x07'\n"
	                        "   Writer Id: " ID1 "\n"
	                        "   Writer Instance Id: " SA1 "\n"
	                        "   Writer Instance Name: a\\nWriter name: 'forged'\n"
	                        "   State: [8] Failed at freeze\n"
	                        "   Last error: VSS_E_WRITERERROR_RETRYABLE\n"
	                        "   Failure message: full\\r\\x1b[31mred C:\\tmp\n");
	out_done(&o);

	/* JSON keeps the data exact: its own escaping keeps the control characters out */
	ck_assert_int_eq(vssctl_print_writers(out_open(&o), &args->items[0], true), 0);
	ck_assert(!has_raw_control(out_text(&o)));
	j = json_tokener_parse(o.buf);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_object_get_string(jget(json_object_array_get_idx(j, 0), "name")),
	                 "db\xc2\x9b"
	                 "2J\x1b]0;owned\x07");
	json_object_put(j);
	out_done(&o);
}
END_TEST

START_TEST(exposed_and_added_paths_are_escaped)
{
	Out o;

	ck_assert_int_eq(vssctl_print_exposed(out_open(&o), SA1, "/mnt/x\x1b[2J", NULL, false), 0);
	ck_assert_str_eq(out_text(&o), "/mnt/x\\x1b[2J\n");
	out_done(&o);
	ck_assert_int_eq(vssctl_print_volume_added(out_open(&o), "/dev/mapper/a\nb", false), 0);
	ck_assert_str_eq(out_text(&o), "/dev/mapper/a\\nb\n");
	out_done(&o);
}
END_TEST

static void fill_storage(DBusMessageIter *d, size_t i)
{
	put_string(d, "volume", i ? VOLB : VOLA);
	put_string(d, "location", "/var/lib/vssd/storage");
	ck_assert_int_eq(busmsg_dict_append_u64(d, "used-bytes", i ? 0 : 3ULL << 20), 0);
	ck_assert_int_eq(busmsg_dict_append_u64(d, "allocated-bytes", i ? 0 : 32ULL << 20), 0);
	ck_assert_int_eq(busmsg_dict_append_u64(d, "max-bytes", i ? UINT64_MAX : 1ULL << 30), 0);
}

START_TEST(list_storage_output)
{
	_cleanup_(busutil_value_freep) BusValue *args = list_new(2, fill_storage);
	json_object *j;
	Out o;

	ck_assert_int_eq(vssctl_print_storage(out_open(&o), &args->items[0], VOLA, false), 0);
	ck_assert_str_eq(out_text(&o),
	                 "Shadow Copy Storage association\n"
	                 "   For volume: /dev/mapper/a\n"
	                 "   Shadow Copy Storage location: /var/lib/vssd/storage\n"
	                 "   Used Shadow Copy Storage space: 3.0M (3145728 bytes)\n"
	                 "   Allocated Shadow Copy Storage space: 32M (33554432 bytes)\n"
	                 "   Maximum Shadow Copy Storage space: 1.0G (1073741824 bytes)\n");
	out_done(&o);

	ck_assert_int_eq(vssctl_print_storage(out_open(&o), &args->items[0], NULL, false), 0);
	ck_assert_ptr_nonnull(strstr(out_text(&o), "\n\nShadow Copy Storage association\n"
	                                           "   For volume: /dev/mapper/b\n"));
	ck_assert_ptr_nonnull(strstr(o.buf, "Maximum Shadow Copy Storage space: unbounded\n"));
	out_done(&o);

	ck_assert_int_eq(vssctl_print_storage(out_open(&o), &args->items[0], VOLB, true), 0);
	j = json_tokener_parse(out_text(&o));
	ck_assert_int_eq(json_object_array_length(j), 1);
	ck_assert_str_eq(json_object_get_string(jget(json_object_array_get_idx(j, 0), "volume")),
	                 VOLB);
	ck_assert_uint_eq(
		json_object_get_uint64(jget(json_object_array_get_idx(j, 0), "max_bytes")),
		UINT64_MAX);
	json_object_put(j);
	out_done(&o);

	ck_assert_int_eq(
		vssctl_print_storage(out_open(&o), &args->items[0], "/dev/mapper/c", false), 0);
	ck_assert_str_eq(out_text(&o), "No items found that satisfy the query.\n");
	out_done(&o);
}
END_TEST

static void fill_volume(DBusMessageIter *d, size_t i)
{
	put_string(d, "volume", i ? "/dev/sda1" : VOLA);
	put_string(d, "device", i ? "/dev/sda1" : "/dev/dm-0");
	ck_assert_int_eq(busmsg_dict_append_u64(d, "size-bytes", 64ULL << 20), 0);
	ck_assert_int_eq(busmsg_dict_append_bool(d, "supported", !i), 0);
	put_string(d, "provider", i ? "" : "dm-snapshot");
	put_string(d, "reason", i ? "not a device-mapper device; see vssctl add volume" : "");
	ck_assert_int_eq(busmsg_dict_append_u32(d, "snapshot-count", i ? 0 : 2), 0);
	put_string(d, "mountpoint", i ? "/boot" : "");
	ck_assert_int_eq(busmsg_dict_append_bool(d, "managed", !i), 0);
}

static void fill_provider(DBusMessageIter *d, size_t i)
{
	put_string(d, "name", "dm-snapshot");
	put_string(d, "id", ID2);
	put_string(d, "type", "system");
	put_string(d, "version", "0.1");
}

START_TEST(list_volumes_and_providers_output)
{
	_cleanup_(busutil_value_freep) BusValue *vols = list_new(2, fill_volume);
	_cleanup_(busutil_value_freep) BusValue *provs = list_new(1, fill_provider);
	json_object *j;
	Out o;

	ck_assert_int_eq(vssctl_print_volumes(out_open(&o), &vols->items[0], false), 0);
	ck_assert_str_eq(out_text(&o),
	                 "Volume path: /dev/mapper/a\n"
	                 "   Device: /dev/dm-0\n"
	                 "   Size: 64M (67108864 bytes)\n"
	                 "   Supported: yes, by dm-snapshot\n"
	                 "   Shadow copies: 2\n"
	                 "   Managed by vssd: yes\n"
	                 "\n"
	                 "Volume path: /dev/sda1\n"
	                 "   Device: /dev/sda1\n"
	                 "   Size: 64M (67108864 bytes)\n"
	                 "   Supported: no (not a device-mapper device; see vssctl add volume)\n"
	                 "   Shadow copies: 0\n"
	                 "   Mount point: /boot\n");
	out_done(&o);

	ck_assert_int_eq(vssctl_print_volumes(out_open(&o), &vols->items[0], true), 0);
	j = json_tokener_parse(out_text(&o));
	ck_assert_int_eq(json_object_get_int64(jget(json_object_array_get_idx(j, 0), "size_bytes")),
	                 64LL << 20);
	ck_assert(json_object_get_boolean(jget(json_object_array_get_idx(j, 0), "supported")));
	ck_assert_int_eq(
		json_object_get_int(jget(json_object_array_get_idx(j, 0), "snapshot_count")), 2);
	json_object_put(j);
	out_done(&o);

	ck_assert_int_eq(vssctl_print_providers(out_open(&o), &provs->items[0], false), 0);
	ck_assert_str_eq(out_text(&o), "Provider name: 'dm-snapshot'\n"
	                               "   Provider type: system\n"
	                               "   Provider Id: " ID2 "\n"
	                               "   Version: 0.1\n");
	out_done(&o);
}
END_TEST

START_TEST(verb_results_output)
{
	_cleanup_(busutil_value_freep) BusValue *args = objects_new(snaps, ELEMENTSOF(snaps));
	const BusValue *dicts[2];
	json_object *j, *a;
	Out o;

	/* the Snapshot properties of the first two objects */
	dicts[0] = busutil_dict_get(&args->items[0].items[2], VSSD_IFACE_SNAP);
	dicts[1] = busutil_dict_get(&args->items[0].items[0], VSSD_IFACE_SNAP);
	ck_assert_ptr_nonnull(dicts[0]);
	ck_assert_ptr_nonnull(dicts[1]);

	ck_assert_int_eq(vssctl_print_created(out_open(&o), ID1, dicts, 2, false), 0);
	ck_assert_str_eq(out_text(&o), "Successfully created shadow copy set " ID1 "\n"
	                               "   Shadow Copy ID: " SA1 "\n"
	                               "      Original Volume: /dev/mapper/alpha\n"
	                               "      Shadow Copy Volume: /dev/mapper/vssd-a1\n"
	                               "   Shadow Copy ID: " SA2 "\n"
	                               "      Original Volume: /dev/mapper/data\n"
	                               "      Shadow Copy Volume: /dev/mapper/vssd-a2\n");
	out_done(&o);

	ck_assert_int_eq(vssctl_print_created(out_open(&o), ID1, dicts, 2, true), 0);
	j = json_tokener_parse(out_text(&o));
	ck_assert_str_eq(json_object_get_string(jget(j, "set_id")), ID1);
	a = jget(j, "snapshots");
	ck_assert_int_eq(json_object_array_length(a), 2);
	ck_assert_int_eq(json_object_object_length(json_object_array_get_idx(a, 0)), 3);
	ck_assert_str_eq(json_object_get_string(jget(json_object_array_get_idx(a, 1), "id")), SA2);
	ck_assert_str_eq(json_object_get_string(jget(json_object_array_get_idx(a, 1), "volume")),
	                 "/dev/mapper/data");
	ck_assert_str_eq(json_object_get_string(jget(json_object_array_get_idx(a, 1), "device")),
	                 "/dev/mapper/vssd-a2");
	json_object_put(j);
	out_done(&o);

	ck_assert_int_eq(vssctl_print_deleted(out_open(&o), 1, false), 0);
	ck_assert_str_eq(out_text(&o), "Deleted 1 shadow copy.\n");
	out_done(&o);
	ck_assert_int_eq(vssctl_print_deleted(out_open(&o), 3, true), 0);
	j = json_tokener_parse(out_text(&o));
	ck_assert_int_eq(json_object_get_int(jget(j, "deleted")), 3);
	json_object_put(j);
	out_done(&o);

	ck_assert_int_eq(vssctl_print_exposed(out_open(&o), SA1, "/mnt/s", "/dev/mapper/v", false),
	                 0);
	ck_assert_str_eq(out_text(&o), "/mnt/s\n");
	out_done(&o);
	ck_assert_int_eq(vssctl_print_exposed(out_open(&o), SA1, "", "/dev/mapper/v", false), 0);
	ck_assert_str_eq(out_text(&o), "/dev/mapper/v\n");
	out_done(&o);
	ck_assert_int_eq(vssctl_print_exposed(out_open(&o), SA1, "", "/dev/mapper/v", true), 0);
	j = json_tokener_parse(out_text(&o));
	ck_assert_str_eq(json_object_get_string(jget(j, "exposed_path")), "");
	ck_assert_str_eq(json_object_get_string(jget(j, "device")), "/dev/mapper/v");
	json_object_put(j);
	out_done(&o);

	ck_assert_int_eq(vssctl_print_volume_added(out_open(&o), "/dev/mapper/vssd-sdb", false), 0);
	ck_assert_str_eq(out_text(&o), "/dev/mapper/vssd-sdb\n");
	out_done(&o);
}
END_TEST

START_TEST(small_formatters)
{
	char b[256];

	utc();
	ck_assert_str_eq(vssctl_attributes_to_string(0, b, sizeof(b)), "None");
	ck_assert_str_eq(vssctl_attributes_to_string(0x1D, b, sizeof(b)),
	                 "Persistent, Client-accessible, No auto release, No writers");
	ck_assert_str_eq(vssctl_attributes_to_string(0x80000000 | 0x100000, b, sizeof(b)),
	                 "Exposed locally, 0x80000000");
	ck_assert_str_eq(vssctl_attributes_to_string(0x1, b, 5), ""); /* cut, never overrun */
	ck_assert_str_eq(vssctl_time_to_string(0, b, sizeof(b)), "1970-01-01 00:00:00 UTC");
	ck_assert_str_eq(vssctl_time_to_string(1700000000999999ULL, b, sizeof(b)),
	                 "2023-11-14 22:13:20 UTC");
	ck_assert_str_eq(vssctl_bytes_to_string(1536, b, sizeof(b)), "1.5K (1536 bytes)");
	ck_assert_str_eq(vssctl_bytes_to_string(UINT64_MAX, b, sizeof(b)), "unbounded");
	ck_assert(vssctl_same_volume(NULL, VOLA, NULL));
	ck_assert(vssctl_same_volume(VOLA, VOLA, "/dev/dm-0"));
	ck_assert(vssctl_same_volume("/dev/dm-0", VOLA, "/dev/dm-0"));
	ck_assert(!vssctl_same_volume(VOLB, VOLA, "/dev/dm-0"));
	ck_assert(!vssctl_same_volume("/dev/null", "/dev/zero", NULL)); /* not block devices */
}
END_TEST

START_TEST(backup_environment)
{
	char *vols[] = { (char *)VOLA, (char *)"/dev/mapper/my=vol", NULL };
	char *devs[] = { (char *)"/dev/mapper/vssd-1", (char *)"/dev/mapper/vssd-2", NULL };
	_cleanup_free_ char *s = NULL, *ids = NULL, *none = NULL, *name = NULL;

	ck_assert_int_eq(vssctl_backup_pairs(vols, devs, &s), 0);
	ck_assert_str_eq(s, VOLA "=/dev/mapper/vssd-1 /dev/mapper/my=vol=/dev/mapper/vssd-2");
	ck_assert_int_eq(vssctl_backup_pairs(devs, NULL, &ids), 0);
	ck_assert_str_eq(ids, "/dev/mapper/vssd-1 /dev/mapper/vssd-2");
	ck_assert_int_eq(vssctl_backup_pairs(NULL, NULL, &none), 0);
	ck_assert_str_eq(none, "");

	name = vssctl_backup_dir_name("/dev/mapper/my=vol");
	ck_assert_str_eq(name, "my_vol");
	free(name);
	name = vssctl_backup_dir_name("/dev/disk/by-label/data.1");
	ck_assert_str_eq(name, "data.1");
	free(name);
	name = vssctl_backup_dir_name("/dev/mapper/");
	ck_assert_str_eq(name, "volume");
	free(name);
	name = vssctl_backup_dir_name("/dev/..");
	ck_assert_str_eq(name, "volume");
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("vssctl",
	TEST(global_options_and_help)
	TEST(global_usage_errors)
	TEST(list_verbs)
	TEST(create_shadow)
	TEST(create_shadow_volume_limit)
	TEST(delete_shadows)
	TEST(backup_verb)
	TEST(storage_verbs)
	TEST(snapshot_verbs)
	TEST(volume_verbs)
	TEST(size_parsing)
	TEST(id_parsing)
	TEST(busutil_round_trip)
	TEST(busutil_refuses_what_libdbus_would_abort_on)
	TEST(list_shadows_text)
	TEST(list_shadows_filters)
	TEST(list_shadows_json)
	TEST(query_reverts_output)
	TEST(list_writers_output)
	TEST(list_writers_detailed_output)
	TEST(list_writers_escapes_what_vssd_sent)
	TEST(exposed_and_added_paths_are_escaped)
	TEST(list_storage_output)
	TEST(list_volumes_and_providers_output)
	TEST(verb_results_output)
	TEST(small_formatters)
	TEST(backup_environment)
)
/* clang-format on */
