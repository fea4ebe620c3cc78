#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-timeout: 1200
# 70-lvm-providers.sh - LVM volumes through providers lvm and lvm-thin (DESIGN.md §4b): a VG on a
# loop device with a thick LV, a thin pool and a thin LV, ext4 mounted on both. ListVolumes names
# each LV's provider and refuses the pool with its reason; a set of the thick LV and one of the
# thin LV hold the files of their instant and not later ones; the thin snapshot is exposed;
# persistent shadow copies outlive a restart and, with the state file gone, come back from their
# LVM tags alone; delete removes the LV. Passes on 6.1 (the LVM file systems are not frozen by
# the set: lvcreate's own suspend takes each) and 6.12 (one FIFREEZE around the lvcreates).
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot
require_target thin-pool

command -v lvm >/dev/null || fail "lvm2 is not installed (make deps)"
VG=vssdt$$
truncate -s 1G "$WORK/pv.img"
PV=$(losetup -f --show "$WORK/pv.img")
# LVM without udev (the guest has none) and without dmeventd, scanning our PV only
LVMC="activation{udev_sync=0 udev_rules=0 monitoring=0} devices{obtain_device_list_from_udev=0 filter=[\"a|^$PV\$|\",\"r|.*|\"]}"
lv()
{
	local cmd=$1
	shift
	lvm "$cmd" --config "$LVMC" "$@"
}
test_teardown_more()
{
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
vol_mkfs_mount "$THICK" ext4 "$WORK/ma"
vol_mkfs_mount "$THIN" ext4 "$WORK/mb"
for m in ma mb; do
	head -c 1M /dev/urandom >"$WORK/$m/before"
done
sync
sha_a=$(sha_of "$WORK/ma/before")
sha_b=$(sha_of "$WORK/mb/before")

bus_start
vssd_config "[lvm]
config = $LVMC"
vssd_start
note "kernel $(uname -r)"

# 1. ListVolumes: each LV with its provider; the pool refused with its reason
vssctl --json list volumes >"$WORK/vols.json"
vol_field()
{
	jq -r --arg d "$1" '.[] | select(.volume == $d or .device == $d) | .'"$2" "$WORK/vols.json" |
		head -n1
}
assert_eq "$(vol_field "$THICK" provider)" lvm "the thick LV's provider"
assert_eq "$(vol_field "$THIN" provider)" lvm-thin "the thin LV's provider"
pool_dev=/dev/dm-$(dmsetup info -c --noheadings -o minor "$VG-pool")
assert_eq "$(vol_field "$pool_dev" supported)" false "the pool is not supported"
case $(vol_field "$pool_dev" reason) in
*"is an LVM thin pool"*) ;;
*) fail "the pool's reason: $(vol_field "$pool_dev" reason)" ;;
esac

# 2. a set of the thick LV, a set of the thin LV (persistent)
create()
{
	run_rc vssctl --json create shadow --volume "$1" --context app-rollback --no-writers
	assert_eq "$RC" 0 "create shadow of $1 ($(cat "$WORK/err"))"
	cp "$WORK/out" "$WORK/create-$2.json"
}
create "$THICK" a
create "$THIN" b
for m in ma mb; do
	head -c 1M /dev/urandom >"$WORK/$m/before"
	echo after >"$WORK/$m/after"
done
sync
id_a=$(jq -r '.snapshots[0].id' "$WORK/create-a.json")
id_b=$(jq -r '.snapshots[0].id' "$WORK/create-b.json")
dev_a=$(jq -r '.snapshots[0].device' "$WORK/create-a.json")
dev_b=$(jq -r '.snapshots[0].device' "$WORK/create-b.json")
note "snapshots $dev_a $dev_b"
vssctl --json list shadows >"$WORK/list.json"
assert_eq "$(jq -r --arg i "$id_a" '.[] | select(.id == $i) | .provider' "$WORK/list.json")" lvm \
	"list shadows: the thick one's provider"
assert_eq "$(jq -r --arg i "$id_b" '.[] | select(.id == $i) | .provider' "$WORK/list.json")" \
	lvm-thin "list shadows: the thin one's provider"
# their LVs carry vssd's tags
tags=$(lv lvs --noheadings -o lv_tags "$VG/$(basename "$dev_a" | sed "s/^$VG-//; s/--/-/g")")
case $tags in
*vssd,*vssd_set_*vssd_snap_*) ;;
*) fail "the thick snapshot's tags: $tags" ;;
esac

check_data()
{
	local what=$1
	assert_eq "$(snap_sha "$dev_a" before)" "$sha_a" "$what: the thick snapshot holds the file of its instant"
	assert_eq "$(snap_sha "$dev_b" before)" "$sha_b" "$what: the thin snapshot holds the file of its instant"
	mkdir -p "$WORK/chk"
	for d in "$dev_a" "$dev_b"; do
		mount -o ro,noload "$d" "$WORK/chk"
		[ ! -e "$WORK/chk/after" ] || fail "$what: $d has a file written after its instant"
		umount "$WORK/chk"
	done
}
check_data "created"

# 3. expose the thin snapshot
mkdir "$WORK/eb"
run_rc vssctl expose "$id_b" "$WORK/eb"
assert_eq "$RC" 0 "expose the thin snapshot ($(cat "$WORK/err"))"
assert_eq "$(sha_of "$WORK/eb/before")" "$sha_b" "the exposed thin snapshot's file"
run_rc vssctl unexpose "$id_b"
assert_eq "$RC" 0 "unexpose ($(cat "$WORK/err"))"

# 4. a restart keeps them
vssd_stop
vssd_start
assert_eq "$(vssctl --json list shadows | jq -r '[.[].id] | sort | join(" ")')" \
	"$(printf '%s\n' "$id_a" "$id_b" | sort | tr '\n' ' ' | sed 's/ $//')" "after a restart"
check_data "after a restart"

# 5. the state file lost: rebuilt from the LVM tags alone
vssd_stop
rm "$VSSD_STATE_DIR/state.json"
: >"$WORK/vssd.log"
vssd_start
note "recovery said: $(grep recovery "$WORK/vssd.log" | tr '\n' ';')"
vssctl --json list shadows >"$WORK/after.json"
assert_eq "$(jq -r --arg i "$id_a" '.[] | select(.id == $i) | .provider + " " + .volume' "$WORK/after.json")" \
	"lvm $THICK" "the thick shadow copy, from its tags"
assert_eq "$(jq -r --arg i "$id_b" '.[] | select(.id == $i) | .provider + " " + .volume' "$WORK/after.json")" \
	"lvm-thin $THIN" "the thin shadow copy, from its tags"
check_data "rebuilt from tags"

# 6. delete removes the LVs
run_rc vssctl delete shadows --shadow "$id_a" --quiet
assert_eq "$RC" 0 "delete the thick one ($(cat "$WORK/err"))"
run_rc vssctl delete shadows --shadow "$id_b" --quiet
assert_eq "$RC" 0 "delete the thin one ($(cat "$WORK/err"))"
assert_eq "$(lv lvs --noheadings -o lv_name @vssd | tr -d ' ')" "" "no vssd LV is left"
assert_eq "$(vssctl --json list shadows | jq length)" 0 "no shadow copy is listed"
echo "ok"
