#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# 60-units.sh - vssd as systemd runs it (tests/vm/run --systemd: systemd is PID 1): installed by
# make install; started by bus activation on the first call and READY (Type=notify) with the
# hardened unit in force; a non-root writer's paths looked up as that writer; systemctl stop
# while a writer holds its Freeze leaves nothing suspended, frozen or left over; an exposed copy
# is mounted where everyone sees it; SIGKILL: Restart= brings vssd back and the persistent copy
# with its data; the hook writer unit registers and runs a hook of /etc/vssd/writers.d.
# shellcheck source=tests/integration/lib.sh
. "${0%/*}/../integration/lib.sh"
# shellcheck source=tests/integration/lib-vssd.sh
. "${0%/*}/../integration/lib-vssd.sh"
require_target snapshot

[ "$(cat /proc/1/comm)" = systemd ] ||
	fail "PID 1 is $(cat /proc/1/comm), not systemd: run this with tests/vm/run --systemd"
PREFIX=/usr/local
UNIT=/lib/systemd/system/vssd.service
vssctl()
{
	"$PREFIX/bin/vssctl" "$@"
}
prop() # UNIT PROPERTY: the property's value
{
	systemctl show -p "$2" --value "$1"
}
user=vtw$$
HOOK=/etc/vssd/writers.d/50-vt-record
HOOKLOG=/run/vt-hook.log
test_teardown_more()
{
	systemctl stop vssd-hook-writer.service vssd.service 2>/dev/null
	userdel "$user" 2>/dev/null
	rm -f "$HOOK"
	# what vssd said, for a failure (rc: lib.sh's teardown's)
	[ "${rc:-1}" -eq 0 ] || journalctl -q -b --no-pager -o short-monotonic -u vssd.service -u vssd-hook-writer.service \
		-u dbus.service | tail -n 60 >&2
}

# ---- install: nothing runs yet
make -s BUILD="$BUILD" install >"$WORK/install.log" 2>&1 ||
	fail "make install: $(tail -n 20 "$WORK/install.log")"
systemd-sysusers || fail "systemd-sysusers"
# The guest has no udev: libdevmapper makes the /dev/mapper nodes itself, as in every guest test.
mkdir -p /run/systemd/system/vssd.service.d
printf '[Service]\nEnvironment=DM_DISABLE_UDEV=1\n' >/run/systemd/system/vssd.service.d/vm.conf
cat >/etc/vssd/vssd.conf <<EOC
[storage]
default-percent = 100
minimum = 16M
initial = 16M
grow-step = 8M
EOC
systemctl daemon-reload
# the bus takes our policy and activation file (the bus may not be running yet: this starts it)
dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus.ReloadConfig >/dev/null || fail "the system bus did not reload"
systemd-analyze verify --man=no "$UNIT" /lib/systemd/system/vssd-hook-writer.service \
	>"$WORK/verify" 2>&1 || fail "systemd-analyze verify: $(cat "$WORK/verify")"
[ ! -s "$WORK/verify" ] || fail "systemd-analyze verify says: $(cat "$WORK/verify")"
note "$(systemd-analyze security --offline=true "$UNIT" | tail -n 1)"
assert_eq "$(systemctl is-active vssd.service)" inactive "vssd before the first call"
busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
	NameHasOwner s org.vssd.ShadowCopy1 >"$WORK/owner"
assert_eq "$(cat "$WORK/owner")" "b false" "the name's owner before the first call"

# ---- 1. the first call starts vssd through the bus; READY comes after the name
vssctl list providers >"$WORK/providers" || fail "list providers: $(cat "$WORK/providers")"
grep -q dm-snapshot "$WORK/providers" || fail "no dm-snapshot provider: $(cat "$WORK/providers")"
assert_eq "$(systemctl is-active vssd.service)" active "vssd after the first call"
assert_eq "$(prop vssd Type)" notify "Type="
assert_eq "$(prop vssd StatusText)" serving "the status vssd sent with READY=1"
journalctl -q -b --no-pager -u dbus.service -g \
	"Activating via systemd: service name='org.vssd.ShadowCopy1' unit='vssd.service'" \
	>/dev/null || fail "the bus did not activate vssd through systemd"
pid=$(prop vssd MainPID)
# the hardening is in force: capabilities, seccomp, no new privileges, the host's mounts
# (what vssd mounts must be seen by everyone: no mount namespace of its own)
# CapBnd: CHOWN(0) SETGID(6) SETUID(7) IPC_LOCK(14) SYS_ADMIN(21) MKNOD(27)
assert_eq "$(awk '$1 == "CapBnd:" { print $2 }' "/proc/$pid/status")" 00000000082040c1 \
	"vssd's capability bounding set"
assert_eq "$(awk '$1 == "Seccomp:" { print $2 }' "/proc/$pid/status")" 2 "vssd's seccomp mode"
assert_eq "$(awk '$1 == "NoNewPrivs:" { print $2 }' "/proc/$pid/status")" 1 "NoNewPrivs"
assert_eq "$(readlink "/proc/$pid/ns/mnt")" "$(readlink /proc/1/ns/mnt)" "vssd's mount namespace"

# ---- 2. a writer as a vsswriters member holds its Freeze; systemctl stop meanwhile
a=$(vol_create "$RUN-a" 64M)
table_a=$(dm_table "$RUN-a")
vol_mkfs_mount "$a" ext4 "$WORK/ma"
useradd -M -N -G vsswriters -s /bin/sh "$user"
U=$(unpriv_dir)
chmod 1777 "$WORK"
mkdir "$WORK/ma/w" && chown "$user" "$WORK/ma/w"
(cd "$WORK" && exec setpriv --reuid="$user" --regid=nogroup --init-groups \
	"$U/vssd-example-writer" --name app --event-log "$WORK/app.events" --hang-in freeze \
	"$WORK/ma/w/r-a" "$WORK/ma/w/r-b") >"$WORK/app.log" 2>&1 &
app=$!
WRITER_PIDS="$WRITER_PIDS $app"
wait_for 600 grep -q registered "$WORK/app.log" || fail "the writer: $(cat "$WORK/app.log")"
/usr/bin/python3 "$REQUESTER" start -- ok -- add "$a" -- ok -- gather -- ok -- prepare -- ok \
	-- "do" >"$WORK/flow" 2>&1 &
req=$!
wait_for 900 grep -q freeze "$WORK/app.events" || fail "no Freeze: $(cat "$WORK/flow")"
# vssd looked the writer's files up as the writer (setfsuid, setgroups: CAP_SETUID, CAP_SETGID)
vols=$(grep '"step": "gather"' "$WORK/flow" | jq -r '.result[] | select(.name == "app") |
	.components[] | select(.name == "records") | .volumes | join(" ")')
assert_eq "$vols" "$a" "the volumes of the non-root writer's component"
[ -n "$(dm_with_uuid_prefix VSSD-)" ] || fail "no device of the set during the Freeze"
systemctl stop vssd.service
assert_eq "$(prop vssd ActiveState)" inactive "vssd after systemctl stop"
assert_eq "$(prop vssd Result)" success "how vssd ended"
[ -z "$(dm_suspended)" ] || fail "left suspended: $(dm_suspended)"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "left behind: $(dm_with_uuid_prefix VSSD-)"
assert_eq "$(dm_table "$RUN-a")" "$table_a" "a's table after the stop"
assert_eq "$(dm_tables "$RUN-a")" LIVE "a's tables after the stop"
# not frozen: a thaw finds nothing to thaw (EINVAL), and a write goes through
fsfreeze --unfreeze "$WORK/ma" 2>/dev/null && fail "a's file system was left frozen"
timeout 30 sh -c "echo after >'$WORK/ma/after' && sync -f '$WORK/ma/after'" ||
	fail "cannot write to a's file system after the stop"
wait "$req" || true
grep '"step": "do"' "$WORK/flow" | grep -q '"error"' ||
	fail "the requester's DoSnapshotSet did not fail: $(cat "$WORK/flow")"
kill "$app"
wait "$app" 2>/dev/null || true
WRITER_PIDS=

# ---- 3. a persistent copy, exposed where everyone sees it; SIGKILL and Restart=
head -c 1M /dev/urandom >"$WORK/ma/data"
sync
old=$(sha_of "$WORK/ma/data")
# vssd is stopped: this call activates it again
vssctl --json create shadow --volume "$a" --context persistent --no-writers >"$WORK/create.json" ||
	fail "create shadow: $(cat "$WORK/create.json")"
id=$(jq -r '.snapshots[0].id' "$WORK/create.json")
dev=$(jq -r '.snapshots[0].device' "$WORK/create.json")
head -c 1M /dev/urandom >"$WORK/ma/data"
sync
# vssd mounts only where root alone writes: not below $WORK, which the writer's user may write
EA=/var/lib/vssd-units-expose-$$
mkdir -m 0755 "$EA" "$EA/ea"
vssctl expose "$id" "$EA/ea" >"$WORK/expose" 2>&1 || fail "expose: $(cat "$WORK/expose")"
findmnt -n -o SOURCE "$EA/ea" >"$WORK/src" || fail "the exposed copy is not mounted here"
assert_eq "$(sha_of "$EA/ea/data")" "$old" "the exposed copy's data"
vssctl unexpose "$id" >/dev/null || fail "unexpose"
rmdir "$EA/ea" "$EA"
pid=$(prop vssd MainPID)
n=$(prop vssd NRestarts)
systemctl kill -s KILL vssd.service
back()
{
	[ "$(prop vssd ActiveState)" = active ] && [ "$(prop vssd MainPID)" != "$pid" ] &&
		[ "$(prop vssd MainPID)" != 0 ]
}
wait_for 600 back || fail "vssd did not come back: $(systemctl status --no-pager vssd 2>&1)"
assert_eq "$(prop vssd NRestarts)" $((n + 1)) "restarts after SIGKILL"
vssctl --json list shadows >"$WORK/list" || fail "list shadows after the restart"
assert_eq "$(jq -r '[.[] | .id] | join(" ")' "$WORK/list")" "$id" "the copies after the restart"
assert_eq "$(snap_sha "$dev" data)" "$old" "the copy's data after the restart"
[ -z "$(dm_suspended)" ] || fail "left suspended after the restart: $(dm_suspended)"

# ---- 4. the hook writer unit: registers, runs a hook on a backup
# shellcheck disable=SC2016 # $1 is the hook's
printf '#!/bin/sh\necho "$1" >>%s\n' "$HOOKLOG" >"$HOOK"
chmod 0755 "$HOOK"
systemctl start vssd-hook-writer.service
assert_eq "$(systemctl is-active vssd-hook-writer.service)" active "the hook writer"
listed()
{
	vssctl list writers 2>/dev/null | grep -q vssd-hook-writer
}
wait_for 300 listed || fail "the hook writer is not listed: $(vssctl list writers 2>&1)"
vssctl backup --volume "$a" -- true >"$WORK/backup" 2>&1 || fail "backup: $(cat "$WORK/backup")"
for e in prepare-backup prepare-snapshot freeze thaw post-snapshot backup-complete; do
	grep -qx "$e" "$HOOKLOG" || fail "the hook did not run on $e: $(tr '\n' ' ' <"$HOOKLOG")"
done

vssctl delete shadows --all --quiet >/dev/null || fail "delete shadows --all"
systemctl stop vssd-hook-writer.service vssd.service
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "left at the end: $(dm_with_uuid_prefix VSSD-)"
