#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 38-writers-stamps.sh - backup stamps across a full then an incremental backup, per-component
# results reaching writers, with real writer processes: vssd-hook-writer (libvsswriter) whose
# hook sets a backup stamp and backup metadata with stdout lines, sees the backup type and the
# previous stamps in its environment and the results in backup-results; model-writer.py, a
# writer without BackupResults (UnknownMethod: nothing to do), and one whose PostSnapshot answer
# names a component it does not have (the writer fails, as a NonRetryable veto naming the field)
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
mkdir -p "$WORK/ma/db/wal" "$WORK/ma/conf" "$WORK/ma/archive" "$WORK/ma/logs"
bus_start
vssd_start

# the hook: what it sees goes to $WORK/hook.seen; at post-snapshot it sets data's stamp from
# the backup type, logs' metadata, and tries lines that must be refused (a tab in the value,
# a component it does not have)
mkdir -m 0755 "$WORK/hooks"
cat >"$WORK/hooks/10-db" <<EOF
#!/bin/sh
case \$1 in
prepare-backup)
	printf 'prepare type=%s prev=%s\n' "\$VSSD_BACKUP_TYPE" "\$VSSD_PREVIOUS_BACKUP_STAMPS" \
		>>"$WORK/hook.seen";;
post-snapshot)
	echo "backup-stamp data lsn-\$VSSD_BACKUP_TYPE"
	echo "backup-metadata logs meta of \$VSSD_SET_ID"
	printf 'backup-stamp logs a\tb\n'
	echo "backup-stamp nope x";;
backup-results)
	printf 'results %s\n' "\$VSSD_BACKUP_RESULTS" >>"$WORK/hook.seen";;
esac
exit 0
EOF
chmod 0755 "$WORK/hooks/10-db"
"$BUILD/vssd-hook-writer" --name stampw --hooks "$WORK/hooks" --log-level debug \
	--component "data=$WORK/ma/db" --component "logs=$WORK/ma/logs" \
	>"$WORK/stampw.log" 2>&1 &
WRITER_PIDS="$WRITER_PIDS $!"
for _ in $(seq 1 200); do
	grep -q "registered" "$WORK/stampw.log" 2>/dev/null && break
	sleep 0.05
done
grep -q "registered" "$WORK/stampw.log" || fail "hook writer: $(cat "$WORK/stampw.log")"

# a writer that does not implement BackupResults
/usr/bin/python3 "$SRC/tests/integration/model-writer.py" old "$WORK/ma" full \
	>"$WORK/old.log" 2>&1 &
WRITER_PIDS="$WRITER_PIDS $!"
for _ in $(seq 1 200); do
	grep -q "^registered" "$WORK/old.log" && break
	sleep 0.05
done
grep -q "^registered" "$WORK/old.log" || fail "model writer: $(cat "$WORK/old.log")"

# 1. the full backup: data succeeded, logs failed (SetBackupSucceeded), BackupComplete true
requester start backup-type=full context=app-rollback -- ok -- add "$a" -- gather -- ok \
	-- prepare -- ok -- do -- ok -- results stampw/data=true stampw/logs=false -- ok \
	-- complete true -- ok -- status -- ok -- document -- ok -- release -- ok \
	>"$WORK/full" || { cat "$WORK/full" >&2; fail "full backup"; }
grep '"step": "document"' "$WORK/full" | jq -c .result >"$WORK/full.json"
setid=$(jq -r '."set-id"' "$WORK/full.json")
assert_eq "$(jq -c '.writers[] | select(.name == "stampw") | [.components[] |
	[.name, .selected, ."backup-succeeded", ."backup-stamp", ."backup-metadata",
	 ."previous-backup-stamp"]]' "$WORK/full.json")" \
	"[[\"data\",true,true,\"lsn-full\",null,null],[\"logs\",true,false,null,\"meta of $setid\",null]]" \
	"the hook writer's components in the full backup's document"
# the writer's view: the backup type, no previous stamp, and exactly the requester's results
assert_eq "$(cat "$WORK/hook.seen")" "prepare type=full prev=
results data	succeeded
logs	failed" "what the hook saw in the full backup"
# the refused lines are logged and change nothing
grep -q 'backup-stamp for component "logs" refused: not UTF-8 text without control' \
	"$WORK/stampw.log" || fail "the tab in a stamp was not refused: $(cat "$WORK/stampw.log")"
grep -q 'backup-stamp for component "nope" refused: not one of' "$WORK/stampw.log" ||
	fail "an unknown component's stamp was not refused"
# the writer without BackupResults: nothing failed, it is stable after BackupComplete
st=$(grep '"step": "status"' "$WORK/full")
assert_eq "$(printf %s "$st" | jq -c '.result[] | select(.name == "old") |
	[.state, ."last-error"]')" '[1,""]' "the old writer after BackupComplete"
assert_eq "$(printf %s "$st" | jq -c '.result[] | select(.name == "stampw") |
	[.state, ."last-error"]')" '[1,""]' "the hook writer after BackupComplete"
vssd_log_has 'BackupResults failed' && fail "a BackupResults failure was logged"
grep -c '^event BackupComplete' "$WORK/old.log" | grep -qx 1 ||
	fail "the old writer got no BackupComplete: $(cat "$WORK/old.log")"
vssd_log_has "components' stamps, metadata or failures set" ||
	fail "vssd did not log the stamps it took"

# 2. the incremental with vssctl backup --previous: data's stamp comes back as its previous
#    stamp, to the writer (with the backup type) and in the new document
: >"$WORK/hook.seen"
vssctl backup --volume "$a" --type incremental --previous "$WORK/full.json" \
	--document "$WORK/inc.json" -- true >"$WORK/vb" 2>&1 ||
	{ cat "$WORK/vb" >&2; fail "incremental backup"; }
assert_eq "$(jq -r '."backup-type"' "$WORK/inc.json")" incremental "the incremental's type"
assert_eq "$(jq -c '.writers[] | select(.name == "stampw") | [.components[] |
	[.name, ."backup-succeeded", ."backup-stamp", ."previous-backup-stamp"]]' \
	"$WORK/inc.json")" \
	'[["data",true,"lsn-incremental","lsn-full"],["logs",true,null,null]]' \
	"the hook writer's components in the incremental's document"
assert_eq "$(cat "$WORK/hook.seen")" "prepare type=incremental prev=data	lsn-full
results data	succeeded
logs	succeeded" "what the hook saw in the incremental backup"

requester delete all=true -- ok >/dev/null
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "left $(dm_with_uuid_prefix VSSD-)"

# 3. an answer whose component data breaks the rules fails that writer at that event, as a
#    NonRetryable veto naming the field (a hook cannot send one: the library checks first);
#    with writer-failures=abort the set fails and is rolled back
/usr/bin/python3 "$SRC/tests/integration/model-writer.py" bad "$WORK/ma" bad-stamp \
	>"$WORK/bad.log" 2>&1 &
WRITER_PIDS="$WRITER_PIDS $!"
for _ in $(seq 1 200); do
	grep -q "^registered" "$WORK/bad.log" && break
	sleep 0.05
done
grep -q "^registered" "$WORK/bad.log" || fail "bad-stamp writer: $(cat "$WORK/bad.log")"
requester start -- ok -- add "$a" -- gather -- ok -- prepare -- ok \
	-- do -- expect WriterVeto -- release -- ok >"$WORK/bad" ||
	{ cat "$WORK/bad" >&2; fail "a set with an unusable answer"; }
grep '"step": "do"' "$WORK/bad" | jq -r .message | grep -q \
	'writer "bad" (.*) answered PostSnapshot with unusable component data: components\[0\]: "nope" is not one of its components in this backup' ||
	fail "the veto does not name the field: $(grep '"step": "do"' "$WORK/bad")"
grep '"step": "do"' "$WORK/bad" | jq -r .message | grep -q '^VSS_E_WRITERERROR_NONRETRYABLE' ||
	fail "not a NonRetryable veto: $(grep '"step": "do"' "$WORK/bad")"
# ListWriters without refresh (an Identify would bring it back to Stable)
assert_eq "$(/usr/bin/python3 -c 'import dbus
m = dbus.Interface(dbus.SystemBus().get_object("org.vssd.ShadowCopy1", "/org/vssd/ShadowCopy1"),
                   "org.vssd.ShadowCopy1.Manager")
for w in m.ListWriters(False):
    if w["name"] == "bad":
        print(int(w["state"]), w["last-error"])')" "11 VSS_E_WRITERERROR_NONRETRYABLE" \
	"the writer whose answer was unusable"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "the failed set left $(dm_with_uuid_prefix VSSD-)"
