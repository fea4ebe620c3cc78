/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssd-example-writer.c - a sample writer: numbered records into two files, paused while frozen */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>

#include "client/libvsswriter/vss-writer.h"
#include "common/log.h"
#include "common/valid.h"

#define NAME_DEFAULT     "vssd-example-writer"
#define CLASS_ID_DEFAULT "c65cebd2-542e-4094-981e-dd9a53d7634f"
#define INTERVAL_DEFAULT 10 /* ms between records */

static const char *const event_names[] = {
	"prepare-backup", "prepare-snapshot", "freeze",          "thaw", "post-snapshot",
	"abort",          "backup-complete",  "backup-shutdown",
};

static const char *arg_bus;
static const char *arg_name = NAME_DEFAULT;
static const char *arg_class_id = CLASS_ID_DEFAULT;
static const char *arg_event_log;
static const char *arg_hang_in;
static const char *arg_veto;
static uint64_t arg_records;
static uint32_t arg_interval_ms = INTERVAL_DEFAULT;
static uint32_t arg_freeze_timeout_ms;
static const char *arg_files[2];

typedef struct Example {
	int fd[2];     /* record N goes to fd[(N - 1) % 2] */
	int event_fd;  /* --event-log, or -EBADF */
	int signal_fd; /* SIGTERM, SIGINT */
	uint64_t next; /* the next record's number */
	bool frozen;
	bool stop;         /* a signal arrived while hanging in a handler */
	usec_t next_write; /* CLOCK_MONOTONIC */
} Example;

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* "<CLOCK_MONOTONIC µs> <event> <set id>", fsynced, so tests can check order and timing. */
static void event_log(Example *ex, const char *event, const char *set_id)
{
	char line[128];
	int n, r;

	log_info("set=%s: %s", set_id, event);
	if (ex->event_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%" PRIu64 " %s %s\n", now_usec(CLOCK_MONOTONIC), event,
	             set_id);
	r = write_all(ex->event_fd, line, (size_t)MIN(n, (int)sizeof(line) - 1));
	if (r >= 0 && fsync(ex->event_fd) < 0)
		r = -errno;
	if (r < 0)
		log_warning_errno(r, "cannot write the event log, ignoring: %m");
}

/* Logs the event, then hangs or vetoes when the command line says so. */
static int event(struct vss_writer *w, Example *ex, const char *name, const char *set_id)
{
	event_log(ex, name, set_id);
	if (arg_hang_in && streq(arg_hang_in, name)) {
		sigset_t mask;
		int sig = 0;

		log_notice("set=%s: hanging in %s as asked (--hang-in)", set_id, name);
		sigemptyset(&mask);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGINT);
		(void)sigwait(&mask, &sig); /* blocked for the signalfd: only these end it */
		ex->stop = true;
		return -EINTR;
	}
	if (arg_veto && streq(arg_veto, name))
		return vss_writer_veto(w, VSS_WRITER_ERROR_RETRYABLE, "vetoed by --veto %s", name);
	return 0;
}

static int sync_files(Example *ex)
{
	for (int i = 0; i < 2; i++)
		if (fsync(ex->fd[i]) < 0)
			return log_error_errno(-errno, "fsync %s: %m", arg_files[i]);
	return 0;
}

static int on_prepare_backup(struct vss_writer *w, const char *set_id, const char *backup_type,
                             const char *context, const char *const *components, void *userdata)
{
	char sel[256] = "";

	for (const char *const *c = components; c && *c; c++)
		snprintf(sel + strlen(sel), sizeof(sel) - strlen(sel), "%s%s", sel[0] ? "," : "",
		         *c);
	log_info("set=%s: %s backup, context %s, components selected: %s", set_id, backup_type,
	         context, sel[0] ? sel : "none");
	return event(w, userdata, "prepare-backup", set_id);
}

static int on_prepare_snapshot(struct vss_writer *w, const char *set_id, const char *const *volumes,
                               void *userdata)
{
	return event(w, userdata, "prepare-snapshot", set_id);
}

static int on_freeze(struct vss_writer *w, const char *set_id, void *userdata)
{
	Example *ex = userdata;
	int r;

	r = event(w, ex, "freeze", set_id);
	if (r < 0)
		return r;
	r = sync_files(ex);
	if (r < 0)
		return r;
	ex->frozen = true; /* the loop appends nothing until thaw or abort */
	log_info("set=%s: frozen after record %" PRIu64, set_id, ex->next - 1);
	return 0;
}

static void resume(Example *ex)
{
	ex->frozen = false;
	ex->next_write = now_usec(CLOCK_MONOTONIC);
}

static int on_thaw(struct vss_writer *w, const char *set_id, void *userdata)
{
	Example *ex = userdata;
	int r = event(w, ex, "thaw", set_id);

	resume(ex);
	return r;
}

static int on_abort(struct vss_writer *w, const char *set_id, void *userdata)
{
	Example *ex = userdata;
	int r = event(w, ex, "abort", set_id);

	resume(ex);
	return r;
}

static int on_post_snapshot(struct vss_writer *w, const char *set_id, const char *const *volumes,
                            const char *const *devices, void *userdata)
{
	return event(w, userdata, "post-snapshot", set_id);
}

static int on_backup_complete(struct vss_writer *w, const char *set_id, bool success,
                              void *userdata)
{
	return event(w, userdata, "backup-complete", set_id);
}

static int on_backup_shutdown(struct vss_writer *w, const char *set_id, void *userdata)
{
	return event(w, userdata, "backup-shutdown", set_id);
}

static void on_log(struct vss_writer *w, int priority, const char *message, void *userdata)
{
	log_full(priority, "%s", message);
}

/* The highest record number in a file (0 when empty), so a restart continues the sequence. */
static int last_record(int fd, const char *path, uint64_t *ret)
{
	char buf[64];
	off_t size = lseek(fd, 0, SEEK_END), from;
	ssize_t n;
	char *p;

	if (size < 0)
		return -errno;
	*ret = 0;
	if (size == 0)
		return 0;
	from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
	n = pread(fd, buf, sizeof(buf) - 1, from);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	p = strrchr(buf, '\n');
	p = p ? p + 1 : buf;
	if (sscanf(p, "%" SCNu64, ret) != 1)
		return log_error_errno(-EINVAL, "%s does not end with a record number", path);
	return 0;
}

static int append_record(Example *ex)
{
	int i = (int)((ex->next - 1) % 2), r;
	char line[32];
	int n = snprintf(line, sizeof(line), "%" PRIu64 "\n", ex->next);

	r = write_all(ex->fd[i], line, (size_t)n);
	if (r >= 0 && fsync(ex->fd[i]) < 0)
		r = -errno;
	if (r < 0)
		return log_error_errno(r, "cannot append to %s: %m", arg_files[i]);
	ex->next++;
	return 0;
}

static bool valid_event(const char *s)
{
	for (size_t i = 0; i < ELEMENTSOF(event_names); i++)
		if (streq(s, event_names[i]))
			return true;
	return false;
}

static int parse_ms(const char *s, uint32_t *ret)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v == 0 || v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

static void help(void)
{
	printf("Usage: %s [OPTIONS] FILE-A FILE-B\n"
	       "A sample vssd writer: appends numbered records alternately to two files and\n"
	       "pauses between Freeze and Thaw (or Abort).\n\n"
	       "  -b --bus ADDRESS           D-Bus address (default: the system bus)\n"
	       "  -n --name NAME             writer name (default %s)\n"
	       "  -c --class-id UUID         writer class id (default %s)\n"
	       "  -e --event-log FILE        append '<monotonic us> <event> <set>' per event\n"
	       "  -H --hang-in EVENT         block in that event's handler until SIGTERM\n"
	       "  -V --veto EVENT            veto that event (Retryable)\n"
	       "  -r --records N             stop appending after record N\n"
	       "  -i --interval-ms MS        time between records (default %d)\n"
	       "  -f --freeze-timeout-ms MS  longest freeze (default 60000)\n"
	       "  -l --log-level LEVEL       err, warning, notice, info (default), debug\n"
	       "  -h --help                  this text\n"
	       "EVENT: prepare-backup, prepare-snapshot, freeze, thaw, post-snapshot, abort,\n"
	       "       backup-complete, backup-shutdown\n",
	       program_invocation_short_name, NAME_DEFAULT, CLASS_ID_DEFAULT, INTERVAL_DEFAULT);
}

static int parse_argv(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "bus", required_argument, NULL, 'b' },
		{ "name", required_argument, NULL, 'n' },
		{ "class-id", required_argument, NULL, 'c' },
		{ "event-log", required_argument, NULL, 'e' },
		{ "hang-in", required_argument, NULL, 'H' },
		{ "veto", required_argument, NULL, 'V' },
		{ "records", required_argument, NULL, 'r' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "freeze-timeout-ms", required_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "b:n:c:e:H:V:r:i:f:l:h", options, NULL)) >= 0)
		switch (c) {
		case 'b':
			arg_bus = optarg;
			break;
		case 'n':
			arg_name = optarg;
			break;
		case 'c':
			arg_class_id = optarg;
			break;
		case 'e':
			arg_event_log = optarg;
			break;
		case 'H':
		case 'V':
			if (!valid_event(optarg))
				return log_error_errno(-EINVAL, "unknown event: %s", optarg);
			*(c == 'H' ? &arg_hang_in : &arg_veto) = optarg;
			break;
		case 'r':
			if (parse_u64(optarg, &arg_records) < 0)
				return log_error_errno(-EINVAL, "bad --records: %s", optarg);
			break;
		case 'i':
			if (parse_ms(optarg, &arg_interval_ms) < 0)
				return log_error_errno(-EINVAL, "bad --interval-ms: %s", optarg);
			break;
		case 'f':
			if (parse_ms(optarg, &arg_freeze_timeout_ms) < 0)
				return log_error_errno(-EINVAL, "bad --freeze-timeout-ms: %s",
				                       optarg);
			break;
		case 'l':
			r = log_level_from_string(optarg);
			if (r < 0)
				return log_error_errno(r, "bad --log-level: %s", optarg);
			log_set_max_level(r);
			break;
		case 'h':
			help();
			return 0;
		default:
			return -EINVAL;
		}
	if (argc - optind != 2)
		return log_error_errno(-EINVAL, "two files expected; see --help");
	arg_files[0] = argv[optind];
	arg_files[1] = argv[optind + 1];
	return 1;
}

static void example_done(Example *ex)
{
	closep(&ex->fd[0]);
	closep(&ex->fd[1]);
	closep(&ex->event_fd);
	closep(&ex->signal_fd);
}

static void writer_unrefp(struct vss_writer **w)
{
	vss_writer_unref(*w);
}

static int example_open(Example *ex)
{
	uint64_t last[2];
	sigset_t mask;
	int r;

	for (int i = 0; i < 2; i++) {
		ex->fd[i] = open(arg_files[i], O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (ex->fd[i] < 0)
			return log_error_errno(-errno, "cannot open %s: %m", arg_files[i]);
		r = last_record(ex->fd[i], arg_files[i], &last[i]);
		if (r < 0)
			return r;
	}
	ex->next = MAX(last[0], last[1]) + 1;
	if (arg_event_log) {
		ex->event_fd = open(arg_event_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (ex->event_fd < 0)
			return log_error_errno(-errno, "cannot open %s: %m", arg_event_log);
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(-errno, "sigprocmask: %m");
	ex->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (ex->signal_fd < 0)
		return log_error_errno(-errno, "signalfd: %m");
	return 0;
}

/* The application's own loop: the writer's fd and timeout next to its signal fd and record
 * timer (libvsswriter's integration mode). */
static int example_loop(Example *ex, struct vss_writer *w)
{
	usec_t interval = (usec_t)arg_interval_ms * USEC_PER_MSEC;
	bool announced = false;
	int r;

	ex->next_write = now_usec(CLOCK_MONOTONIC);
	while (!ex->stop) {
		struct pollfd p[2] = {
			{ .fd = vss_writer_get_fd(w), .events = POLLIN },
			{ .fd = ex->signal_fd, .events = POLLIN },
		};
		bool appending = !ex->frozen && (arg_records == 0 || ex->next <= arg_records);
		uint64_t wait_usec;
		usec_t now;
		int ms;

		r = vss_writer_get_timeout_usec(w, &wait_usec);
		if (r < 0)
			return log_error_errno(r, "writer: %m");
		now = now_usec(CLOCK_MONOTONIC);
		if (appending)
			wait_usec = MIN(wait_usec, ex->next_write > now ? ex->next_write - now : 0);
		ms = wait_usec == UINT64_MAX
		             ? -1
		             : (int)MIN((wait_usec + USEC_PER_MSEC - 1) / USEC_PER_MSEC,
		                        (uint64_t)INT32_MAX);
		if (poll(p, 2, ms) < 0) {
			if (errno == EINTR)
				continue;
			return log_error_errno(-errno, "poll: %m");
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(ex->signal_fd, &si, sizeof(si)) > 0)
				log_info("signal %u, stopping", si.ssi_signo);
			return 0;
		}
		r = vss_writer_get_timeout_usec(w, &wait_usec);
		if (r >= 0 && ((p[0].revents & POLLIN) || wait_usec == 0)) {
			r = vss_writer_dispatch(w);
			if (r < 0)
				return log_error_errno(r, "writer: %m");
		}

		now = now_usec(CLOCK_MONOTONIC);
		if (ex->frozen || now < ex->next_write)
			continue;
		if (arg_records > 0 && ex->next > arg_records) {
			if (!announced)
				log_info("wrote %" PRIu64 " records, appending stops", arg_records);
			announced = true;
			continue;
		}
		r = append_record(ex);
		if (r < 0)
			return r;
		ex->next_write = now + interval;
	}
	return 0;
}

static int run(int argc, char *argv[])
{
	static const struct vss_writer_handlers handlers = {
		.prepare_backup = on_prepare_backup,
		.prepare_snapshot = on_prepare_snapshot,
		.freeze = on_freeze,
		.thaw = on_thaw,
		.post_snapshot = on_post_snapshot,
		.abort = on_abort,
		.backup_complete = on_backup_complete,
		.backup_shutdown = on_backup_shutdown,
	};
	_cleanup_(example_done)
		Example ex = { .fd = { -EBADF, -EBADF }, .event_fd = -EBADF, .signal_fd = -EBADF };
	_cleanup_(writer_unrefp) struct vss_writer *w = NULL;
	char *abs[2] = { NULL, NULL };
	int r;

	r = parse_argv(argc, argv);
	if (r <= 0)
		return r;
	r = example_open(&ex);
	if (r < 0)
		return r;

	r = vss_writer_new(arg_name, arg_class_id, &w);
	if (r < 0)
		return log_error_errno(r, "bad --name or --class-id: %m");
	(void)vss_writer_set_log_fn(w, on_log, NULL);
	r = vss_writer_set_handlers(w, &handlers, sizeof(handlers), &ex);
	if (r >= 0 && arg_freeze_timeout_ms)
		r = vss_writer_set_freeze_timeout(w, arg_freeze_timeout_ms);
	if (r >= 0 && arg_bus)
		r = vss_writer_set_bus_address(w, arg_bus);
	/* one component: the two files */
	abs[0] = realpath(arg_files[0], NULL);
	abs[1] = realpath(arg_files[1], NULL);
	if (r >= 0 && abs[0] && abs[1])
		r = vss_writer_add_component(w, "records",
		                             (const char *const[]){ abs[0], abs[1], NULL });
	free(abs[0]);
	free(abs[1]);
	if (r < 0)
		return log_error_errno(r, "cannot set up the writer: %m");

	r = vss_writer_start(w);
	if (r < 0)
		return log_error_errno(r, "cannot connect to %s: %m", arg_bus ?: "the system bus");
	log_info("writer %s started, record %" PRIu64 " is next", arg_name, ex.next);
	r = example_loop(&ex, w);
	w = vss_writer_unref(w); /* thaws first if still frozen */
	return r;
}

int main(int argc, char *argv[])
{
	return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
