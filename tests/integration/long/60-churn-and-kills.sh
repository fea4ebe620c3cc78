#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 60-churn-and-kills.sh - make check-long only (TEST_LONG=1): many sets of four volumes while
# applications keep writing, with vssd killed (SIGKILL) at a random moment of every third
# creation. After each round: nothing suspended, every file system writable within 5 s, no
# VSSD- device that vssd does not list, and each shadow copy that exists holds the file that
# was there before the set (checksum). At the end the volumes have their own tables back.
# Rounds: TEST_LONG_ROUNDS (default 24).
. "${0%/*}/../lib.sh"
. "${0%/*}/../lib-vssd.sh"
require_target snapshot

ROUNDS=${TEST_LONG_ROUNDS:-24}
VOLS=""
TABLES=""
for v in a b c d; do
	dev=$(vol_create "$RUN-$v" 64M)
	vol_mkfs_mount "$dev" ext4 "$WORK/m$v"
	# a file that never changes, to check each shadow copy against
	head -c 1048576 /dev/urandom >"$WORK/m$v/still"
	VOLS="$VOLS $dev"
	TABLES="$TABLES $(dm_table "$RUN-$v" | tr ' ' _)"
done
sync
STILL=$(sha_of "$WORK/ma/still")
bus_start
vssd_start

# writers: the example writer (records on a and b, frozen by Freeze) and plain shell loops that
# append to c and d (the parallel FIFREEZE stops them)
writer_start app "$WORK/ma/records" "$WORK/mb/records" --interval-ms 5 --freeze-timeout-ms 3000
for v in c d; do
	(while :; do date +%s%N >>"$WORK/m$v/log"; sleep 0.01; done) &
	WRITER_PIDS="$WRITER_PIDS $!"
done

# writable DIR: a write and fsync finish within 5 s (nothing is left frozen or suspended)
writable()
{
	timeout 5 sh -c "echo x >>'$1/probe' && sync -f '$1/probe'"
}

check_round()
{
	local v n
	[ -z "$(dm_suspended)" ] || fail "round $1: left suspended: $(dm_suspended)"
	for v in a b c d; do
		writable "$WORK/m$v" || fail "round $1: $WORK/m$v is not writable (frozen?)"
	done
	# every VSSD- snapshot device is one vssd lists
	n=$(vssctl --json list shadows | jq length)
	[ "$(dm_with_uuid_prefix VSSD-S- | wc -l)" -eq "$n" ] ||
		fail "round $1: $(dm_with_uuid_prefix VSSD-S- | wc -l) snapshot devices, vssd lists $n"
}

kills=0 made=0
r=1
while [ "$r" -le "$ROUNDS" ]; do
	if [ $((r % 3)) -eq 0 ]; then
		# kill vssd somewhere in a creation: 0 to 1.5 s after the request
		"$BUILD/vssctl" create shadow $(for v in $VOLS; do printf -- '--volume %s ' "$v"; done) \
			--context backup --no-auto-release >"$WORK/c.out" 2>&1 &
		c=$!
		sleep "$(awk -v s="$(od -An -N2 -tu2 /dev/urandom)" 'BEGIN { printf "%.2f", (s % 150) / 100 }')"
		vssd_kill
		wait "$c" 2>/dev/null || true
		kills=$((kills + 1))
		vssd_start
		# the writer library registers again by itself once vssd is back
		wait_for 200 sh -c "busctl --address='$DBUS_SYSTEM_BUS_ADDRESS' call org.vssd.ShadowCopy1 \
			/org/vssd/ShadowCopy1 org.vssd.ShadowCopy1.Manager ListWriters b false |
			grep -q app" || fail "round $r: the writer did not come back: $(tail -n 5 "$WORK/app.log")"
	else
		vssctl create shadow $(for v in $VOLS; do printf -- '--volume %s ' "$v"; done) \
			--context backup --no-auto-release >"$WORK/c.out" 2>&1 ||
			fail "round $r: creation failed: $(cat "$WORK/c.out")"
		made=$((made + 1))
	fi
	check_round "$r"
	# the newest shadow copy of volume a (if the round made one) holds the file as it was
	dev=$(vssctl --json list shadows --volume /dev/mapper/"$RUN-a" |
		jq -r 'sort_by(.creation_time) | last | .device // empty')
	if [ -n "$dev" ]; then
		assert_eq "$(snap_sha "$dev" still)" "$STILL" "round $r: the shadow copy's file"
	fi
	# keep at most two shadow copies per volume
	for v in a b c d; do
		while [ "$(vssctl --json list shadows --volume /dev/mapper/"$RUN-$v" | jq length)" -gt 2 ]; do
			vssctl delete shadows --volume /dev/mapper/"$RUN-$v" --oldest --quiet ||
				fail "round $r: cannot delete the oldest of $v"
		done
	done
	r=$((r + 1))
done
note "$ROUNDS rounds: $made sets made, vssd killed $kills times mid-creation"

# (a restart after a kill deletes the non-persistent shadow copies: some volumes have none)
for v in a b c d; do
	[ "$(vssctl --json list shadows --volume /dev/mapper/"$RUN-$v" | jq length)" -eq 0 ] ||
		vssctl delete shadows --volume /dev/mapper/"$RUN-$v" --all --quiet
done
wait_for 100 no_vssd_devices || fail "VSSD- devices left: $(dm_with_uuid_prefix VSSD-)"
i=0
for v in a b c d; do
	i=$((i + 1))
	want=$(echo "$TABLES" | awk -v i="$i" '{ print $i }' | tr _ ' ')
	assert_eq "$(dm_table "$RUN-$v")" "$want" "the table of $v at the end"
done
grep -q "frozen after record" "$WORK/app.log" || fail "the writer never froze"
exit 0
