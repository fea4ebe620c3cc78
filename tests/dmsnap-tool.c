/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dmsnap-tool.c - drives the dm-snapshot engine without the daemon, for tests and benchmarks */
#include <getopt.h>
#include <inttypes.h>

#include "common/log.h"
#include "common/valid.h"
#include "common/vss-error.h"
#include "daemon/dmdev.h"
#include "daemon/dmsnap.h"
#include "daemon/hostops.h"
#include "tests/lib/dmsnap-blocking.h"

static void usage(void)
{
	printf("usage: vssd-dmsnap-tool create --storage DIR [--cow-size SIZE] [--persistent]\n"
	       "                                [--lockfs] [--hold-timeout-ms N] [--set-id UUID]\n"
	       "                                VOLUME...\n"
	       "       vssd-dmsnap-tool delete SNAPSHOT-DM-NAME...\n"
	       "       vssd-dmsnap-tool check VOLUME\n"
	       "       vssd-dmsnap-tool recover\n");
}

static int fail(const VssErr *err, int r)
{
	char buf[700];

	fprintf(stderr, "%s\n",
	        vss_err_format(err->kind != VSS_ERROR_NONE ? err->kind : vss_error_from_errno(r),
	                       err->kind != VSS_ERROR_NONE ? err->message : strerror(-r), buf,
	                       sizeof(buf)));
	return 1;
}

static int cmd_create(DmsnapEnv *env, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "storage", required_argument, NULL, 's' },
		{ "cow-size", required_argument, NULL, 'c' },
		{ "persistent", no_argument, NULL, 'p' },
		{ "lockfs", no_argument, NULL, 'l' },
		{ "hold-timeout-ms", required_argument, NULL, 'h' },
		{ "set-id", required_argument, NULL, 'i' },
		{},
	};
	/* declared first, freed last: after the set, which may still hold it */
	_cleanup_(freeze_group_freep) FreezeGroup *frozen = NULL;
	_cleanup_(dmsnap_set_freep) DmsnapSet *set = NULL;
	bool fifreeze = true;
	const char *storage = NULL;
	uint64_t cow = 64ULL << 20;
	bool persistent = false;
	VssErr err = { 0 };
	usec_t held = 0, t0;
	VssId id;
	bool have_id = false;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
		switch (c) {
		case 's':
			storage = optarg;
			break;
		case 'c':
			if (parse_size(optarg, &cow) < 0) {
				fprintf(stderr, "bad size: %s\n", optarg);
				return 2;
			}
			break;
		case 'p':
			persistent = true;
			break;
		case 'l':
			fifreeze = false;
			break;
		case 'h':
			env->hold_timeout = strtoull(optarg, NULL, 10) * USEC_PER_MSEC;
			break;
		case 'i':
			if (vssid_from_string(optarg, &id) < 0) {
				fprintf(stderr, "bad set id: %s\n", optarg);
				return 2;
			}
			have_id = true;
			break;
		default:
			return 2;
		}
	if (!storage || optind >= argc) {
		usage();
		return 2;
	}
	if (!have_id)
		vssid_generate(&id);
	r = dmsnap_set_new(env, &id, persistent, &set);
	if (r < 0)
		return fail(&err, r);
	for (int i = optind; i < argc; i++) {
		r = dmsnap_set_add(set, argv[i], storage, cow, NULL, &err);
		if (r < 0)
			return fail(&err, r);
	}
	t0 = now_usec(CLOCK_MONOTONIC);
	r = dmsnap_set_prepare(set, &err);
	if (r < 0)
		return fail(&err, r);
	(void)dmsnap_set_sync(set, env, 10 * USEC_PER_SEC);
	r = dmsnap_set_freeze(set, env, fifreeze, NULL, &frozen, &err);
	if (r < 0)
		return fail(&err, r);
	r = dmsnap_set_commit(set, frozen != NULL, &held, &err);
	if (r < 0)
		return fail(&err, r);
	for (size_t i = 0; i < dmsnap_set_count(set); i++)
		printf("%s /dev/mapper/%s\n", dmsnap_set_volume(set, i)->dev_path,
		       dmsnap_set_snapshot(set, i)->snap_name);
	printf("held_us %" PRIu64 "\ntotal_us %" PRIu64 "\n", held, now_usec(CLOCK_MONOTONIC) - t0);
	return 0;
}

int main(int argc, char **argv)
{
	_cleanup_(dmdev_libdm_freep) Dmdev *dm = NULL;
	DmsnapEnv env;
	VssErr err = { 0 };
	int r;

	log_set_prefix("vssd-dmsnap-tool: ");
	if (getenv("VSSD_DEBUG"))
		log_set_max_level(LOG_DEBUG);
	if (argc < 2 || streq(argv[1], "--help")) {
		usage();
		return argc < 2 ? 2 : 0;
	}
	r = dmdev_libdm_new(&dm);
	if (r < 0)
		return 1;
	env = (DmsnapEnv){ .dm = dm,
		           .host = &host_real,
		           .hold_timeout = 10 * USEC_PER_SEC,
		           .flush_timeout = 10 * USEC_PER_SEC,
		           .min_cow_bytes = 1ULL << 20 };

	if (streq(argv[1], "create"))
		return cmd_create(&env, argc - 1, argv + 1);
	if (streq(argv[1], "delete")) {
		for (int i = 2; i < argc; i++) {
			DmsnapSnapshot s;

			r = dmsnap_snapshot_from_dm(&env, argv[i], &s);
			if (r < 0) {
				vss_err_set(&err, VSS_ERROR_OBJECT_NOT_FOUND, r,
				            "%s is not a vssd snapshot: %s", argv[i], strerror(-r));
				return fail(&err, r);
			}
			r = dmsnap_snapshot_delete(&env, &s, &err);
			dmsnap_snapshot_done(&s);
			if (r < 0)
				return fail(&err, r);
		}
		return 0;
	}
	if (streq(argv[1], "check") && argc == 3) {
		DmsnapVolume v;

		r = dmsnap_volume_resolve(&env, argv[2], &v, &err);
		if (r < 0)
			return fail(&err, r);
		printf("%s %s sectors=%" PRIu64 " converted=%d mount=%s\n", v.dev_path, v.name,
		       v.sectors, v.converted, v.mountpoint ? v.mountpoint : "-");
		dmsnap_volume_done(&v);
		return 0;
	}
	if (streq(argv[1], "recover")) {
		r = dmsnap_recover_held(&env);
		if (r < 0)
			return fail(&err, r);
		printf("resumed %d\n", r);
		return 0;
	}
	usage();
	return 2;
}
