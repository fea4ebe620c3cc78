#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-timeout: 1200
# 72-lvm-kill.sh - vssd killed by SIGKILL in the middle of an LVM set's commit (fault point
# kill-lvm-after-first-lvcreate, daemon/fault.h: the set's first `lvcreate -s` made its tagged
# LV, the provider's other members are not made; on 6.6+ the file systems are still frozen).
# The set is two thick LVs, a thin LV and a dm-linear volume, ext4 mounted on each. After the
# kill a tagged LV is there; the next start removes every LV of the incomplete set, nothing is
# frozen or suspended (each file system takes a write), no shadow copy is listed, and a new set
# of the same volumes works (files of its instant, not later ones) and deletes cleanly.
. "${0%/*}/../lib.sh"
. "${0%/*}/../lib-vssd.sh"
require_target snapshot
require_target thin-pool

command -v lvm >/dev/null || fail "lvm2 is not installed (make deps)"
VG=vkill$$
truncate -s 1G "$WORK/pv.img"
PV=$(losetup -f --show "$WORK/pv.img")
LVMC="activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 filter=[\"a|^$PV\$|\",\"r|.*|\"]}"
lv()
{
	local cmd=$1
	shift
	lvm "$cmd" --config "$LVMC" "$@"
}
test_teardown_more()
{
	# a frozen file system (a failed run) would hang umount
	for m in "$WORK"/m?; do fsfreeze -u "$m" 2>/dev/null || true; done
	awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while IFS= read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
	lv vgremove -q -ff "$VG" >/dev/null 2>&1
	losetup -d "$PV" 2>/dev/null
}

lv pvcreate -q "$PV" >/dev/null
lv vgcreate -q "$VG" "$PV" >/dev/null
lv lvcreate -q -n thick1 -L 64m "$VG" >/dev/null
lv lvcreate -q -n thick2 -L 64m "$VG" >/dev/null
lv lvcreate -q -T -L 256m "$VG/pool" >/dev/null 2>&1
lv lvcreate -q -n thin -V 128m --thinpool "$VG/pool" >/dev/null 2>&1
LIN=$(vol_create "$RUN-lin" 64M)
DEVS=("/dev/mapper/$VG-thick1" "/dev/mapper/$VG-thick2" "/dev/mapper/$VG-thin" "$LIN")
for i in 0 1 2 3; do
	vol_mkfs_mount "${DEVS[$i]}" ext4 "$WORK/m$i"
	head -c 1M /dev/urandom >"$WORK/m$i/before"
done
sync
SHA=()
for i in 0 1 2 3; do SHA[i]=$(sha_of "$WORK/m$i/before"); done
T0=$(date +%s)
vol_args=()
for d in "${DEVS[@]}"; do vol_args+=(--volume "$d"); done

bus_start
vssd_config "[lvm]
config = $LVMC"
VSSD_TEST_FAULT=kill-lvm-after-first-lvcreate vssd_start
note "kernel $(uname -r)"
run_rc vssctl create shadow "${vol_args[@]}" --context app-rollback --no-writers
[ "$RC" -ne 0 ] || fail "the set was created: the kill point did not fire"
wait "$VSSD_PID" 2>/dev/null || true
kill -0 "$VSSD_PID" 2>/dev/null && fail "vssd still runs after the kill point"
VSSD_PID=
vssd_log_has "kill-lvm-after-first-lvcreate" || fail "the log does not name the kill point"
made=$(lv lvs --noheadings -o lv_name @vssd | tr -d ' ' | tr '\n' ' ')
note "after the kill: tagged LVs: ${made:-none}; suspended: $(dm_suspended | tr '\n' ' ')"
[ -n "$made" ] || fail "no tagged LV after the kill: the kill came before the first lvcreate"

# restart: recovery rolls the set back
: >"$WORK/vssd.log"
vssd_start
note "recovery said: $(grep -i -e recover -e thaw -e remov "$WORK/vssd.log" | tr '\n' ';')"
assert_eq "$(lv lvs --noheadings -o lv_name @vssd | tr -d ' ')" "" "no tagged LV after recovery"
assert_eq "$(lv lvs --noheadings -o lv_name "$VG" | tr -d ' ' | sort | tr '\n' ' ')" \
	"pool thick1 thick2 thin " "the VG's LVs after recovery"
assert_eq "$(dm_suspended | tr '\n' ' ')" "" "no suspended dm device"
no_vssd_devices || fail "VSSD- devices left: $(dm_with_uuid_prefix VSSD-)"
for i in 0 1 2 3; do
	timeout 20 sh -c "echo x >>'$WORK/m$i/probe' && sync -f '$WORK/m$i/probe'" ||
		fail "${DEVS[$i]} is not writable after recovery (frozen?)"
	assert_eq "$(sha_of "$WORK/m$i/before")" "${SHA[$i]}" "${DEVS[$i]}'s data after recovery"
done
assert_eq "$(vssctl --json list shadows | jq length)" 0 "no shadow copy after recovery"
note "recovered: $(($(date +%s) - T0)) s"

# a new set works
run_rc vssctl --json create shadow "${vol_args[@]}" --context app-rollback --no-writers
assert_eq "$RC" 0 "a new set after recovery ($(cat "$WORK/err"))"
cp "$WORK/out" "$WORK/create.json"
note "a new set: $(($(date +%s) - T0)) s"
for i in 0 1 2 3; do echo after >"$WORK/m$i/after"; done
sync
sid=$(jq -r .set_id "$WORK/create.json")
mkdir -p "$WORK/chk"
for i in 0 1 2 3; do
	dev=$(jq -r --arg v "${DEVS[$i]}" '.snapshots[] | select(.volume == $v) | .device' \
		"$WORK/create.json")
	[ -n "$dev" ] || fail "no snapshot of ${DEVS[$i]} in $(cat "$WORK/create.json")"
	mount -o ro,noload "$dev" "$WORK/chk"
	assert_eq "$(sha_of "$WORK/chk/before")" "${SHA[$i]}" "the new snapshot of ${DEVS[$i]}"
	[ ! -e "$WORK/chk/after" ] || fail "the new snapshot of ${DEVS[$i]} has a later file"
	umount "$WORK/chk"
done
run_rc vssctl delete shadows --set "$sid" --quiet
assert_eq "$RC" 0 "delete the new set ($(cat "$WORK/err"))"
assert_eq "$(lv lvs --noheadings -o lv_name @vssd | tr -d ' ')" "" "no vssd LV is left"
no_vssd_devices || fail "VSSD- devices left: $(dm_with_uuid_prefix VSSD-)"
echo "ok"
