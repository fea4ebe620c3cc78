#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 23-vssctl-backup.sh - vssctl backup -- CMD: CMD gets the set and its devices and reads the old
# data from them; its exit status passes through and decides BackupComplete(success) at the
# writer; SIGTERM aborts the set, SIGKILL of vssctl leaves it to vssd's owner-left release;
# nothing is left behind in any case
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
b=$(vol_create "$RUN-b" 64M)
table_a=$(dm_table "$RUN-a")
table_b=$(dm_table "$RUN-b")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
vol_mkfs_mount "$b" ext4 "$WORK/mb"
bus_start
vssd_start
writer_start app "$WORK/ma/records" "$WORK/mb/records"

# What vssd tells the writers at BackupComplete, as seen on the bus (the example writer does not
# record the success flag)
bus_allow_monitoring
dbus-monitor --address "$DBUS_SYSTEM_BUS_ADDRESS" \
	"type='method_call',interface='org.vssd.ShadowCopy1.Writer',member='BackupComplete'" \
	>"$WORK/monitor" 2>&1 &
MONITOR=$!
test_teardown_more() { kill "$MONITOR" 2>/dev/null; }
wait_for 50 test -s "$WORK/monitor" || fail "dbus-monitor did not start"
grep -q "unable to enable new-style monitoring" "$WORK/monitor" && fail "no monitor: $(cat "$WORK/monitor")"

# bc_arg SET: the success argument of the BackupComplete calls vssd made for SET ("true"...)
bc_arg()
{
	awk -v s="\"$1\"" '/member=BackupComplete/ { n = 1; next }
		n == 1 { ok = ($2 == s); n = 2; next }
		n == 2 { if (ok) print $2; n = 0 }' "$WORK/monitor"
}

# wevents SET: the events the writer saw for SET, space-separated
wevents()
{
	awk -v s="$1" '$3 == s { printf "%s ", $2 }' "$WORK/app.events"
}

nothing_left()
{
	wait_for 50 no_vssd_devices || fail "$1: left $(dm_with_uuid_prefix VSSD-)"
	assert_eq "$(dm_table "$RUN-a")" "$table_a" "$1: a's own table"
	assert_eq "$(dm_table "$RUN-b")" "$table_b" "$1: b's own table"
	assert_eq "$(dm_tables "$RUN-a")/$(dm_tables "$RUN-b")" "LIVE/LIVE" "$1: the volumes' tables"
	[ -z "$(dm_suspended)" ] || fail "$1: left suspended: $(dm_suspended)"
	assert_eq "$(vssctl --json list shadows | jq length)" 0 "$1: shadow copies listed"
	[ -z "$(loops_under "$VSSD_STORAGE_DIR")" ] || fail "$1: left storage loops"
}

# The command: records its environment and what vssctl lists, overwrites the origins, then
# checksums the data on each snapshot device (mounted read-only here), exits with $2.
cat >"$WORK/cmd.sh" <<'EOF'
#!/bin/sh
set -eu
w=$1
printf '%s\n' "${VSSD_SET_ID-unset}" >"$w/cmd.set"
printf '%s\n' "${VSSD_SNAPSHOT_DEVICES-unset}" >"$w/cmd.devices"
printf '%s\n' "${VSSD_SNAPSHOT_IDS-unset}" >"$w/cmd.ids"
"$3/vssctl" --json list shadows --set "$VSSD_SET_ID" >"$w/cmd.list"
head -c 1M /dev/urandom >"$w/ma/data"
head -c 1M /dev/urandom >"$w/mb/data"
sync
: >"$w/cmd.sums"
mkdir -p "$w/cmdmnt"
for pair in $VSSD_SNAPSHOT_DEVICES; do
	mount -o ro,noload "${pair##*=}" "$w/cmdmnt"
	printf '%s %s\n' "${pair%=*}" "$(sha256sum <"$w/cmdmnt/data" | cut -d' ' -f1)" >>"$w/cmd.sums"
	umount "$w/cmdmnt"
done
exit "$2"
EOF
chmod +x "$WORK/cmd.sh"

# 1. a successful backup
head -c 1M /dev/urandom >"$WORK/ma/data"
head -c 1M /dev/urandom >"$WORK/mb/data"
sync
old_a=$(sha_of "$WORK/ma/data")
old_b=$(sha_of "$WORK/mb/data")
run_rc vssctl backup --volume "$a" --volume "$b" -- "$WORK/cmd.sh" "$WORK" 0 "$BUILD"
assert_eq "$RC" 0 "backup exit status ($(cat "$WORK/err"))"
sid=$(cat "$WORK/cmd.set")
printf '%s\n' "$sid" | grep -q '^[0-9a-f]\{8\}-[0-9a-f-]\{27\}$' || fail "VSSD_SET_ID: '$sid'"
assert_eq "$(cat "$WORK/cmd.devices")" \
	"$a=$(snap_dev "$sid" "$RUN-a") $b=$(snap_dev "$sid" "$RUN-b")" "VSSD_SNAPSHOT_DEVICES"
assert_eq "$(cat "$WORK/cmd.ids")" \
	"$(jq -r '.[] | select(.volume == "'"$a"'") | .id' "$WORK/cmd.list") $(jq -r '.[] | select(.volume == "'"$b"'") | .id' "$WORK/cmd.list")" \
	"VSSD_SNAPSHOT_IDS (volume order) against vssctl list shadows during CMD"
assert_eq "$(jq -r '.[0].context' "$WORK/cmd.list")" backup "the backup's context"
assert_eq "$(cat "$WORK/cmd.sums")" "$(printf '%s %s\n%s %s' "$a" "$old_a" "$b" "$old_b")" \
	"CMD read the data of the snapshot time from the snapshot devices"
[ "$(sha_of "$WORK/ma/data")" != "$old_a" ] || fail "CMD did not overwrite the origin"
nothing_left "successful backup"
wait_for 50 grep -q "backup-shutdown $sid" "$WORK/app.events" || fail "no BackupShutdown"
assert_eq "$(wevents "$sid")" \
	"prepare-backup prepare-snapshot freeze thaw post-snapshot backup-complete backup-shutdown " \
	"writer events of the successful backup"
vssd_log_has "set=$sid: backup complete (success)" || fail "vssd logged no successful completion"
wait_for 50 test -n "$(bc_arg "$sid")" || fail "no BackupComplete seen on the bus: $(cat "$WORK/monitor")"
assert_eq "$(bc_arg "$sid")" true "BackupComplete(success) to the writer after CMD exited 0"

# 2. CMD exits with 3: vssctl exits with 3, the writer gets BackupComplete(false)
run_rc vssctl backup --volume "$a" --volume "$b" -- "$WORK/cmd.sh" "$WORK" 3 "$BUILD"
assert_eq "$RC" 3 "backup exit status is CMD's"
sid2=$(cat "$WORK/cmd.set")
[ "$sid2" != "$sid" ] || fail "the same set id twice"
nothing_left "failed backup"
wait_for 50 grep -q "backup-shutdown $sid2" "$WORK/app.events" || fail "no BackupShutdown (2)"
assert_eq "$(wevents "$sid2")" \
	"prepare-backup prepare-snapshot freeze thaw post-snapshot backup-complete backup-shutdown " \
	"writer events of the failed backup"
vssd_log_has "set=$sid2: backup complete (failure)" || fail "vssd logged no failed completion"
wait_for 50 test -n "$(bc_arg "$sid2")" || fail "no BackupComplete seen on the bus (2)"
assert_eq "$(bc_arg "$sid2")" false "BackupComplete(success) to the writer after CMD exited 3"

# A CMD that runs until signalled; it tells its set and its pid
cat >"$WORK/long.sh" <<'EOF'
#!/bin/sh
printf '%s\n' "$VSSD_SET_ID" >"$1.set"
printf '%s\n' "$$" >"$1.pid.tmp" && mv "$1.pid.tmp" "$1.pid"
exec sleep 120
EOF
chmod +x "$WORK/long.sh"

# 3. SIGTERM to vssctl while CMD runs: passed on to CMD, the set is aborted and released
"$BUILD/vssctl" backup --volume "$a" --volume "$b" -- "$WORK/long.sh" "$WORK/t" \
	>"$WORK/t.out" 2>&1 &
vp=$!
wait_for 600 test -s "$WORK/t.pid" || fail "CMD did not start: $(cat "$WORK/t.out")"
sid3=$(cat "$WORK/t.set")
cp=$(cat "$WORK/t.pid")
[ "$(dm_with_uuid_prefix VSSD-S- | wc -l)" -eq 2 ] || fail "no snapshots while CMD runs"
kill -TERM "$vp"
rc=0
wait "$vp" || rc=$?
cat "$WORK/t.out" >&2
assert_eq "$rc" 143 "vssctl's status after SIGTERM"
kill -0 "$cp" 2>/dev/null && fail "CMD still runs after vssctl got SIGTERM"
nothing_left "SIGTERM"
vssd_log_has "set=$sid3: aborted" || fail "the set was not aborted"
vssd_log_has "set=$sid3: backup complete" && fail "an interrupted backup was completed"
wait_for 50 grep -q "backup-shutdown $sid3" "$WORK/app.events" || fail "no BackupShutdown (3)"
assert_eq "$(wevents "$sid3")" \
	"prepare-backup prepare-snapshot freeze thaw post-snapshot abort backup-shutdown " \
	"writer events of the interrupted backup"
assert_eq "$(bc_arg "$sid3")" "" "BackupComplete of the interrupted backup"

# 4. SIGKILL to vssctl while CMD runs: vssd releases the set when vssctl leaves the bus
"$BUILD/vssctl" backup --volume "$a" --volume "$b" -- "$WORK/long.sh" "$WORK/k" \
	>"$WORK/k.out" 2>&1 &
vp=$!
wait_for 600 test -s "$WORK/k.pid" || fail "CMD did not start (4): $(cat "$WORK/k.out")"
sid4=$(cat "$WORK/k.set")
cp=$(cat "$WORK/k.pid")
[ "$(dm_with_uuid_prefix VSSD-S- | wc -l)" -eq 2 ] || fail "no snapshots while CMD runs (4)"
kill -KILL "$vp"
wait "$vp" 2>/dev/null || true
nothing_left "SIGKILL of vssctl"
kill "$cp" 2>/dev/null || true # CMD is an orphan now
grep -q "set=$sid4: owner .* left the bus, releasing" "$WORK/vssd.log" ||
	fail "no owner-left release logged"
wait_for 50 grep -q "backup-shutdown $sid4" "$WORK/app.events" || fail "no BackupShutdown (4)"
assert_eq "$(wevents "$sid4")" \
	"prepare-backup prepare-snapshot freeze thaw post-snapshot backup-shutdown " \
	"writer events of the backup whose requester was killed"
assert_eq "$(bc_arg "$sid4")" "" "BackupComplete of the killed backup"
kill -0 "$VSSD_PID" || fail "vssd died"
