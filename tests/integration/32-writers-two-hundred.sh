#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 32-writers-two-hundred.sh - 200 registered writers (more than dbus-daemon's 128 pending replies
# per connection) all get Freeze and Thaw in one set, and the set is created
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

N=${TEST_WRITERS:-200}
a=$(vol_create "$RUN-a" 64M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
bus_start
vssd_start
mkdir -p "$WORK/ma/w"
registered()
{
	cat "$WORK"/w*.log 2>/dev/null | grep -c registered || true
}
# Start them 25 at a time: dbus-daemon refuses more than 64 connections still authenticating,
# and 200 processes starting at once under TCG get there.
for i in $(seq 1 "$N"); do
	"$BUILD/vssd-example-writer" --name "w$i" --event-log "$WORK/w$i.events" \
		--interval-ms 60000 "$WORK/ma/w/$i-a" "$WORK/ma/w/$i-b" >>"$WORK/w$i.log" 2>&1 &
	WRITER_PIDS="$WRITER_PIDS $!"
	if [ $((i % 25)) -eq 0 ]; then
		for _ in $(seq 1 300); do
			[ "$(registered)" -ge "$i" ] && break
			sleep 0.1
		done
	fi
done
for _ in $(seq 1 300); do
	n=$(registered)
	[ "$n" -ge "$N" ] && break
	sleep 0.1
done
[ "$n" -ge "$N" ] || fail "only $n of $N writers registered: $(grep -L registered "$WORK"/w*.log | head -3 | xargs cat)"
n_vssd=$(busctl_vssd ListWriters b false | grep -o '"instance-id"' | wc -l)
assert_eq "$n_vssd" "$N" "writers vssd knows"
requester start -- add "$a" -- gather -- ok -- prepare -- ok -- do -- ok -- status -- ok \
	-- complete true -- ok -- release -- ok >"$WORK/flow" || { tail -c 2000 "$WORK/flow" >&2; fail "flow"; }
grep '"step": "do"' "$WORK/flow" >&2
sleep 1
missing=0
for i in $(seq 1 "$N"); do
	e=$(awk '{ printf "%s ", $2 }' "$WORK/w$i.events")
	case $e in
	*"freeze thaw post-snapshot backup-complete"*) ;;
	*) missing=$((missing + 1)); note "w$i: $e" ;;
	esac
done
[ "$missing" -eq 0 ] || fail "$missing writers missed events"
