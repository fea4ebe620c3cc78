/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench-probe.c - the I/O stall an application sees: one O_DIRECT 4 KiB write per interval to
 * each file, from one thread per file, until SIGTERM; prints the longest write of each */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "common/log.h"
#include "common/valid.h"

#define BLOCK          4096
#define NSEC_PER_SEC_L 1000000000L

typedef struct Probe {
	const char *path;
	int fd;
	void *buf;
	usec_t interval;
	atomic_bool *stop;
	pthread_t thread;
	bool started;
	uint64_t writes;
	usec_t max_usec;
	usec_t max_at; /* CLOCK_MONOTONIC start of the longest write */
	int error;
} Probe;

static void usage(void)
{
	printf("usage: bench-probe [--interval-us N] FILE...\n"
	       "Writes 4 KiB with O_DIRECT at offset 0 of each FILE (created, one thread each)\n"
	       "every N us (default 1000). Prints \"ready\" once every file has been written,\n"
	       "then on SIGTERM or SIGINT one line per file and a total:\n"
	       "  probe FILE writes W max_us M at_us T\n"
	       "  max_us M\n");
}

static void *probe_run(void *p)
{
	Probe *pr = p;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!atomic_load(pr->stop)) {
		usec_t t0 = now_usec(CLOCK_MONOTONIC), d;

		if (pwrite(pr->fd, pr->buf, BLOCK, 0) != BLOCK) {
			pr->error = errno ? -errno : -EIO;
			break;
		}
		d = now_usec(CLOCK_MONOTONIC) - t0;
		pr->writes++;
		if (d > pr->max_usec) {
			pr->max_usec = d;
			pr->max_at = t0;
		}
		next.tv_nsec += (long)(pr->interval * NSEC_PER_USEC);
		while (next.tv_nsec >= NSEC_PER_SEC_L) {
			next.tv_nsec -= NSEC_PER_SEC_L;
			next.tv_sec++;
		}
		/* after a stall, start the schedule again rather than write in a burst */
		if (now_usec(CLOCK_MONOTONIC) >
		    (usec_t)next.tv_sec * USEC_PER_SEC + (usec_t)next.tv_nsec / NSEC_PER_USEC)
			clock_gettime(CLOCK_MONOTONIC, &next);
		else
			(void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	return NULL;
}

static int probe_open(Probe *pr)
{
	pr->fd = open(pr->path, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
	if (pr->fd < 0)
		return -errno;
	if (posix_memalign(&pr->buf, BLOCK, BLOCK) != 0)
		return -ENOMEM;
	memset(pr->buf, 0x5a, BLOCK);
	/* allocate the block now: the probe then only overwrites */
	if (pwrite(pr->fd, pr->buf, BLOCK, 0) != BLOCK || fsync(pr->fd) < 0)
		return errno ? -errno : -EIO;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval-us", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	atomic_bool stop = false;
	usec_t interval = 1000, max = 0;
	_cleanup_free_ Probe *probes = NULL;
	size_t n;
	sigset_t ss;
	int o, sig, r = 0;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
		switch (o) {
		case 'i':
			if (parse_u64(optarg, &interval) < 0 || interval == 0 ||
			    interval > USEC_PER_SEC) {
				fprintf(stderr, "bench-probe: bad interval: %s\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage();
			return 0;
		default:
			return 2;
		}
	if (optind >= argc) {
		usage();
		return 2;
	}
	n = (size_t)(argc - optind);
	probes = calloc(n, sizeof(Probe));
	if (!probes)
		return 1;

	/* the threads inherit the mask: only sigwait() below sees the signals */
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	pthread_sigmask(SIG_BLOCK, &ss, NULL);

	for (size_t i = 0; i < n; i++) {
		Probe *pr = &probes[i];

		*pr = (Probe){ .path = argv[optind + (int)i],
			       .fd = -EBADF,
			       .interval = interval,
			       .stop = &stop };
		r = probe_open(pr);
		if (r < 0) {
			fprintf(stderr, "bench-probe: %s: %s\n", pr->path, strerror(-r));
			break;
		}
	}
	for (size_t i = 0; r >= 0 && i < n; i++) {
		r = -pthread_create(&probes[i].thread, NULL, probe_run, &probes[i]);
		if (r < 0)
			fprintf(stderr, "bench-probe: cannot start a thread: %s\n", strerror(-r));
		else
			probes[i].started = true;
	}
	if (r >= 0) {
		printf("ready\n");
		fflush(stdout);
		(void)sigwait(&ss, &sig);
	}
	atomic_store(&stop, true);
	for (size_t i = 0; i < n; i++) {
		Probe *pr = &probes[i];

		if (pr->started)
			pthread_join(pr->thread, NULL);
		if (pr->started) {
			printf("probe %s writes %" PRIu64 " max_us %" PRIu64 " at_us %" PRIu64 "\n",
			       pr->path, pr->writes, pr->max_usec, pr->max_at);
			max = MAX(max, pr->max_usec);
		}
		if (pr->error < 0) {
			fprintf(stderr, "bench-probe: %s: %s\n", pr->path, strerror(-pr->error));
			r = pr->error;
		}
		closep(&pr->fd);
		free(pr->buf);
	}
	printf("max_us %" PRIu64 "\n", max);
	return r < 0 ? 1 : 0;
}
