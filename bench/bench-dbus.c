/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench-dbus.c - D-Bus timings for make bench: bus round trip, writer fan-out and its bus floor,
 * set creation, the moment vssd takes its name */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/wait.h>

#include "client/busutil.h"
#include "common/log.h"
#include "common/valid.h"

#define VSSD_BUS     "org.vssd.ShadowCopy1"
#define VSSD_ROOT    "/org/vssd/ShadowCopy1"
#define VSSD_MANAGER VSSD_BUS ".Manager"
#define VSSD_SET     VSSD_BUS ".SnapshotSet"
#define CALL_TIMEOUT (900 * 1000) /* ms: a set over many volumes with 200 writers under TCG */
#define PINGS_MAX    10000
#define PEERS_MAX    1000
#define PEER_PATH    "/org/vssd/BenchPeer"
#define PEER_IFACE   VSSD_BUS ".Writer" /* the interface root may call (our bus policy) */

static const char *arg_bus;
static unsigned arg_peers;
static uid_t arg_peer_uid;
static unsigned arg_window = 128;
static pid_t peer_pid[PEERS_MAX];
static char *peer_name[PEERS_MAX];

static void usage(void)
{
	printf("usage: bench-dbus [--bus ADDRESS] rtt COUNT\n"
	       "       bench-dbus [--bus ADDRESS] [--floor-peers N [--peer-uid UID] [--window W]] "
	       "fanout ROUNDS "
	       "PINGS\n"
	       "       bench-dbus [--bus ADDRESS] --floor-peers N [--peer-uid UID] [--window W] "
	       "floor ROUNDS "
	       "PINGS\n"
	       "       bench-dbus [--bus ADDRESS] create ROUNDS PINGS VOLUME...\n"
	       "       bench-dbus [--bus ADDRESS] waitname NAME SECONDS\n"
	       "\n"
	       "rtt:    COUNT GetId calls to the bus daemon; prints the median per call.\n"
	       "fanout: per round, PINGS GetId calls (median), ListWriters(false) and\n"
	       "        ListWriters(true) (Identify to every writer), in alternating order;\n"
	       "        with --floor-peers, also the bus floor (below) in the same round.\n"
	       "floor:  the bus floor of a fan-out to N writers: N peer processes (each its own\n"
	       "        connection, running as UID if given) answer every call at once; per round\n"
	       "        this process sends one call to each, at most --window (default 128, what\n"
	       "        dbus-daemon allows) unanswered at once, and waits for all N replies.\n"
	       "waitname: prints \"waiting\" once it listens, then owned_at_us, CLOCK_REALTIME in\n"
	       "        microseconds, when NAME gets a new owner on the bus.\n"
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

/* ---- the bus floor: n peers that answer at once ------------------------------------------ */

static DBusConnection *bus_connect(DBusError *e)
{
	DBusConnection *c;

	if (!arg_bus)
		return dbus_bus_get_private(DBUS_BUS_SYSTEM, e);
	c = dbus_connection_open_private(arg_bus, e);
	if (c && !dbus_bus_register(c, e)) {
		dbus_connection_close(c);
		dbus_connection_unref(c);
		c = NULL;
	}
	return c;
}

/* A peer: its unique name to wfd, then an empty reply to every method call, until the bus
 * goes or the parent ends it. */
static _noreturn_ void peer_main(int wfd)
{
	DBusError e = DBUS_ERROR_INIT;
	DBusConnection *c;
	DBusMessage *m;
	const char *name;

	if (arg_peer_uid && (setresgid(arg_peer_uid, arg_peer_uid, arg_peer_uid) < 0 ||
	                     setresuid(arg_peer_uid, arg_peer_uid, arg_peer_uid) < 0)) {
		fprintf(stderr, "bench-dbus: peer: setresuid(%u): %m\n", (unsigned)arg_peer_uid);
		_exit(1);
	}
	c = bus_connect(&e);
	if (!c) {
		fprintf(stderr, "bench-dbus: peer: cannot connect: %s\n", strempty(e.message));
		_exit(1);
	}
	name = dbus_bus_get_unique_name(c);
	if (dprintf(wfd, "%s\n", name) < 0)
		_exit(1);
	close(wfd);
	while (dbus_connection_read_write(c, -1))
		while ((m = dbus_connection_pop_message(c))) {
			if (dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_METHOD_CALL) {
				DBusMessage *reply = dbus_message_new_method_return(m);

				if (!reply || !dbus_connection_send(c, reply, NULL))
					_exit(1);
				dbus_message_unref(reply);
			}
			dbus_message_unref(m);
		}
	_exit(0);
}

static void peers_stop(void)
{
	for (unsigned i = 0; i < arg_peers; i++) {
		if (peer_pid[i] > 0) {
			(void)kill(peer_pid[i], SIGTERM);
			(void)waitpid(peer_pid[i], NULL, 0);
		}
		free(peer_name[i]);
	}
}

/* Forks the peers (before this process connects: a child never sees a libdbus connection of
 * its parent) and reads their unique names. */
static int peers_start(void)
{
	for (unsigned i = 0; i < arg_peers; i++) {
		_cleanup_fclose_ FILE *f = NULL;
		_cleanup_free_ char *line = NULL;
		size_t sz = 0;
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		peer_pid[i] = fork();
		if (peer_pid[i] < 0) {
			close(p[0]);
			close(p[1]);
			return -errno;
		}
		if (peer_pid[i] == 0) {
			close(p[0]);
			peer_main(p[1]);
		}
		close(p[1]);
		f = fdopen(p[0], "r");
		if (!f) {
			close(p[0]);
			return -errno;
		}
		if (getline(&line, &sz, f) <= 1)
			return -EPIPE;
		line[strcspn(line, "\n")] = 0;
		peer_name[i] = TAKE_PTR(line);
	}
	return 0;
}

/* One call to every peer, at most arg_window in flight (dbus-daemon refuses a connection more
 * than 128 pending replies: LimitsExceeded), each reply letting the next call go; the time
 * until the last reply. */
static int floor_round(DBusConnection *c, usec_t *ret)
{
	dbus_uint32_t first = 0, last = 0;
	unsigned next = 0, pending = 0;
	usec_t t0 = now_usec(CLOCK_MONOTONIC), deadline = t0 + CALL_TIMEOUT * USEC_PER_MSEC;

	while (next < arg_peers || pending > 0) {
		DBusMessage *m;

		for (; next < arg_peers && pending < arg_window; next++) {
			DBusMessage *call =
				new_call(peer_name[next], PEER_PATH, PEER_IFACE, "Identify");
			dbus_uint32_t serial;

			if (!call)
				return -ENOMEM;
			if (!dbus_connection_send(c, call, &serial)) {
				dbus_message_unref(call);
				return -ENOMEM;
			}
			dbus_message_unref(call);
			if (next == 0)
				first = serial;
			last = serial;
			pending++;
		}
		if (now_usec(CLOCK_MONOTONIC) > deadline)
			return -ETIMEDOUT;
		if (!dbus_connection_read_write(c, 1000))
			return -ECONNRESET;
		while ((m = dbus_connection_pop_message(c))) {
			int type = dbus_message_get_type(m);
			dbus_uint32_t rs = dbus_message_get_reply_serial(m);

			if ((type == DBUS_MESSAGE_TYPE_METHOD_RETURN ||
			     type == DBUS_MESSAGE_TYPE_ERROR) &&
			    rs >= first && rs <= last) {
				if (type == DBUS_MESSAGE_TYPE_ERROR) {
					fprintf(stderr, "bench-dbus: floor: %s\n",
					        strempty(dbus_message_get_error_name(m)));
					dbus_message_unref(m);
					return -EREMOTEIO;
				}
				pending--;
			}
			dbus_message_unref(m);
		}
	}
	*ret = now_usec(CLOCK_MONOTONIC) - t0;
	return 0;
}

static int cmd_floor(DBusConnection *c, unsigned rounds, unsigned pings)
{
	usec_t t;
	int r = floor_round(c, &t); /* warm-up: every peer's first message */

	for (unsigned i = 0; r >= 0 && i < rounds; i++) {
		usec_t rtt;

		r = ping_median(c, pings, &rtt);
		if (r >= 0)
			r = floor_round(c, &t);
		if (r >= 0) {
			printf("round %u rtt_us %" PRIu64 " floor_us %" PRIu64 " peers %u\n", i,
			       rtt, t, arg_peers);
			fflush(stdout);
		}
	}
	return r;
}

static int cmd_fanout(DBusConnection *c, unsigned rounds, unsigned pings)
{
	usec_t fl = 0;
	int r = arg_peers ? floor_round(c, &fl) : 0; /* warm-up */

	for (unsigned i = 0; r >= 0 && i < rounds; i++) {
		usec_t rtt, plain, identify;
		unsigned n = 0;

		r = ping_median(c, pings, &rtt);
		/* the floor first in odd rounds, last in even ones */
		if (r >= 0 && arg_peers && i % 2)
			r = floor_round(c, &fl);
		if (r >= 0 && i % 2 == 0) {
			r = list_writers(c, false, &plain, &n);
			if (r >= 0)
				r = list_writers(c, true, &identify, NULL);
		} else if (r >= 0) {
			r = list_writers(c, true, &identify, NULL);
			if (r >= 0)
				r = list_writers(c, false, &plain, &n);
		}
		if (r >= 0 && arg_peers && i % 2 == 0)
			r = floor_round(c, &fl);
		if (r < 0)
			return r;
		printf("round %u rtt_us %" PRIu64 " list_us %" PRIu64 " identify_us %" PRIu64
		       " writers %u floor_us %" PRIu64 " peers %u\n",
		       i, rtt, plain, identify, n, fl, arg_peers);
		fflush(stdout);
	}
	return r;
}

/* ---- the moment a name gets an owner ------------------------------------------------------ */

static int cmd_waitname(DBusConnection *c, const char *name, unsigned seconds)
{
	_cleanup_free_ char *rule = NULL;
	DBusError e = DBUS_ERROR_INIT;
	usec_t deadline = now_usec(CLOCK_MONOTONIC) + seconds * USEC_PER_SEC;

	if (!dbus_validate_bus_name(name, NULL))
		return -EINVAL;
	if (asprintf(&rule,
	             "type='signal',sender='" DBUS_SERVICE_DBUS "',interface='" DBUS_INTERFACE_DBUS
	             "',member='NameOwnerChanged',arg0='%s'",
	             name) < 0)
		return -ENOMEM;
	dbus_bus_add_match(c, rule, &e);
	if (dbus_error_is_set(&e)) {
		fprintf(stderr, "bench-dbus: AddMatch: %s\n", strempty(e.message));
		dbus_error_free(&e);
		return -EREMOTEIO;
	}
	/* the match is in place: whatever takes the name from now on is seen (an owner that is
	 * going away is not taken for the new one) */
	printf("waiting\n");
	fflush(stdout);
	for (;;) {
		DBusMessage *m;

		if (now_usec(CLOCK_MONOTONIC) > deadline)
			return -ETIMEDOUT;
		if (!dbus_connection_read_write(c, 1000))
			return -ECONNRESET;
		while ((m = dbus_connection_pop_message(c))) {
			const char *n = NULL, *old = NULL, *new = NULL;
			bool got = dbus_message_is_signal(m, DBUS_INTERFACE_DBUS,
			                                  "NameOwnerChanged") &&
			           dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &n,
			                                 DBUS_TYPE_STRING, &old, DBUS_TYPE_STRING,
			                                 &new, DBUS_TYPE_INVALID) &&
			           streq(n, name) && !streq(new, "");

			dbus_message_unref(m);
			if (got) {
				printf("owned_at_us %" PRIu64 "\n", now_usec(CLOCK_REALTIME));
				return 0;
			}
		}
	}
}

/* CreateSnapshotSet(volumes, {context: backup, no-writers}); returns the set path (strdup).
 */
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
		{ "floor-peers", required_argument, NULL, 'p' },
		{ "peer-uid", required_argument, NULL, 'u' },
		{ "window", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	DBusError e = DBUS_ERROR_INIT;
	DBusConnection *c;
	unsigned a = 0, b = 0;
	uint64_t v;
	int o, r;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) >= 0)
		switch (o) {
		case 'b':
			arg_bus = optarg;
			break;
		case 'p':
			if (parse_u64(optarg, &v) < 0 || v > PEERS_MAX) {
				fprintf(stderr, "bench-dbus: --floor-peers: want 0..%u\n",
				        PEERS_MAX);
				return 2;
			}
			arg_peers = (unsigned)v;
			break;
		case 'u':
			if (parse_u64(optarg, &v) < 0 || v == 0 || v >= UINT32_MAX) {
				fprintf(stderr, "bench-dbus: --peer-uid: want a uid other "
				                "than 0\n");
				return 2;
			}
			arg_peer_uid = (uid_t)v;
			break;
		case 'w':
			if (parse_u64(optarg, &v) < 0 || v == 0 || v > PEERS_MAX) {
				fprintf(stderr, "bench-dbus: --window: want 1..%u\n", PEERS_MAX);
				return 2;
			}
			arg_window = (unsigned)v;
			break;
		case 'h':
			usage();
			return 0;
		default:
			return 2;
		}
	argc -= optind;
	argv += optind;
	if (argc < 2 || (!streq(argv[0], "waitname") && parse_count(argv[1], &a) < 0) ||
	    (!streq(argv[0], "rtt") && (argc < 3 || parse_count(argv[2], &b) < 0)) ||
	    (streq(argv[0], "create") && argc < 4) || (streq(argv[0], "floor") && !arg_peers)) {
		usage();
		return 2;
	}
	if (arg_peers && !streq(argv[0], "fanout") && !streq(argv[0], "floor")) {
		fprintf(stderr, "bench-dbus: --floor-peers is for fanout and floor\n");
		return 2;
	}
	r = peers_start();
	if (r < 0) {
		fprintf(stderr, "bench-dbus: cannot start %u peers: %s\n", arg_peers, strerror(-r));
		peers_stop();
		return 1;
	}
	c = bus_connect(&e);
	if (!c) {
		fprintf(stderr, "bench-dbus: cannot connect: %s\n", strempty(e.message));
		dbus_error_free(&e);
		peers_stop();
		return 1;
	}
	dbus_connection_set_exit_on_disconnect(c, FALSE);
	if (streq(argv[0], "rtt"))
		r = cmd_rtt(c, a);
	else if (streq(argv[0], "fanout"))
		r = cmd_fanout(c, a, b);
	else if (streq(argv[0], "floor"))
		r = cmd_floor(c, a, b);
	else if (streq(argv[0], "create"))
		r = cmd_create(c, a, b, argv + 3);
	else if (streq(argv[0], "waitname"))
		r = cmd_waitname(c, argv[1], b);
	else {
		usage();
		r = -EINVAL;
	}
	if (r < 0 && r != -EINVAL)
		fprintf(stderr, "bench-dbus: %s: %s\n", argv[0], strerror(-r));
	dbus_connection_close(c);
	dbus_connection_unref(c);
	peers_stop();
	return r < 0 ? 1 : 0;
}
