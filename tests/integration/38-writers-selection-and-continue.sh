#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 38-writers-selection-and-continue.sh - StartSnapshotSet's writer options with real writers:
# exclusion by instance (exclude-writer-instances) and by class allow-list
# (include-writer-classes); writer-failures=continue creates the set without a writer that
# vetoes Freeze (marked failed, Abort and BackupShutdown only), while the abort default still
# fails the set; the backup document and per-component results (SetBackupSucceeded, GetBackupDocument,
# vssctl backup --document); vssctl create shadow's default context client-accessible-writers
# freezes writers
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

CA=00000000-0000-4000-8000-0000000000ca
CB=00000000-0000-4000-8000-0000000000cb

a=$(vol_create "$RUN-a" 64M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
bus_start
vssd_start

writer_start a1 "$WORK/ma/a1-x" "$WORK/ma/a1-y" --class-id "$CA"
writer_start a2 "$WORK/ma/a2-x" "$WORK/ma/a2-y" --class-id "$CA"
writer_start b1 "$WORK/ma/b1-x" "$WORK/ma/b1-y" --class-id "$CB"

# the instance ids, from a metadata gathering of a set that is then aborted
requester start -- gather -- ok -- abort -- release >"$WORK/ids" ||
	{ cat "$WORK/ids" >&2; fail "ids"; }
id_of() { grep '"step": "gather"' "$WORK/ids" | jq -r ".result[] | select(.name == \"$1\") |
	.\"instance-id\""; }
id_a1=$(id_of a1)
id_a2=$(id_of a2)
id_b1=$(id_of b1)
[ -n "$id_a1" ] && [ -n "$id_a2" ] && [ -n "$id_b1" ] || fail "instance ids: $(cat "$WORK/ids")"
for w in a1 a2 b1; do : >"$WORK/$w.events"; done

FULL="prepare-backup prepare-snapshot freeze thaw post-snapshot backup-complete backup-shutdown "

# run_set NAME OPTIONS...: a whole backup with these StartSnapshotSet options; the writers in
# its metadata go to $WORK/NAME.gathered (sorted names), each writer's events start afresh
run_set()
{
	local name=$1
	shift
	for w in a1 a2 b1; do : >"$WORK/$w.events"; done
	requester start "$@" -- ok -- add "$a" -- gather -- ok -- prepare -- ok -- do -- ok \
		-- status -- ok -- complete true -- ok -- release -- ok >"$WORK/$name" ||
		{ cat "$WORK/$name" >&2; fail "$name"; }
	grep '"step": "gather"' "$WORK/$name" | jq -r '.result[].name' | sort | tr '\n' ' ' \
		>"$WORK/$name.gathered"
	sleep 0.5
}

# 1. exclusion by instance: a2 takes no part at all, not even Identify
run_set by-instance "exclude-writer-instances=$id_a2,"
assert_eq "$(cat "$WORK/by-instance.gathered")" "a1 b1 " "writers of exclude-writer-instances"
assert_eq "$(events a1 | tr '\n' ' ')" "$FULL" "a1 events with a2 excluded"
assert_eq "$(events b1 | tr '\n' ' ')" "$FULL" "b1 events with a2 excluded"
assert_eq "$(events a2 | tr '\n' ' ')" "" "events of the excluded instance a2"

# 2. a class allow-list: only class B
run_set allow-b "include-writer-classes=$CB,"
assert_eq "$(cat "$WORK/allow-b.gathered")" "b1 " "writers of include-writer-classes B"
assert_eq "$(events b1 | tr '\n' ' ')" "$FULL" "b1 events, class B allowed"
assert_eq "$(events a1 | tr '\n' ' ')$(events a2 | tr '\n' ' ')" "" "events of class A writers"

# 3. an allow-list of class A (spelt in capitals) with one instance of it excluded
CA_UP=$(printf %s "$CA" | tr a-f A-F)
run_set allow-a-but-a1 "include-writer-classes=$CA_UP," "exclude-writer-instances=$id_a1,"
assert_eq "$(cat "$WORK/allow-a-but-a1.gathered")" "a2 " "class A allowed, a1 excluded"
assert_eq "$(events a2 | tr '\n' ' ')" "$FULL" "a2 events"
assert_eq "$(events a1 | tr '\n' ' ')$(events b1 | tr '\n' ' ')" "" "events of a1 and b1"

# 4. options that are not valid are InvalidArgument, and nothing starts
requester start "include-writer-classes=not-a-uuid," -- expect InvalidArgument \
	-- start writer-failures=sometimes -- expect InvalidArgument \
	-- start "exclude-writer-instances=$id_a1" -- expect InvalidArgument >"$WORK/bad" ||
	{ cat "$WORK/bad" >&2; fail "bad options"; }
grep -q 'include-writer-classes: \\"not-a-uuid\\" is not a UUID' "$WORK/bad" ||
	fail "no message naming the bad class id: $(cat "$WORK/bad")"
kill "$(writer_pid a1)" "$(writer_pid a2)"
wait "$(writer_pid a1)" "$(writer_pid a2)" 2>/dev/null || true

# 5. a writer that vetoes Freeze, beside a good one (b1)
writer_start vf "$WORK/ma/vf-x" "$WORK/ma/vf-y" --veto freeze
# 5a. the default (abort): the set fails with WriterVeto, both writers get Abort
: >"$WORK/b1.events"
requester start -- add "$a" -- gather -- ok -- prepare -- ok -- do -- expect WriterVeto \
	-- release -- ok >"$WORK/abort" || { cat "$WORK/abort" >&2; fail "abort default"; }
sleep 0.5
events b1 | grep -qx abort || fail "abort default: b1 got no Abort"
events b1 | grep -qx thaw && fail "abort default: b1 got Thaw although the set failed"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "abort default left $(dm_with_uuid_prefix VSSD-)"

# 5b. writer-failures=continue: the set is created; vf is marked failed at Freeze (9) with its
#     error and gets Abort and BackupShutdown only; b1 goes through the whole backup
: >"$WORK/b1.events"
: >"$WORK/vf.events"
requester start writer-failures=continue context=app-rollback -- ok -- add "$a" -- gather \
	-- ok -- components records -- ok -- prepare -- ok -- document -- ok -- do -- ok -- status \
	-- ok -- snaps -- ok -- results vf/records=true -- expect ObjectNotFound \
	-- results b1/records=false -- ok -- complete true -- ok -- status -- ok -- document -- ok \
	-- release -- ok >"$WORK/continue" || { cat "$WORK/continue" >&2; fail "continue"; }
grep '"step": "components"' "$WORK/continue" | grep -q '"result": 2' ||
	fail "both writers' records not selected: $(grep components "$WORK/continue")"
sleep 0.5
st=$(grep '"step": "status"' "$WORK/continue" | head -n 1)
assert_eq "$(printf %s "$st" | jq -r '.result[] | select(.name == "vf") | .state')" 9 \
	"state of the writer that vetoed Freeze"
assert_eq "$(printf %s "$st" | jq -r '.result[] | select(.name == "vf") | ."last-error"')" \
	VSS_E_WRITERERROR_RETRYABLE "last-error of vf"
printf %s "$st" | jq -r '.result[] | select(.name == "vf") | ."failure-message"' |
	grep -q "vetoed by --veto freeze" || fail "no failure-message for vf: $st"
assert_eq "$(printf %s "$st" | jq -r '.result[] | select(.name == "b1") | .state')" 5 \
	"b1 waits for BackupComplete"
assert_eq "$(grep '"step": "snaps"' "$WORK/continue" | jq -r '.result[].State')" created \
	"the shadow copy of the continuing set"
assert_eq "$(events b1 | tr '\n' ' ')" "$FULL" "b1 events in the continuing set"
assert_eq "$(events vf | tr '\n' ' ')" \
	"prepare-backup prepare-snapshot freeze abort backup-shutdown " "vf events"
# after BackupComplete the failed writer is still reported as failed
st2=$(grep '"step": "status"' "$WORK/continue" | tail -n 1)
assert_eq "$(printf %s "$st2" | jq -r '.result[] | select(.name == "vf") | .state')" 9 \
	"vf after BackupComplete"
# the backup document: at PrepareForBackup both writers, nothing created yet; after
# BackupComplete vf failed with its records out of the backup, and b1's records failed as
# SetBackupSucceeded said (BackupComplete said true)
d1=$(grep '"step": "document"' "$WORK/continue" | head -n 1 | jq -c .result)
assert_eq "$(printf %s "$d1" | jq -r '.format, ."creation-time", (.writers | length)' |
	tr '\n' ' ')" "vssd-backup/1 0 2 " "the document at PrepareForBackup"
d2=$(grep '"step": "document"' "$WORK/continue" | tail -n 1 | jq -c .result)
assert_eq "$(printf %s "$d2" | jq -r '.context, ."backup-type", (.snapshots | length)' |
	tr '\n' ' ')" "app-rollback full 1 " "the document after BackupComplete"
assert_eq "$(printf %s "$d2" | jq -r '.snapshots[0].volume')" "$a" "the document's snapshot"
assert_eq "$(printf %s "$d2" | jq -c '.writers[] | select(.name == "vf") |
	[.state, ."last-error", .components[0].selected, .components[0]."backup-succeeded"]')" \
	'[9,"VSS_E_WRITERERROR_RETRYABLE",false,null]' "vf in the document"
assert_eq "$(printf %s "$d2" | jq -c '.writers[] | select(.name == "b1") |
	[.state, .components[0].name, .components[0].selected, .components[0]."backup-succeeded"]')" \
	'[1,"records",true,false]' "b1 in the document"
vssd_log_has 'writer-failures=continue: the set goes on without it' ||
	fail "the log does not say the set went on without vf"
requester delete all=true -- ok >/dev/null
kill "$(writer_pid vf)"
wait "$(writer_pid vf)" 2>/dev/null || true

# 6. vssctl backup --document: the document of a backup whose CMD succeeded, then failed
vssctl backup --volume "$a" --document "$WORK/ok.json" -- true >"$WORK/vb" 2>&1 ||
	{ cat "$WORK/vb" >&2; fail "vssctl backup --document"; }
assert_eq "$(stat -c %a "$WORK/ok.json")" 600 "the document's mode"
assert_eq "$(jq -c '[.format, (.writers[] | select(.name == "b1") |
	.components[0] | .selected, ."backup-succeeded")]' "$WORK/ok.json")" \
	'["vssd-backup/1",true,true]' "vssctl backup --document, CMD succeeded"
rc=0
vssctl backup --volume "$a" --document "$WORK/bad.json" -- false >"$WORK/vb" 2>&1 || rc=$?
assert_eq "$rc" 1 "vssctl backup exit status with CMD failing"
assert_eq "$(jq -c '[.writers[] | select(.name == "b1") | .components[0]."backup-succeeded"]' \
	"$WORK/bad.json")" '[false]' "vssctl backup --document, CMD failed"

# an incremental backup after it: --previous hands the document back (previous-document); one
# that is not a backup document is refused naming the field, and nothing starts
vssctl backup --volume "$a" --type incremental --previous "$WORK/ok.json" \
	--document "$WORK/inc.json" -- true >"$WORK/vb" 2>&1 || { cat "$WORK/vb" >&2; fail "--previous"; }
assert_eq "$(jq -r '."backup-type"' "$WORK/inc.json")" incremental "the incremental's document"
jq 'del(.writers[0]."class-id")' "$WORK/ok.json" >"$WORK/broken.json"
rc=0
vssctl backup --volume "$a" --previous "$WORK/broken.json" -- true >"$WORK/vb" 2>&1 || rc=$?
assert_eq "$rc" 1 "vssctl backup with a broken previous document"
grep -q 'InvalidArgument\|backup document: writers\[0\].class-id: missing' "$WORK/vb" ||
	fail "the broken previous document: $(cat "$WORK/vb")"
grep -q 'writers\[0\].class-id: missing' "$WORK/vb" || fail "no field named: $(cat "$WORK/vb")"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "a refused backup left $(dm_with_uuid_prefix VSSD-)"

# 7. vssctl create shadow: client-accessible-writers by default, so the writer is frozen
: >"$WORK/b1.events"
vssctl create shadow --volume "$a" >"$WORK/vc" 2>&1 || { cat "$WORK/vc" >&2; fail "vssctl"; }
sleep 0.3
events b1 | grep -qx freeze || fail "vssctl create shadow did not freeze the writer"
vssctl list shadows >"$WORK/vl" 2>&1 || fail "list shadows"
grep -q "client-accessible-writers" "$WORK/vl" || fail "context not shown: $(cat "$WORK/vl")"
requester delete all=true -- ok >/dev/null
