/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-crew.c - the hold window's worker threads: every job once per round, all at once */
#include <stdatomic.h>

#include "daemon/crew.h"
#include "tests/lib/check-main.h"

typedef struct Round {
	size_t n;
	atomic_uint ran[64];
	atomic_uint inside; /* jobs running now */
	atomic_uint most;   /* the most that ran at once */
	int value[64];      /* written by job i only, read after crew_run() */
} Round;

static void job(void *userdata, size_t i)
{
	Round *r = userdata;
	unsigned now = atomic_fetch_add(&r->inside, 1) + 1, most = atomic_load(&r->most);

	while (now > most && !atomic_compare_exchange_weak(&r->most, &most, now))
		;
	/* wait a little for the others, so that "at once" shows */
	for (int k = 0; k < 200 && atomic_load(&r->inside) < r->n; k++)
		usleep(100);
	atomic_fetch_add(&r->ran[i], 1);
	r->value[i] = (int)i * 3;
	atomic_fetch_sub(&r->inside, 1);
}

START_TEST(every_job_once_per_round_at_once)
{
	size_t sizes[] = { 1, 2, 4, 16, 64 };

	for (size_t k = 0; k < ELEMENTSOF(sizes); k++) {
		_cleanup_(crew_freep) Crew *c = NULL;
		Round r = { .n = sizes[k] };

		ck_assert_int_eq(crew_new(sizes[k], &c), 0);
		for (int round = 1; round <= 3; round++) {
			crew_run(c, job, &r);
			for (size_t i = 0; i < sizes[k]; i++) {
				ck_assert_uint_eq(atomic_load(&r.ran[i]), (unsigned)round);
				ck_assert_int_eq(r.value[i], (int)i * 3);
			}
			for (size_t i = sizes[k]; i < 64; i++)
				ck_assert_uint_eq(atomic_load(&r.ran[i]), 0);
		}
		ck_assert_uint_eq(atomic_load(&r.inside), 0);
		/* all of them ran at once at least in one round (they wait up to 20 ms) */
		ck_assert_uint_eq(atomic_load(&r.most), sizes[k]);
	}
}
END_TEST

START_TEST(zero_is_refused_and_free_of_an_idle_crew_joins)
{
	Crew *c = NULL;

	ck_assert_int_eq(crew_new(0, &c), -EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(crew_new(8, &c), 0);
	ck_assert_ptr_null(crew_free(c));
}
END_TEST

/* clang-format off */
TEST_SUITE_MAIN("crew",
	TEST(every_job_once_per_round_at_once)
	TEST(zero_is_refused_and_free_of_an_idle_crew_joins))
/* clang-format on */
