#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 29-hold-watchdog.sh - never leave I/O held: with vssd's event loop stuck after the last suspend
# (test fault point hang-after-suspend), the hold watchdog thread resumes the origins and thaws
# the file systems at the hold deadline, while the loop still hangs; afterwards vssd rolls the
# set back and the requester gets HoldWritesTimeout. Also: a volume holding the state directory
# is refused at AddVolume, and vssd killed between the commit and the "created" record (a writer
# hanging in Thaw) rolls the set back at the next start.
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
b=$(vol_create "$RUN-b" 64M)
table_a=$(dm_table "$RUN-a")
table_b=$(dm_table "$RUN-b")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
vol_mkfs_mount "$b" ext4 "$WORK/mb"
echo before >"$WORK/ma/f" && echo before >"$WORK/mb/f" && sync
bus_start

# state of the origins: "a-suspended b-suspended" words, empty when neither is
held()
{
	dmsetup info -c --noheadings -o name,suspended --separator ' ' "$RUN-a" "$RUN-b" |
		awk '$2 == "Suspended" { printf "%s ", $1 }'
}

rolled_back() # WHAT
{
	[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "$1: left $(dm_with_uuid_prefix VSSD-)"
	[ -z "$(dm_suspended)" ] || fail "$1: left suspended: $(dm_suspended)"
	assert_eq "$(dm_table "$RUN-a")" "$table_a" "$1: a's table"
	assert_eq "$(dm_table "$RUN-b")" "$table_b" "$1: b's table"
	assert_eq "$(dm_tables "$RUN-a")" LIVE "$1: a's tables"
	[ -z "$(ls -A "$VSSD_STORAGE_DIR")" ] ||
		fail "$1: COW files left: $(ls -A "$VSSD_STORAGE_DIR")"
}

# ---- 1. the loop hangs 15 s after the last suspend; the hold limit is 2 s
vssd_config "[timeouts]
hold-ms = 2000"
VSSD_TEST_FAULT=hang-after-suspend=15000 vssd_start
vssd_log_has "TEST FAULT POINTS ON" || fail "vssd did not say loudly that fault points are on"
"$BUILD/vssctl" --json create shadow --volume "$a" --volume "$b" --context file-share-backup \
	>"$WORK/create.out" 2>&1 &
vc=$!
any_held() { [ -n "$(held)" ]; }
none_held() { [ -z "$(held)" ]; }
wait_for 600 any_held ||
	fail "the origins were never suspended: $(cat "$WORK/create.out")"
t_held=$(date +%s)
note "held: $(held)"
# resumed and thawed by the watchdog, while vssd's loop still sleeps in the fault point
wait_for 150 none_held ||
	fail "the origins stayed suspended: $(held)"
t_free=$(date +%s)
note "resumed after about $((t_free - t_held)) s"
[ $((t_free - t_held)) -le 12 ] || fail "resumed only after $((t_free - t_held)) s (hold limit 2 s)"
kill -0 "$vc" 2>/dev/null ||
	fail "the requester got its answer before the watchdog: $(cat "$WORK/create.out")"
vssd_log_has "going on" && fail "the loop was not stuck any more when the origins came back"
# the file systems take writes again (FIFREEZE'd ones would block here until the test timeout)
timeout 20 sh -c "echo during >'$WORK/ma/during' && echo during >'$WORK/mb/during' && sync" ||
	fail "a write to a mounted origin did not complete: still frozen?"
vssd_log_has "hold watchdog: the event loop did not end the hold within 2000 ms; resumed 2 \
suspended devices, thawed 2 file systems" ||
	fail "vssd's log does not say that the watchdog fired: $(grep -i watchdog "$WORK/vssd.log")"
# the loop comes back, sees the hold given up, rolls the set back and answers
rc=0
wait "$vc" || rc=$?
[ "$rc" -ne 0 ] || fail "the creation succeeded: $(cat "$WORK/create.out")"
grep -q "HOLD_WRITES_TIMEOUT\|HoldWritesTimeout" "$WORK/create.out" ||
	fail "want HoldWritesTimeout: $(cat "$WORK/create.out")"
vssd_log_has "test fault point hang-after-suspend: going on" || fail "the fault point never ran"
rolled_back "after the watchdog"
assert_eq "$(cat "$WORK/ma/f") $(cat "$WORK/ma/during")" "before during" "a's files"
kill -0 "$VSSD_PID" || fail "vssd died"
vssd_stop

# ---- 2. the state directory on a volume: AddVolume refuses that volume, names the directory
mkdir -p "$WORK/ma/state"
vssd_start --state-dir "$WORK/ma/state"
run_rc vssctl create shadow --volume "$a" --context file-share-backup
[ "$RC" -ne 0 ] || fail "a volume holding the state directory was snapshotted"
grep -q "VOLUME_NOT_SUPPORTED\|VolumeNotSupported" "$WORK/err" ||
	fail "want VolumeNotSupported: $(cat "$WORK/err")"
grep -q "state directory $WORK/ma/state" "$WORK/err" ||
	fail "the error does not name the state directory: $(cat "$WORK/err")"
rolled_back "state directory refused"
run_rc vssctl create shadow --volume "$b" --context file-share-backup
[ "$RC" -eq 0 ] || fail "b (no state on it) was refused: $(cat "$WORK/err")"
vssctl delete shadows --all >/dev/null 2>&1 || vssctl delete shadows --volume "$b" >/dev/null 2>&1
vssd_stop

# ---- 3. vssd killed after the commit, before the "created" record (a writer hangs in Thaw): the
#    intent record rolls the set back at the next start
vssd_start
writer_start hang "$WORK/ma/w-a" "$WORK/mb/w-b" --hang-in thaw
"$BUILD/vssctl" --json create shadow --volume "$a" --volume "$b" --context app-rollback \
	>"$WORK/half.out" 2>&1 &
vc=$!
wait_for 600 grep -q thaw "$WORK/hang.events" ||
	fail "the writer never got Thaw: $(cat "$WORK/half.out")"
[ -n "$(dm_with_uuid_prefix VSSD-S-)" ] || fail "no snapshot device after the commit"
jq -e '.sets[] | select(.state == "creating")' "$VSSD_STATE_DIR/state.json" >/dev/null ||
	fail "the state file does not record the set as creating: $(cat "$VSSD_STATE_DIR/state.json")"
vssd_kill
wait "$vc" 2>/dev/null || true
kill "$(writer_pid hang)"
wait "$(writer_pid hang)" 2>/dev/null || true
vssd_start
rolled_back "killed between the commit and the created record"
vssd_log_has "recovery: .*deleted (its creation never finished)" ||
	fail "recovery did not log the rollback"
echo after >"$WORK/ma/after" && sync
