#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# lib-fault-kill.sh - the kill-point suite, run by 60-fault-kill-create-a/b.sh,
# 61-fault-kill-others.sh (make check) and long/61-fault-kill-rounds.sh (make check-long):
# vssd killed by SIGKILL at each named step (VSSD_TEST_FAULT kill points,
# daemon/fault.h) of a set creation, a deletion, a revert and a storage growth, then started
# again: nothing suspended, no file system frozen (a write finishes), the writer thawed (it got
# Thaw or Abort, or thawed itself when vssd left the bus), the origins' data intact, the
# restarted vssd's shadow copies, the state file and the VSSD- dm devices agree, and no device,
# loop device or COW file is left that no listed shadow copy owns. What recovery must do:
#   creation points  the set is rolled back whole (its state file record says "creating")
#   deletion points  the deletion is finished: the shadow copy is gone, its sibling stays
#   revert points    merge table loaded, never live: the shadow copy is back, the volume as it
#                    was; mid-merge: the merge runs to its end, the volume is the shadow copy
#   growth points    the shadow copy stays, valid, with its content
# TEST_FAULT_ROUNDS (default 1; long/61-fault-kill-rounds.sh: 3) repeats every point, the
# creation points of the later rounds on one volume. Some points only (debugging):
# TEST_FAULT_CREATION_POINTS, TEST_FAULT_DELETE_POINTS, TEST_FAULT_GROW_POINTS (lists; empty:
# none), TEST_FAULT_NO_REVERT=1; TEST_FAULT_TRACE=1 notes where each point's time goes.
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot
require_target snapshot-merge
require_target delay
require_target flakey
require_target error

ROUNDS=${TEST_FAULT_ROUNDS:-1}
T0=$(date +%s)

# ---- volumes: a and b (ext4, mounted, a writer's records and a file that never changes), c on
# dm-delay for the reverts (as 41-revert.sh: its merge can be slowed down)
a=$(vol_create "$RUN-a" 64M)
b=$(vol_create "$RUN-b" 64M)
table_a=$(dm_table "$RUN-a")
table_b=$(dm_table "$RUN-b")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
vol_mkfs_mount "$b" ext4 "$WORK/mb"
head -c 1M /dev/urandom >"$WORK/ma/still"
head -c 1M /dev/urandom >"$WORK/mb/still"
truncate -s 64M "$WORK/c.img"
loop=$(losetup -f --show "$WORK/c.img")
sz=$(blockdev --getsz "$loop")
dmsetup create "$RUN-slow" --table "0 $sz delay $loop 0 0 $loop 0 0"
dmsetup create "$RUN-c" --table "0 $sz linear /dev/mapper/$RUN-slow 0"
c=/dev/mapper/$RUN-c
table_c=$(dm_table "$RUN-c")
vol_mkfs_mount "$c" ext4 "$WORK/mc"
head -c 2M /dev/urandom >"$WORK/mc/data"
sync
still_a=$(sha_of "$WORK/ma/still")
still_b=$(sha_of "$WORK/mb/still")
data_c=$(sha_of "$WORK/mc/data")
# COW files start at 8 MiB and grow in 8 MiB steps up to the whole volume
vssd_config "default-percent = 100"
bus_start
vssd_start
writer_start app "$WORK/ma/records" "$WORK/mb/records" --interval-ms 50
vssd_stop

# ---- helpers

# writable DIR: a write and its fsync finish within 10 s (nothing frozen or suspended under it)
writable()
{
	timeout 10 sh -c "echo x >>'$1/probe' && sync -f '$1/probe'"
}

writer_registered()
{
	busctl_vssd ListWriters b false 2>/dev/null | grep -q '"app"'
}

# start_faulty POINT: vssd with the kill point on, the writer registered again
start_faulty()
{
	VSSD_TEST_FAULT=$1 vssd_start
	wait_for 300 writer_registered || fail "$1: the writer did not register again"
}

# killed POINT: vssd dies at POINT by SIGKILL within 60 s
killed()
{
	local n=600 rc=0
	while [ "$n" -gt 0 ] && kill -0 "$VSSD_PID" 2>/dev/null; do
		sleep 0.1
		n=$((n - 1))
	done
	kill -0 "$VSSD_PID" 2>/dev/null &&
		fail "$1: vssd never reached the point: $(tail -n 5 "$WORK/vssd.log")"
	wait "$VSSD_PID" || rc=$?
	VSSD_PID=
	assert_eq "$rc" 137 "$1: vssd's exit status (SIGKILL)"
	[ "$(grep -c "test fault point $1: SIGKILL" "$WORK/vssd.log")" -gt "${2:-0}" ] ||
		fail "$1: vssd died elsewhere: $(tail -n 5 "$WORK/vssd.log")"
}

# kill_count POINT: how often vssd died at POINT so far
kill_count()
{
	grep -c "test fault point $1: SIGKILL" "$WORK/vssd.log" || true
}

listed()
{
	vssctl --json list shadows >"$WORK/ls.json" || fail "list shadows: $(cat "$WORK/ls.json")"
}

# writer_thawed POINT EVENTS-BEFORE: every Freeze the writer got since is followed by a Thaw or
# an Abort (vssd's, or the library's own when vssd left the bus)
writer_thawed()
{
	local last
	last=$(events app | tail -n "+$(($2 + 1))" | grep -E '^(freeze|thaw|abort)$' | tail -n 1)
	[ "$last" != freeze ]
}

# consistent POINT: the invariants after any kill and restart
consistent()
{
	local p=$1 name n m cows loops
	[ -z "$(dm_suspended)" ] || fail "$p: left suspended: $(dm_suspended)"
	for m in ma mb; do
		writable "$WORK/$m" || fail "$p: $WORK/$m takes no write: frozen?"
	done
	! mountpoint -q "$WORK/mc" || writable "$WORK/mc" || fail "$p: $WORK/mc takes no write"
	assert_eq "$(sha_of "$WORK/ma/still")" "$still_a" "$p: a's data"
	assert_eq "$(sha_of "$WORK/mb/still")" "$still_b" "$p: b's data"
	listed
	n=$(jq length "$WORK/ls.json")
	! jq -e 'any(.[]; .state != "created" and .state != "merging")' "$WORK/ls.json" \
		>/dev/null || fail "$p: a shadow copy in a bad state: $(cat "$WORK/ls.json")"
	# every live shadow copy vssd lists has its device; every VSSD-S- device is one listed
	for name in $(jq -r '.[] | select(.state == "created") | .device' "$WORK/ls.json"); do
		[ -b "$name" ] || fail "$p: listed $name does not exist"
	done
	for name in $(dm_with_uuid_prefix VSSD-S-); do
		jq -e --arg d "/dev/mapper/$name" 'any(.[]; .device == $d)' "$WORK/ls.json" \
			>/dev/null || fail "$p: $name exists, vssd does not list it"
	done
	# a -real only under a volume that has a listed shadow copy
	for name in $(dm_with_uuid_prefix VSSD-R-); do
		jq -e --arg v "/dev/mapper/${name%-vssd-real}" 'any(.[]; .volume == $v)' \
			"$WORK/ls.json" >/dev/null || fail "$p: $name left, no shadow copy of its volume"
	done
	# one COW file and one loop device per listed shadow copy
	cows=$(find "$VSSD_STORAGE_DIR" -type f | wc -l)
	loops=$(loops_under "$VSSD_STORAGE_DIR" | wc -l)
	assert_eq "$cows" "$n" "$p: COW files ($(ls "$VSSD_STORAGE_DIR")) vs listed shadow copies"
	assert_eq "$loops" "$n" "$p: loop devices of the storage vs listed shadow copies"
	# the state file knows exactly the listed ones
	assert_eq "$(jq -c '[.sets[].snapshots[].id] | sort' "$VSSD_STATE_DIR/state.json")" \
		"$(jq -c '[.[].id] | sort' "$WORK/ls.json")" "$p: state file vs listed shadow copies"
}

# clean POINT: no shadow copy left, every volume on its own table, nothing of vssd in dm
clean()
{
	listed
	assert_eq "$(jq length "$WORK/ls.json")" 0 "$1: shadow copies left: $(cat "$WORK/ls.json")"
	[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "$1: left $(dm_with_uuid_prefix VSSD-)"
	assert_eq "$(dm_table "$RUN-a")" "$table_a" "$1: a's table"
	assert_eq "$(dm_table "$RUN-b")" "$table_b" "$1: b's table"
	assert_eq "$(dm_tables "$RUN-a") $(dm_tables "$RUN-b")" "LIVE LIVE" "$1: staged tables"
}

# reset POINT: every shadow copy deleted, vssd stopped, nothing left
reset()
{
	vssctl delete shadows --all --quiet >/dev/null 2>&1 || true
	clean "$1 (reset)"
	vssd_stop
}

# shadow_of VOLUME: the id of the listed shadow copy of VOLUME
shadow_of()
{
	jq -r --arg v "$1" '.[] | select(.volume == $v) | .id' "$WORK/ls.json"
}

# snap_still SHADOW-ID DIR-SHA: its "still" file has the sha
snap_still()
{
	local dev
	dev=$(jq -r --arg i "$1" '.[] | select(.id == $i) | .device' "$WORK/ls.json")
	assert_eq "$(snap_sha "$dev" still)" "$2" "shadow copy $1's file"
}

VOLS="--volume $a --volume $b"
printf '%-36s %-5s %-4s %s\n' point round secs "after the restart" >"$WORK/table"
row()
{
	printf '%-36s %-5s %-4s %s\n' "$1" "$2" "$(($(date +%s) - t))" "$3" >>"$WORK/table"
	note "$(tail -n 1 "$WORK/table")"
}
# step WHAT: with TEST_FAULT_TRACE=1, the seconds since the point's start (where the time goes)
step()
{
	[ -z "${TEST_FAULT_TRACE:-}" ] || note "  $(($(date +%s) - t)) s: $1"
}

# ---- creation: vssd dies at each step of one set; the next start rolls the set back
creation_point()
{
	local p=$1 round=$2 ev k
	t=$(date +%s)
	k=$(kill_count "$p")
	start_faulty "$p"
	step started
	ev=$(events app | wc -l)
	"$BUILD/vssctl" --json create shadow $VOLS --context app-rollback >"$WORK/c.out" 2>&1 &
	vc=$!
	killed "$p" "$k"
	step killed
	wait "$vc" 2>/dev/null && fail "$p: the creation succeeded: $(cat "$WORK/c.out")"
	# the library thaws the writer the moment vssd leaves the bus, not at its freeze timeout
	wait_for 100 writer_thawed "$p" "$ev" || fail "$p: the writer stays frozen: $(events app)"
	step thawed
	vssd_start
	step restarted
	consistent "$p"
	step consistent
	clean "$p"
	row "$p" "$round" "rolled back; writer: $(events app | tail -n "+$((ev + 1))" |
		grep -E '^(freeze|thaw|abort|post-snapshot)$' | tr '\n' ' ')"
	vssd_stop
	step stopped
}

# ---- deletion: a set of a and b; a's shadow copy deleted; vssd dies on the way
delete_point()
{
	local p=$1 round=$2 sa sb k
	t=$(date +%s)
	k=$(kill_count "$p")
	start_faulty "$p"
	run_rc vssctl --json create shadow $VOLS --context app-rollback
	assert_eq "$RC" 0 "$p: create ($(cat "$WORK/err"))"
	listed
	sa=$(shadow_of "$a")
	sb=$(shadow_of "$b")
	"$BUILD/vssctl" delete shadows --shadow "$sa" --quiet >"$WORK/d.out" 2>&1 &
	vc=$!
	killed "$p" "$k"
	wait "$vc" 2>/dev/null || true
	# a's origin takes writes while vssd is away: a snapshot brought back from its COW now
	# would read them as its own
	echo "while away $round" >"$WORK/ma/away" && sync
	vssd_start
	consistent "$p"
	assert_eq "$(jq -r '[.[].id] | join(" ")' "$WORK/ls.json")" "$sb" \
		"$p: the shadow copies after the restart (deleted $sa, kept $sb)"
	snap_still "$sb" "$still_b"
	assert_eq "$(dm_table "$RUN-a")" "$table_a" "$p: a's own table back"
	row "$p" "$round" "deletion finished, sibling kept and intact"
	reset "$p"
}

# fill FILE MIB: MIB MiB of new data, 1 MiB and a sync at a time (the monitor grows between)
fill()
{
	local i=0
	while [ "$i" -lt "$2" ]; do
		kill -0 "$VSSD_PID" 2>/dev/null || break # nobody to grow the COW any more
		head -c 1M /dev/urandom >>"$1"
		sync
		i=$((i + 1))
	done
}

# ---- growth: one persistent shadow copy of a; 12 MiB written to a need a second COW step
grow_point()
{
	local p=$1 round=$2 sa k
	t=$(date +%s)
	k=$(kill_count "$p")
	start_faulty "$p"
	# COW files are made sparse at the volume's maximum, so only one made under a smaller
	# maximum grows: to a raised one, at once (ResizeStorage). That is where the point comes.
	run_rc vssctl resize storage --for "$a" --maxsize 16M
	assert_eq "$RC" 0 "$p: resize to 16M ($(cat "$WORK/err"))"
	run_rc vssctl --json create shadow --volume "$a" --context app-rollback --no-writers
	assert_eq "$RC" 0 "$p: create ($(cat "$WORK/err"))"
	sa=$(jq -r '.snapshots[0].id' "$WORK/out")
	fill "$WORK/ma/big" 4
	run_rc vssctl resize storage --for "$a" --maxsize 48M # vssd dies in it
	killed "$p" "$k"
	vssd_start
	consistent "$p"
	assert_eq "$(jq -r '[.[] | .id + " " + .state] | join(",")' "$WORK/ls.json")" \
		"$sa created" "$p: the shadow copy after the restart"
	snap_still "$sa" "$still_a"
	# it goes on: 10 MiB more (past the old 16 MiB store) and it is still valid
	fill "$WORK/ma/big2" 10
	sleep 1
	listed
	assert_eq "$(jq -r '.[0].state' "$WORK/ls.json")" created "$p: after more writes"
	row "$p" "$round" "kept, valid, $(jq -r '.[0].storage_size' "$WORK/ls.json") bytes COW"
	rm -f "$WORK/ma/big" "$WORK/ma/big2"
	vssctl delete storage --for "$a" --quiet >/dev/null 2>&1 || true
	reset "$p"
}

# ---- revert of c: its shadow copy, c unmounted and changed, the revert; vssd dies on the way
revert_points()
{
	local round=$1 sc dev want cur k p
	p=kill-revert-after-merge-loaded
	t=$(date +%s)
	k=$(kill_count "$p")
	start_faulty "$p"
	run_rc vssctl --json create shadow --volume "$c" --context app-rollback --no-writers
	assert_eq "$RC" 0 "$p: create ($(cat "$WORK/err"))"
	sc=$(jq -r '.snapshots[0].id' "$WORK/out")
	listed
	dev=$(jq -r '.[0].device' "$WORK/ls.json")
	want=$(sha_of "$dev")
	umount "$WORK/mc"
	scatter_c 200
	cur=$(sha_of "$c")
	"$BUILD/vssctl" revert "$sc" --quiet >"$WORK/r.out" 2>&1 &
	vc=$!
	killed "$p" "$k"
	wait "$vc" 2>/dev/null || true
	vssd_start
	consistent "$p"
	assert_eq "$(jq -r '[.[] | .id + " " + .state] | join(",")' "$WORK/ls.json")" \
		"$sc created" "$p: the shadow copy is back"
	assert_eq "$(sha_of "$c")" "$cur" "$p: c is as it was before the revert"
	assert_eq "$(sha_of "$dev")" "$want" "$p: the shadow copy's content"
	case $(dm_table "$RUN-c") in
	*" snapshot-origin "*) ;;
	*) fail "$p: c's table: $(dm_table "$RUN-c")" ;;
	esac
	assert_eq "$(dm_tables "$RUN-c")" LIVE "$p: c's staged merge table was dropped"
	row "$p" "$round" "shadow copy back, volume unchanged"
	vssd_stop

	p=kill-revert-mid-merge
	t=$(date +%s)
	k=$(kill_count "$p")
	start_faulty "$p"
	merge_speed 40
	run_rc vssctl revert "$sc" --quiet
	assert_eq "$RC" 0 "$p: revert ($(cat "$WORK/err"))"
	killed "$p" "$k"
	case $(dm_table "$RUN-c") in
	*" snapshot-merge "*) ;;
	*) fail "$p: no merge was running at the kill: $(dm_table "$RUN-c")" ;;
	esac
	merge_speed 0
	vssd_start
	consistent "$p"
	reverts_end || fail "$p: the merge did not end: $(vssctl query reverts)"
	consistent "$p (merge over)"
	assert_eq "$(jq length "$WORK/ls.json")" 0 "$p: the reverted shadow copy is gone"
	assert_eq "$(sha_of "$c")" "$want" "$p: c is the shadow copy"
	assert_eq "$(dm_table "$RUN-c")" "$table_c" "$p: c's own table"
	mount "$c" "$WORK/mc"
	assert_eq "$(sha_of "$WORK/mc/data")" "$data_c" "$p: c's file of the instant"
	row "$p" "$round" "merge finished, volume is the shadow copy"
	reset "$p"
}

# scatter_c N: N 4 KiB writes to the raw volume c, each in its own 16 KiB chunk
scatter_c()
{
	/usr/bin/python3 - "$c" "$1" <<'EOPY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
for i in range(int(sys.argv[2])):
    os.pwrite(fd, os.urandom(4096), (2048 + 3 * i) * 16384)
os.fsync(fd)
os.close(fd)
EOPY
}

CREATION_POINTS=${TEST_FAULT_CREATION_POINTS-"kill-after-prepare-snapshot kill-after-tables-loaded kill-after-writers-frozen
kill-after-fs-frozen kill-after-first-suspend kill-after-last-suspend kill-after-snapshots-resumed
kill-after-origins-resumed kill-after-commit kill-before-created-save"}

round=1
while [ "$round" -le "$ROUNDS" ]; do
	# later rounds: one volume (the commit's first suspend is its last)
	[ "$round" -eq 1 ] || VOLS="--volume $a"
	for p in $CREATION_POINTS; do
		creation_point "$p" "$round"
	done
	VOLS="--volume $a --volume $b"
	for p in ${TEST_FAULT_DELETE_POINTS-kill-delete-after-snapshot-removed kill-delete-before-state-save}; do
		delete_point "$p" "$round"
	done
	for p in ${TEST_FAULT_GROW_POINTS-kill-grow-before-loop-refresh kill-grow-before-state-save}; do
		grow_point "$p" "$round"
	done
	[ -n "${TEST_FAULT_NO_REVERT:-}" ] || revert_points "$round"
	round=$((round + 1))
done
note "kill points, $ROUNDS round(s), $(($(date +%s) - T0)) s:"
while IFS= read -r line; do note "$line"; done <"$WORK/table"
