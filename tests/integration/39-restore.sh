#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 39-restore.sh - a backup and a restore of an SQLite database with its writer (issue 11): the
# SQLite writer under a write load; vssctl backup --document copies the database files from the
# shadow copy; the writer restarts (a new instance id); vssctl restore --document -- CMD mounts a
# fresh volume on the database directory and copies the files onto it between PreRestore and
# PostRestore; every row
# committed before the snapshot is there, integrity_check is ok, the writer saw PreRestore then
# PostRestore; a second writer that vetoes PreRestore fails its own components only (state 13),
# and gets no PostRestore; --component INSTANCE:NAME restores one writer's component alone; a
# broken document is refused naming the field.
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot
command -v sqlite3 >/dev/null || fail "sqlite3 is missing (tools/deps.sh)"

a=$(vol_create "$RUN-a" 64M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
# the fresh volume the database is restored onto
fresh=$(vol_create "$RUN-fresh" 32M)
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0,nodiscard "$fresh"
mkdir -p "$WORK/ma/db" "$WORK/ma/other" "$WORK/backup"
bus_start
vssd_start

# sqlw_start NAME INSTANCE-NAME DATABASE [ARGS]: the SQLite writer in the background, its events
# in $WORK/NAME.events; returns once it registered
sqlw_start()
{
	local name=$1 inst=$2 db=$3 pid
	shift 3
	"$BUILD/vssd-sqlite-writer" --name "$name" --instance-name "$inst" \
		--event-log "$WORK/$name.events" "$@" "$db" >>"$WORK/$name.log" 2>&1 &
	pid=$!
	WRITER_PIDS="$WRITER_PIDS $pid"
	eval "WPID_$name=$pid"
	for _ in $(seq 1 200); do
		grep -q "registered" "$WORK/$name.log" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || fail "writer $name exited: $(cat "$WORK/$name.log")"
		sleep 0.05
	done
	fail "writer $name did not register: $(cat "$WORK/$name.log")"
}
sqlw_events() { awk '{ print $2 }' "$WORK/$1.events" | tr '\n' ' '; }
rows_of() { sqlite3 "$1" "SELECT count(*) || '|' || coalesce(max(n), 0) FROM rows"; }

DB=$WORK/ma/db/db.sqlite
sqlw_start db one "$DB" --interval-ms 5
sqlw_start vetoer two "$WORK/ma/other/o.sqlite" --no-load --veto pre-restore
wait_for 100 sh -c "[ \$(sqlite3 '$DB' 'SELECT count(*) FROM rows') -ge 50 ]" ||
	fail "the load commits no rows: $(cat "$WORK/db.log")"

# 1. the backup, under the load: CMD copies the database files from the shadow copy
cat >"$WORK/copy-out.sh" <<'EOS'
#!/bin/sh
set -eu
for pair in $VSSD_SNAPSHOT_MOUNTS; do
	m=${pair#*=}
	cp "$m/db/db.sqlite" "$1/"
	[ ! -e "$m/db/db.sqlite-wal" ] || cp "$m/db/db.sqlite-wal" "$1/"
	cp "$m/other/o.sqlite" "$1/"
done
EOS
chmod +x "$WORK/copy-out.sh"
vssctl backup --volume "$a" --mount --type full --document "$WORK/doc.json" \
	-- "$WORK/copy-out.sh" "$WORK/backup" >"$WORK/vb" 2>&1 || { cat "$WORK/vb" >&2; fail "vssctl backup"; }
frozen=$(sed -n 's/.* freeze .* rows=\([0-9]*\)$/\1/p' "$WORK/db.events")
[ -n "$frozen" ] && [ "$frozen" -gt 0 ] || fail "no freeze with rows: $(cat "$WORK/db.events")"
assert_eq "$(sqlw_events db)" "started freeze thaw post-snapshot " "the db writer's backup events"
assert_eq "$(jq -r '[.writers[] | .name + ":" + ."instance-name"] | sort | join(" ")' \
	"$WORK/doc.json")" "db:one vetoer:two" "the writers in the document"
# the writer's position at the freeze is its component's backup stamp (set at PostSnapshot)
assert_eq "$(jq -r '.writers[] | select(.name == "db") | .components[] |
	select(.name == "database") | ."backup-stamp"' "$WORK/doc.json")" "rows=$frozen" \
	"the db writer's backup stamp in the document"
# the copy alone: exactly the rows committed when the writes were held
mkdir "$WORK/check" && cp "$WORK/backup/"db.sqlite* "$WORK/check/"
assert_eq "$(rows_of "$WORK/check/db.sqlite")" "$frozen|$frozen" "rows in the shadow copy"
assert_eq "$(sqlite3 "$WORK/check/db.sqlite" 'PRAGMA integrity_check')" ok "the copy's integrity"

# the load goes on past the backup; the writer restarts (a new instance id, found again by its
# class id and instance name)
wait_for 100 sh -c "[ \$(sqlite3 '$DB' 'SELECT max(n) FROM rows') -gt $((frozen + 20)) ]" ||
	fail "the load stopped after the backup"
old_id=$(jq -r '.writers[] | select(.name == "db") | ."instance-id"' "$WORK/doc.json")
kill "$WPID_db"
wait "$WPID_db" 2>/dev/null || true
: >"$WORK/db.events"
sqlw_start db one "$DB" --interval-ms 5
sleep 0.3

# 2. a broken document is refused naming the field, and starts nothing
jq 'del(.writers[0].components[0].selected)' "$WORK/doc.json" >"$WORK/broken.json"
run_rc vssctl restore --document "$WORK/broken.json" -- true
assert_eq "$RC" 1 "vssctl restore with a broken document"
grep -q 'InvalidArgument\|writers\[0\].components\[0\].selected: missing' "$WORK/err" ||
	fail "the broken document: $(cat "$WORK/err")"
grep -q 'components\[0\].selected: missing' "$WORK/err" || fail "no field named: $(cat "$WORK/err")"

# 3. the restore: CMD empties the database directory, mounts the fresh volume on it and copies
#    the backup onto that (the writer closed the database at PreRestore); the vetoer fails its
#    component at PreRestore, the db writer reopens the restored database on the fresh volume
cat >"$WORK/copy-in.sh" <<'EOS'
#!/bin/sh
set -eu
env | grep '^VSSD_' | sort >"$2/restore.env"
rm -rf "$1/ma/db" && mkdir "$1/ma/db"
mount -t ext4 "$3" "$1/ma/db"
cp "$2/db.sqlite" "$1/ma/db/"
[ ! -e "$2/db.sqlite-wal" ] || cp "$2/db.sqlite-wal" "$1/ma/db/"
EOS
chmod +x "$WORK/copy-in.sh"
run_rc vssctl restore --document "$WORK/doc.json" -- "$WORK/copy-in.sh" "$WORK" "$WORK/backup" \
	"$fresh"
assert_eq "$(findmnt -n -o SOURCE --target "$DB")" "$fresh" "the restored database's volume"
assert_eq "$RC" 1 "vssctl restore with a writer failing (exit status)"
grep -q "^writer db ($old_id, instance one): \[1\] Stable" "$WORK/out" ||
	fail "the db writer's status: $(cat "$WORK/out" "$WORK/err")"
grep -q "^writer vetoer (.*, instance two): \[13\] Failed at pre restore: vetoed by --veto pre-restore" \
	"$WORK/out" || fail "the vetoer's status: $(cat "$WORK/out" "$WORK/err")"
grep -q "1 writer failed the restore" "$WORK/err" || fail "no failure said: $(cat "$WORK/err")"
assert_eq "$(sqlw_events db)" "started pre-restore post-restore " "the db writer's restore events"
grep -q " post-restore [0-9a-f-]* status=all integrity=ok rows=$frozen\$" "$WORK/db.events" ||
	fail "PostRestore's check: $(cat "$WORK/db.events")"
grep -q " pre-restore [0-9a-f-]* backup=$(jq -r '."set-id"' "$WORK/doc.json") stamp=rows=$frozen\$" \
	"$WORK/db.events" ||
	fail "PreRestore's info: $(cat "$WORK/db.events")"
assert_eq "$(sqlw_events vetoer)" "started freeze thaw post-snapshot pre-restore " \
	"the vetoer: no PostRestore after its veto"
# the restored database: every row committed before the snapshot, none after it, and the load
# goes on from there
assert_eq "$(sqlite3 "$DB" "SELECT count(*) || '|' || max(n) FROM rows WHERE n <= $frozen")" \
	"$frozen|$frozen" "rows committed before the snapshot, restored"
assert_eq "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok "the restored database's integrity"
wait_for 100 sh -c "[ \$(sqlite3 '$DB' 'SELECT max(n) FROM rows') -gt $((frozen + 5)) ]" ||
	fail "the load did not go on after the restore: $(cat "$WORK/db.log")"
vet_id=$(jq -r '.writers[] | select(.name == "vetoer") | ."instance-id"' "$WORK/doc.json")
grep -qx "VSSD_RESTORE_COMPONENTS=.*$old_id:database.*" "$WORK/backup/restore.env" &&
	grep -qx "VSSD_RESTORE_COMPONENTS=.*$vet_id:database.*" "$WORK/backup/restore.env" ||
	fail "CMD's selection: $(cat "$WORK/backup/restore.env")"
grep -qx "VSSD_RESTORE_FAILED=$vet_id:database" "$WORK/backup/restore.env" ||
	fail "CMD's failed components: $(cat "$WORK/backup/restore.env")"
grep -qx "VSSD_BACKUP_SET_ID=$(jq -r '."set-id"' "$WORK/doc.json")" "$WORK/backup/restore.env" ||
	fail "CMD's backup set: $(cat "$WORK/backup/restore.env")"

# 4. --component INSTANCE:NAME (the instance name): the db writer alone, the vetoer not called
: >"$WORK/db.events"
: >"$WORK/vetoer.events"
run_rc vssctl restore --document "$WORK/doc.json" --component one:database -- true
assert_eq "$RC" 0 "vssctl restore --component one:database: $(cat "$WORK/err")"
assert_eq "$(sqlw_events db)" "pre-restore post-restore " "the db writer, selected alone"
assert_eq "$(sqlw_events vetoer)" "" "the vetoer, not selected"
assert_eq "$(wc -l <"$WORK/out")" 1 "one writer in the status: $(cat "$WORK/out")"
run_rc vssctl restore --document "$WORK/doc.json" --component one:nothing -- true
assert_eq "$RC" 1 "an unknown component"
grep -q "has no component 'nothing'" "$WORK/err" || fail "unknown component: $(cat "$WORK/err")"
# nothing is left open: every session was released
vssd_log_has "released by" || fail "no session was released: $(tail "$WORK/vssd.log")"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "the backup left $(dm_with_uuid_prefix VSSD-)"
note "rows at the snapshot: $frozen"
