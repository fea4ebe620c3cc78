/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fake-vssd.c - a private dbus-daemon and a fake vssd on it, for writer tests without root */
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "common/vssd-bus-names.h"
#include "tests/lib/fake-vssd.h"

#define CALL_MSEC 10000

struct FakeBus {
	pid_t pid;
	char *dir;
	char *address;
};

static const char bus_config[] =
	"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
	" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
	"<busconfig>\n"
	"  <type>session</type>\n"
	"  <listen>unix:path=%s/bus</listen>\n"
	"  <auth>EXTERNAL</auth>\n"
	"  <policy context=\"default\">\n"
	"    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
	"    <allow eavesdrop=\"true\"/>\n"
	"    <allow own=\"*\"/>\n"
	"  </policy>\n"
	"</busconfig>\n";

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

pid_t fake_spawn(char *const *argv, const char *out_path)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0)
			(void)dup2(null, STDIN_FILENO);
		if (out_path) {
			int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

			if (out >= 0) {
				(void)dup2(out, STDOUT_FILENO);
				(void)dup2(out, STDERR_FILENO);
			}
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int fake_stop(pid_t pid, int sig)
{
	int status;

	if (pid <= 0)
		return -ESRCH;
	(void)kill(pid, sig);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return status;
}

int fake_bus_start(FakeBus **ret)
{
	_cleanup_(fake_bus_freep) FakeBus *b = NULL;
	_cleanup_free_ char *conf = NULL, *log = NULL, *arg_conf = NULL, *arg_print = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	const char *tmp = getenv("TMPDIR");
	char buf[512];
	int p[2];
	ssize_t n;
	size_t len = 0;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	if (asprintf(&b->dir, "%s/vssd-test-XXXXXX", tmp && tmp[0] ? tmp : "/tmp") < 0) {
		b->dir = NULL;
		return -ENOMEM;
	}
	if (!mkdtemp(b->dir))
		return -errno;
	if (asprintf(&conf, "%s/bus.conf", b->dir) < 0)
		return -ENOMEM;
	f = fopen(conf, "we");
	if (!f)
		return -errno;
	fprintf(f, bus_config, b->dir);
	if (fclose(TAKE_PTR(f)) != 0)
		return -EIO;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (asprintf(&arg_conf, "--config-file=%s", conf) < 0 ||
	    asprintf(&arg_print, "--print-address=%d", 3) < 0)
		return -ENOMEM;
	if (asprintf(&log, "%s/bus.log", b->dir) < 0)
		return -ENOMEM;
	b->pid = fork();
	if (b->pid < 0)
		return -errno;
	if (b->pid == 0) {
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (out >= 0) /* its complaints (fd limits) stay out of the test output */
			(void)dup2(out, STDERR_FILENO);
		(void)dup2(p[1], 3); /* dup2 clears O_CLOEXEC */
		execlp("dbus-daemon", "dbus-daemon", arg_conf, "--nofork", "--nopidfile", arg_print,
		       (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };

		if (poll(&pfd, 1, 10000) <= 0)
			break;
		n = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf, '\n', len) || len == sizeof(buf) - 1)
			break;
	}
	close(p[0]);
	buf[len] = 0;
	if (!strchr(buf, '\n'))
		return -ECONNREFUSED;
	*strchr(buf, '\n') = 0;
	b->address = strdup(buf);
	if (!b->address)
		return -ENOMEM;
	*ret = TAKE_PTR(b);
	return 0;
}

void fake_bus_kill(FakeBus *b)
{
	if (b->pid > 0)
		(void)fake_stop(b->pid, SIGKILL);
	b->pid = 0;
}

FakeBus *fake_bus_free(FakeBus *b)
{
	if (!b)
		return NULL;
	if (b->pid > 0)
		(void)fake_stop(b->pid, SIGTERM);
	if (b->dir && getenv("VSSD_TEST_KEEP")) /* for debugging: logs, hooks */
		fprintf(stderr, "kept %s\n", b->dir);
	else if (b->dir)
		(void)nftw(b->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(b->dir);
	free(b->address);
	free(b);
	return NULL;
}

const char *fake_bus_address(const FakeBus *b)
{
	return b->address;
}

const char *fake_bus_dir(const FakeBus *b)
{
	return b->dir;
}

static DBusHandlerResult fake_on_message(DBusConnection *c, DBusMessage *m, void *userdata)
{
	FakeVssd *f = userdata;
	DBusMessage *reply;

	if (dbus_message_is_method_call(m, VSSD_IFACE_MANAGER, "RegisterWriter")) {
		const char *path, *id = f->instance_id;

		if (!dbus_message_has_signature(m, "oa{sv}")) {
			reply = dbus_message_new_error(m, DBUS_ERROR_INVALID_ARGS, "signature");
		} else {
			(void)dbus_message_get_args(m, NULL, DBUS_TYPE_OBJECT_PATH, &path,
			                            DBUS_TYPE_INVALID);
			f->n_register++;
			if (f->last_register)
				dbus_message_unref(f->last_register);
			f->last_register = dbus_message_ref(m);
			free(f->writer);
			free(f->writer_path);
			f->writer = strdup(dbus_message_get_sender(m));
			f->writer_path = strdup(path);
			(void)snprintf(f->instance_id, sizeof(f->instance_id),
			               "00000000-0000-4000-8000-%012u", f->n_register);
			reply = dbus_message_new_method_return(m);
			if (reply)
				(void)dbus_message_append_args(reply, DBUS_TYPE_STRING, &id,
				                               DBUS_TYPE_INVALID);
		}
	} else if (dbus_message_is_method_call(m, VSSD_IFACE_MANAGER, "UnregisterWriter"))
		reply = dbus_message_new_method_return(m);
	else
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	if (reply) {
		(void)dbus_connection_send(c, reply, NULL);
		dbus_message_unref(reply);
	}
	return DBUS_HANDLER_RESULT_HANDLED;
}

static int fake_request_name(FakeVssd *f)
{
	DBusError e;
	int r;

	dbus_error_init(&e);
	r = dbus_bus_request_name(f->conn, VSSD_BUS_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE, &e);
	dbus_error_free(&e);
	return r == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER ? 0 : -EEXIST;
}

int fake_vssd_new(const char *address, bool own_name, FakeVssd **ret)
{
	static const DBusObjectPathVTable vtable = { .message_function = fake_on_message };
	_cleanup_(fake_vssd_freep) FakeVssd *f = NULL;
	DBusError e;
	int r;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->peer_fd = -EBADF;
	dbus_error_init(&e);
	f->conn = dbus_connection_open_private(address, &e);
	if (!f->conn || !dbus_bus_register(f->conn, &e)) {
		dbus_error_free(&e);
		return -ECONNREFUSED;
	}
	dbus_connection_set_exit_on_disconnect(f->conn, FALSE);
	if (!dbus_connection_register_object_path(f->conn, VSSD_ROOT_PATH, &vtable, f))
		return -ENOMEM;
	if (own_name) {
		r = fake_request_name(f);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(f);
	return 0;
}

FakeVssd *fake_vssd_free(FakeVssd *f)
{
	if (!f)
		return NULL;
	if (f->conn) {
		dbus_connection_close(f->conn);
		dbus_connection_unref(f->conn);
	}
	if (f->last_register)
		dbus_message_unref(f->last_register);
	free(f->writer);
	free(f->writer_path);
	free(f);
	return NULL;
}

void fake_vssd_set_peer(FakeVssd *f, int fd, int (*dispatch)(void *userdata), void *userdata)
{
	f->peer_fd = fd;
	f->peer_dispatch = dispatch;
	f->peer_userdata = userdata;
}

int fake_vssd_reown(FakeVssd *f)
{
	DBusError e;

	dbus_error_init(&e);
	if (dbus_bus_release_name(f->conn, VSSD_BUS_NAME, &e) != DBUS_RELEASE_NAME_REPLY_RELEASED) {
		dbus_error_free(&e);
		return -ESRCH;
	}
	return fake_request_name(f);
}

void fake_vssd_pump(FakeVssd *f, usec_t max_wait_usec)
{
	struct pollfd p[2] = { { .fd = -1 }, { .fd = -1 } };
	int fd = -1;

	if (dbus_connection_get_is_connected(f->conn)) {
		(void)dbus_connection_read_write(f->conn, 0);
		while (dbus_connection_dispatch(f->conn) == DBUS_DISPATCH_DATA_REMAINS)
			;
		if (dbus_connection_get_unix_fd(f->conn, &fd))
			p[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	if (f->peer_dispatch && f->peer_error == 0)
		p[1] = (struct pollfd){ .fd = f->peer_fd, .events = POLLIN };
	if (poll(p, 2, (int)((max_wait_usec + USEC_PER_MSEC - 1) / USEC_PER_MSEC)) <= 0)
		return;
	if (p[1].revents & POLLIN) {
		int r = f->peer_dispatch(f->peer_userdata);

		if (r < 0 && f->peer_error == 0)
			f->peer_error = r;
	}
}

bool fake_vssd_wait(FakeVssd *f, bool (*cond)(void *data), void *data, usec_t timeout_usec)
{
	usec_t end = now_usec(CLOCK_MONOTONIC) + timeout_usec;

	while (!cond(data)) {
		usec_t now = now_usec(CLOCK_MONOTONIC);

		if (now >= end)
			return cond(data);
		fake_vssd_pump(f, MIN(end - now, 20 * USEC_PER_MSEC));
	}
	return true;
}

typedef struct RegisteredWait {
	FakeVssd *f;
	unsigned n;
} RegisteredWait;

static bool registered_cond(void *data)
{
	RegisteredWait *w = data;

	return w->f->n_register >= w->n;
}

bool fake_vssd_wait_registered(FakeVssd *f, unsigned n, usec_t timeout_usec)
{
	RegisteredWait w = { .f = f, .n = n };

	return fake_vssd_wait(f, registered_cond, &w, timeout_usec);
}

DBusMessage *fake_vssd_new_call(FakeVssd *f, const char *method)
{
	if (!f->writer)
		return NULL;
	return dbus_message_new_method_call(f->writer, f->writer_path, VSSD_IFACE_WRITER, method);
}

static bool pending_cond(void *data)
{
	return dbus_pending_call_get_completed(data);
}

DBusMessage *fake_vssd_send(FakeVssd *f, DBusMessage *m)
{
	DBusPendingCall *call = NULL;
	DBusMessage *reply = NULL;

	if (!m)
		return NULL;
	if (dbus_connection_send_with_reply(f->conn, m, &call, CALL_MSEC) && call) {
		if (fake_vssd_wait(f, pending_cond, call, (CALL_MSEC + 1000) * USEC_PER_MSEC))
			reply = dbus_pending_call_steal_reply(call);
		dbus_pending_call_unref(call);
	}
	dbus_message_unref(m);
	return reply;
}

DBusMessage *fake_vssd_call(FakeVssd *f, const char *method, int first_arg_type, ...)
{
	DBusMessage *m = fake_vssd_new_call(f, method);
	va_list ap;
	bool ok;

	if (!m)
		return NULL;
	va_start(ap, first_arg_type);
	ok = dbus_message_append_args_valist(m, first_arg_type, ap);
	va_end(ap);
	if (!ok) {
		dbus_message_unref(m);
		return NULL;
	}
	return fake_vssd_send(f, m);
}

static void render(FILE *out, DBusMessageIter *it)
{
	DBusMessageIter sub;
	const char *s;
	dbus_uint32_t u;
	dbus_bool_t b;
	bool first = true;

	switch (dbus_message_iter_get_arg_type(it)) {
	case DBUS_TYPE_STRING:
	case DBUS_TYPE_OBJECT_PATH:
		dbus_message_iter_get_basic(it, &s);
		fprintf(out, "'%s'", s);
		break;
	case DBUS_TYPE_UINT32:
		dbus_message_iter_get_basic(it, &u);
		fprintf(out, "<uint32 %u>", u);
		break;
	case DBUS_TYPE_BOOLEAN:
		dbus_message_iter_get_basic(it, &b);
		fputs(b ? "true" : "false", out);
		break;
	case DBUS_TYPE_VARIANT:
		dbus_message_iter_recurse(it, &sub);
		render(out, &sub);
		break;
	case DBUS_TYPE_ARRAY:
		dbus_message_iter_recurse(it, &sub);
		if (dbus_message_iter_get_element_type(it) == DBUS_TYPE_DICT_ENTRY) {
			fputc('{', out);
			for (; dbus_message_iter_get_arg_type(&sub) != DBUS_TYPE_INVALID;
			     dbus_message_iter_next(&sub)) {
				DBusMessageIter e;

				fputs(first ? "" : ", ", out);
				first = false;
				dbus_message_iter_recurse(&sub, &e);
				render(out, &e);
				fputs(": ", out);
				dbus_message_iter_next(&e);
				render(out, &e);
			}
			fputc('}', out);
		} else {
			fputc('[', out);
			for (; dbus_message_iter_get_arg_type(&sub) != DBUS_TYPE_INVALID;
			     dbus_message_iter_next(&sub)) {
				fputs(first ? "" : ", ", out);
				first = false;
				render(out, &sub);
			}
			fputc(']', out);
		}
		break;
	default:
		fprintf(out, "<type %c>", dbus_message_iter_get_arg_type(it));
	}
}

char *fake_render_args(DBusMessage *m)
{
	DBusMessageIter it;
	char *buf = NULL;
	size_t size = 0;
	FILE *out;
	bool first = true;

	out = open_memstream(&buf, &size);
	if (!out)
		return NULL;
	if (dbus_message_iter_init(m, &it))
		do {
			fputs(first ? "" : " ", out);
			first = false;
			render(out, &it);
		} while (dbus_message_iter_next(&it));
	fclose(out);
	return buf;
}

const char *fake_reply_error(DBusMessage *m)
{
	if (!m)
		return "(no reply)";
	return dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_ERROR ? dbus_message_get_error_name(m)
	                                                           : "";
}

const char *fake_reply_message(DBusMessage *m)
{
	const char *s = "";

	if (m && dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_ERROR)
		(void)dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID);
	return s;
}
