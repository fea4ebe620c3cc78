/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c - vssd: command line, the one Daemon on run()'s stack, systemd notification */
#include <getopt.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "common/log.h"
#include "common/vssd-version.h"
#include "daemon/daemon.h"

static const char *arg_bus;
static const char *arg_config;
static const char *arg_state_dir;
static const char *arg_log_target = "auto";

static void help(void)
{
	printf("vssd - shadow copy sets of device-mapper volumes, VSS style, over D-Bus\n\n"
	       "Usage: vssd [OPTIONS]\n\n"
	       "  --bus ADDRESS      connect to this bus instead of the system bus\n"
	       "  --config FILE      configuration file (default " CONFIG_PATH_DEFAULT ")\n"
	       "  --state-dir DIR    state directory (default " VSSD_STATE_DIR_DEFAULT ")\n"
	       "  --log-level LEVEL  err, warning, notice, info (default) or debug\n"
	       "  --log-target TARGET  journal (entries with fields), stderr (\"<N>text\"\n"
	       "                     lines) or auto (default: journal when stderr is the\n"
	       "                     journal's stream, $JOURNAL_STREAM)\n"
	       "  --help, --version\n\n"
	       "See vssd(8).\n");
}

/* 1: go on; 0: done (help); <0: usage error */
static int parse_argv(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "bus", required_argument, NULL, 'b' },
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "log-target", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	int c, l;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
		switch (c) {
		case 'b':
			arg_bus = optarg;
			break;
		case 'c':
			arg_config = optarg;
			break;
		case 's':
			arg_state_dir = optarg;
			break;
		case 'l':
			l = log_level_from_string(optarg);
			if (l < 0)
				return log_error_errno(l, "unknown log level \"%s\"", optarg);
			log_set_max_level(l);
			break;
		case 't':
			if (!streq(optarg, "auto") && !streq(optarg, "journal") &&
			    !streq(optarg, "stderr"))
				return log_error_errno(
					-EINVAL,
					"unknown log target \"%s\"; use auto, journal "
					"or stderr",
					optarg);
			arg_log_target = optarg;
			break;
		case 'h':
			help();
			return 0;
		case 'V':
			printf("vssd %s\n", VSSD_VERSION);
			return 0;
		default:
			return -EINVAL;
		}
	if (optind < argc)
		return log_error_errno(-EINVAL, "unexpected argument \"%s\"", argv[optind]);
	if (streq(arg_log_target, "journal") ||
	    (streq(arg_log_target, "auto") && log_stream_is_journal(STDERR_FILENO)))
		log_set_journal(sd_journal_sendv);
	return 1;
}

static int run(int argc, char *argv[])
{
	_cleanup_(daemon_done) Daemon d = DAEMON_NULL;
	DaemonOptions o;
	int r;

	r = parse_argv(argc, argv);
	if (r <= 0)
		return r;
	o = (DaemonOptions){ .bus_address = arg_bus,
		             .config_path = arg_config,
		             .state_dir = arg_state_dir };
	r = daemon_init(&d, &o);
	if (r < 0)
		return r;
	(void)sd_notify(0, "READY=1\nSTATUS=serving");
	r = sd_event_loop(d.event);
	(void)sd_notify(0, "STOPPING=1");
	log_info("vssd stopping");
	return r;
}

int main(int argc, char *argv[])
{
	int r = run(argc, argv);

	return r < 0 ? (r == -EINVAL ? 2 : 1) : 0;
}
