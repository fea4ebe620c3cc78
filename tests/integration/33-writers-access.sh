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
chmod 1777 "$WORK"

# not in vsswriters: refused
setpriv --reuid="$user" --regid=nogroup --clear-groups \
	"$BUILD/vssd-example-writer" --name outsider "$WORK/o-a" "$WORK/o-b" >"$WORK/o.log" 2>&1 &
p=$!
sleep 3
kill $p 2>/dev/null
wait $p 2>/dev/null || true
cat "$WORK/o.log" >&2
grep -qi "AccessDenied\|denied\|not allowed" "$WORK/o.log" || fail "the outsider was not refused"
grep -q "registered" "$WORK/o.log" && fail "the outsider registered"
busctl_vssd ListWriters b false >"$WORK/list"
grep -q outsider "$WORK/list" && fail "vssd lists the outsider"

# in vsswriters: accepted
usermod -a -G vsswriters "$user"
setpriv --reuid="$user" --regid=nogroup --init-groups \
	"$BUILD/vssd-example-writer" --name insider "$WORK/i-a" "$WORK/i-b" >"$WORK/i.log" 2>&1 &
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
cat "$WORK/start" >&2
kill $p
