/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-bus.c - routing, the signature check and the access check of bus.c over a private
 * dbus-daemon */
#include <grp.h>

#include "common/log.h"
#include "daemon/bus.h"
#include "tests/lib/check-main.h"
#include "tests/lib/fake-vssd.h"

#define TEST_PATH     VSSD_ROOT_PATH "/test"
#define TEST_IFACE    "org.vssd.Test1"
#define NO_SUCH_GROUP "vssd-test-no-such-group"
#define ERR_ACCESS    VSS_ERROR_PREFIX "AccessDenied"
#define ERR_INVALID   VSS_ERROR_PREFIX "InvalidArgument"
#define ERR_NOT_FOUND VSS_ERROR_PREFIX "ObjectNotFound"

/* What the handlers saw */
typedef struct Seen {
	unsigned n_echo, n_admin, n_writer;
	void *userdata;
	char sender[64];
	uid_t uid;
	gid_t gids[32];
	size_t n_gids;
} Seen;

typedef struct TestBus {
	FakeBus *dbus;
	sd_event *event;
	Bus bus;
	DBusConnection *client;
	const char *dest;
} TestBus;

static Seen seen;
static int test_object; /* the object's userdata: its address */

static void seen_caller(void *userdata, const BusCaller *c)
{
	seen.userdata = userdata;
	snprintf(seen.sender, sizeof(seen.sender), "%s", c->name);
	seen.uid = c->uid;
	seen.n_gids = MIN(c->n_gids, ELEMENTSOF(seen.gids));
	for (size_t i = 0; i < seen.n_gids; i++)
		seen.gids[i] = c->gids[i];
}

/* Echo(s text, u n) -> s "text:n" */
static int method_echo(Bus *b, DBusMessage *m, void *userdata, const BusCaller *c, VssErr *err)
{
	const char *text;
	uint32_t n;
	char out[128];
	DBusMessage *reply;
	DBusMessageIter it;

	seen.n_echo++;
	seen_caller(userdata, c);
	if (!dbus_message_iter_init(m, &it) || busmsg_get_string(&it, &text) < 0 ||
	    !dbus_message_iter_next(&it) || busmsg_get_u32(&it, &n) < 0)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL, "bad arguments");
	snprintf(out, sizeof(out), "%s:%u", text, n);
	reply = dbus_message_new_method_return(m);
	if (!reply)
		return -ENOMEM;
	dbus_message_iter_init_append(reply, &it);
	if (bus_append_string(&it, out) < 0) {
		dbus_message_unref(reply);
		return -ENOMEM;
	}
	return bus_send(b, reply);
}

/* Big(u size) -> s of size 'x': a reply larger than the socket buffer */
static int method_big(Bus *b, DBusMessage *m, void *userdata, const BusCaller *c, VssErr *err)
{
	_cleanup_free_ char *text = NULL;
	DBusMessageIter it;
	DBusMessage *reply;
	uint32_t n;

	if (!dbus_message_iter_init(m, &it) || busmsg_get_u32(&it, &n) < 0 || n > 16u << 20)
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, -EINVAL, "bad size");
	text = malloc(n + 1);
	if (!text)
		return -ENOMEM;
	memset(text, 'x', n);
	text[n] = '\0';
	reply = dbus_message_new_method_return(m);
	if (!reply)
		return -ENOMEM;
	dbus_message_iter_init_append(reply, &it);
	if (bus_append_string(&it, text) < 0) {
		dbus_message_unref(reply);
		return -ENOMEM;
	}
	return bus_send(b, reply);
}

static int method_admin(Bus *b, DBusMessage *m, void *userdata, const BusCaller *c, VssErr *err)
{
	seen.n_admin++;
	seen_caller(userdata, c);
	return bus_reply_empty(b, m);
}

static int method_writer(Bus *b, DBusMessage *m, void *userdata, const BusCaller *c, VssErr *err)
{
	seen.n_writer++;
	seen_caller(userdata, c);
	return bus_reply_empty(b, m);
}

static int prop_answer(Bus *b, void *userdata, DBusMessageIter *it)
{
	return bus_append_u32(it, 42);
}

static const BusMethod test_methods[] = {
	{ "Echo", "su", method_echo, BUS_ACCESS_OPEN },
	{ "Big", "u", method_big, BUS_ACCESS_OPEN },
	{ "AdminOnly", "", method_admin, BUS_ACCESS_ADMIN },
	{ "WriterOnly", "", method_writer, BUS_ACCESS_WRITER },
	{ NULL },
};
static const BusProperty test_properties[] = {
	{ "Answer", "u", prop_answer },
	{ NULL },
};
static const BusInterface test_iface = { TEST_IFACE, test_methods, test_properties };
static const BusInterface *const test_ifaces[] = { &test_iface, NULL };
static const BusInterface *const root_ifaces[] = { NULL };

static void setup(TestBus *t)
{
	DBusError e;

	*t = (TestBus){ .bus = BUS_NULL };
	seen = (Seen){ 0 };
	log_set_max_level(LOG_WARNING);
	/* a dbus-daemon of its own, whose policy lets everyone talk to everyone: only vssd's own
	 * checks are under test */
	ck_assert_int_eq(fake_bus_start(&t->dbus), 0);

	ck_assert_int_ge(sd_event_new(&t->event), 0);
	ck_assert_int_eq(bus_init(&t->bus, t->event, fake_bus_address(t->dbus), NULL, NULL), 0);
	t->bus.uid_admin = getuid(); /* the caller may do anything, unless a test says otherwise */
	ck_assert_int_eq(bus_add_object(&t->bus, VSSD_ROOT_PATH, root_ifaces, NULL), 0);
	ck_assert_int_eq(bus_add_object(&t->bus, TEST_PATH, test_ifaces, &test_object), 0);
	t->dest = dbus_bus_get_unique_name(t->bus.conn);
	ck_assert_ptr_nonnull(t->dest);

	dbus_error_init(&e);
	t->client = dbus_connection_open_private(fake_bus_address(t->dbus), &e);
	ck_assert_msg(t->client, "client: %s", e.message);
	ck_assert_msg(dbus_bus_register(t->client, &e), "client: %s", e.message);
	dbus_connection_set_exit_on_disconnect(t->client, FALSE);
}

static void teardown(TestBus *t)
{
	if (t->client) {
		dbus_connection_close(t->client);
		dbus_connection_unref(t->client);
	}
	bus_done(&t->bus);
	sd_event_unref(t->event);
	fake_bus_free(t->dbus);
}

/* Sends m (taken) from the client and runs vssd's loop until the reply is in */
static DBusMessage *call(TestBus *t, DBusMessage *m)
{
	DBusPendingCall *pending = NULL;
	DBusMessage *reply;

	ck_assert_ptr_nonnull(m);
	ck_assert(dbus_connection_send_with_reply(t->client, m, &pending, 10000));
	ck_assert_ptr_nonnull(pending);
	dbus_message_unref(m);
	for (unsigned i = 0; i < 2000 && !dbus_pending_call_get_completed(pending); i++) {
		ck_assert_int_ge(sd_event_run(t->event, 5 * USEC_PER_MSEC), 0);
		(void)dbus_connection_read_write_dispatch(t->client, 0);
	}
	ck_assert_msg(dbus_pending_call_get_completed(pending), "no reply");
	reply = dbus_pending_call_steal_reply(pending);
	dbus_pending_call_unref(pending);
	ck_assert_ptr_nonnull(reply);
	return reply;
}

static DBusMessage *new_call(TestBus *t, const char *path, const char *iface, const char *member)
{
	DBusMessage *m = dbus_message_new_method_call(t->dest, path, iface, member);

	ck_assert_ptr_nonnull(m);
	return m;
}

static DBusMessage *new_echo(TestBus *t, const char *iface, const char *text, uint32_t n)
{
	DBusMessage *m = new_call(t, TEST_PATH, iface, "Echo");

	ck_assert(dbus_message_append_args(m, DBUS_TYPE_STRING, &text, DBUS_TYPE_UINT32, &n,
	                                   DBUS_TYPE_INVALID));
	return m;
}

/* The reply is the error name (NULL: any error); unrefs it */
static void assert_error(DBusMessage *reply, const char *name)
{
	ck_assert_int_eq(dbus_message_get_type(reply), DBUS_MESSAGE_TYPE_ERROR);
	ck_assert_str_eq(dbus_message_get_error_name(reply), name);
	dbus_message_unref(reply);
}

static void assert_return(DBusMessage *reply)
{
	ck_assert_msg(dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_METHOD_RETURN, "error %s",
	              dbus_message_get_error_name(reply) ?: "?");
	dbus_message_unref(reply);
}

static void assert_echo(DBusMessage *reply, const char *expect)
{
	const char *s = NULL;

	ck_assert_msg(dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_METHOD_RETURN, "error %s",
	              dbus_message_get_error_name(reply) ?: "?");
	ck_assert(dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID));
	ck_assert_str_eq(s, expect);
	dbus_message_unref(reply);
}

/* Nobody is root or in an admin or writer group: denial under any uid */
static void policy_deny_all(TestBus *t)
{
	t->bus.uid_admin = getuid() + 1;
	t->bus.group_admin = NO_SUCH_GROUP;
	t->bus.group_writer = NO_SUCH_GROUP;
}

START_TEST(test_bus_route_to_handler)
{
	TestBus t;

	setup(&t);
	/* with the interface named, and without (the first interface that has the member) */
	assert_echo(call(&t, new_echo(&t, TEST_IFACE, "hello", 7)), "hello:7");
	assert_echo(call(&t, new_echo(&t, NULL, "again", 8)), "again:8");
	ck_assert_uint_eq(seen.n_echo, 2);
	ck_assert_ptr_eq(seen.userdata, &test_object);
	/* the caller, with the credentials the bus told */
	ck_assert_str_eq(seen.sender, dbus_bus_get_unique_name(t.client));
	ck_assert_uint_eq(seen.uid, getuid());
	teardown(&t);
}
END_TEST

START_TEST(test_bus_unknown)
{
	TestBus t;

	setup(&t);
	/* unknown method, unknown interface: the standard error */
	assert_error(call(&t, new_call(&t, TEST_PATH, TEST_IFACE, "NoSuchMethod")),
	             DBUS_ERROR_UNKNOWN_METHOD);
	assert_error(call(&t, new_call(&t, TEST_PATH, "org.vssd.NoSuch1", "Echo")),
	             DBUS_ERROR_UNKNOWN_METHOD);
	/* unknown object: vssd's own name, as when an id is passed as an argument */
	assert_error(call(&t, new_call(&t,
	                               "/org/vssd/ShadowCopy1/set/"
	                               "00112233445566778899aabbccddeeff",
	                               TEST_IFACE, "Echo")),
	             ERR_NOT_FOUND);
	assert_error(call(&t, new_call(&t, "/no/such/object", TEST_IFACE, "Echo")), ERR_NOT_FOUND);
	/* Introspect of a path that is no object and has none below: the standard error */
	assert_error(call(&t, new_call(&t, "/no/such/object", DBUS_INTERFACE_INTROSPECTABLE,
	                               "Introspect")),
	             DBUS_ERROR_UNKNOWN_OBJECT);
	/* a property that is not there, and one that is */
	{
		DBusMessage *m = new_call(&t, TEST_PATH, DBUS_INTERFACE_PROPERTIES, "Get");
		const char *iface = TEST_IFACE, *prop = "NoSuchProperty";

		ck_assert(dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING,
		                                   &prop, DBUS_TYPE_INVALID));
		assert_error(call(&t, m), DBUS_ERROR_UNKNOWN_PROPERTY);
		m = new_call(&t, TEST_PATH, DBUS_INTERFACE_PROPERTIES, "Get");
		prop = "Answer";
		ck_assert(dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING,
		                                   &prop, DBUS_TYPE_INVALID));
		assert_return(call(&t, m));
	}
	ck_assert_uint_eq(seen.n_echo, 0);
	teardown(&t);
}
END_TEST

START_TEST(test_bus_signature)
{
	TestBus t;
	DBusMessage *m;
	uint32_t n = 1;
	const char *s = "x";

	setup(&t);
	/* too few, of another type, too many: InvalidArgument, and the handler never runs */
	m = new_call(&t, TEST_PATH, TEST_IFACE, "Echo");
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID));
	assert_error(call(&t, m), ERR_INVALID);
	m = new_call(&t, TEST_PATH, TEST_IFACE, "Echo");
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_UINT32, &n, DBUS_TYPE_STRING, &s,
	                                   DBUS_TYPE_INVALID));
	assert_error(call(&t, m), ERR_INVALID);
	m = new_echo(&t, TEST_IFACE, "x", 1);
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_UINT32, &n, DBUS_TYPE_INVALID));
	assert_error(call(&t, m), ERR_INVALID);
	m = new_call(&t, TEST_PATH, TEST_IFACE, "Echo"); /* no arguments at all */
	assert_error(call(&t, m), ERR_INVALID);
	ck_assert_uint_eq(seen.n_echo, 0);
	/* the right one still goes through */
	assert_echo(call(&t, new_echo(&t, TEST_IFACE, "ok", 2)), "ok:2");
	ck_assert_uint_eq(seen.n_echo, 1);
	teardown(&t);
}
END_TEST

START_TEST(test_bus_access_denied)
{
	TestBus t;
	DBusMessage *m;
	const char *iface = TEST_IFACE;
	uint32_t n = 1;

	setup(&t);
	policy_deny_all(&t);
	assert_error(call(&t, new_call(&t, TEST_PATH, TEST_IFACE, "AdminOnly")), ERR_ACCESS);
	assert_error(call(&t, new_call(&t, TEST_PATH, TEST_IFACE, "WriterOnly")), ERR_ACCESS);
	ck_assert_uint_eq(seen.n_admin, 0);
	ck_assert_uint_eq(seen.n_writer, 0);
	/* the access check comes before the signature check: a denied caller learns nothing */
	m = new_call(&t, TEST_PATH, TEST_IFACE, "AdminOnly");
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_UINT32, &n, DBUS_TYPE_INVALID));
	assert_error(call(&t, m), ERR_ACCESS);
	/* the properties of an object other than the root are for admins */
	m = new_call(&t, TEST_PATH, DBUS_INTERFACE_PROPERTIES, "GetAll");
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID));
	assert_error(call(&t, m), ERR_ACCESS);
	/* an open method runs for anyone, and so do Introspect and the root's properties */
	assert_echo(call(&t, new_echo(&t, TEST_IFACE, "open", 3)), "open:3");
	assert_return(
		call(&t, new_call(&t, TEST_PATH, DBUS_INTERFACE_INTROSPECTABLE, "Introspect")));
	m = new_call(&t, VSSD_ROOT_PATH, DBUS_INTERFACE_PROPERTIES, "GetAll");
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID));
	assert_return(call(&t, m));
	teardown(&t);
}
END_TEST

START_TEST(test_bus_access_allowed)
{
	TestBus t;
	DBusMessage *m;
	const char *iface = TEST_IFACE;

	setup(&t);
	/* denied first, then the caller's uid is the admin's: both run */
	policy_deny_all(&t);
	assert_error(call(&t, new_call(&t, TEST_PATH, TEST_IFACE, "AdminOnly")), ERR_ACCESS);
	t.bus.uid_admin = getuid();
	assert_return(call(&t, new_call(&t, TEST_PATH, TEST_IFACE, "AdminOnly")));
	assert_return(call(&t, new_call(&t, TEST_PATH, TEST_IFACE, "WriterOnly")));
	ck_assert_uint_eq(seen.n_admin, 1);
	ck_assert_uint_eq(seen.n_writer, 1);
	ck_assert_ptr_eq(seen.userdata, &test_object);
	m = new_call(&t, TEST_PATH, DBUS_INTERFACE_PROPERTIES, "GetAll");
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID));
	assert_return(call(&t, m));
	teardown(&t);
}
END_TEST

START_TEST(test_bus_access_groups)
{
	TestBus t;
	struct group *g = NULL;
	char name[256];

	setup(&t);
	policy_deny_all(&t);
	/* the caller's groups, as the bus told them */
	assert_echo(call(&t, new_echo(&t, TEST_IFACE, "groups", 0)), "groups:0");
	for (size_t i = 0; i < seen.n_gids && !g; i++)
		g = getgrgid(seen.gids[i]);
	if (!g) {
		fprintf(stderr, "test_bus_access_groups: no group of the caller has a name, "
		                "the group rule is not exercised\n");
		teardown(&t);
		return;
	}
	/* getgrnam() in the check reuses getgrgid()'s buffer */
	snprintf(name, sizeof(name), "%s", g->gr_name);
	/* a member of the writer group may call writer methods, not admin ones */
	t.bus.group_writer = name;
	assert_return(call(&t, new_call(&t, TEST_PATH, TEST_IFACE, "WriterOnly")));
	assert_error(call(&t, new_call(&t, TEST_PATH, TEST_IFACE, "AdminOnly")), ERR_ACCESS);
	/* a member of the admin group may call both */
	t.bus.group_writer = NO_SUCH_GROUP;
	t.bus.group_admin = name;
	assert_return(call(&t, new_call(&t, TEST_PATH, TEST_IFACE, "WriterOnly")));
	assert_return(call(&t, new_call(&t, TEST_PATH, TEST_IFACE, "AdminOnly")));
	ck_assert_uint_eq(seen.n_writer, 2);
	ck_assert_uint_eq(seen.n_admin, 1);
	teardown(&t);
}
END_TEST

/* A reply larger than the socket buffer goes out whole, with nothing else coming in: the loop
 * listens for writability while it listens for input (issue 12: 512 shadow copies made a
 * GetManagedObjects reply that stalled after its first write) */
START_TEST(test_bus_large_reply)
{
	const uint32_t size = 1u << 20;
	DBusPendingCall *pending = NULL;
	DBusMessage *m, *reply;
	const char *s = NULL;
	usec_t deadline;
	TestBus t;

	setup(&t);
	m = new_call(&t, TEST_PATH, TEST_IFACE, "Big");
	ck_assert(dbus_message_append_args(m, DBUS_TYPE_UINT32, &size, DBUS_TYPE_INVALID));
	ck_assert(dbus_connection_send_with_reply(t.client, m, &pending, 20000));
	dbus_message_unref(m);
	deadline = now_usec(CLOCK_MONOTONIC) + 15 * USEC_PER_SEC;
	while (!dbus_pending_call_get_completed(pending) && now_usec(CLOCK_MONOTONIC) < deadline) {
		ck_assert_int_ge(sd_event_run(t.event, 0), 0);
		(void)dbus_connection_read_write_dispatch(t.client, 1);
	}
	ck_assert_msg(dbus_pending_call_get_completed(pending), "the large reply stalled");
	reply = dbus_pending_call_steal_reply(pending);
	dbus_pending_call_unref(pending);
	ck_assert_int_eq(dbus_message_get_type(reply), DBUS_MESSAGE_TYPE_METHOD_RETURN);
	ck_assert(dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID));
	ck_assert_uint_eq(strlen(s), size);
	ck_assert_int_eq(s[0], 'x');
	ck_assert_int_eq(s[size - 1], 'x');
	dbus_message_unref(reply);
	/* and the connection still serves small calls */
	assert_echo(call(&t, new_echo(&t, TEST_IFACE, "after", 1)), "after:1");
	teardown(&t);
}
END_TEST

TEST_SUITE_MAIN("bus",
                TEST(test_bus_route_to_handler) TEST(test_bus_unknown) TEST(test_bus_signature)
                        TEST(test_bus_access_denied) TEST(test_bus_access_allowed)
                                TEST(test_bus_access_groups) TEST(test_bus_large_reply))
