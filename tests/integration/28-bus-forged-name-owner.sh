#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 28-bus-forged-name-owner.sh - vssd believes NameOwnerChanged only from the bus itself: a root
# client that sends one (broadcast, and straight to vssd) naming a requester and a writer as gone
# releases neither; when they really leave, the bus's own signal releases both
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
b=$(vol_create "$RUN-b" 64M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
bus_start
vssd_start
ROOT=/org/vssd/ShadowCopy1
MGR=org.vssd.ShadowCopy1.Manager
writer_start w "$WORK/ma/w-a" "$WORK/ma/w-b"

# set_objects: the sets vssd serves, one path a line
set_objects()
{
	bus_raw "$ROOT" org.freedesktop.DBus.ObjectManager GetManagedObjects "" '[]' |
		jq -r '.result | keys[] | select(test("/set/"))'
}

# writer_owner NAME: the unique name vssd has for writer NAME ("" when it has none)
writer_owner()
{
	busctl_vssd ListWriters b false |
		jq -r --arg n "$1" '.data[0][] | select(.name.data == $n) | .owner.data'
}

# forge NAME: NameOwnerChanged "NAME left", sent by dbus-send (its own unique name, not the
# bus's) once as a broadcast and once straight to vssd
forge()
{
	dbus-send --system --type=signal /org/freedesktop/DBus \
		org.freedesktop.DBus.NameOwnerChanged string:"$1" string:"$1" string: ||
		fail "dbus-send (broadcast)"
	dbus-send --system --type=signal --dest=org.vssd.ShadowCopy1 /org/freedesktop/DBus \
		org.freedesktop.DBus.NameOwnerChanged string:"$1" string:"$1" string: ||
		fail "dbus-send (to vssd)"
}

# A requester starts a set, adds a volume, then waits 6 s (the forged signals go out meanwhile)
# and must still be able to drive its set: add a second volume, then hold it.
/usr/bin/python3 "$REQUESTER" start description=mine -- ok -- add "$a" -- ok -- sleep 6 \
	-- add "$b" -- ok -- props -- ok -- hold >"$WORK/holder" 2>&1 &
holder=$!
wait_for 300 grep -q '"step": "add"' "$WORK/holder" || fail "holder: $(cat "$WORK/holder")"
setp=$(jq -r 'select(.step == "start") | .result' "$WORK/holder")
owner=$(bus_raw "$setp" org.freedesktop.DBus.Properties Get ss \
	"[\"org.vssd.ShadowCopy1.SnapshotSet\", \"Owner\"]" | jq -r .result)
case $owner in
:*) ;;
*) fail "the set's Owner is not a unique name: '$owner'" ;;
esac
wowner=$(writer_owner w)
[ -n "$wowner" ] || fail "vssd does not list writer w"

forge "$owner"
forge "$wowner"
# a call after the signals: vssd has read them by the time it answers
[ "$(set_objects)" = "$setp" ] || fail "the set is gone after forged NameOwnerChanged: $(set_objects)"
assert_eq "$(bus_raw "$setp" org.freedesktop.DBus.Properties Get ss \
	"[\"org.vssd.ShadowCopy1.SnapshotSet\", \"Owner\"]" | jq -r .result)" "$owner" \
	"the set's Owner after the forged signals"
assert_eq "$(writer_owner w)" "$wowner" "writer w after the forged signals"

# the requester still drives its set
wait_for 300 grep -q holding "$WORK/holder" || fail "holder: $(cat "$WORK/holder")"
grep -q '"failed"' "$WORK/holder" && fail "the requester lost its set: $(cat "$WORK/holder")"
assert_eq "$(jq -c 'select(.step == "props") | .result | [.Owner, (.Snapshots | length), .Description]' "$WORK/holder")" \
	"[\"$owner\",2,\"mine\"]" "the set after the forged signals"
kill -0 "$VSSD_PID" || fail "vssd died"

# the real departures: the bus's NameOwnerChanged releases the set and unregisters the writer
kill "$holder"
wait "$holder" 2>/dev/null || true
n=0
while [ -n "$(set_objects)" ] && [ "$n" -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
[ -z "$(set_objects)" ] || fail "the set outlived its requester: $(set_objects)"
kill "$(writer_pid w)"
n=0
while [ -n "$(writer_owner w)" ] && [ "$n" -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
[ -z "$(writer_owner w)" ] || fail "writer w outlived its process"
no_vssd_devices || fail "devices left: $(dm_with_uuid_prefix VSSD-)"
