#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 35-creation-slot.sh - nobody holds the one creation slot forever: root takes it over from a
# vssadmin member's set that waits for its owner, and an owner who leaves the slot untouched for
# set-idle-ms gets the set aborted (issue 15, defect 8)
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 16M)
user=vts$$
useradd -M -N -s /bin/sh "$user"
holder=
test_teardown_more()
{
	[ -z "$holder" ] || kill "$holder" 2>/dev/null
	userdel "$user" 2>/dev/null
}
bus_start
getent group vssadmin >/dev/null
usermod -a -G vssadmin "$user"
vssd_config "[timeouts]
set-idle-ms = 120000"
vssd_start
U=$(unpriv_dir)
cd "$WORK"

# wait_holding FILE: the background requester printed "holding"; prints its set's path
wait_holding()
{
	for _ in $(seq 1 100); do grep -q holding "$1" && break; sleep 0.1; done
	grep -q holding "$1" || fail "the holder did not start: $(cat "$1")"
	sed -n 's/.*"set": "\([^"]*\)".*/\1/p' "$1"
}
set_id()
{
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property org.vssd.ShadowCopy1 "$1" \
		org.vssd.ShadowCopy1.SnapshotSet Id | sed 's/^s "\(.*\)"$/\1/'
}
set_state()
{
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property org.vssd.ShadowCopy1 "$1" \
		org.vssd.ShadowCopy1.SnapshotSet State
}

# 1. a vssadmin member's set waits for its owner: a second member gets SnapshotSetInProgress,
# root takes the slot over, the member's set is aborted and its owner learns it
setpriv --reuid="$user" --regid=nogroup --init-groups /usr/bin/python3 "$U/requester.py" \
	start no-writers=true -- ok -- add "$a" -- ok -- hold >"$WORK/user" 2>&1 &
holder=$!
uset=$(wait_holding "$WORK/user")
assert_eq "$(set_state "$uset")" 's "started"' "the member's set"
setpriv --reuid="$user" --regid=nogroup --init-groups /usr/bin/python3 "$U/requester.py" \
	start -- expect SnapshotSetInProgress >"$WORK/user2" 2>&1 ||
	fail "a second member was not refused: $(cat "$WORK/user2")"
requester create "$a" no-writers=true -- ok -- release -- ok >"$WORK/root" 2>&1 ||
	fail "root could not take the slot over: $(cat "$WORK/root")"
vssd_log_has "set=$(set_id "$uset"): aborted, root (.*) takes over the creation slot from uid $(id -u "$user")" ||
	fail "the take-over is not logged"
assert_eq "$(set_state "$uset")" 's "aborted"' "the member's set after root took over"
kill "$holder"
wait "$holder" 2>/dev/null || true
holder=

# 2. root's own set is not taken over by another root client, nor by a member (still the
# 120 s limit, so that a slow machine cannot turn this into an idle abort)
/usr/bin/python3 "$REQUESTER" start no-writers=true -- ok -- add "$a" -- ok -- hold \
	>"$WORK/rootholder" 2>&1 &
holder=$!
rset=$(wait_holding "$WORK/rootholder")
requester start -- expect SnapshotSetInProgress >"$WORK/r2" 2>&1 ||
	fail "a second root set took the slot: $(cat "$WORK/r2")"
setpriv --reuid="$user" --regid=nogroup --init-groups /usr/bin/python3 "$U/requester.py" \
	start -- expect SnapshotSetInProgress >"$WORK/user3" 2>&1 ||
	fail "a member took root's slot: $(cat "$WORK/user3")"
assert_eq "$(set_state "$rset")" 's "started"' "root's set after the others tried"
kill "$holder"
wait "$holder" 2>/dev/null || true
holder=

# 3. left idle past set-idle-ms (3 s here), root's set is aborted and the slot is free again
vssd_stop
vssd_config "[timeouts]
set-idle-ms = 3000"
vssd_start
/usr/bin/python3 "$REQUESTER" start no-writers=true -- ok -- add "$a" -- ok -- hold \
	>"$WORK/rootholder" 2>&1 &
holder=$!
rset=$(wait_holding "$WORK/rootholder")
for _ in $(seq 1 150); do
	[ "$(set_state "$rset")" = 's "aborted"' ] && break
	sleep 0.2
done
assert_eq "$(set_state "$rset")" 's "aborted"' "root's idle set after set-idle-ms"
vssd_log_has "set=$(set_id "$rset"): aborted, its owner .* (uid 0) left it started for [0-9]* ms (set-idle-ms)" ||
	fail "the idle abort is not logged"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "leaked $(dm_with_uuid_prefix VSSD-)"
setpriv --reuid="$user" --regid=nogroup --init-groups /usr/bin/python3 "$U/requester.py" \
	create "$a" no-writers=true -- ok -- release -- ok >"$WORK/user4" 2>&1 ||
	fail "the slot is not free after the idle abort: $(cat "$WORK/user4")"
kill "$holder"
wait "$holder" 2>/dev/null || true
holder=
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "leaked $(dm_with_uuid_prefix VSSD-)"
kill -0 "$VSSD_PID" || fail "vssd died"
