#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 30-writers-order-and-veto.sh - a real libvsswriter writer through a set: VSS event order, Freeze
# before the first suspend and Thaw after the last resume, application-consistent records on two
# volumes; then a veto at each event fails the set with WriterVeto and leaves nothing frozen
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
b=$(vol_create "$RUN-b" 64M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
vol_mkfs_mount "$b" ext4 "$WORK/mb"
bus_start
vssd_start

# 1. order and timing
writer_start app "$WORK/ma/records" "$WORK/mb/records" --interval-ms 5
sleep 1
requester start -- ok -- add "$a" -- add "$b" -- gather -- ok -- components records -- ok \
	-- prepare -- ok -- do -- ok \
	-- status -- ok -- complete true -- ok -- release -- ok >"$WORK/flow" ||
	{ cat "$WORK/flow" >&2; fail "flow"; }
grep '"step": "gather"' "$WORK/flow" | grep -q '"name": "app"' || fail "metadata lacks the writer"
# the metadata names the volumes each component lies on; the selection reaches the writer
vols=$(grep '"step": "gather"' "$WORK/flow" | jq -r '.result[] | select(.name == "app") |
	.components[] | select(.name == "records") | .volumes | sort | join(" ")')
assert_eq "$vols" "$(printf '%s\n' "$a" "$b" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"volumes of component records"
grep '"step": "components"' "$WORK/flow" | grep -q '"result": 1' || fail "no component selected"
grep -q "components selected: records" "$WORK/app.log" ||
	fail "the writer was not told its selected component: $(grep 'components selected' "$WORK/app.log")"
grep '"step": "status"' "$WORK/flow" | grep -q '"state": 5' ||
	fail "writer not waiting for completion after DoSnapshotSet: $(grep status "$WORK/flow")"
sleep 0.5
got=$(events app | tr '\n' ' ')
assert_eq "$got" "prepare-backup prepare-snapshot freeze thaw post-snapshot backup-complete backup-shutdown " \
	"writer event order"
freeze_t=$(awk '$2 == "freeze" { print $1 }' "$WORK/app.events")
thaw_t=$(awk '$2 == "thaw" { print $1 }' "$WORK/app.events")
held=$(sed -n 's/.*I\/O held from \([0-9]*\) to \([0-9]*\) (monotonic us).*/\1 \2/p' "$WORK/vssd.log")
[ -n "$held" ] || fail "no hold window in the log"
set -- $held
[ "$freeze_t" -lt "$1" ] || fail "Freeze ($freeze_t) after the first suspend ($1)"
[ "$thaw_t" -gt "$2" ] || fail "Thaw ($thaw_t) before the last resume ($2)"
note "freeze $freeze_t < first suspend $1 < last resume $2 < thaw $thaw_t"

# 2. application consistency: keep a snapshot, check the last records on both volumes
requester start context=app-rollback -- ok -- add "$a" -- add "$b" -- gather -- prepare \
	-- do -- ok -- release -- ok >"$WORK/flow2" || { cat "$WORK/flow2" >&2; fail "flow2"; }
for v in a b; do
	snap=$(dm_with_uuid_prefix VSSD-S- | grep -- "-$RUN-$v\$")
	mkdir -p "$WORK/s$v"
	mount -o ro,noload "/dev/mapper/$snap" "$WORK/s$v"
done
la=$(tail -n 1 "$WORK/sa/records")
lb=$(tail -n 1 "$WORK/sb/records")
note "last records in the snapshot: a=$la b=$lb"
diff=$((la - lb))
[ "$diff" -eq 1 ] || [ "$diff" -eq -1 ] || fail "records not consecutive across volumes: $la $lb"
umount "$WORK/sa" "$WORK/sb"
requester delete all=true -- ok >/dev/null
kill "$(writer_pid app)"

# 3. a veto at each event: the set fails with WriterVeto naming the writer and the event,
#    the writer gets Abort, nothing stays frozen or held
for ev in prepare-backup prepare-snapshot freeze thaw post-snapshot; do
	: >"$WORK/v-$ev.events"
	writer_start "v-$ev" "$WORK/ma/v-$ev" "$WORK/mb/v-$ev" --veto "$ev"
	case $ev in
	prepare-backup) steps="prepare -- expect WriterVeto" ;;
	*) steps="prepare -- ok -- do -- expect WriterVeto" ;;
	esac
	# shellcheck disable=SC2086
	requester start -- add "$a" -- add "$b" -- gather -- $steps -- release -- ok \
		>"$WORK/veto" || { cat "$WORK/veto" >&2; fail "veto at $ev"; }
	grep -q "vetoed" "$WORK/veto" || fail "veto at $ev: no message naming the event"
	grep -q "VSS_E_WRITERERROR_RETRYABLE" "$WORK/veto" || fail "veto at $ev: no writer code"
	sleep 0.3
	events "v-$ev" | grep -qx abort || fail "veto at $ev: the writer got no Abort"
	[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "veto at $ev left $(dm_with_uuid_prefix VSSD-)"
	[ -z "$(dm_suspended)" ] || fail "veto at $ev left suspended $(dm_suspended)"
	echo ok >"$WORK/ma/after-$ev" && echo ok >"$WORK/mb/after-$ev" # nothing frozen
	kill "$(writer_pid "v-$ev")"
	wait "$(writer_pid "v-$ev")" 2>/dev/null || true
done
