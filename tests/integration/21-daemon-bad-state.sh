#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 21-daemon-bad-state.sh - calls out of VSS order get BadState; one creation at a time; only the
# owner drives a set; bad input gets its named error; nothing is left behind by any of it
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
b=$(vol_create "$RUN-b" 64M)
table_a=$(dm_table "$RUN-a")
bus_start
vssd_start

r() { requester "$@" >"$WORK/out" 2>&1 || { cat "$WORK/out" >&2; fail "$*"; }; }

# Out of order, each in a fresh session
r start -- do -- expect BadState -- prepare -- expect BadState -- complete true \
	-- expect BadState -- release -- ok
r start -- add "$a" -- complete true -- expect BadState -- components -- expect BadState \
	-- do -- expect BadState -- gather -- ok -- gather -- ok -- do -- expect BadState \
	-- prepare -- ok -- gather -- expect BadState -- components -- expect BadState \
	-- do -- ok -- add "$b" -- expect BadState -- prepare -- expect BadState \
	-- do -- expect BadState -- gather -- expect BadState -- complete true -- ok \
	-- complete true -- expect BadState -- abort -- expect BadState -- release -- ok
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "auto-release after Release: $(dm_with_uuid_prefix VSSD-)"
r start -- add "$a" -- gather -- prepare -- abort -- ok -- do -- expect BadState -- release -- ok
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "aborted set left devices"

# One set in creation at a time: a second requester gets SnapshotSetInProgress
/usr/bin/python3 "$REQUESTER" start -- ok -- hold >"$WORK/holder" 2>&1 &
holder=$!
for _ in $(seq 1 100); do grep -q holding "$WORK/holder" && break; sleep 0.1; done
grep -q holding "$WORK/holder" || fail "holder did not start: $(cat "$WORK/holder")"
first=$(sed -n 's/.*"set": "\([^"]*\)".*/\1/p' "$WORK/holder")
r start -- expect SnapshotSetInProgress
r create "$a" -- expect SnapshotSetInProgress
# someone else's set: AccessDenied, and the set is unharmed
r use "$first" -- add "$a" -- expect AccessDenied -- abort -- expect AccessDenied \
	-- release -- expect AccessDenied
kill -KILL $holder
wait $holder 2>/dev/null || true
for _ in $(seq 1 50); do
	requester start -- ok -- release -- ok >/dev/null 2>&1 && break
	sleep 0.1
done
r start -- ok -- release -- ok

# Bad input: each a named error, nothing created
r start -- add /dev/mapper/nonexistent -- expect ObjectNotFound -- add relative/path \
	-- expect InvalidArgument -- add /etc/passwd -- expect VolumeNotSupported \
	-- add "$a" bogus-provider -- expect ObjectNotFound -- add "$a" -- ok -- add "$a" \
	-- expect ObjectAlreadyExists -- release
r start context=nonsense -- expect InvalidArgument -- start unknown-key=1 \
	-- expect InvalidArgument -- start no-writers=notabool -- expect InvalidArgument \
	-- start backup-type=weird -- expect InvalidArgument \
	-- start exclude-writer-classes=not-a-uuid, -- expect InvalidArgument
r create "" -- expect InvalidArgument
r delete set=not-a-uuid -- expect InvalidArgument -- delete snapshot=6f1c2d3e-0000-4000-8000-000000000001 \
	-- expect ObjectNotFound -- delete set=6f1c2d3e-0000-4000-8000-000000000001 \
	-- expect ObjectNotFound -- delete all=true oldest=true -- expect InvalidArgument \
	-- delete -- expect InvalidArgument
vols=
for i in $(seq 1 65); do vols="$vols$a,"; done
vols=${vols%,}
r create "$vols" -- expect MaximumNumberOfVolumesReached
r create "$a,$a" -- expect ObjectAlreadyExists
# the daemon is fine and nothing leaked
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "leaked $(dm_with_uuid_prefix VSSD-)"
[ -z "$(loops_under "$VSSD_STORAGE_DIR")" ] || fail "leaked loops"
assert_eq "$(dm_table "$RUN-a")" "$table_a" "a's table"
r create "$a,$b" no-writers=true -- ok -- release -- ok
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "create+release leaked $(dm_with_uuid_prefix VSSD-)"
kill -0 "$VSSD_PID" || fail "vssd died"
