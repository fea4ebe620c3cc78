#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 31-writers-failures.sh - a writer that hangs in Freeze fails the set within its freeze window
# plus a second and the others get Abort; a writer killed during Freeze; vssd killed while a
# writer is frozen: libvsswriter thaws the application itself
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
bus_start
vssd_start

# 1. hang in Freeze with a 2 s window; a well-behaved writer alongside
writer_start good "$WORK/ma/good-a" "$WORK/ma/good-b"
writer_start hang "$WORK/ma/hang-a" "$WORK/ma/hang-b" --hang-in freeze --freeze-timeout-ms 2000
requester start -- add "$a" -- gather -- prepare -- ok -- do -- expect WriterTimeout -- release \
	>"$WORK/hang" || { cat "$WORK/hang" >&2; fail "hang"; }
ms=$(sed -n 's/.*"step": "do".*"ms": \([0-9]*\).*/\1/p' "$WORK/hang")
note "DoSnapshotSet failed after $ms ms (freeze window 2000 ms)"
[ "$ms" -lt 3000 ] || fail "the set failed after $ms ms, later than its 2000 ms window + 1 s"
sleep 0.3
events good | grep -qx abort || fail "the good writer got no Abort"
events good | grep -qx thaw && fail "the good writer got Thaw although the set failed"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "hang left $(dm_with_uuid_prefix VSSD-)"
[ -z "$(dm_suspended)" ] || fail "hang left suspended"
echo ok >"$WORK/ma/after-hang"
kill "$(writer_pid hang)" "$(writer_pid good)"
wait "$(writer_pid hang)" "$(writer_pid good)" 2>/dev/null || true

# 2. a writer killed with SIGKILL while vssd waits for its Freeze
writer_start victim "$WORK/ma/victim-a" "$WORK/ma/victim-b" --hang-in freeze
/usr/bin/python3 "$REQUESTER" start -- add "$a" -- gather -- prepare -- do -- release \
	>"$WORK/kill" 2>&1 &
req=$!
for _ in $(seq 1 300); do events victim | grep -qx freeze && break; sleep 0.05; done
events victim | grep -qx freeze || fail "victim never got Freeze"
kill -KILL "$(writer_pid victim)"
wait $req || true
cat "$WORK/kill" >&2
grep '"step": "do"' "$WORK/kill" | grep -q WriterNotResponding || fail "want WriterNotResponding"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "kill left $(dm_with_uuid_prefix VSSD-)"
echo ok >"$WORK/ma/after-kill"

# 3. vssd killed while a writer is frozen: the library thaws it (a second writer hangs in Freeze
#    so that vssd is still waiting when it dies)
writer_start frozen "$WORK/ma/frozen-a" "$WORK/ma/frozen-b" --interval-ms 5
writer_start staller "$WORK/ma/st-a" "$WORK/ma/st-b" --hang-in freeze
/usr/bin/python3 "$REQUESTER" start -- add "$a" -- gather -- prepare -- do >"$WORK/dead" 2>&1 &
req=$!
for _ in $(seq 1 300); do events frozen | grep -qx freeze && break; sleep 0.05; done
events frozen | grep -qx freeze || fail "frozen never got Freeze"
before=$(wc -l <"$WORK/ma/frozen-a")
vssd_kill
for _ in $(seq 1 100); do events frozen | grep -qx thaw && break; sleep 0.05; done
events frozen | grep -qx thaw || fail "the library did not thaw its application after vssd died"
sleep 0.5
after=$(wc -l <"$WORK/ma/frozen-a")
[ "$after" -gt "$before" ] || fail "the application did not resume writing ($before -> $after)"
wait $req 2>/dev/null || true
# a new vssd cleans up whatever the dead one left
vssd_start
[ -z "$(dm_suspended)" ] || fail "left suspended after restart"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "restart left $(dm_with_uuid_prefix VSSD-)"
kill "$(writer_pid frozen)" "$(writer_pid staller)" 2>/dev/null
