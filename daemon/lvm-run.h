/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lvm-run.h - lvm2 commands as child processes from the event loop, with a deadline
 *
 * vssd speaks to LVM only through LVM's own tools (DESIGN.md §4b). A command is `<binary>
 * [--config <text>] <argv...>`, started with fork/exec (never a shell) in a clean environment,
 * its stdout and stderr read through pipes that are event sources, its end seen through a pidfd,
 * a timer killing it (SIGKILL) when it overruns its deadline. The loop never waits for it. The
 * runner is an interface: unit tests put a table of recorded outputs behind it (lvm_fake_*).
 */
#pragma once

#include <systemd/sd-event.h>

#include "common/macro.h"

#define LVM_OUTPUT_MAX                                                            \
	(8U << 20) /* bytes of stdout or stderr kept; past it the child is killed \
	            */

/* How a command ended. status: its exit status (0..255), or -1 when it did not exit by itself
 * (killed: timed_out says whether by the deadline), or when it could not start (error: errno). */
typedef struct LvmResult {
	int status;
	bool timed_out;
	int error; /* negative errno: could not start, or read its output */
	char *out; /* NUL-terminated, never NULL after a completion */
	size_t out_len;
	char *err;
	size_t err_len;
} LvmResult;

void lvm_result_done(LvmResult *r);
/* 0 when it exited 0; otherwise a negative errno for the failure (-ETIME, -EIO, error) */
int lvm_result_errno(const LvmResult *r);

typedef void (*LvmRunDone)(void *userdata, const LvmResult *res);

typedef struct LvmRunner LvmRunner;
struct LvmRunner {
	/* Starts argv (the lvm command and its arguments, without the binary); done is called once,
	 * later, from event's loop. 0 or a negative errno (done is not called then). */
	int (*start)(LvmRunner *r, sd_event *event, char *const *argv, usec_t timeout,
	             LvmRunDone done, void *userdata);
	/* Ends every command started with userdata that has not completed: its process group is
	 * killed and reaped, and its done is never called */
	void (*cancel)(LvmRunner *r, void *userdata);
	void (*free)(LvmRunner *r);
};

/* The real runner: binary (absolute), config: text for --config or NULL. */
int lvm_runner_new(const char *binary, const char *config, LvmRunner **ret);
LvmRunner *lvm_runner_free(LvmRunner *r);

/* Runs argv to its end on a private event loop of its own (the caller waits, at most timeout):
 * for callers that cannot take a completion yet. */
int lvm_run_sync(LvmRunner *r, char *const *argv, usec_t timeout, LvmResult *ret);

/* "lvs --reportformat json ..." joined with single spaces: how the fake runner matches */
char *lvm_argv_join(char *const *argv);

/* ---- the fake runner (unit tests) --------------------------------------------------------- */
typedef struct LvmFakeEntry {
	const char *argv; /* lvm_argv_join() of the expected command; NULL ends the table */
	int status;
	const char *out;
	const char *err;
} LvmFakeEntry;

/* Answers each command from table (the first unused entry whose argv matches, each entry used
 * once unless reuse); a command not in it fails with status 99 and "unexpected command" on
 * stderr. Every command is recorded, in order. */
int lvm_fake_new(const LvmFakeEntry *table, bool reuse, LvmRunner **ret);
/* The commands run so far, joined (borrowed, NULL-terminated) */
char *const *lvm_fake_log(LvmRunner *r);
/* hold: commands started from now on complete only after lvm_fake_release() (which lets every
 * held one complete on the next loop iterations and returns how many) */
void lvm_fake_hold(LvmRunner *r, bool hold);
size_t lvm_fake_release(LvmRunner *r);
size_t lvm_fake_pending(LvmRunner *r);   /* started, not completed nor cancelled */
size_t lvm_fake_cancelled(LvmRunner *r); /* commands ended by cancel */
