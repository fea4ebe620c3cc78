/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench-dbus.c - D-Bus timings for make bench: bus round trip, writer fan-out, set creation */
#include <getopt.h>
#include <inttypes.h>

#include "client/busutil.h"
#include "common/log.h"
#include "common/valid.h"

#define VSSD_BUS     "org.vssd.ShadowCopy1"
#define VSSD_ROOT    "/org/vssd/ShadowCopy1"
#define VSSD_MANAGER VSSD_BUS ".Manager"
#define VSSD_SET     VSSD_BUS ".SnapshotSet"
#define CALL_TIMEOUT (900 * 1000) /* ms: a set over many volumes with 200 writers under TCG */
#define PINGS_MAX    10000

static const char *arg_bus;

static void usage(void)
{
	printf("usage: bench-dbus [--bus ADDRESS] rtt COUNT\n"
	       "       bench-dbus [--bus ADDRESS] fanout ROUNDS PINGS\n"
	       "       bench-dbus [--bus ADDRESS] create ROUNDS PINGS VOLUME...\n"
	       "\n"
	       "rtt:    COUNT GetId calls to the bus daemon; prints the median per call.\n"
	       "fanout: per round, PINGS GetId calls (median), ListWriters(false) and\n"
	       "        ListWriters(true) (Identify to every writer), in alternating order.\n"
	       "create: per round, CreateSnapshotSet of the volumes (context backup) with and\n"
	       "        without writers, in alternating order; each set is released (and so\n"
	       "        deleted) untimed, then ListWriters(true) lets the writers settle.\n"
	       "Times in microseconds, CLOCK_MONOTONIC, one line per round.\n");
}

static int cmp_u64(const void *a, const void *b)
{
	usec_t x = *(const usec_t *)a, y = *(const usec_t *)b;

	return x < y ? -1 : x > y;
}

/* Sends m (taking it) and waits; the reply is dropped. */
static int call_and_drop(DBusConnection *c, DBusMessage *m, usec_t *ret_usec,
                         DBusMessage **ret_reply)
{
	DBusError e = DBUS_ERROR_INIT;
	DBusMessage *reply;
	usec_t t0;

	if (!m)
		return -ENOMEM;
	t0 = now_usec(CLOCK_MONOTONIC);
	reply = dbus_connection_send_with_reply_and_block(c, m, CALL_TIMEOUT, &e);
	if (ret_usec)
		*ret_usec = now_usec(CLOCK_MONOTONIC) - t0;
	dbus_message_unref(m);
	if (!reply) {
		fprintf(stderr, "bench-dbus: %s: %s\n", strempty(e.name), strempty(e.message));
		dbus_error_free(&e);
		return -EREMOTEIO;
	}
	if (ret_reply)
		*ret_reply = reply;
	else
		dbus_message_unref(reply);
	return 0;
}

static DBusMessage *new_call(const char *dest, const char *path, const char *iface,
                             const char *member)
{
	DBusMessage *m = NULL;

	if (busutil_new_method_call(dest, path, iface, member, &m) < 0)
		return NULL;
	return m;
}

/* Median of n GetId calls to the bus daemon. */
static int ping_median(DBusConnection *c, unsigned n, usec_t *ret)
{
	_cleanup_free_ usec_t *t = calloc(n, sizeof(usec_t));

	if (!t)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		int r = call_and_drop(
			c,
			new_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS, "GetId"),
			&t[i], NULL);

		if (r < 0)
			return r;
	}
	qsort(t, n, sizeof(usec_t), cmp_u64);
	*ret = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	return 0;
}

static int list_writers(DBusConnection *c, bool refresh, usec_t *ret, unsigned *ret_n)
{
	DBusMessage *m = new_call(VSSD_BUS, VSSD_ROOT, VSSD_MANAGER, "ListWriters");
	dbus_bool_t b = refresh;
	DBusMessage *reply = NULL;
	DBusMessageIter it, arr;
	unsigned n = 0;
	int r;

	if (m && !dbus_message_append_args(m, DBUS_TYPE_BOOLEAN, &b, DBUS_TYPE_INVALID)) {
		dbus_message_unref(m);
		m = NULL;
	}
	r = call_and_drop(c, m, ret, &reply);
	if (r < 0)
		return r;
	if (dbus_message_iter_init(reply, &it) &&
	    dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_ARRAY) {
		dbus_message_iter_recurse(&it, &arr);
		while (dbus_message_iter_get_arg_type(&arr) != DBUS_TYPE_INVALID) {
			n++;
			dbus_message_iter_next(&arr);
		}
	}
	dbus_message_unref(reply);
	if (ret_n)
		*ret_n = n;
	return 0;
}

static int cmd_rtt(DBusConnection *c, unsigned count)
{
	usec_t med;
	int r = ping_median(c, count, &med);

	if (r < 0)
		return r;
	printf("rtt_us %" PRIu64 "\n", med);
	return 0;
}

static int cmd_fanout(DBusConnection *c, unsigned rounds, unsigned pings)
{
	for (unsigned i = 0; i < rounds; i++) {
		usec_t rtt, plain, identify;
		unsigned n = 0;
		int r = ping_median(c, pings, &rtt);

		if (r >= 0 && i % 2 == 0) {
			r = list_writers(c, false, &plain, &n);
			if (r >= 0)
				r = list_writers(c, true, &identify, NULL);
		} else if (r >= 0) {
			r = list_writers(c, true, &identify, NULL);
			if (r >= 0)
				r = list_writers(c, false, &plain, &n);
		}
		if (r < 0)
			return r;
		printf("round %u rtt_us %" PRIu64 " list_us %" PRIu64 " identify_us %" PRIu64
		       " writers %u\n",
		       i, rtt, plain, identify, n);
		fflush(stdout);
	}
	return 0;
}

/* CreateSnapshotSet(volumes, {context: backup, no-writers}); returns the set path (strdup). */
static int create_set(DBusConnection *c, char **volumes, bool writers, usec_t *ret_usec,
                      char **ret_path)
{
	DBusMessage *m = new_call(VSSD_BUS, VSSD_ROOT, VSSD_MANAGER, "CreateSnapshotSet");
	DBusMessage *reply = NULL;
	DBusMessageIter it, dict;
	const char *path = NULL;
	int r;

	if (!m)
		return -ENOMEM;
	dbus_message_iter_init_append(m, &it);
	r = busmsg_append_strv(&it, volumes);
	if (r >= 0)
		r = busmsg_dict_open(&it, &dict);
	if (r >= 0) {
		r = busmsg_dict_append_string(&dict, "context", "backup");
		if (r >= 0)
			r = busmsg_dict_append_bool(&dict, "no-writers", !writers);
		if (r >= 0)
			r = busmsg_dict_close(&it, &dict);
		else
			busmsg_dict_abandon(&it, &dict);
	}
	if (r < 0) {
		dbus_message_unref(m);
		return r;
	}
	r = call_and_drop(c, m, ret_usec, &reply);
	if (r < 0)
		return r;
	if (!dbus_message_iter_init(reply, &it) ||
	    dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_OBJECT_PATH) {
		dbus_message_unref(reply);
		return -EBADMSG;
	}
	dbus_message_iter_get_basic(&it, &path);
	*ret_path = strdup(path);
	dbus_message_unref(reply);
	return *ret_path ? 0 : -ENOMEM;
}

/* Release deletes a backup-context set's snapshots before it replies. */
static int release_set(DBusConnection *c, const char *path)
{
	return call_and_drop(c, new_call(VSSD_BUS, path, VSSD_SET, "Release"), NULL, NULL);
}

static int cmd_create(DBusConnection *c, unsigned rounds, unsigned pings, char **volumes)
{
	for (unsigned i = 0; i < rounds; i++) {
		usec_t rtt, t[2] = { 0, 0 };
		int r = ping_median(c, pings, &rtt);

		for (unsigned k = 0; r >= 0 && k < 2; k++) {
			bool writers = (k + i) % 2; /* alternate which variant goes first */
			_cleanup_free_ char *path = NULL;

			r = create_set(c, volumes, writers, &t[writers], &path);
			if (r >= 0)
				r = release_set(c, path);
			/* Identify queues behind BackupShutdown at every writer */
			if (r >= 0)
				r = list_writers(c, true, NULL, NULL);
		}
		if (r < 0)
			return r;
		printf("round %u rtt_us %" PRIu64 " plain_us %" PRIu64 " writers_us %" PRIu64 "\n",
		       i, rtt, t[0], t[1]);
		fflush(stdout);
	}
	return 0;
}

static int parse_count(const char *s, unsigned *ret)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v == 0 || v > PINGS_MAX)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bus", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	DBusError e = DBUS_ERROR_INIT;
	DBusConnection *c;
	unsigned a = 0, b = 0;
	int o, r;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) >= 0)
		switch (o) {
		case 'b':
			arg_bus = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			return 2;
		}
	argc -= optind;
	argv += optind;
	if (argc < 2 || parse_count(argv[1], &a) < 0 ||
	    (!streq(argv[0], "rtt") && (argc < 3 || parse_count(argv[2], &b) < 0)) ||
	    (streq(argv[0], "create") && argc < 4)) {
		usage();
		return 2;
	}
	if (arg_bus) {
		c = dbus_connection_open_private(arg_bus, &e);
		if (c && !dbus_bus_register(c, &e)) {
			dbus_connection_close(c);
			dbus_connection_unref(c);
			c = NULL;
		}
	} else
		c = dbus_bus_get_private(DBUS_BUS_SYSTEM, &e);
	if (!c) {
		fprintf(stderr, "bench-dbus: cannot connect: %s\n", strempty(e.message));
		dbus_error_free(&e);
		return 1;
	}
	dbus_connection_set_exit_on_disconnect(c, FALSE);
	if (streq(argv[0], "rtt"))
		r = cmd_rtt(c, a);
	else if (streq(argv[0], "fanout"))
		r = cmd_fanout(c, a, b);
	else if (streq(argv[0], "create"))
		r = cmd_create(c, a, b, argv + 3);
	else {
		usage();
		r = -EINVAL;
	}
	dbus_connection_close(c);
	dbus_connection_unref(c);
	return r < 0 ? 1 : 0;
}
