#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# 34-writers-hostile-text.sh - a writer name with a C1 CSI is refused; a writer (raw D-Bus, no
# libvsswriter to clean its words) vetoes Freeze with a newline, "<0>" and escape sequences in its
# message: vssd's log keeps one line per message (no forged "<0>" line, no raw ESC), and the
# requester's error, GatherWriterStatus and `vssctl list writers` carry the text escaped
# (DESIGN §6)
. "${0%/*}/lib.sh"
. "${0%/*}/lib-vssd.sh"
require_target snapshot

a=$(vol_create "$RUN-a" 64M)
vol_mkfs_mount "$a" ext4 "$WORK/ma"
bus_start
vssd_start
echo data >"$WORK/ma/data"

csi=$(printf '\302\233') # U+009B, the one-character CSI
name='raw\writer'
msg=$(printf 'disk full\n<0>forged emergency \033[31mred\033[0m \033]0;owned\007')

# no raw control byte but newlines (C0, DEL, or the C1 CSI) in file $1
no_raw_controls()
{
	LC_ALL=C grep -q "$(printf '[\001-\011\013-\037\177]')" "$1" && return 1
	LC_ALL=C grep -q "$csi" "$1" && return 1
	return 0
}

# 0. a name with a control character in it (the C1 CSI) is refused
info="{\"name\": \"db${csi}2J\", \"class-id\": \"0b0b0b0b-0000-4000-8000-00000000bad2\"}"
bus_raw /org/vssd/ShadowCopy1 org.vssd.ShadowCopy1.Manager RegisterWriter 'oa{sv}' \
	"[\"/org/example/W\", $info]" >"$WORK/c1.json"
grep -q '"error": "org.vssd.ShadowCopy1.Error.InvalidArgument"' "$WORK/c1.json" ||
	fail "a writer name holding CSI was not refused: $(cat "$WORK/c1.json")"

/usr/bin/python3 "$SRC/tests/integration/raw-writer.py" "$name" "$WORK/ma/data" Freeze "$msg" \
	>"$WORK/raw.log" 2>&1 &
WRITER_PIDS="$WRITER_PIDS $!"
wait_for 300 grep -q "^registered" "$WORK/raw.log" ||
	fail "the raw writer did not register: $(cat "$WORK/raw.log")"

requester start -- add "$a" -- gather -- prepare -- ok -- do -- expect WriterVeto -- status \
	-- release >"$WORK/veto" || { cat "$WORK/veto" >&2; fail "the veto did not fail the set"; }
grep -qx "event Freeze" "$WORK/raw.log" || fail "the raw writer never got Freeze"

# 1. the log: one line per message, the writer's words inside it, escaped
LC_ALL=C grep -n "forged" "$WORK/vssd.log" >&2
LC_ALL=C grep -q "^<0>forged" "$WORK/vssd.log" && fail "the veto forged an emergency log line"
LC_ALL=C grep -q "^[^<]" "$WORK/vssd.log" && fail "a log line without its <N> level"
no_raw_controls "$WORK/vssd.log" || fail "raw control characters in vssd's log"
vssd_log_has 'vetoed Freeze: disk full\\n<0>forged emergency \\x1b\[31mred' ||
	fail "the log lacks the escaped veto"

# 2. the requester: the error reply and GatherWriterStatus carry the escaped text
do_msg=$(grep '"step": "do"' "$WORK/veto" | jq -r .message)
printf '%s\n' "$do_msg" >"$WORK/do-msg"
no_raw_controls "$WORK/do-msg" || fail "raw control characters in the error reply: $do_msg"
case $do_msg in
*'disk full\n<0>forged emergency \x1b[31mred\x1b[0m \x1b]0;owned\x07'*) ;;
*) fail "the error reply lacks the escaped veto: $do_msg" ;;
esac
grep '"step": "status"' "$WORK/veto" | jq -r '.result[] | .["failure-message"]' >"$WORK/status"
no_raw_controls "$WORK/status" || fail "raw control characters in GatherWriterStatus"
grep -qF 'disk full\n<0>forged' "$WORK/status" ||
	fail "GatherWriterStatus lacks the escaped veto: $(cat "$WORK/status")"

# 3. vssctl: text output escaped, JSON exact and free of raw control characters
vssctl list writers >"$WORK/writers" || fail "vssctl list writers failed"
cat "$WORK/writers" >&2
no_raw_controls "$WORK/writers" || fail "raw control characters in vssctl list writers"
grep -q "^<0>forged" "$WORK/writers" && fail "the veto forged a line of vssctl's output"
grep -qF "Writer name: 'raw\\writer'" "$WORK/writers" || fail "vssctl does not show the writer name"
grep -qF 'Failure message: disk full\n<0>forged emergency \x1b[31mred' "$WORK/writers" ||
	fail "vssctl does not show the escaped failure message"
vssctl --json list writers >"$WORK/writers.json" || fail "vssctl --json list writers failed"
no_raw_controls "$WORK/writers.json" || fail "raw control characters in vssctl --json"
assert_eq "$(jq -r '.[0].name' "$WORK/writers.json")" "$name" "the writer name in JSON"
fm=$(jq -r '.[0].failure_message' "$WORK/writers.json")
assert_eq "${fm%% emergency*}" 'disk full\n<0>forged' "the failure message in JSON"
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "the vetoed set left $(dm_with_uuid_prefix VSSD-)"
