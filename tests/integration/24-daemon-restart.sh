#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 24-daemon-restart.sh - vssd restarted (SIGTERM, SIGKILL) keeps its persistent shadow copies with
# their ids and data and deletes the non-persistent ones; a corrupt or invalid state file is
# quarantined and the persistent copies are rebuilt from the VSSD- devices; vssd killed between
# prepare and commit leaves nothing staged, suspended or half-made after the next start
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
b=$(vol_create "$RUN-b" 64M)
c=$(vol_create "$RUN-c" 64M)
table_a=$(dm_table "$RUN-a")
table_b=$(dm_table "$RUN-b")
table_c=$(dm_table "$RUN-c")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
vol_mkfs_mount "$b" ext4 "$WORK/mb"
vol_mkfs_mount "$c" ext4 "$WORK/mc"
head -c 1M /dev/urandom >"$WORK/ma/data"
head -c 1M /dev/urandom >"$WORK/mb/data"
sync
old_a=$(sha_of "$WORK/ma/data")
old_b=$(sha_of "$WORK/mb/data")
bus_start
vssd_config "default-percent = 100" # room for several shadow copies of a 64M volume
vssd_start
STATE="$VSSD_STATE_DIR/state.json"

create() # create ARGS...: vssctl create shadow, prints the set id
{
	vssctl --json create shadow "$@" >"$WORK/create.json" ||
		fail "create shadow $*: $(cat "$WORK/create.json")"
	jq -r .set_id "$WORK/create.json"
}

# The persistent sets: P1 (app-rollback) on a, P2 (client-accessible-writers, the default) on a and b
p1=$(create --volume "$a" --context app-rollback)
p2=$(create --volume "$a" --volume "$b")
vssctl --json list shadows >"$WORK/before.json"
assert_eq "$(jq length "$WORK/before.json")" 3 "persistent shadow copies before the restarts"
# what must come back: "set id volume device context", sorted
keep()
{
	jq -r '.[] | [.set_id, .id, .volume, .device, .context] | join(" ")' "$1" | sort
}
keep "$WORK/before.json" >"$WORK/keep"
head -c 1M /dev/urandom >"$WORK/ma/data"
head -c 1M /dev/urandom >"$WORK/mb/data"
sync

# persistent_back WHAT [nocontext]: exactly the persistent copies are listed, with their ids,
# volumes and devices (and contexts), and they hold the data of their creation
persistent_back()
{
	vssctl --json list shadows >"$WORK/after.json" || fail "$1: list shadows"
	if [ "${2:-}" = nocontext ]; then
		assert_eq "$(keep "$WORK/after.json" | cut -d' ' -f1-4)" "$(cut -d' ' -f1-4 "$WORK/keep")" \
			"$1: the persistent shadow copies"
	else
		assert_eq "$(keep "$WORK/after.json")" "$(cat "$WORK/keep")" "$1: the persistent shadow copies"
	fi
	assert_eq "$(jq -r '[.[] | .state] | unique | join(" ")' "$WORK/after.json")" created "$1: states"
	assert_eq "$(snap_sha "$(snap_dev "$p1" "$RUN-a")" data)" "$old_a" "$1: P1's data on a"
	assert_eq "$(snap_sha "$(snap_dev "$p2" "$RUN-a")" data)" "$old_a" "$1: P2's data on a"
	assert_eq "$(snap_sha "$(snap_dev "$p2" "$RUN-b")" data)" "$old_b" "$1: P2's data on b"
	[ -z "$(dm_suspended)" ] || fail "$1: left suspended: $(dm_suspended)"
}

# gone WHAT SET...: the sets have no device left and are not listed
gone()
{
	local what=$1 s
	shift
	for s in "$@"; do
		[ -z "$(dm_with_name_prefix "vssd-${s%%-*}-")" ] ||
			fail "$what: set $s still has $(dm_with_name_prefix "vssd-${s%%-*}-")"
		jq -e --arg s "$s" 'any(.[]; .set_id == $s)' "$WORK/after.json" >/dev/null &&
			fail "$what: set $s is still listed"
	done
	return 0
}

# 1. SIGTERM and start: a non-persistent set kept by --no-auto-release is deleted at start-up
n1=$(create --volume "$b" --context backup --no-auto-release)
[ -b "$(snap_dev "$n1" "$RUN-b")" ] || fail "N1 has no device"
vssd_stop
vssd_start
persistent_back "SIGTERM + start"
gone "SIGTERM + start" "$n1"
vssd_log_has "recovery: set=$n1 snap=.*: deleted (not persistent" || fail "recovery did not log N1"
vssd_log_has "ready: 2 sets restored" || fail "vssd did not log the 2 restored sets"

# 2. SIGKILL and start: the same, also for a backup set whose requester is still connected
n2=$(create --volume "$a" --volume "$b" --context backup --no-auto-release)
/usr/bin/python3 "$REQUESTER" create "$b" context=backup -- ok -- hold >"$WORK/holder" 2>&1 &
holder=$!
wait_for 600 grep -q holding "$WORK/holder" || fail "holder: $(cat "$WORK/holder")"
n3=$(sed -n 's|.*"set": "/org/vssd/ShadowCopy1/set/\(.\{8\}\).*|\1|p' "$WORK/holder")
[ -n "$(dm_with_name_prefix "vssd-$n3-")" ] || fail "the held set has no device"
[ "$(dm_with_uuid_prefix VSSD-S- | wc -l)" -eq 6 ] || fail "want 6 snapshots before SIGKILL"
vssd_kill
kill "$holder"
wait "$holder" 2>/dev/null || true
: >"$WORK/vssd.log"
vssd_start
persistent_back "SIGKILL + start"
gone "SIGKILL + start" "$n2" "$n3"
[ "$(dm_with_uuid_prefix VSSD-S- | wc -l)" -eq 3 ] || fail "SIGKILL + start: $(dm_with_uuid_prefix VSSD-S-)"
vssd_log_has "recovery: set=$n2 snap=.*: deleted (not persistent" || fail "recovery did not log N2"
vssd_log_has "recovery: set=$n3.* snap=.*: deleted (not persistent" || fail "recovery did not log N3"

# 3. vssd killed between the provider's prepare and the commit (a writer hangs in Freeze): the
#    next start drops the staged table of c, removes the half-made set, resumes everything
head -c 1M /dev/urandom >"$WORK/mc/data"
writer_start hang "$WORK/mc/hang-a" "$WORK/mc/hang-b" --hang-in freeze
: >"$WORK/vssd.log"
"$BUILD/vssctl" --json create shadow --volume "$c" --volume "$a" --context app-rollback \
	>"$WORK/half.out" 2>&1 & # client-accessible has no writers (as in VSS)
vc=$!
wait_for 600 grep -q freeze "$WORK/hang.events" || fail "the writer never got Freeze"
h=$(sed -n 's/^<5>set=\([0-9a-f-]*\): started by .*/\1/p' "$WORK/vssd.log" | tail -n 1)
[ -n "$h" ] || fail "no set start logged"
# the state the test is about: c's snapshot-origin table staged, the set's devices loaded
assert_eq "$(dm_tables "$RUN-c")" "LIVE & INACTIVE" "c's tables between prepare and commit"
[ -n "$(dm_with_name_prefix "$RUN-c-vssd-real")" ] || fail "no $RUN-c-vssd-real before the kill"
[ -n "$(dm_with_name_prefix "vssd-${h%%-*}-")" ] || fail "no device of the half-made set"
note "before the kill: $(dmsetup info -c --noheadings -o name,suspended,attr | tr '\n' ';')"
vssd_kill
rc=0
wait "$vc" || rc=$?
assert_eq "$rc" 1 "vssctl's status when vssd dies under it ($(cat "$WORK/half.out"))"
kill "$(writer_pid hang)"
wait "$(writer_pid hang)" 2>/dev/null || true
vssd_start
note "after the start: $(dmsetup info -c --noheadings -o name,suspended,attr | tr '\n' ';')"
[ -z "$(dm_suspended)" ] || fail "left suspended: $(dm_suspended)"
assert_eq "$(dm_tables "$RUN-c")" LIVE "c's tables after the start"
assert_eq "$(dm_tables "$RUN-a")" LIVE "a's tables after the start"
assert_eq "$(dm_table "$RUN-c")" "$table_c" "c's own table"
[ -z "$(dm_with_name_prefix "$RUN-c-vssd-real")" ] || fail "$RUN-c-vssd-real is left"
[ -z "$(dm_with_name_prefix "vssd-${h%%-*}-")" ] ||
	fail "the half-made set left $(dm_with_name_prefix "vssd-${h%%-*}-")"
vssd_log_has "recovery: vol=$RUN-c: dropped a table staged" || fail "no staged table drop logged"
note "recovery said: $(grep recovery "$WORK/vssd.log" | tr '\n' ';')"
vssd_log_has "recovery: .*${h%%-*}.*deleted\|recovery: deleted vssd-${h%%-*}-" ||
	fail "the removal of the half-made set was not logged"
persistent_back "killed mid-creation"
gone "killed mid-creation" "$h"
echo still-writable >"$WORK/mc/after" && sync
echo still-writable >"$WORK/ma/after" && sync

# 4. a state file that is not JSON: quarantined, persistent copies rebuilt from the devices,
#    the non-persistent one (no state entry now) deleted as an orphan
n4=$(create --volume "$b" --context backup --no-auto-release)
vssd_stop
printf 'this is not json {{{\n' >"$STATE"
: >"$WORK/vssd.log"
vssd_start
set -- "$STATE".corrupt-*
[ -f "$1" ] || fail "no quarantined state file: $(ls "$VSSD_STATE_DIR")"
assert_eq "$(cat "$1")" "this is not json {{{" "the quarantined file keeps the garbage"
q1=$1
vssd_log_has "state file $STATE is corrupt" || fail "the corruption was not logged"
persistent_back "corrupt state file" nocontext
note "contexts after the rebuild: $(jq -r '[.[] | .context] | unique | join(" ")' "$WORK/after.json")"
gone "corrupt state file" "$n4"
vssd_log_has "recovery: rebuilt set=$p2 snap=" || fail "the rebuild was not logged"
vssd_log_has "recovery: deleted vssd-${n4%%-*}-$RUN-b, which no state entry knows" ||
	fail "the orphan's deletion was not logged"
jq -e . "$STATE" >/dev/null || fail "the new state file is not JSON"
# the rebuilt state survives another restart as it is
vssd_stop
vssd_start
persistent_back "restart after the rebuild" nocontext
[ "$(find "$VSSD_STATE_DIR" -name 'state.json.corrupt-*' | wc -l)" -eq 1 ] ||
	fail "a valid state file was quarantined"

# 5. valid JSON with an invalid field: the same
n5=$(create --volume "$a" --context backup --no-auto-release)
vssd_stop
jq '.sets[0].snapshots[0].chunk_sectors = "lots"' "$STATE" >"$WORK/bad.json"
cp "$WORK/bad.json" "$STATE"
: >"$WORK/vssd.log"
vssd_start
q2=$(find "$VSSD_STATE_DIR" -name 'state.json.corrupt-*' ! -path "$q1")
[ -n "$q2" ] && [ -f "$q2" ] || fail "no second quarantined file: $(ls "$VSSD_STATE_DIR")"
cmp -s "$q2" "$WORK/bad.json" || fail "the quarantined file is not the bad one"
vssd_log_has "state file $STATE is corrupt" || fail "the bad field was not logged"
grep "is corrupt" "$WORK/vssd.log" | grep -q chunk_sectors || fail "the log does not name the field"
persistent_back "invalid field" nocontext
gone "invalid field" "$n5"

# everything deleted: the volumes get their own tables back
vssctl delete shadows --all --quiet >/dev/null
no_vssd_devices || fail "delete --all left $(dm_with_uuid_prefix VSSD-)"
assert_eq "$(dm_table "$RUN-a")" "$table_a" "a's own table at the end"
assert_eq "$(dm_table "$RUN-b")" "$table_b" "b's own table at the end"
