#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 33-writers-access.sh - only root and group vsswriters may register a writer; others are refused
# by the bus policy we ship, and a refused writer leaves no trace in vssd
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"

user=vtw$$
getent group vsswriters >/dev/null || groupadd -r vsswriters
useradd -M -N -s /bin/sh "$user"
test_teardown_more() { userdel "$user" 2>/dev/null; }
bus_start
vssd_start
# what the user runs is copied where it can read it: the checkout may be root's alone
U=$(unpriv_dir)
chmod 1777 "$WORK"
cd "$WORK"

# not in vsswriters: refused
setpriv --reuid="$user" --regid=nogroup --clear-groups \
	"$U/vssd-example-writer" --name outsider "$WORK/o-a" "$WORK/o-b" >"$WORK/o.log" 2>&1 &
p=$!
for _ in $(seq 1 100); do grep -q "refused the registration" "$WORK/o.log" && break; sleep 0.1; done
kill $p 2>/dev/null
wait $p 2>/dev/null || true
cat "$WORK/o.log" >&2
# the writer ran (its own words) and the bus refused its RegisterWriter with AccessDenied; an
# exec failure ("Permission denied" from the shell) does not pass for a refusal
grep -q "refused the registration: org.freedesktop.DBus.Error.AccessDenied: Rejected send" \
	"$WORK/o.log" || fail "the outsider's writer was not refused by the bus: $(cat "$WORK/o.log")"
grep -q "registered" "$WORK/o.log" && fail "the outsider registered"
busctl_vssd ListWriters b false >"$WORK/list"
grep -q outsider "$WORK/list" && fail "vssd lists the outsider"
# the refusal is the shipped policy's: RegisterWriter itself gets AccessDenied from the bus
setpriv --reuid="$user" --regid=nogroup --clear-groups busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" \
	call org.vssd.ShadowCopy1 /org/vssd/ShadowCopy1 org.vssd.ShadowCopy1.Manager \
	RegisterWriter 'oa{sv}' /x 0 >"$WORK/o-reg" 2>&1 && fail "the outsider called RegisterWriter"
grep -q "^Call failed: Access denied" "$WORK/o-reg" ||
	fail "RegisterWriter by the outsider: not an AccessDenied: $(cat "$WORK/o-reg")"

# in vsswriters: accepted
usermod -a -G vsswriters "$user"
setpriv --reuid="$user" --regid=nogroup --init-groups \
	"$U/vssd-example-writer" --name insider "$WORK/i-a" "$WORK/i-b" >"$WORK/i.log" 2>&1 &
p=$!
WRITER_PIDS="$WRITER_PIDS $p"
for _ in $(seq 1 100); do grep -q registered "$WORK/i.log" && break; sleep 0.05; done
grep -q registered "$WORK/i.log" || fail "a vsswriters member could not register: $(cat "$WORK/i.log")"
busctl_vssd ListWriters b true >"$WORK/list"
grep -q insider "$WORK/list" || fail "vssd does not list the insider"
# a writer may not drive sets: the policy lets it call RegisterWriter only
setpriv --reuid="$user" --regid=nogroup --init-groups busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" \
	call org.vssd.ShadowCopy1 /org/vssd/ShadowCopy1 org.vssd.ShadowCopy1.Manager \
	StartSnapshotSet 'a{sv}' 0 >"$WORK/start" 2>&1 && fail "a writer started a set"
grep -q "^Call failed: Access denied" "$WORK/start" ||
	fail "StartSnapshotSet by a writer: not the policy's refusal: $(cat "$WORK/start")"
kill $p
