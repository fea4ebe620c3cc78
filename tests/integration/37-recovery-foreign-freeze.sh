#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 37-recovery-foreign-freeze.sh - start-up recovery thaws the file systems a set of vssd froze
# (the freeze ledger names them) and no others: a file system an administrator froze with
# fsfreeze stays frozen across a vssd restart, also when its volume has shadow copies
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 32M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
echo data >"$WORK/ma/file"
sync
frozen=
test_teardown_more()
{
	[ -z "$frozen" ] || fsfreeze -u "$frozen" 2>/dev/null || true
}
bus_start
vssd_start

# a persistent shadow copy makes a one of vssd's volumes (its -real device exists)
vssctl create shadow --volume "$a" --context client-accessible >"$WORK/create" 2>&1 ||
	fail "create: $(cat "$WORK/create")"
dmsetup info "$RUN-a-vssd-real" >/dev/null 2>&1 || fail "the volume was not converted"
[ ! -e "$VSSD_STATE_DIR/frozen" ] || fail "a freeze ledger outlived its set: $(cat -v "$VSSD_STATE_DIR/frozen")"

# the administrator freezes the file system himself; vssd dies and comes back
fsfreeze -f "$WORK/ma"
frozen=$WORK/ma
vssd_kill
vssd_start
vssd_log_has "recovery: thawed" && fail "recovery thawed something: $(grep 'recovery: thawed' "$WORK/vssd.log")"
# still frozen: a second FIFREEZE says EBUSY (a write would block, uninterruptibly)
if fsfreeze -f "$WORK/ma" 2>"$WORK/probe"; then
	fsfreeze -u "$WORK/ma"
	fail "the administrator's freeze was undone by vssd's start-up"
fi
grep -q "busy" "$WORK/probe" || fail "fsfreeze probe: $(cat "$WORK/probe")"
fsfreeze -u "$WORK/ma"
frozen=
timeout 20 sh -c "echo more >>'$WORK/ma/file' && sync -f '$WORK/ma/file'" ||
	fail "the file system does not take writes after fsfreeze -u"

# a set that vssd froze and died in: the ledger is written, recovery thaws exactly that one
printf '%s\n%s\0' "$(cat /proc/sys/kernel/random/boot_id)" "$WORK/ma" >"$VSSD_STATE_DIR/frozen"
fsfreeze -f "$WORK/ma"
frozen=$WORK/ma
vssd_kill
vssd_start
vssd_log_has "recovery: thawed $WORK/ma, frozen by an earlier run" ||
	fail "recovery did not thaw what the ledger names: $(tail -5 "$WORK/vssd.log")"
fsfreeze -f "$WORK/ma" || fail "still frozen after recovery"
fsfreeze -u "$WORK/ma"
frozen=
timeout 20 sh -c "echo more >>'$WORK/ma/file' && sync -f '$WORK/ma/file'" ||
	fail "still frozen after recovery"
[ ! -e "$VSSD_STATE_DIR/frozen" ] || fail "the ledger is still there after recovery"
requester delete all=true -- ok >/dev/null || fail "DeleteSnapshots"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "leaked $(dm_with_uuid_prefix VSSD-)"
kill -0 "$VSSD_PID" || fail "vssd died"
