#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 38-writers-metadata.sh - the VSS writer metadata model: a writer registers components with
# files, dependencies, exclude files, restore method, mappings and backup schema; a malformed one
# is refused naming the field; Identify replaces it; GatherWriterMetadata, the Metadata property
# and vssctl list writers --detailed return it whole; an old writer (name and paths) keeps working
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
mkdir -p "$WORK/ma/db/wal" "$WORK/ma/conf" "$WORK/ma/archive"
bus_start
vssd_start
MODEL_WRITER="$SRC/tests/integration/model-writer.py"

# model_writer_start NAME MODE: in the background, output in $WORK/NAME.log; waits for the
# outcome of its registration
model_writer_start()
{
	/usr/bin/python3 "$MODEL_WRITER" "$1" "$WORK/ma" "$2" >"$WORK/$1.log" 2>&1 &
	WRITER_PIDS="$WRITER_PIDS $!"
	for _ in $(seq 1 200); do
		grep -q "^registered\|^registration failed" "$WORK/$1.log" && return 0
		sleep 0.05
	done
	fail "writer $1 did not register: $(cat "$WORK/$1.log")"
}

# 1. a malformed model is refused with InvalidArgument naming the field, and leaves no writer
model_writer_start bad bad-kind
grep -q '^registration failed: org.vssd.ShadowCopy1.Error.InvalidArgument: .*kind "journal"' \
	"$WORK/bad.log" || fail "a file of kind journal was not refused: $(cat "$WORK/bad.log")"
busctl_vssd ListWriters b false >"$WORK/list0"
grep -q '"bad"' "$WORK/list0" && fail "vssd lists the refused writer"

# 2. the model as registered (no Identify yet): the Metadata property of vssd's writer object
model_writer_start model full
grep -q '^registered' "$WORK/model.log" || fail "the model writer was refused: $(cat "$WORK/model.log")"
id=$(sed -n 's/^registered //p' "$WORK/model.log")
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" --json=short get-property org.vssd.ShadowCopy1 \
	"/org/vssd/ShadowCopy1/writer/$(printf %s "$id" | tr -d -)" org.vssd.ShadowCopy1.Writer \
	Metadata >"$WORK/prop" || fail "no Metadata property"
jq -e '.data | .components.data | length == 2' "$WORK/prop" >/dev/null ||
	fail "registered components: $(cat "$WORK/prop")"
jq -e '.data["restore-method"].data.method.data == "stop-restore-start"' "$WORK/prop" >/dev/null ||
	fail "registered restore method: $(cat "$WORK/prop")"
events_of() { sed -n 's/^event //p' "$WORK/$1.log" | tr '\n' ' '; }
assert_eq "$(events_of model)" "" "events before any request"

# 3. an old writer beside it: name and paths only (the example writer, libvsswriter's version 1
#    calls), and a whole backup with both
writer_start old "$WORK/ma/old-a" "$WORK/ma/old-b"
requester start -- ok -- add "$a" -- gather -- ok -- components main -- ok -- prepare -- ok \
	-- do -- ok -- status -- ok -- complete true -- ok -- release -- ok >"$WORK/flow" ||
	{ cat "$WORK/flow" >&2; fail "backup with the model writer and an old writer"; }
grep '"step": "gather"' "$WORK/flow" | jq -c '.result[]' >"$WORK/gathered"
model=$(jq -c 'select(.name == "model")' "$WORK/gathered")
old=$(jq -c 'select(.name == "old")' "$WORK/gathered")
[ -n "$model" ] && [ -n "$old" ] || fail "GatherWriterMetadata lacks a writer: $(cat "$WORK/gathered")"
m() { printf '%s\n' "$model" | jq -r "$1"; }
o() { printf '%s\n' "$old" | jq -r "$1"; }
# Identify replaced the components (archive is its answer's) and the writer-wide keys
assert_eq "$(m '[.components[].name] | join(" ")')" "main config archive" "components after Identify"
assert_eq "$(m '.components[0] | [."logical-path", .type, .caption, (.selectable|tostring)] | join("|")')" \
	"Databases|database|Main database|true" "component main"
assert_eq "$(m '.components[0].files | map(.path + "/" + .filespec + ":" + .kind + ":" + (.recursive|tostring) + ":" + ."alternate-path") | join(" ")')" \
	"$WORK/ma/db/*.db:database:false: $WORK/ma/db/wal/*.wal:log:false:" "files of main"
assert_eq "$(m '.components[0].dependencies | join(" ")')" 'System\registry' "dependencies of main"
assert_eq "$(m '.components[1] | [(.selectable|tostring), (.paths|length|tostring), .files[0].kind, (.files[0].recursive|tostring), .files[0]."alternate-path", .files[0].filespec] | join("|")')" \
	"false|0|file|true|/srv/restored-conf|*" "component config"
# a component with files only lies where its files are
assert_eq "$(m '.components[1].volumes | join(" ")')" "$a" "volumes of config (files only)"
assert_eq "$(m '.components[0].volumes | join(" ")')" "$a" "volumes of main"
assert_eq "$(m '."restore-method" | [.method, .service, ."writer-restore", (."reboot-required"|tostring)] | join("|")')" \
	"stop-restore-start|model-db.service|always|false" "restore method"
assert_eq "$(m '."backup-schema" | join(" ")')" "incremental lsn" "backup schema"
assert_eq "$(m '."exclude-files"[0] | [.path, .filespec, (.recursive|tostring)] | join("|")')" \
	"$WORK/ma/db|*.tmp|true" "exclude files"
assert_eq "$(m '."alternate-location-mappings"[0] | [.path, .filespec, ."alternate-path"] | join("|")')" \
	"$WORK/ma/conf|*|/srv/elsewhere" "mappings"
# the keys of before are all still there
assert_eq "$(m '[has("instance-id"), has("class-id"), has("usage"), has("state"), has("last-error"), has("owner")] | all')" \
	"true" "the keys of before"
# the old writer: its component with every new key at its default, no writer-wide model
assert_eq "$(o '.components[0] | [.name, (.paths|length|tostring), ."logical-path", .type, .caption, (.selectable|tostring), (.files|length|tostring), (.dependencies|length|tostring)] | join("|")')" \
	"records|2||filegroup||true|0|0" "the old writer's component"
assert_eq "$(o '[(."restore-method"|length), (."exclude-files"|length), (."alternate-location-mappings"|length), (."backup-schema"|length)] | map(tostring) | join(" ")')" \
	"0 0 0 0" "the old writer's writer-wide keys"
# the model writer went through the backup in VSS order; its selection kept its shape
assert_eq "$(events_of model)" \
	"Identify PrepareForBackup PrepareForSnapshot Freeze Thaw PostSnapshot BackupComplete BackupShutdown " \
	"model writer events"
grep -qx "prepare-components main:name,paths" "$WORK/model.log" ||
	fail "the selection sent at PrepareForBackup: $(grep prepare-components "$WORK/model.log")"
sleep 0.3
assert_eq "$(events old | tr '\n' ' ')" \
	"prepare-backup prepare-snapshot freeze thaw post-snapshot backup-complete backup-shutdown " \
	"old writer events"
grep '"step": "status"' "$WORK/flow" | grep -q '"state": 5' ||
	fail "writers not waiting for completion: $(grep status "$WORK/flow")"

# 4. vssctl list writers --detailed: text and JSON
vssctl list writers --detailed >"$WORK/detailed" || fail "list writers --detailed failed"
for line in "Writer name: 'model'" "   Restore method: stop-restore-start" \
	"   Restore service: model-db.service" "   Writer restore: always" \
	'   + Component "Databases\main"' "      - Type: database" \
	"         $WORK/ma/db/wal/*.wal [log]" "         $WORK/ma/conf/* [file] (recursive) -> /srv/restored-conf" \
	"      $WORK/ma/conf/* -> /srv/elsewhere" "         System\\registry" \
	"Writer name: 'old'" "   Restore method: (none)" '   + Component "records"'; do
	grep -qxF -- "$line" "$WORK/detailed" || fail "list writers --detailed lacks \"$line\": $(cat "$WORK/detailed")"
done
vssctl --json list writers --detailed >"$WORK/detailed.json" || fail "list writers --detailed --json"
assert_eq "$(jq -r '.[] | select(.name == "model") | .components[0].files[1].kind' "$WORK/detailed.json")" \
	"log" "JSON files kind"
assert_eq "$(jq -r '.[] | select(.name == "model") | .restore_method.writer_restore' "$WORK/detailed.json")" \
	"always" "JSON restore method"
assert_eq "$(jq -r '.[] | select(.name == "old") | .components[0].selectable' "$WORK/detailed.json")" \
	"true" "JSON old writer"
# without --detailed the listing is as before
vssctl list writers >"$WORK/plain" || fail "list writers"
grep -q "Component\|Restore method" "$WORK/plain" && fail "plain list writers shows metadata"
vssctl list volumes --detailed >/dev/null 2>&1 && fail "--detailed accepted by list volumes"
note "writer metadata: registered, refused, replaced by Identify, gathered and listed"
