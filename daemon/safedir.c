/* SPDX-License-Identifier: GPL-2.0-or-later */
/* safedir.c - directories root may use for others: walked once, no symlinks, owned, not shared
 *
 * vssadmin is not root (DESIGN.md §6): a path a caller names is walked from "/" one component at
 * a time, each opened relative to the one before with O_PATH|O_NOFOLLOW and checked on its fd, so
 * a symlink or a rename elsewhere cannot send root somewhere the caller could not go; and every
 * component must be owned by root and writable by nobody else, so nobody else can swap what is
 * below it afterwards. */
#include <fcntl.h>
#include <sys/stat.h>

#include "common/valid.h"
#include "common/vss-error.h"
#include "daemon/safedir.h"

static int set_bad(const char *path, size_t len, char **ret_bad)
{
	if (ret_bad) {
		free(*ret_bad);
		*ret_bad = strndup(path, len ? len : 1); /* "/" itself */
	}
	return 0;
}

/* Checks what fd (a component opened O_PATH|O_NOFOLLOW) is */
static int check_component(int fd, uid_t owner)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != owner)
		return -EPERM;
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return -EACCES;
	return 0;
}

/* Walks path[i..len) (components separated by '/') from fd, which is consumed */
static int walk_from(int fd_, const char *path, size_t i, size_t len, uid_t owner,
                     mode_t mkdir_mode, int *ret_fd, char **ret_bad)
{
	_cleanup_close_ int fd = fd_;
	int r;

	while (i < len) {
		_cleanup_free_ char *name = NULL;
		size_t n = strcspn(path + i, "/");
		int next;

		if (i + n > len)
			n = len - i;
		if (n == 0 || (n == 1 && path[i] == '.') ||
		    (n == 2 && path[i] == '.' && path[i + 1] == '.'))
			return -EINVAL;
		name = strndup(path + i, n);
		if (!name)
			return -ENOMEM;
		next = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && mkdir_mode) {
			if (mkdirat(fd, name, mkdir_mode) < 0 && errno != EEXIST) {
				r = -errno;
				set_bad(path, i + n, ret_bad);
				return r;
			}
			next = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			r = -errno;
			set_bad(path, i + n, ret_bad);
			return r;
		}
		closep(&fd);
		fd = next;
		r = check_component(fd, owner);
		if (r < 0) {
			set_bad(path, i + n, ret_bad);
			return r;
		}
		i += n + 1;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int walk(const char *path, size_t len, uid_t owner, mode_t mkdir_mode, int *ret_fd,
                char **ret_bad)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!path || !valid_abs_path(path) || len == 0)
		return -EINVAL;
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = check_component(fd, owner);
	if (r < 0) {
		set_bad(path, 1, ret_bad);
		return r;
	}
	return walk_from(TAKE_FD(fd), path, 1, len, owner, mkdir_mode, ret_fd, ret_bad);
}

int safedir_open_below(int dir_fd, const char *rel, uid_t owner, mode_t mkdir_mode, int *ret_fd,
                       char **ret_bad)
{
	int fd;

	if (!rel || !rel[0] || rel[0] == '/')
		return -EINVAL;
	fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	return walk_from(fd, rel, 0, strlen(rel), owner, mkdir_mode, ret_fd, ret_bad);
}

int safedir_open(const char *path, uid_t owner, int *ret_fd, char **ret_bad)
{
	return walk(path, path ? strlen(path) : 0, owner, 0, ret_fd, ret_bad);
}

int safedir_make(const char *path, uid_t owner, mode_t mode, int *ret_fd, char **ret_bad)
{
	return walk(path, path ? strlen(path) : 0, owner, mode ? mode : 0755, ret_fd, ret_bad);
}

int safedir_open_parent(const char *path, uid_t owner, int *ret_fd, const char **ret_name,
                        char **ret_bad)
{
	const char *slash;
	int r;

	if (!path || !valid_abs_path(path))
		return -EINVAL;
	slash = strrchr(path, '/');
	if (!slash[1] || streq(slash + 1, ".") || streq(slash + 1, ".."))
		return -EINVAL;
	r = walk(path, slash == path ? 1 : (size_t)(slash - path), owner, 0, ret_fd, ret_bad);
	if (r < 0)
		return r;
	*ret_name = slash + 1;
	return 0;
}

const char *safedir_strerror(int r)
{
	switch (r) {
	case -ELOOP:
		return "is a symbolic link";
	case -ENOTDIR:
		return "is not a directory";
	case -EPERM:
		return "is not owned by root";
	case -EACCES:
		return "is writable by users other than root";
	case -ENOENT:
		return "does not exist";
	case -EINVAL:
		return "is not a clean absolute path";
	default:
		return strerror(-r);
	}
}

int safedir_refusal(VssErr *err, const char *what, const char *path, const char *bad, int r)
{
	switch (r) {
	case -ENOENT:
		return vss_err_set(err, VSS_ERROR_OBJECT_NOT_FOUND, r,
		                   "%s %s does not exist (%s is missing); create it first", what,
		                   path, bad ? bad : path);
	case -EPERM:
	case -EACCES:
		return vss_err_set(err, VSS_ERROR_ACCESS_DENIED, r,
		                   "%s %s: %s %s; vssd uses only directories whose every "
		                   "component is owned by root and not writable by others",
		                   what, path, bad ? bad : path, safedir_strerror(r));
	case -ELOOP:
	case -ENOTDIR:
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, r,
		                   "%s %s: %s %s; give the real directory, without symbolic links",
		                   what, path, bad ? bad : path, safedir_strerror(r));
	default:
		return vss_err_set(err, VSS_ERROR_INVALID_ARGUMENT, r, "%s %s: %s", what, path,
		                   safedir_strerror(r));
	}
}
