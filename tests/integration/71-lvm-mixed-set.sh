#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-timeout: 1200
# 71-lvm-mixed-set.sh - one set over three providers (DESIGN.md §4b, issue 14): a VG on a loop
# device with a thick LV and a thin LV in a thin pool, plus a plain dm-linear volume, ext4 on
# each, mounted. The set is created with the empty provider string: each volume picks its
# provider (lvm, lvm-thin, dm-snapshot), checked in ListShadows. The snapshots hold the files of
# their instant and not later ones. A writing loop appends counter k to volume k mod 3 while the
# set is created: on a kernel where LVM's suspend nests in FIFREEZE (6.6+, e.g. 6.12) the three
# snapshots are one cut (every counter below the largest seen is where it belongs) and the set's
# Instant is "one"; before (6.1) Instant is "per-volume" and the log says which provider and why.
# Delete leaves no tagged LV and no snapshot dm device.
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot
require_target thin-pool

command -v lvm >/dev/null || fail "lvm2 is not installed (make deps)"
VG=vmix$$
truncate -s 1G "$WORK/pv.img"
PV=$(losetup -f --show "$WORK/pv.img")
LVMC="activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 filter=[\"a|^$PV\$|\",\"r|.*|\"]}"
lv()
{
	local cmd=$1
	shift
	lvm "$cmd" --config "$LVMC" "$@"
}
LOOP_PID=
test_teardown_more()
{
	[ -z "$LOOP_PID" ] || kill "$LOOP_PID" 2>/dev/null || true
	awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while IFS= read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
	lv vgremove -q -ff "$VG" >/dev/null 2>&1
	losetup -d "$PV" 2>/dev/null
}

lv pvcreate -q "$PV" >/dev/null
lv vgcreate -q "$VG" "$PV" >/dev/null
lv lvcreate -q -n thick -L 64m "$VG" >/dev/null
lv lvcreate -q -T -L 256m "$VG/pool" >/dev/null 2>&1
lv lvcreate -q -n thin -V 128m --thinpool "$VG/pool" >/dev/null 2>&1
THICK=/dev/mapper/$VG-thick
THIN=/dev/mapper/$VG-thin
LIN=$(vol_create "$RUN-lin" 64M)
DEVS=("$THICK" "$THIN" "$LIN")
MNTS=("$WORK/m0" "$WORK/m1" "$WORK/m2")
for i in 0 1 2; do
	vol_mkfs_mount "${DEVS[$i]}" ext4 "${MNTS[$i]}"
	head -c 1M /dev/urandom >"${MNTS[$i]}/before"
	: >"${MNTS[$i]}/counter"
done
sync
SHA=()
for i in 0 1 2; do SHA[i]=$(sha_of "${MNTS[$i]}/before"); done

bus_start
vssd_config "[lvm]
config = $LVMC"
vssd_start
KREL=$(uname -r)
note "kernel $KREL"
case $KREL in
6.1.*) ONE_INSTANT=false ;;
*) ONE_INSTANT=true ;; # 6.12 (the guests run 6.1 or 6.12)
esac

# the writing loop: line k to volume k mod 3, one append (one write) each
(
	k=0
	while :; do
		echo "$k" >>"${MNTS[$((k % 3))]}/counter"
		k=$((k + 1))
	done
) &
LOOP_PID=$!
wait_for 300 sh -c "[ \$(wc -l <'${MNTS[2]}/counter') -ge 30 ]" ||
	fail "the writing loop did not start"

run_rc vssctl --json create shadow --volume "$THICK" --volume "$THIN" --volume "$LIN" \
	--context app-rollback --no-writers
assert_eq "$RC" 0 "create the mixed set ($(cat "$WORK/err"))"
cp "$WORK/out" "$WORK/create.json"
sleep 1
kill "$LOOP_PID"
wait "$LOOP_PID" 2>/dev/null || true
LOOP_PID=
for i in 0 1 2; do echo after >"${MNTS[$i]}/after"; done
sync

sid=$(jq -r .set_id "$WORK/create.json")
note "set $sid: $(jq -c '[.snapshots[] | .volume + "=" + .device]' "$WORK/create.json")"
vssctl --json list shadows >"$WORK/list.json"
SNAP=()
for i in 0 1 2; do
	SNAP[i]=$(jq -r --arg v "${DEVS[$i]}" '.snapshots[] | select(.volume == $v) | .device' \
		"$WORK/create.json")
	[ -n "${SNAP[$i]}" ] && [ -b "${SNAP[$i]}" ] || fail "no snapshot device of ${DEVS[$i]}"
done
prov()
{
	jq -r --arg s "$sid" --arg v "$1" \
		'.[] | select(.set_id == $s and (.volume == $v or .original_device == $v)) | .provider' \
		"$WORK/list.json"
}
assert_eq "$(prov "$THICK")" lvm "the thick LV's provider"
assert_eq "$(prov "$THIN")" lvm-thin "the thin LV's provider"
assert_eq "$(prov "$LIN")" dm-snapshot "the dm-linear volume's provider"

# Instant, on the set object
instant=$(vssd_prop SnapshotSet Instant "/org/vssd/ShadowCopy1/set/$(printf %s "$sid" | tr -d -)" |
	jq -r .data)
if $ONE_INSTANT; then
	assert_eq "$instant" one "the set's Instant on $KREL"
	! vssd_log_has "cannot commit while the set's file systems are frozen" ||
		fail "the log says per-volume on $KREL"
else
	assert_eq "$instant" per-volume "the set's Instant on $KREL"
	vssd_log_has "provider lvm cannot commit while the set's file systems are frozen" ||
		fail "the log does not say why the thick LV is per-volume"
	vssd_log_has "provider lvm-thin cannot commit while the set's file systems are frozen" ||
		fail "the log does not say why the thin LV is per-volume"
fi
# the writing loop's text is not vssctl's: "per-volume" shows in vssctl's set listing
if ! $ONE_INSTANT; then
	vssctl list shadows | grep -q 'Instant: per-volume' || fail "vssctl does not show per-volume"
fi

# data: before there, after not; the counters
mkdir -p "$WORK/chk0" "$WORK/chk1" "$WORK/chk2"
for i in 0 1 2; do
	mount -o ro,noload "${SNAP[$i]}" "$WORK/chk$i"
	assert_eq "$(sha_of "$WORK/chk$i/before")" "${SHA[$i]}" "${DEVS[$i]}: the file of its instant"
	[ ! -e "$WORK/chk$i/after" ] || fail "${DEVS[$i]}: a file written after its instant"
	cp "$WORK/chk$i/counter" "$WORK/counter$i"
	umount "$WORK/chk$i"
done
# every line a number k with k mod 3 == the volume, ascending from the volume's first by 3
for i in 0 1 2; do
	awk -v v="$i" '!/^[0-9]+$/ { print "volume " v " line " NR ": not a counter: " $0; exit 1 }
		$1 % 3 != v || $1 != v + 3 * (NR - 1) { print "volume " v " line " NR ": " $1; exit 1 }' \
		"$WORK/counter$i" || fail "volume $i's counters in its snapshot are not a sequence"
done
max=-1
for i in 0 1 2; do
	last=$(tail -n1 "$WORK/counter$i")
	[ -z "$last" ] || [ "$last" -le "$max" ] || max=$last
	note "snapshot $i: $(wc -l <"$WORK/counter$i") counters, last ${last:-none}"
done
missing=
for i in 0 1 2; do
	last=$(tail -n1 "$WORK/counter$i")
	# the volume's largest counter below max must be there (the file is a sequence from i)
	[ $((max - 1)) -ge "$i" ] || continue
	want=$(((max - 1 - i) / 3 * 3 + i))
	[ "${last:--1}" -ge "$want" ] ||
		missing="$missing volume $i ends at ${last:-none}, counter $want (< $max) missing;"
done
if $ONE_INSTANT; then
	[ -z "$missing" ] || fail "not one cut on $KREL:$missing"
	note "one cut at counter $max"
else
	note "per-volume on $KREL:${missing:- the cut happened to be consistent}"
fi

# delete: no tagged LV, no snapshot device
run_rc vssctl delete shadows --set "$sid" --quiet
assert_eq "$RC" 0 "delete the set ($(cat "$WORK/err"))"
assert_eq "$(lv lvs --noheadings -o lv_name @vssd | tr -d ' ')" "" "no vssd LV is left"
assert_eq "$(lv lvs --noheadings -o lv_name "$VG" | tr -d ' ' | sort | tr '\n' ' ')" \
	"pool thick thin " "the VG's LVs after the delete"
no_vssd_devices || fail "VSSD- devices left: $(dm_with_uuid_prefix VSSD-)"
assert_eq "$(dmsetup ls | awk '{ print $1 }' | grep -c -e vssd -e '-cow$' -e '-real$' || true)" 0 \
	"dm devices of snapshots left: $(dmsetup ls | tr '\n' ' ')"
assert_eq "$(vssctl --json list shadows | jq length)" 0 "no shadow copy is listed"
echo "ok"
