/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fault.c - named test-only fault points, enabled by VSSD_TEST_FAULT when vssd starts */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/valid.h"
#include "daemon/fault.h"

/* Every point vssd knows; a name not here is refused, so that a test never passes because its
 * fault was misspelt and silently never happened. */
static const char *const fault_names[] = {
	"hang-after-suspend",
	"kill-after-prepare-snapshot",
	"kill-after-tables-loaded",
	"kill-after-writers-frozen",
	"kill-after-fs-frozen",
	"kill-after-first-suspend",
	"kill-after-last-suspend",
	"kill-after-snapshots-resumed",
	"kill-after-origins-resumed",
	"kill-after-commit",
	"kill-before-created-save",
	"kill-lvm-after-first-lvcreate",
	"kill-delete-after-snapshot-removed",
	"kill-delete-before-state-save",
	"kill-revert-after-merge-loaded",
	"kill-revert-mid-merge",
	"kill-grow-before-loop-refresh",
	"kill-grow-before-state-save",
};

typedef struct FaultPoint {
	const char *name; /* from fault_names */
	unsigned arg;
} FaultPoint;

struct FaultPoints {
	FaultPoint points[ELEMENTSOF(fault_names)];
	size_t n;
};

static const char *known_name(const char *s, size_t len)
{
	for (size_t i = 0; i < ELEMENTSOF(fault_names); i++)
		if (strlen(fault_names[i]) == len && strncmp(fault_names[i], s, len) == 0)
			return fault_names[i];
	return NULL;
}

int fault_points_parse(const char *spec, FaultPoints **ret, char **ret_bad)
{
	_cleanup_free_ char *copy = NULL;
	FaultPoints *f;
	char *save = NULL;

	*ret = NULL;
	if (!spec || !spec[0])
		return 0;
	copy = strdup(spec);
	f = calloc(1, sizeof(*f));
	if (!copy || !f) {
		free(f);
		return -ENOMEM;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *name = known_name(tok, eq ? (size_t)(eq - tok) : strlen(tok));
		uint64_t arg = 0;

		if (!name || (eq && (parse_u64(eq + 1, &arg) < 0 || arg > UINT32_MAX)) ||
		    f->n >= ELEMENTSOF(f->points)) {
			if (ret_bad)
				*ret_bad = (char *)spec + (tok - copy);
			free(f);
			return -EINVAL;
		}
		f->points[f->n++] = (FaultPoint){ .name = name, .arg = (unsigned)arg };
	}
	*ret = f;
	return 0;
}

FaultPoints *fault_points_free(FaultPoints *f)
{
	free(f);
	return NULL;
}

bool fault_point(const FaultPoints *f, const char *name, unsigned *ret_arg)
{
	if (!f)
		return false;
	for (size_t i = 0; i < f->n; i++)
		if (streq(f->points[i].name, name)) {
			if (ret_arg)
				*ret_arg = f->points[i].arg;
			return true;
		}
	return false;
}

bool fault_point_hang(const FaultPoints *f, const char *name, unsigned default_ms)
{
	struct timespec ts;
	unsigned ms;

	if (!fault_point(f, name, &ms))
		return false;
	if (ms == 0)
		ms = default_ms;
	log_warning("test fault point %s: hanging this thread for %u ms", name, ms);
	ts = (struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	log_warning("test fault point %s: going on", name);
	return true;
}

void fault_point_kill(const FaultPoints *f, const char *name)
{
	char line[160];
	int n;

	if (!fault_point(f, name, NULL))
		return;
	/* not through log.c: it may be buffering (I/O held), and the buffer dies with us */
	n = snprintf(line, sizeof(line), "vssd: test fault point %s: SIGKILL\n", name);
	if (n > 0)
		(void)!write(STDERR_FILENO, line, MIN((size_t)n, sizeof(line) - 1));
	(void)raise(SIGKILL);
}
