/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssd-sqlite-writer.c - a writer for an SQLite database in WAL mode: checkpoint and hold writes
 * at Freeze, close at PreRestore, reopen and check at PostRestore; a thread commits numbered rows
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/signalfd.h>

#include "client/libvsswriter/vss-writer.h"
#include "common/log.h"
#include "common/valid.h"

#define NAME_DEFAULT     "vssd-sqlite-writer"
#define CLASS_ID_DEFAULT "5b2a4a43-0f0a-4c53-9a51-7d1c2b8e4a01"
#define INTERVAL_DEFAULT 20     /* ms between rows */
#define BUSY_LOAD_MS     600000 /* the load waits this long for a held lock */
#define BUSY_WRITER_MS   10000  /* Freeze waits this long for the load's transaction */
#define COMPONENT        "database"

static const char *arg_bus;
static const char *arg_name = NAME_DEFAULT;
static const char *arg_class_id = CLASS_ID_DEFAULT;
static const char *arg_instance_name;
static const char *arg_event_log;
static const char *arg_veto;
static uint32_t arg_interval_ms = INTERVAL_DEFAULT;
static bool arg_no_load;
static const char *arg_db;

typedef enum LoadState {
	LOAD_RUN,
	LOAD_PAUSE, /* asked to close its connection and wait */
	LOAD_PAUSED,
	LOAD_STOP,
} LoadState;

typedef struct Sqlw {
	sqlite3 *db;        /* the writer's connection: checkpoint, the held lock, checks */
	char *path;         /* the database file, absolute */
	bool held;          /* BEGIN IMMEDIATE is open (frozen) */
	bool closed;        /* between PreRestore and PostRestore */
	int64_t frozen_row; /* the last committed row when frozen */
	int event_fd;
	int signal_fd;
	/* the load thread */
	pthread_t load;
	bool load_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	LoadState load_state;
	char *load_path; /* where the load opens the database */
	int64_t load_error;
} Sqlw;

/* "<CLOCK_MONOTONIC µs> <event> <id> [detail]", fsynced: tests check order and content */
static void event_log(Sqlw *s, const char *event, const char *id, const char *detail)
{
	char line[512];
	int n;

	log_info("%s %s %s", event, id, strempty(detail));
	if (s->event_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%" PRIu64 " %s %s%s%s\n", now_usec(CLOCK_MONOTONIC),
	             event, id, detail ? " " : "", strempty(detail));
	if (n < 0 || write(s->event_fd, line, (size_t)MIN(n, (int)sizeof(line) - 1)) < 0 ||
	    fsync(s->event_fd) < 0)
		log_warning_errno(-errno, "cannot write the event log, ignoring: %m");
}

static int exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		log_error("sqlite: %s: %s", sql, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return rc == SQLITE_BUSY ? -EBUSY : -EIO;
	}
	return 0;
}

static int query_int(sqlite3 *db, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		log_error("sqlite: %s: %s", sql, sqlite3_errmsg(db));
		return -EIO;
	}
	return 0;
}

static int db_open(const char *path, int busy_ms, sqlite3 **ret)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);

	if (rc != SQLITE_OK) {
		log_error("cannot open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -EIO;
	}
	sqlite3_busy_timeout(db, busy_ms);
	*ret = db;
	return 0;
}

/* ---- the load: numbered rows, one transaction each ------------------------------------------ */

static void *load_main(void *userdata)
{
	Sqlw *s = userdata;
	sqlite3 *db = NULL;
	int64_t next = 0;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct timespec ts = { 0, (long)arg_interval_ms * 1000000L };
		char sql[128];

		while (s->load_state == LOAD_PAUSE || s->load_state == LOAD_PAUSED) {
			if (s->load_state == LOAD_PAUSE) {
				sqlite3_close(db); /* PreRestore: the database is let go */
				db = NULL;
				s->load_state = LOAD_PAUSED;
				pthread_cond_broadcast(&s->cond);
			}
			pthread_cond_wait(&s->cond, &s->lock);
		}
		if (s->load_state == LOAD_STOP)
			break;
		if (!db) {
			if (db_open(s->load_path, BUSY_LOAD_MS, &db) < 0 ||
			    query_int(db, "SELECT coalesce(max(n), 0) FROM rows", &next) < 0) {
				s->load_error = -EIO;
				break;
			}
			next++;
		}
		pthread_mutex_unlock(&s->lock);
		snprintf(sql, sizeof(sql),
		         "INSERT INTO rows(n, t) VALUES(%" PRId64 ", %" PRIu64 ")", next,
		         now_usec(CLOCK_REALTIME));
		if (exec_sql(db, sql) >= 0) /* waits while the writer holds the lock */
			next++;
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	sqlite3_close(db);
	return NULL;
}

static void load_set(Sqlw *s, LoadState st, bool wait_paused)
{
	pthread_mutex_lock(&s->lock);
	s->load_state = st;
	pthread_cond_broadcast(&s->cond);
	while (wait_paused && s->load_started && s->load_state == LOAD_PAUSE)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

/* ---- backup events --------------------------------------------------------------------------- */

static int veto_if_asked(struct vss_writer *w, const char *event)
{
	if (arg_veto && streq(arg_veto, event))
		return vss_writer_veto(w, VSS_WRITER_ERROR_NON_RETRYABLE, "vetoed by --veto %s",
		                       event);
	return 0;
}

/* Freeze: the WAL checkpointed into the database file, then the write lock taken and held until
 * Thaw: the load waits, the files on disk stay as they are */
static int on_freeze(struct vss_writer *w, const char *set_id, void *userdata)
{
	Sqlw *s = userdata;
	char detail[64];
	int r;

	if (s->closed)
		return vss_writer_veto(w, VSS_WRITER_ERROR_RETRYABLE,
		                       "the database is closed for "
		                       "a restore");
	r = veto_if_asked(w, "freeze");
	if (r < 0)
		return r;
	r = exec_sql(s->db, "PRAGMA wal_checkpoint(TRUNCATE)");
	if (r >= 0)
		r = exec_sql(s->db, "BEGIN IMMEDIATE");
	if (r < 0)
		return vss_writer_veto(w, VSS_WRITER_ERROR_RETRYABLE,
		                       "cannot checkpoint and lock the database");
	s->held = true;
	r = query_int(s->db, "SELECT coalesce(max(n), 0) FROM rows", &s->frozen_row);
	if (r < 0)
		s->frozen_row = -1;
	snprintf(detail, sizeof(detail), "rows=%" PRId64, s->frozen_row);
	event_log(s, "freeze", set_id, detail);
	return 0;
}

static void release_lock(Sqlw *s)
{
	if (s->held)
		(void)exec_sql(s->db, "COMMIT"); /* nothing was written in it */
	s->held = false;
}

static int on_thaw(struct vss_writer *w, const char *set_id, void *userdata)
{
	Sqlw *s = userdata;

	release_lock(s);
	event_log(s, "thaw", set_id, NULL);
	return 0;
}

static int on_abort(struct vss_writer *w, const char *set_id, void *userdata)
{
	Sqlw *s = userdata;

	release_lock(s);
	event_log(s, "abort", set_id, NULL);
	return 0;
}

/* PostSnapshot: the position of the backup is the last row committed before the freeze */
static int on_post_snapshot(struct vss_writer *w, const char *set_id, const char *const *volumes,
                            const char *const *devices, void *userdata)
{
	Sqlw *s = userdata;
	char stamp[64];
	int r;

	snprintf(stamp, sizeof(stamp), "rows=%" PRId64, s->frozen_row);
	/* the last row committed before the freeze: the backup stamp, which comes back as the
	 * previous stamp of the next backup and in the restore's component info */
	r = vss_writer_set_backup_stamp(w, COMPONENT, stamp);
	if (r < 0 && r != -ENOENT) /* -ENOENT: the component is not part of this backup */
		fprintf(stderr, "vssd-sqlite-writer: cannot set the backup stamp: %s\n",
		        strerror(-r));
	event_log(s, "post-snapshot", set_id, stamp);
	return 0;
}

/* ---- restore events -------------------------------------------------------------------------- */

static const struct vss_writer_restore_component *
our_component(const struct vss_writer_restore_info *info)
{
	for (size_t i = 0; i < info->n_components; i++)
		if (streq(info->components[i]->name, COMPONENT))
			return info->components[i];
	return NULL;
}

/* PreRestore: the database is closed (the load pauses and lets go of it too), so that the
 * requester may replace its files */
static int on_pre_restore(struct vss_writer *w, const struct vss_writer_restore_info *info,
                          void *userdata)
{
	Sqlw *s = userdata;
	const struct vss_writer_restore_component *c = our_component(info);
	char detail[256];
	int r;

	snprintf(detail, sizeof(detail), "backup=%s stamp=%s", info->backup_set_id,
	         c && c->backup_stamp ? c->backup_stamp : "-");
	event_log(s, "pre-restore", info->session_id, detail);
	r = veto_if_asked(w, "pre-restore");
	if (r < 0)
		return r;
	if (!c)
		return 0; /* not ours to close */
	release_lock(s);
	load_set(s, LOAD_PAUSE, true);
	if (sqlite3_close(s->db) != SQLITE_OK)
		return vss_writer_veto(w, VSS_WRITER_ERROR_RETRYABLE,
		                       "cannot close the database: %s", sqlite3_errmsg(s->db));
	s->db = NULL;
	s->closed = true;
	return 0;
}

/* PostRestore: the database opened on the restored files (or in new-target) and checked */
static int on_post_restore(struct vss_writer *w, const struct vss_writer_restore_info *info,
                           void *userdata)
{
	Sqlw *s = userdata;
	const struct vss_writer_restore_component *c = our_component(info);
	_cleanup_free_ char *path = NULL;
	char detail[256], check[64] = "";
	sqlite3_stmt *st = NULL;
	int64_t rows = -1;
	int r;

	if (!c || !s->closed) {
		event_log(s, "post-restore", info->session_id, "nothing");
		return veto_if_asked(w, "post-restore");
	}
	if (c->new_target) {
		const char *base = strrchr(s->path, '/');

		if (asprintf(&path, "%s/%s", c->new_target, base ? base + 1 : s->path) < 0)
			return -ENOMEM;
	} else if (!(path = strdup(s->path)))
		return -ENOMEM;
	r = db_open(path, BUSY_WRITER_MS, &s->db);
	if (r < 0)
		return vss_writer_veto(w, VSS_WRITER_ERROR_NON_RETRYABLE, "cannot open %s", path);
	if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		snprintf(check, sizeof(check), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	(void)query_int(s->db, "SELECT coalesce(max(n), 0) FROM rows", &rows);
	snprintf(detail, sizeof(detail), "status=%s integrity=%s rows=%" PRId64,
	         strempty(c->file_restore_status), check[0] ? check : "none", rows);
	event_log(s, "post-restore", info->session_id, detail);
	if (!streq(check, "ok"))
		return vss_writer_veto(w, VSS_WRITER_ERROR_NON_RETRYABLE,
		                       "integrity_check of %s: %s", path, check);
	s->closed = false;
	pthread_mutex_lock(&s->lock);
	free(s->load_path);
	s->load_path = TAKE_PTR(path);
	pthread_mutex_unlock(&s->lock);
	load_set(s, arg_no_load ? LOAD_PAUSED : LOAD_RUN, false);
	return veto_if_asked(w, "post-restore");
}

static void on_log(struct vss_writer *w, int priority, const char *message, void *userdata)
{
	log_full(priority, "%s", message);
}

/* ---- the program ----------------------------------------------------------------------------- */

static void help(void)
{
	printf("Usage: %s [OPTIONS] DATABASE\n"
	       "A vssd writer for an SQLite database in WAL mode. At Freeze it checkpoints the\n"
	       "WAL and holds the write lock until Thaw; at PreRestore it closes the database;\n"
	       "at PostRestore it opens the restored files and runs PRAGMA integrity_check\n"
	       "(vetoing when it is not ok). A thread commits a numbered row into table\n"
	       "rows(n, t) every interval.\n\n"
	       "  -b --bus ADDRESS        D-Bus address (default: the system bus)\n"
	       "  -n --name NAME          writer name (default %s)\n"
	       "  -c --class-id UUID      writer class id (default %s)\n"
	       "  -I --instance-name TEXT the writer's instance name (restores find it by it)\n"
	       "  -e --event-log FILE     append '<monotonic us> <event> <id> [detail]'\n"
	       "  -V --veto EVENT         veto that event: freeze, pre-restore, post-restore\n"
	       "  -i --interval-ms MS     time between rows (default %d)\n"
	       "  -N --no-load            commit no rows\n"
	       "  -l --log-level LEVEL    err, warning, notice, info (default), debug\n"
	       "  -h --help               this text\n",
	       program_invocation_short_name, NAME_DEFAULT, CLASS_ID_DEFAULT, INTERVAL_DEFAULT);
}

static int parse_argv(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "bus", required_argument, NULL, 'b' },
		{ "name", required_argument, NULL, 'n' },
		{ "class-id", required_argument, NULL, 'c' },
		{ "instance-name", required_argument, NULL, 'I' },
		{ "event-log", required_argument, NULL, 'e' },
		{ "veto", required_argument, NULL, 'V' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "no-load", no_argument, NULL, 'N' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t v;
	int c, r;

	while ((c = getopt_long(argc, argv, "b:n:c:I:e:V:i:Nl:h", options, NULL)) >= 0)
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
		case 'I':
			arg_instance_name = optarg;
			break;
		case 'e':
			arg_event_log = optarg;
			break;
		case 'V':
			if (!streq(optarg, "freeze") && !streq(optarg, "pre-restore") &&
			    !streq(optarg, "post-restore"))
				return log_error_errno(-EINVAL, "unknown event: %s", optarg);
			arg_veto = optarg;
			break;
		case 'i':
			if (parse_u64(optarg, &v) < 0 || v == 0 || v > 60000)
				return log_error_errno(-EINVAL, "bad --interval-ms: %s", optarg);
			arg_interval_ms = (uint32_t)v;
			break;
		case 'N':
			arg_no_load = true;
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
	if (argc - optind != 1)
		return log_error_errno(-EINVAL, "one database file expected; see --help");
	arg_db = argv[optind];
	return 1;
}

static void writer_unrefp(struct vss_writer **w)
{
	vss_writer_unref(*w);
}

static void sqlw_done(Sqlw *s)
{
	if (s->load_started) {
		load_set(s, LOAD_STOP, false);
		pthread_join(s->load, NULL);
	}
	release_lock(s);
	sqlite3_close(s->db);
	free(s->path);
	free(s->load_path);
	closep(&s->event_fd);
	closep(&s->signal_fd);
}

static int sqlw_open(Sqlw *s)
{
	sigset_t mask;
	int fd, r;

	/* the file must exist for realpath(), and for the component's path */
	fd = open(arg_db, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return log_error_errno(-errno, "cannot open %s: %m", arg_db);
	close(fd);
	s->path = realpath(arg_db, NULL);
	if (!s->path)
		return log_error_errno(-errno, "%s: %m", arg_db);
	s->load_path = strdup(s->path);
	if (!s->load_path)
		return log_oom();
	r = db_open(s->path, BUSY_WRITER_MS, &s->db);
	if (r < 0)
		return r;
	r = exec_sql(s->db, "PRAGMA journal_mode=WAL");
	if (r >= 0)
		r = exec_sql(s->db,
		             "CREATE TABLE IF NOT EXISTS rows(n INTEGER PRIMARY KEY, t INTEGER)");
	if (r < 0)
		return r;
	if (arg_event_log) {
		s->event_fd = open(arg_event_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (s->event_fd < 0)
			return log_error_errno(-errno, "cannot open %s: %m", arg_event_log);
	}
	/* blocked before the thread starts, which inherits the mask */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return log_error_errno(-errno, "sigprocmask: %m");
	s->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->signal_fd < 0)
		return log_error_errno(-errno, "signalfd: %m");
	s->load_state = arg_no_load ? LOAD_PAUSED : LOAD_RUN;
	r = -pthread_create(&s->load, NULL, load_main, s);
	if (r < 0)
		return log_error_errno(r, "cannot start the load: %m");
	s->load_started = true;
	return 0;
}

static int run(int argc, char *argv[])
{
	static const struct vss_writer_handlers handlers = {
		.freeze = on_freeze,
		.thaw = on_thaw,
		.post_snapshot = on_post_snapshot,
		.abort = on_abort,
	};
	static const struct vss_writer_restore_handlers restore_handlers = {
		.pre_restore = on_pre_restore,
		.post_restore = on_post_restore,
	};
	_cleanup_(sqlw_done) Sqlw s = { .event_fd = -EBADF,
		                        .signal_fd = -EBADF,
		                        .lock = PTHREAD_MUTEX_INITIALIZER,
		                        .cond = PTHREAD_COND_INITIALIZER };
	_cleanup_(writer_unrefp) struct vss_writer *w = NULL;
	int r;

	r = parse_argv(argc, argv);
	if (r <= 0)
		return r;
	r = sqlw_open(&s);
	if (r < 0)
		return r;
	r = vss_writer_new(arg_name, arg_class_id, &w);
	if (r < 0)
		return log_error_errno(r, "bad --name or --class-id: %m");
	(void)vss_writer_set_log_fn(w, on_log, NULL);
	r = vss_writer_set_handlers(w, &handlers, sizeof(handlers), &s);
	if (r >= 0)
		r = vss_writer_set_restore_handlers(w, &restore_handlers, sizeof(restore_handlers),
		                                    &s);
	if (r >= 0 && arg_instance_name)
		r = vss_writer_set_instance_name(w, arg_instance_name);
	if (r >= 0 && arg_bus)
		r = vss_writer_set_bus_address(w, arg_bus);
	if (r >= 0)
		r = vss_writer_add_component(w, COMPONENT, (const char *const[]){ s.path, NULL });
	if (r < 0)
		return log_error_errno(r, "cannot set up the writer: %m");
	r = vss_writer_start(w);
	if (r < 0)
		return log_error_errno(r, "cannot connect to %s: %m", arg_bus ?: "the system bus");
	log_info("writer %s started on %s", arg_name, s.path);
	event_log(&s, "started", arg_name, s.path);

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = vss_writer_get_fd(w), .events = POLLIN },
			{ .fd = s.signal_fd, .events = POLLIN },
		};
		uint64_t wait_usec;
		int ms;

		r = vss_writer_get_timeout_usec(w, &wait_usec);
		if (r < 0)
			return log_error_errno(r, "writer: %m");
		ms = wait_usec == UINT64_MAX ? 1000
		                             : (int)MIN((wait_usec + 999) / 1000, (uint64_t)1000);
		if (poll(p, 2, ms) < 0 && errno != EINTR)
			return log_error_errno(-errno, "poll: %m");
		if (p[1].revents & POLLIN) {
			log_info("signal, stopping");
			break;
		}
		r = vss_writer_dispatch(w);
		if (r < 0)
			return log_error_errno(r, "writer: %m");
		if (s.load_error < 0)
			return log_error_errno((int)s.load_error, "the load stopped: %m");
	}
	w = vss_writer_unref(w); /* thaws first if still frozen */
	return 0;
}

int main(int argc, char *argv[])
{
	return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
