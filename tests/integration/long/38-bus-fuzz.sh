#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 38-bus-fuzz.sh - generated calls (tests/integration/bus-fuzz.py: wrong types, lengths, nesting,
# ids, paths, random order) against an ASan+UBSan build of vssd: no crash, no sanitizer report,
# vssd still answering, and its RSS and fd count at the end where they were after the warm-up
# (issue 15). make check-long only (for now): 10000 calls; TEST_FUZZ_CALLS
# and TEST_FUZZ_SEED change the count and the seed (printed, so that a failure can be replayed).
. "${0%/*}/../lib.sh"
. "${0%/*}/../lib-vssd.sh"
require_target snapshot

if [ "${TEST_LONG:-}" = 1 ]; then
	calls=${TEST_FUZZ_CALLS:-10000}
	seed=${TEST_FUZZ_SEED:-1510}
else
	calls=${TEST_FUZZ_CALLS:-2000}
	seed=${TEST_FUZZ_SEED:-1515}
fi

# The sanitized vssd: VSSD_BUILD itself when it is one (make asan), else VSSD_ASAN_BUILD, else
# $BUILD/asan (make check builds it there). None: a failure, not a skip.
sanitized() { ldd "$1/vssd" 2>/dev/null | grep -q libasan && ldd "$1/vssd" | grep -q libubsan; }
if sanitized "$BUILD"; then
	asan=$BUILD
elif [ -n "${VSSD_ASAN_BUILD:-}" ]; then
	asan=$VSSD_ASAN_BUILD
else
	asan=$BUILD/asan
fi
sanitized "$asan" || fail "no ASan+UBSan build of vssd in $asan (make asan-vssd builds one)"
note "vssd: $asan/vssd"
BUILD=$asan
# Reports go to the log (stderr); a small quarantine keeps RSS meaningful; LeakSanitizer runs
# when vssd exits.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:quarantine_size_mb=4:malloc_context_size=20"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

a=$(vol_create "$RUN-a" 16M)
b=$(vol_create "$RUN-b" 16M)
bus_start
# short writer deadlines: the fuzzer registers writers it never answers for
vssd_config "[timeouts]
writer-event-ms = 1000
writer-freeze-ms = 1000
set-idle-ms = 3000"
vssd_start

# sanitizer_reports: what ASan, UBSan or LSan said in vssd's log
sanitizer_reports()
{
	grep -E "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|SUMMARY: [A-Za-z]*Sanitizer" \
		"$WORK/vssd.log" || true
}
# answering: vssd answers the bus's ping and a method of its own
answering()
{
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call org.vssd.ShadowCopy1 /org/vssd/ShadowCopy1 \
		org.freedesktop.DBus.Peer Ping >/dev/null &&
		busctl_vssd ListProviders | grep -q dm-snapshot
}

t0=$(date +%s)
rc=0
VSSD_FUZZ_PID=$VSSD_PID VSSD_FUZZ_SUMMARY=$WORK/summary /usr/bin/python3 \
	"$SRC/tests/integration/bus-fuzz.py" "$SRC/dbus/org.vssd.ShadowCopy1.xml" "$calls" "$seed" \
	"$a" "$b" >&2 || rc=$?
note "$calls calls with seed $seed in $(($(date +%s) - t0)) s"
rep=$(sanitizer_reports)
[ -z "$rep" ] || fail "sanitizer reports in vssd's log: $rep"
kill -0 "$VSSD_PID" 2>/dev/null || fail "vssd died (seed $seed)"
[ "$rc" = 0 ] || fail "the fuzzer stopped: vssd did not answer (seed $seed)"
answering || fail "vssd does not answer after the fuzzing (seed $seed)"

summary=$(cat "$WORK/summary")
sent=$(printf '%s\n' "$summary" | jq .sent)
[ "$sent" -ge "$calls" ] || fail "only $sent calls were sent"
w_rss=$(printf '%s\n' "$summary" | jq .warm.rss_kib)
e_rss=$(printf '%s\n' "$summary" | jq .end.rss_kib)
w_fds=$(printf '%s\n' "$summary" | jq .warm.fds)
e_fds=$(printf '%s\n' "$summary" | jq .end.fds)
note "RSS $w_rss KiB after the warm-up, $e_rss KiB at the end; fds $w_fds, $e_fds"
# nothing left, and LeakSanitizer has nothing to say when vssd exits (first: it tells why RSS
# grew, if it did)
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "left behind: $(dm_with_uuid_prefix VSSD-)"
vssd_stop
rep=$(sanitizer_reports)
[ -z "$rep" ] || fail "sanitizer reports when vssd exited: $rep"
grep -q "vssd stopping" "$WORK/vssd.log" || fail "vssd did not stop cleanly"

# flat: fds exactly, RSS within 10 % + 8 MiB (the allocator's caches and ASan's quarantine)
[ "$e_fds" -le "$w_fds" ] || fail "vssd's fds grew from $w_fds to $e_fds: $(printf '%s\n' \
	"$summary" | jq -c '[.warm.fd_list, .end.fd_list]')"
[ "$e_rss" -le $((w_rss + w_rss / 10 + 8192)) ] ||
	fail "vssd's RSS grew from $w_rss KiB to $e_rss KiB"
