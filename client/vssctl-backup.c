/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vssctl-backup.c - vssctl backup: diskshadow's exec flow, a command run while shadow copies exist
 */
#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "client/vssctl-backup.h"
#include "client/vssctl-format.h"
#include "client/vssctl-verbs.h"
#include "common/log.h"
#include "common/vssd-bus-names.h"

#define DIR_NAME_MAX 64

typedef struct Backup {
	Vssctl *v;
	char *set_path;
	char set_id[VSSID_STRING_MAX];
	char **snapshots; /* object paths, in volume order */
	char **ids;
	char **devices;
	char *mount_base;  /* <dir>/vssd-backup-<set>, once created */
	char **mount_dirs; /* the directories made under it */
	char **mounts;     /* exposed mount points: mounts[i] is of snapshots[i] */
} Backup;

static void backup_done(Backup *b)
{
	free(b->set_path);
	strv_free(b->snapshots);
	strv_free(b->ids);
	strv_free(b->devices);
	free(b->mount_base);
	strv_free(b->mount_dirs);
	strv_free(b->mounts);
}

int vssctl_backup_pairs(char *const *keys, char *const *values, char **ret)
{
	_cleanup_free_ char *s = NULL;
	size_t size = 0;
	FILE *f;

	f = open_memstream(&s, &size);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; keys && keys[i] && (!values || values[i]); i++)
		fprintf(f, "%s%s%s%s", i ? " " : "", keys[i], values ? "=" : "",
		        values ? values[i] : "");
	if (fclose(f) != 0)
		return -ENOMEM;
	*ret = TAKE_PTR(s);
	return 0;
}

char *vssctl_backup_dir_name(const char *volume)
{
	const char *base = strrchr(volume, '/');
	size_t n;
	char *s;

	base = base ? base + 1 : volume;
	n = MIN(strlen(base), (size_t)DIR_NAME_MAX);
	if (n == 0 || streq(base, ".") || streq(base, ".."))
		return strdup("volume");
	s = strndup(base, n);
	for (char *p = s; p && *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			*p = '_';
	return s;
}

static int set_call(Backup *b, const char *member, bool long_call, DBusMessage **ret_reply)
{
	return vssctl_call_simple(b->v, b->set_path, VSSD_IFACE_SET, member,
	                          vssctl_timeout(b->v, long_call), ret_reply);
}

#define PREVIOUS_MAX (4u << 20) /* bytes: vssd's limit of a backup document */

/* --previous FILE: the whole file, checked to be text D-Bus can carry */
static int read_previous(const char *path, char **ret)
{
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return log_error_errno(-errno, "cannot read the previous document %s: %m", path);
	text = malloc(PREVIOUS_MAX + 1);
	if (text)
		size = fread(text, 1, PREVIOUS_MAX + 1, f);
	if (!text || ferror(f)) {
		int r = text ? -EIO : -ENOMEM;

		fclose(f);
		return log_error_errno(r, "cannot read the previous document %s: %m", path);
	}
	fclose(f);
	if (size > PREVIOUS_MAX)
		return log_error_errno(-EFBIG, "the previous document %s is larger than %u bytes",
		                       path, PREVIOUS_MAX);
	text[size] = 0;
	if (strlen(text) != size || !dbus_validate_utf8(text, NULL))
		return log_error_errno(-EINVAL, "the previous document %s is not UTF-8 text", path);
	*ret = TAKE_PTR(text);
	return 0;
}

static int backup_start(Backup *b)
{
	_cleanup_free_ char *previous = NULL;
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
	const VssctlArgs *a = b->v->args;
	DBusMessageIter it, d;
	const char *path;
	int r;

	if (a->previous && read_previous(a->previous, &previous) < 0)
		return -EINVAL;
	r = busutil_new_method_call(VSSD_BUS_NAME, VSSD_ROOT_PATH, VSSD_IFACE_MANAGER,
	                            "StartSnapshotSet", &m);
	if (r < 0)
		return log_oom();
	dbus_message_iter_init_append(m, &it);
	r = busmsg_dict_open(&it, &d);
	if (r < 0)
		return log_oom();
	r = busmsg_dict_append_string(&d, "context", a->context ? a->context : "backup");
	if (r >= 0)
		r = busmsg_dict_append_string(&d, "backup-type",
		                              a->backup_type ? a->backup_type : "full");
	if (r >= 0 && a->no_writers)
		r = busmsg_dict_append_bool(&d, "no-writers", true);
	if (r >= 0 && a->description)
		r = busmsg_dict_append_string(&d, "description", a->description);
	if (r >= 0 && previous)
		r = busmsg_dict_append_string(&d, "previous-document", previous);
	if (r < 0) {
		busmsg_dict_abandon(&it, &d);
		return log_error_errno(r, "cannot build the StartSnapshotSet call: %m");
	}
	if (busmsg_dict_close(&it, &d) < 0)
		return log_oom();

	r = vssctl_call(b->v, m, vssctl_timeout(b->v, false), &reply);
	if (r < 0)
		return r;
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_OBJECT_PATH, &path, DBUS_TYPE_INVALID))
		return log_error_errno(-EBADMSG, "unexpected reply to StartSnapshotSet");
	b->set_path = strdup(path);
	if (!b->set_path)
		return log_oom();
	if (vssctl_id_from_path(path, b->set_id) < 0)
		return log_error_errno(-EBADMSG, "unexpected set path %s", path);
	return 0;
}

static int backup_add_volumes(Backup *b)
{
	for (char **vol = b->v->args->volumes; vol && *vol; vol++) {
		_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
		const char *provider = "", *path;
		int r;

		r = busutil_new_method_call(VSSD_BUS_NAME, b->set_path, VSSD_IFACE_SET, "AddVolume",
		                            &m);
		if (r < 0)
			return log_oom();
		if (!dbus_message_append_args(m, DBUS_TYPE_STRING, vol, DBUS_TYPE_STRING, &provider,
		                              DBUS_TYPE_INVALID))
			return log_oom();
		r = vssctl_call(b->v, m, vssctl_timeout(b->v, false), &reply);
		if (r < 0)
			return r;
		if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_OBJECT_PATH, &path,
		                           DBUS_TYPE_INVALID))
			return log_error_errno(-EBADMSG, "unexpected reply to AddVolume");
		r = strv_extend(&b->snapshots, path);
		if (r < 0)
			return log_oom();
	}
	return 0;
}

/* Writers that failed are reported; the backup goes on, as diskshadow does without "writer
 * verify": DoSnapshotSet already failed if a writer vetoed the snapshot itself. */
static int backup_writer_status(Backup *b)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *reply = NULL;
	_cleanup_(busutil_value_freep) BusValue *args = NULL;
	const BusValue *list;
	int r;

	r = set_call(b, "GatherWriterStatus", true, &reply);
	if (r < 0)
		return r;
	if (!streq(strempty(dbus_message_get_signature(reply)), "aa{sv}") ||
	    busutil_message_read(reply, &args) < 0)
		return log_error_errno(-EBADMSG, "unexpected reply to GatherWriterStatus");
	list = &args->items[0];
	for (size_t i = 0; i < list->n; i++) {
		const BusValue *w = &list->items[i];
		const char *failure = busutil_dict_get_string(w, "failure-message");
		uint64_t state = 0;

		(void)busutil_dict_get_u64(w, "state", &state);
		if ((failure && failure[0]) || state >= 6) /* VSS_WS_FAILED_AT_IDENTIFY and on */
			log_warning("warning: writer '%s' is in state [%u] %s: %s",
			            strempty(busutil_dict_get_string(w, "name")), (unsigned)state,
			            strempty(busutil_dict_get_string(w, "state-name")),
			            failure && failure[0] ? failure : "no failure message");
	}
	return 0;
}

static int backup_describe(Backup *b)
{
	for (char **p = b->snapshots; p && *p; p++) {
		_cleanup_(busutil_value_freep) BusValue *props = NULL;
		const char *id, *device;
		int r;

		r = vssctl_get_all(b->v, *p, VSSD_IFACE_SNAP, &props);
		if (r < 0)
			return r;
		id = busutil_dict_get_string(props, "Id");
		device = busutil_dict_get_string(props, "Device");
		if (!id || !device)
			return log_error_errno(-EBADMSG, "snapshot %s has no Id or Device", *p);
		if (strv_extend(&b->ids, id) < 0 || strv_extend(&b->devices, device) < 0)
			return log_oom();
	}
	return 0;
}

/* With VSSD_BACKUP_DIR (root, tests, other layouts): directories of our own under
 * <dir>/vssd-backup-<set>/, which vssd accepts only where every component is root's and not
 * writable by others. Without it: vssd chooses each mount point itself (auto-mount-point,
 * /run/vssd/expose/<id>), which is what a vssadmin member who is not root can use. */
static int backup_mount_dirs(Backup *b, const char *dir)
{
	if (asprintf(&b->mount_base, "%s/vssd-backup-%s", dir, b->set_id) < 0) {
		b->mount_base = NULL;
		return log_oom();
	}
	if (mkdir(b->mount_base, 0700) < 0) {
		int r = log_error_errno(-errno, "cannot create %s: %m", b->mount_base);

		free(b->mount_base);
		b->mount_base = NULL; /* not ours to remove */
		return r;
	}
	return 0;
}

static int backup_mount(Backup *b)
{
	const char *dir = getenv("VSSD_BACKUP_DIR");
	char **vol = b->v->args->volumes;
	int r;

	if (dir && dir[0]) {
		r = backup_mount_dirs(b, dir);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; b->snapshots[i]; i++) {
		_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL, *reply = NULL;
		_cleanup_free_ char *name = vssctl_backup_dir_name(vol[i]), *tmpl = NULL;
		DBusMessageIter it, dict;
		const char *mp;

		if (b->mount_base) {
			if (!name || asprintf(&tmpl, "%s/%s-XXXXXX", b->mount_base, name) < 0)
				return log_oom();
			if (!mkdtemp(tmpl))
				return log_error_errno(-errno,
				                       "cannot create a directory in %s: %m",
				                       b->mount_base);
			if (strv_extend(&b->mount_dirs, tmpl) < 0)
				return log_oom();
		}

		r = busutil_new_method_call(VSSD_BUS_NAME, b->snapshots[i], VSSD_IFACE_SNAP,
		                            "Expose", &m);
		if (r < 0)
			return log_oom();
		dbus_message_iter_init_append(m, &it);
		r = busmsg_append_string(&it, tmpl ? tmpl : "");
		if (r >= 0 && tmpl)
			r = busmsg_append_empty_dict(&it);
		else if (r >= 0) {
			r = busmsg_dict_open(&it, &dict);
			if (r >= 0 &&
			    busmsg_dict_append_bool(&dict, "auto-mount-point", true) < 0) {
				busmsg_dict_abandon(&it, &dict);
				r = -ENOMEM;
			} else if (r >= 0)
				r = busmsg_dict_close(&it, &dict);
		}
		if (r < 0)
			return log_error_errno(r, "cannot build the Expose call: %m");
		r = vssctl_call(b->v, m, vssctl_timeout(b->v, false), &reply);
		if (r < 0)
			return r;
		if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &mp, DBUS_TYPE_INVALID))
			return log_error_errno(-EBADMSG, "unexpected reply to Expose");
		/* "" from Expose: the file system cannot be mounted beside its volume; the
		 * command gets the device instead, and a warning says why */
		if (!mp[0])
			log_warning("warning: %s: its shadow copy cannot be mounted beside the "
			            "volume; VSSD_SNAPSHOT_MOUNTS names the device %s",
			            vol[i], b->devices[i]);
		if (strv_extend(&b->mounts, mp[0] ? mp : b->devices[i]) < 0)
			return log_oom();
	}
	return 0;
}

/* Best effort: every exposed snapshot is unexposed, every directory we made removed. Returns
 * -EINTR when a signal cut it short. */
static int backup_unmount(Backup *b)
{
	size_t n = strv_length(b->mounts);
	int r = 0;

	for (size_t i = n; i > 0 && r != -EINTR; i--) {
		r = vssctl_call_simple(b->v, b->snapshots[i - 1], VSSD_IFACE_SNAP, "Unexpose",
		                       vssctl_timeout(b->v, false), NULL);
		if (r < 0 && r != -EINTR)
			log_warning("warning: %s stays mounted", b->mounts[i - 1]);
	}
	for (size_t i = strv_length(b->mount_dirs); i > 0; i--)
		if (rmdir(b->mount_dirs[i - 1]) < 0 && errno != ENOENT)
			log_warning_errno(-errno, "warning: cannot remove %s: %m",
			                  b->mount_dirs[i - 1]);
	if (b->mount_base && rmdir(b->mount_base) < 0 && errno != ENOENT)
		log_warning_errno(-errno, "warning: cannot remove %s: %m", b->mount_base);
	return r == -EINTR ? r : 0;
}

/* Reads every pending signal from sfd; returns the first one other than SIGCHLD, or 0. */
static int signals_drain(int sfd)
{
	struct signalfd_siginfo si;
	int first = 0;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo != SIGCHLD && !first)
			first = (int)si.ssi_signo;
	return first;
}

static int child_setenv(Backup *b)
{
	_cleanup_free_ char *ids = NULL, *devices = NULL, *mounts = NULL;
	char **vol = b->v->args->volumes;
	int r;

	r = vssctl_backup_pairs(b->ids, NULL, &ids);
	if (r >= 0)
		r = vssctl_backup_pairs(vol, b->devices, &devices);
	if (r >= 0 && b->mounts)
		r = vssctl_backup_pairs(vol, b->mounts, &mounts);
	if (r < 0)
		return r;
	if (setenv("VSSD_SET_ID", b->set_id, 1) < 0 || setenv("VSSD_SNAPSHOT_IDS", ids, 1) < 0 ||
	    setenv("VSSD_SNAPSHOT_DEVICES", devices, 1) < 0)
		return -errno;
	if ((mounts ? setenv("VSSD_SNAPSHOT_MOUNTS", mounts, 1)
	            : unsetenv("VSSD_SNAPSHOT_MOUNTS")) < 0)
		return -errno;
	return 0;
}

/* Runs CMD; signals in sfd's mask are passed on to it. *ret_signal: the first one passed on. */
static int backup_exec(Backup *b, const sigset_t *old_mask, int sfd, int *ret_status,
                       int *ret_signal)
{
	char **cmd = b->v->args->command;
	int status, r;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return log_error_errno(-errno, "cannot fork: %m");
	if (pid == 0) {
		sigset_t m = *old_mask;

		/* CMD must get what we pass on, whatever our caller blocked */
		(void)sigdelset(&m, SIGINT);
		(void)sigdelset(&m, SIGTERM);
		(void)sigdelset(&m, SIGHUP);
		(void)sigdelset(&m, SIGCHLD);
		(void)sigprocmask(SIG_SETMASK, &m, NULL);
		r = child_setenv(b);
		if (r < 0) {
			fprintf(stderr, "vssctl: cannot set the environment: %s\n", strerror(-r));
			_exit(127);
		}
		execvp(cmd[0], cmd);
		r = errno;
		fprintf(stderr, "vssctl: cannot run %s: %s\n", cmd[0], strerror(r));
		_exit(r == ENOENT ? 127 : 126);
	}

	for (;;) {
		struct pollfd p = { .fd = sfd, .events = POLLIN };
		struct signalfd_siginfo si;
		pid_t w;

		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			if (si.ssi_signo != SIGCHLD) {
				(void)kill(pid, (int)si.ssi_signo);
				if (!*ret_signal)
					*ret_signal = (int)si.ssi_signo;
			}
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return log_error_errno(-errno, "cannot wait for %s: %m", cmd[0]);
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return log_error_errno(-errno, "poll: %m");
	}
	if (WIFEXITED(status))
		*ret_status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		*ret_status = 128 + WTERMSIG(status);
	else
		*ret_status = 1;
	return 0;
}

static int backup_complete(Backup *b, bool success)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *m = NULL;
	dbus_bool_t s = success;
	int r;

	r = busutil_new_method_call(VSSD_BUS_NAME, b->set_path, VSSD_IFACE_SET, "BackupComplete",
	                            &m);
	if (r < 0 || !dbus_message_append_args(m, DBUS_TYPE_BOOLEAN, &s, DBUS_TYPE_INVALID))
		return log_oom();
	return vssctl_call(b->v, m, vssctl_timeout(b->v, true), NULL);
}

/* --document FILE: GetBackupDocument's answer, written whole to FILE (mode 0600) or not at all */
static int backup_save_document(Backup *b)
{
	_cleanup_(busutil_message_unrefp) DBusMessage *reply = NULL;
	_cleanup_free_ char *tmp = NULL;
	const char *path = b->v->args->document, *text;
	FILE *f;
	int r;

	r = set_call(b, "GetBackupDocument", false, &reply);
	if (r < 0)
		return r;
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID))
		return log_error_errno(-EBADMSG, "GetBackupDocument: unexpected reply");
	if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
		return log_oom();
	r = mkostemp(tmp, O_CLOEXEC);
	if (r < 0)
		return log_error_errno(-errno, "cannot write the backup document %s: %m", path);
	f = fdopen(r, "w");
	if (!f) {
		r = -errno;
		(void)unlink(tmp);
		return log_error_errno(r, "cannot write the backup document %s: %m", path);
	}
	r = fputs(text, f) < 0 || fputc('\n', f) < 0 ? -EIO : 0;
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		r = -errno;
	if (fclose(f) != 0 && r >= 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return log_error_errno(r, "cannot write the backup document %s: %m", path);
	}
	return 0;
}

int vssctl_backup(Vssctl *v)
{
	_cleanup_(backup_done) Backup b = { .v = v };
	_cleanup_close_ int sfd = -EBADF;
	sigset_t mask, old;
	int r, q = 0, doc = 0, status = 1, sig = 0;

	/* Signals arrive through a signalfd: they interrupt calls, and go on to CMD. The mask
	 * stays until exit, so that a signal during the clean-up cannot kill vssctl half-way. */
	(void)signal(SIGCHLD, SIG_DFL); /* an inherited SIG_IGN would reap CMD for us */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
		return log_error_errno(-errno, "cannot block signals: %m");
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return log_error_errno(-errno, "cannot create a signalfd: %m");
	v->interrupt_fd = sfd;

	r = backup_start(&b);
	if (r >= 0)
		r = backup_add_volumes(&b);
	if (r >= 0)
		r = set_call(&b, "GatherWriterMetadata", true, NULL);
	if (r >= 0)
		r = set_call(&b, "PrepareForBackup", true, NULL);
	if (r >= 0)
		r = set_call(&b, "DoSnapshotSet", true, NULL);
	if (r >= 0)
		r = backup_writer_status(&b);
	if (r >= 0)
		r = backup_describe(&b);
	if (r >= 0 && v->args->mount)
		r = backup_mount(&b);
	if (r >= 0)
		r = backup_exec(&b, &old, sfd, &status, &sig);

	/* Clean-up. A new signal stops it: vssd aborts and releases the set when we leave. */
	if (r == -EINTR)
		sig = signals_drain(sfd);
	else
		(void)signals_drain(sfd);
	if (sig)
		log_error("got %s, aborting the backup", strsignal(sig));
	q = backup_unmount(&b);
	if (q >= 0 && b.set_path) {
		if (r >= 0 && !sig) {
			q = backup_complete(&b, status == 0);
			if (q >= 0 && v->args->document)
				doc = backup_save_document(&b);
		} else
			q = set_call(&b, "Abort", false, NULL);
		if (q != -EINTR)
			q = set_call(&b, "Release", false, NULL);
	}
	if (q == -EINTR)
		log_error("interrupted again; vssd releases the set when vssctl exits");

	if (sig)
		return 128 + sig;
	if (r < 0)
		return r;
	if (q < 0 && status == 0)
		return q;
	if (doc < 0 && status == 0) /* a backup without its document is not complete */
		return doc;
	return status;
}
