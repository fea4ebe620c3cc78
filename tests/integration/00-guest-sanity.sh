#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 00-guest-sanity.sh - the test guest works: dm targets, an LVM-style snapshot, teardown, D-Bus, xfs
. "${0%/*}/lib.sh"

# --- environment (tests/vm/run's contract) ---------------------------------------------------
assert_eq "$(id -u)" 0 "uid"
assert_eq "${DM_DISABLE_UDEV:-}" 1 "DM_DISABLE_UDEV"
[ -c /dev/mapper/control ] || fail "no /dev/mapper/control"
[ ! -e /run/udev/control ] || fail "/run/udev/control exists: dmsetup would wait for udev"

# --- dm targets: loaded at boot (error is part of dm_mod), zero on demand --------------------
targets=$(dmsetup targets | awk '{ print $1 }')
for t in linear error snapshot snapshot-origin snapshot-merge thin-pool thin delay flakey; do
	printf '%s\n' "$targets" | grep -qx -- "$t" ||
		fail "dm target $t missing; have: $(printf '%s\n' "$targets" | tr '\n' ' ')"
done
# request_module("dm-zero") goes through /proc/sys/kernel/modprobe (busybox modprobe).
dmsetup create "$RUN-zero" --table "0 8 zero" || fail "cannot create a zero target"
assert_eq "$(head -c 4096 "/dev/mapper/$RUN-zero" | tr -d '\0' | wc -c)" 0 "bytes read from zero"
dmsetup remove "$RUN-zero"
note "dm targets ok"

# --- two ext4 volumes snapshotted together with plain dmsetup, in LVM's order ----------------
for v in a b; do
	dev=$(vol_create "$RUN-$v" 64M)
	vol_create "$RUN-$v-cow" 16M >/dev/null
	vol_mkfs_mount "$dev" ext4 "$WORK/mnt-$v"
	echo "old $v" >"$WORK/mnt-$v/file"
	head -c 1M /dev/urandom >"$WORK/mnt-$v/data"
	sha_of "$WORK/mnt-$v/data" >"$WORK/sha-old-$v"
done
sync

# 1. Load every table first; 2. suspend the origins (freezes the mounted ext4); 3. resume the
# snapshots, then the origins.
for v in a b; do
	sz=$(blockdev --getsz "/dev/mapper/$RUN-$v")
	lin=$(dm_table "$RUN-$v")
	dmsetup create "$RUN-$v-real" --table "$lin"
	dmsetup create "$RUN-$v-snap" --notable
	dmsetup load "$RUN-$v-snap" \
		--table "0 $sz snapshot /dev/mapper/$RUN-$v-real /dev/mapper/$RUN-$v-cow P 8"
	dmsetup load "$RUN-$v" --table "0 $sz snapshot-origin /dev/mapper/$RUN-$v-real"
done
dmsetup suspend "$RUN-a"
dmsetup suspend "$RUN-b"
assert_eq "$(dm_suspended | sort | tr '\n' ' ')" "$RUN-a $RUN-b " "suspended devices"
for v in a b; do
	dmsetup resume "$RUN-$v-snap"
done
for v in a b; do
	dmsetup resume "$RUN-$v"
done
[ -z "$(dm_suspended)" ] || fail "still suspended: $(dm_suspended | tr '\n' ' ')"
for v in a b; do
	dm_table "$RUN-$v" | grep -q ' snapshot-origin ' || fail "$RUN-$v is not a snapshot origin"
done

# New data on the origins; the snapshots keep the old.
for v in a b; do
	echo "new $v" >"$WORK/mnt-$v/file"
	head -c 1M /dev/urandom >"$WORK/mnt-$v/data"
done
sync
for v in a b; do
	mkdir "$WORK/snap-$v"
	mount -o ro,noload "/dev/mapper/$RUN-$v-snap" "$WORK/snap-$v"
	assert_eq "$(cat "$WORK/snap-$v/file")" "old $v" "file in snapshot $v"
	assert_eq "$(sha_of "$WORK/snap-$v/data")" "$(cat "$WORK/sha-old-$v")" "data in snapshot $v"
	assert_eq "$(cat "$WORK/mnt-$v/file")" "new $v" "file in origin $v"
	[ "$(sha_of "$WORK/mnt-$v/data")" != "$(cat "$WORK/sha-old-$v")" ] ||
		fail "origin $v still has the old data"
	# "0 131072 snapshot 2320/32768 16": some COW space is in use
	used=$(dmsetup status "$RUN-$v-snap" | awk '{ split($4, u, "/"); print u[1] }')
	[ "${used:-0}" -gt 0 ] ||
		fail "snapshot $v uses no COW space: $(dmsetup status "$RUN-$v-snap")"
done

# Delete the snapshots as lvremove does; the origins stay mounted, linear again, with "new".
for v in a b; do
	umount "$WORK/snap-$v"
	dmsetup remove "$RUN-$v-snap"
	dmsetup load "$RUN-$v" --table "$(dm_table "$RUN-$v-real")"
	dmsetup suspend "$RUN-$v"
	dmsetup resume "$RUN-$v"
	dmsetup remove "$RUN-$v-real"
	dm_table "$RUN-$v" | grep -q ' linear ' || fail "$RUN-$v is not linear again"
	assert_eq "$(cat "$WORK/mnt-$v/file")" "new $v" "origin $v after the snapshot's removal"
done
[ -z "$(dm_suspended)" ] || fail "still suspended: $(dm_suspended | tr '\n' ' ')"
note "two-volume snapshot ok"

# --- lib.sh's teardown: a failing child test that leaves a stack behind ----------------------
# (a mount, a snapshot over two devices, a suspended device with a VSSD- uuid, a loop device
# under /var/lib/vssd-test*). Its status must survive, and nothing of it may remain.
vardir=/var/lib/vssd-test-$RUN
cat >"$WORK/child.sh" <<EOF
. "$TESTDIR/lib.sh"
test_teardown() { echo ran >"$WORK/hook"; }
echo "\$RUN \$WORK"
m=\$(vol_create "\$RUN-m" 16M)
vol_mkfs_mount "\$m" ext4 "\$WORK/m"
x=\$(vol_create "\$RUN-x" 16M)
cow=\$(vol_create "\$RUN-xcow" 8M)
sz=\$(blockdev --getsz "\$x")
dmsetup create "\$RUN-xsnap" --table "0 \$sz snapshot \$x \$cow N 8"
dmsetup create "\$RUN-y" --uuid "VSSD-sanity-\$RUN" --table "0 \$sz linear \$x 0"
dmsetup suspend "\$RUN-y"
mkdir -p "$vardir"
truncate -s 1M "$vardir/img"
losetup -f --show "$vardir/img" >/dev/null
exit 3
EOF
crc=0
sh "$WORK/child.sh" >"$WORK/child.out" 2>"$WORK/child.err" || crc=$?
read -r crun cwork <"$WORK/child.out" ||
	fail "the child printed no RUN and WORK: $(cat "$WORK/child.err")"
assert_eq "$crc" 3 "child's exit status through teardown ($(cat "$WORK/child.err"))"
[ -f "$WORK/hook" ] || fail "test_teardown hook did not run"
[ ! -e "$cwork" ] || fail "child's WORK $cwork still exists"
left=$(dm_with_name_prefix "$crun-"; dm_with_uuid_prefix VSSD-; loops_under "$cwork"
	loops_under "$vardir")
[ -z "$left" ] || fail "left behind by the child's teardown: $(printf '%s\n' "$left" | tr '\n' ' ')"
! grep -q " $cwork" /proc/self/mounts || fail "mounts left behind under $cwork"
[ -z "$(dm_suspended)" ] || fail "still suspended: $(dm_suspended | tr '\n' ' ')"
rm -rf "$vardir"
note "teardown ok"

# --- the system bus ----------------------------------------------------------------------------
id=$(dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus.GetId | sed -n 's/^ *string "\(.*\)"$/\1/p')
printf '%s\n' "$id" | grep -qx '[0-9a-f]\{32\}' || fail "GetId on the system bus: '$id'"
note "system bus ok"

# --- xfs (mkfs.xfs refuses less than 300 MB) ---------------------------------------------------
dev=$(vol_create "$RUN-xfs" 320M)
vol_mkfs_mount "$dev" xfs "$WORK/mnt-xfs"
head -c 1M /dev/urandom >"$WORK/mnt-xfs/data"
sum=$(sha_of "$WORK/mnt-xfs/data")
umount "$WORK/mnt-xfs"
mount -t xfs "$dev" "$WORK/mnt-xfs"
assert_eq "$(sha_of "$WORK/mnt-xfs/data")" "$sum" "data on xfs after a remount"
note "xfs ok"
