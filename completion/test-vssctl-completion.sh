#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# test-vssctl-completion.sh - vssctl's bash completion against vssctl's own --help, no vssd needed
#
# Usage: completion/test-vssctl-completion.sh BUILD-DIR (make check-unit runs it). Checks that
# the verbs and each verb's options the completion offers are exactly those vssctl's usage
# texts name, that typed words complete to the right candidates, that ids and volumes come from
# "vssctl --json list ..." (a stand-in vssctl prints vssd's JSON), and that nothing is offered
# and nothing printed when vssd does not answer.
set -u

build=${1:?usage: $0 BUILD-DIR}
vssctl=$(cd "$build" && pwd)/vssctl
here=$(cd "$(dirname "$0")" && pwd)
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[[ -x $vssctl ]] || {
	echo "FAIL: no $vssctl"
	exit 1
}
# shellcheck source=completion/vssctl.bash
source "$here/vssctl.bash" || {
	echo "FAIL: sourcing vssctl.bash"
	exit 1
}

sorted() { tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' '; }

# complete WORD... : COMPREPLY for the last word of "vssctl WORD..."
complete_words()
{
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_vssctl vssctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>"$tmp/stderr"
	printf '%s\n' "${COMPREPLY[@]}" | sorted
}

expect()
{
	local what=$1 want got
	want=$(echo "$2" | sorted)
	shift 2
	got=$(complete_words "$@")
	if [[ $got != "$want" ]]; then
		echo "FAIL: $what: '$*' completes to '$got', want '$want'"
		fail=1
	elif [[ -s $tmp/stderr ]]; then
		echo "FAIL: $what: '$*' printed: $(cat "$tmp/stderr")"
		fail=1
	else
		echo "ok: $what"
	fi
}

# ---- the verbs and options of vssctl's usage texts
help_verbs=$("$vssctl" --help | sed -n '/^Verbs:/,/^$/p' | sed -n 's/^  \([a-z]\)/\1/p' |
	awk '{ w = $1; if ($2 ~ /^[a-z]+$/) w = w " " $2; print w }')
[[ $(echo "$help_verbs" | wc -l) -ge 10 ]] || {
	echo "FAIL: cannot read the verbs from vssctl --help"
	exit 1
}
want=$(echo "$help_verbs" | tr ' ' '_' | sort | tr '\n' ' ')
got=$(for v in "${!_vssctl_verb_opts[@]}"; do echo "${v// /_}"; done | sort | tr '\n' ' ')
if [[ $got != "$want" ]]; then
	echo "FAIL: verbs: the completion has '$got', vssctl --help '$want'"
	fail=1
else
	echo "ok: the completion knows the $(echo "$help_verbs" | wc -l) verbs of vssctl --help"
fi
while IFS= read -r v; do
	# shellcheck disable=SC2086
	want=$("$vssctl" $v --help | sed '/^$/q' | grep -o -- '--[a-z][a-z-]*' | sorted)
	got=$(echo "${_vssctl_verb_opts[$v]-MISSING}" | sorted)
	if [[ $got != "$want" ]]; then
		echo "FAIL: options of '$v': the completion has '$got', vssctl's usage '$want'"
		fail=1
	fi
	# shellcheck disable=SC2086
	expect "options of '$v'" "$want $_vssctl_global_opts$([[ $v == backup || $v == restore ]] && echo ' --')" \
		vssctl $v --
done <<<"$help_verbs"
want=$("$vssctl" --help | sed -n '/^Global options/,/^$/p' | grep -o -- '--[a-z][a-z-]*' | sorted)
got=$(echo "$_vssctl_global_opts" | sorted)
[[ $got == "$want" ]] || {
	echo "FAIL: global options: the completion has '$got', vssctl --help '$want'"
	fail=1
}

# ---- words and values
expect "first words" "list create delete backup restore add resize expose unexpose revert query schedule" vssctl ""
expect "first words after a global option" "list" vssctl --json l
expect "second words of list" "shadows volumes providers writers storage" vssctl list ""
expect "second words of delete" "shadows storage volume" vssctl --timeout-ms 5 delete ""
expect "no third word" "" vssctl list volumes ""
expect "global options with no verb" "$_vssctl_global_opts" vssctl --
expect "an alias's options" "--for --delete-snapshots --quiet $_vssctl_global_opts" \
	vssctl delete shadowstorage --
expect "options after the verb's values" "--no-writers --no-auto-release" \
	vssctl create shadow --volume /dev/mapper/a --no
expect "contexts" "backup file-share-backup persistent app-rollback client-accessible client-accessible-writers nas-rollback" \
	vssctl create shadow --context ""
expect "a context, begun" "persistent" vssctl backup --context pe
expect "a context after =" "persistent" vssctl backup --context = pe
expect "a restore document" "" vssctl restore --component db:data --document /nonexistent-dir/x
expect "backup types" "full copy incremental differential log" vssctl backup --type ""
expect "nothing for a size" "" vssctl add storage --for /dev/x --maxsize ""
mkdir -p "$tmp/dir/store"
expect "a directory for --on" "$tmp/dir/store" vssctl add storage --on "$tmp/dir/st"

# ---- values from vssd, through a stand-in vssctl that prints what vssctl --json prints
cat >"$tmp/vssctl" <<'EOS'
#!/bin/bash
# records its arguments, prints vssctl --json's output for list shadows and list volumes
echo "$*" >>"${0%/*}/calls"
case "$*" in
*"list shadows")
	cat <<'EOJ'
[
  {
    "id": "0b4c1a52-1111-4b8a-9c1e-8a2b0f1e2d3c",
    "set_id": "5d7e9f10-2222-4c3d-8e4f-a1b2c3d4e5f6",
    "volume": "/dev/mapper/data",
    "exposed_path": null
  },
  {
    "id": "0b4c1a52-3333-4b8a-9c1e-8a2b0f1e2d3c",
    "set_id": "5d7e9f10-2222-4c3d-8e4f-a1b2c3d4e5f6",
    "volume": "/dev/mapper/logs",
    "exposed_path": "/mnt/x"
  }
]
EOJ
	;;
*"list volumes")
	printf '[\n  {\n    "volume": "/dev/mapper/data",\n    "supported": true\n  },\n'
	printf '  {\n    "volume": "/dev/mapper/logs",\n    "supported": true\n  }\n]\n'
	;;
*) exit 1 ;;
esac
EOS
chmod +x "$tmp/vssctl"
ids="0b4c1a52-1111-4b8a-9c1e-8a2b0f1e2d3c 0b4c1a52-3333-4b8a-9c1e-8a2b0f1e2d3c"
expect "shadow ids for --shadow" "$ids" "$tmp/vssctl" list shadows --shadow ""
expect "shadow ids, begun" "0b4c1a52-3333-4b8a-9c1e-8a2b0f1e2d3c" \
	"$tmp/vssctl" delete shadows --shadow 0b4c1a52-3
expect "set ids for --set" "5d7e9f10-2222-4c3d-8e4f-a1b2c3d4e5f6" "$tmp/vssctl" delete shadows --set ""
expect "volumes for --volume" "/dev/mapper/data /dev/mapper/logs" \
	"$tmp/vssctl" create shadow --volume /dev/mapper/data --volume ""
expect "volumes for --for=" "--for=/dev/mapper/logs" "$tmp/vssctl" list storage --for=/dev/mapper/l
expect "shadow id of expose" "$ids" "$tmp/vssctl" expose ""
expect "shadow id of revert" "$ids" "$tmp/vssctl" revert --quiet ""
expect "nothing after unexpose's id" "" "$tmp/vssctl" unexpose "${ids%% *}" ""
expect "the volume of delete volume" "/dev/mapper/data /dev/mapper/logs" "$tmp/vssctl" delete volume ""
rm -f "$tmp/calls"
complete_words "$tmp/vssctl" --bus unix:path=/run/x list shadows --set "" >/dev/null
if grep -q -- '--bus unix:path=/run/x --json' "$tmp/calls" 2>/dev/null; then
	echo "ok: --bus is passed on to vssctl"
else
	echo "FAIL: --bus not passed on: $(cat "$tmp/calls" 2>/dev/null)"
	fail=1
fi

# ---- the real vssctl with no vssd behind the bus: nothing offered, nothing printed
expect "no vssd: no ids" "" "$vssctl" --bus "unix:path=$tmp/nobus" list shadows --shadow ""
expect "no vssd: no volumes" "" "$vssctl" --bus "unix:path=$tmp/nobus" backup --volume ""

if ((fail)); then
	echo "completion test FAILED"
	exit 1
fi
echo "completion test passed"
