/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* macro.h - cleanup attributes, ownership transfer, small helpers shared by every component */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef uint64_t usec_t;

#define USEC_PER_SEC  ((usec_t)1000000ULL)
#define USEC_PER_MSEC ((usec_t)1000ULL)
#define NSEC_PER_USEC ((uint64_t)1000ULL)
#define USEC_INFINITY ((usec_t)UINT64_MAX)

/* clang-format off */
#define _cleanup_(f)            __attribute__((cleanup(f)))
#define _cleanup_free_          _cleanup_(freep)
#define _cleanup_close_         _cleanup_(closep)
#define _cleanup_fclose_        _cleanup_(fclosep)
#define _cleanup_strv_free_     _cleanup_(strv_freep)
#define _unused_                __attribute__((unused))
#define _printf_(a, b)          __attribute__((format(printf, a, b)))
#define _noreturn_              __attribute__((noreturn))
#define _fallthrough_           __attribute__((fallthrough))
#define TAKE_PTR(p)             ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd)             ({ int _fd = (fd); (fd) = -EBADF; _fd; })
#define DEFINE_POINTER_CLEANUP(name, type, destroy) \
	static inline void name(type *p) { if (*p) destroy(*p); }
#define ELEMENTSOF(x)           (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b)               ((a) < (b) ? (a) : (b))
#define MAX(a, b)               ((a) > (b) ? (a) : (b))
#define STRINGIFY_(x)           #x
#define STRINGIFY(x)            STRINGIFY_(x)
/* clang-format on */

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -EBADF;
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return streq(a, b);
}

static inline const char *startswith(const char *s, const char *prefix)
{
	size_t l = strlen(prefix);

	return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

static inline const char *strempty(const char *s)
{
	return s ? s : "";
}

static inline usec_t now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / NSEC_PER_USEC;
}

/* NULL-terminated string vectors */
char **strv_free(char **l);
static inline void strv_freep(char ***l)
{
	strv_free(*l);
}
size_t strv_length(char *const *l);
int strv_push(char ***l, char *value);         /* takes value (freed on failure) */
int strv_extend(char ***l, const char *value); /* copies value */
bool strv_contains(char *const *l, const char *value);
