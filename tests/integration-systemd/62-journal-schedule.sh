#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# 62-journal-schedule.sh - under systemd as PID 1 (tests/vm/run --systemd, make check-vm-systemd):
# vssd's messages are journal entries with SET_ID=, SNAPSHOT_ID=, VOLUME= and a MESSAGE_ID= per
# kind of event, so that "journalctl SET_ID=<id>" is one set's story and MESSAGE_ID filters
# work; a schedule (vssd-snapshot@.timer with a fast drop-in) makes sets and prunes them to its
# keep count, leaving a set made by hand alone; a vssadmin member may not tag a set with a
# schedule; a bad schedule file fails its run with FILE:LINE.
# shellcheck source=tests/integration/lib.sh
. "${0%/*}/../integration/lib.sh"
# shellcheck source=tests/integration/lib-vssd.sh
. "${0%/*}/../integration/lib-vssd.sh"
require_target snapshot

[ "$(cat /proc/1/comm)" = systemd ] ||
	fail "PID 1 is $(cat /proc/1/comm), not systemd: run this with tests/vm/run --systemd"
PREFIX=/usr/local
vssctl()
{
	"$PREFIX/bin/vssctl" "$@"
}
prop() # UNIT PROPERTY: the property's value
{
	systemctl show -p "$2" --value "$1"
}
# the message ids of common/log-msgid.h (vssd(8))
ID_STARTED=7b0e2952269047f88fc19ccb178610ae
ID_CREATED=1a0843a6b35d4d2286577cb2fa848a05
ID_IO_HELD=24febe32bffe487a9a963c8176191af3
ID_DELETED=d96831a251b64d0b860d2d9f108147dd
SCHED=gt$$
user=vtj$$
test_teardown_more()
{
	systemctl stop "vssd-snapshot@$SCHED.timer" "vssd-snapshot@$SCHED.service" 2>/dev/null
	systemctl stop vssd.service 2>/dev/null
	userdel "$user" 2>/dev/null
	rm -rf "/etc/vssd/schedule.d/$SCHED.conf" "/etc/vssd/schedule.d/bad$$.conf" \
		"/run/systemd/system/vssd-snapshot@$SCHED.timer.d"
	[ "${rc:-1}" -eq 0 ] || journalctl -q -b --no-pager -o short-monotonic -u vssd.service \
		-u "vssd-snapshot@*" | tail -n 60 >&2
}

# ---- install, as 60-units does
make -s BUILD="$BUILD" install >"$WORK/install.log" 2>&1 ||
	fail "make install: $(tail -n 20 "$WORK/install.log")"
systemd-sysusers || fail "systemd-sysusers"
mkdir -p /run/systemd/system/vssd.service.d
printf '[Service]\nEnvironment=DM_DISABLE_UDEV=1\n' >/run/systemd/system/vssd.service.d/vm.conf
cat >/etc/vssd/vssd.conf <<EOC
[storage]
default-percent = 100
minimum = 16M
initial = 16M
grow-step = 8M
EOC
systemctl daemon-reload
dbus-send --system --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus.ReloadConfig >/dev/null || fail "the system bus did not reload"
[ -d /etc/vssd/schedule.d ] || fail "make install made no /etc/vssd/schedule.d"
for u in vssd-snapshot@.timer vssd-snapshot@.service; do
	[ -f "/lib/systemd/system/$u" ] || fail "make install did not install $u"
done
assert_eq "$(systemctl is-enabled "vssd-snapshot@$SCHED.timer" 2>/dev/null)" disabled \
	"the schedule timer after make install"
systemd-analyze verify --man=no "/lib/systemd/system/vssd-snapshot@$SCHED.timer" \
	"/lib/systemd/system/vssd-snapshot@$SCHED.service" >"$WORK/verify" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$WORK/verify")"

# ---- 1. one set's story in the journal, by its fields
a=$(vol_create "$RUN-a" 64M)
vssctl --json create shadow --volume "$a" --context persistent --no-writers >"$WORK/create.json" ||
	fail "create shadow: $(cat "$WORK/create.json")"
set=$(jq -r .set_id "$WORK/create.json")
snap=$(jq -r '.snapshots[0].id' "$WORK/create.json")
assert_eq "$(prop vssd ActiveState)" active "vssd after the first call"
vssctl delete shadows --set "$set" --quiet >/dev/null || fail "delete shadows --set"
journal() # journalctl's JSON of the entries matching $@ in this boot, one a line
{
	journalctl -q -b --no-pager -o json "$@"
}
has_story()
{
	journal SET_ID="$set" >"$WORK/story" &&
		[ "$(jq -r 'select(.MESSAGE_ID == "'$ID_CREATED'") | .SET_ID' "$WORK/story")" = "$set" ]
}
wait_for 300 has_story || fail "no set-created entry with SET_ID=$set: $(cat "$WORK/story")"
# every entry of the set is vssd's, with its priority; in order: started, I/O held, created
jq -r '[._SYSTEMD_UNIT, .SYSLOG_IDENTIFIER, .PRIORITY, .SET_ID] | join(" ")' "$WORK/story" |
	sort -u >"$WORK/who"
assert_eq "$(cut -d' ' -f1,2,4 "$WORK/who" | sort -u)" "vssd.service vssd $set" \
	"the unit, identifier and SET_ID of the set's entries"
order=$(jq -r 'select(.MESSAGE_ID != null) | .MESSAGE_ID' "$WORK/story" | head -n 3 | tr '\n' ' ')
assert_eq "$order" "$ID_STARTED $ID_IO_HELD $ID_CREATED " "the set's first events in order"
jq -r 'select(.MESSAGE_ID == "'$ID_STARTED'") | .MESSAGE' "$WORK/story" |
	grep -q "^set=$set: started by .* context persistent$" ||
	fail "the set-started text: $(cat "$WORK/story")"
# a MESSAGE_ID filter: the deletion of the copy, with its SNAPSHOT_ID and VOLUME
has_deleted()
{
	journal MESSAGE_ID=$ID_DELETED SNAPSHOT_ID="$snap" >"$WORK/deleted" && [ -s "$WORK/deleted" ]
}
wait_for 300 has_deleted || fail "no snapshot-deleted entry for $snap"
assert_eq "$(jq -r '[.VOLUME, .MESSAGE] | join("|")' "$WORK/deleted")" \
	"$a|snap=$snap vol=$a: deleted" "the snapshot-deleted entry"
# entries, not "<N>" lines on the stream: no message of vssd starts with a level mark
journal _SYSTEMD_UNIT=vssd.service | jq -r .MESSAGE | grep '^<[0-7]>' &&
	fail "vssd's stderr lines reached the journal as text"

# ---- 2. only root tags a set with a schedule
useradd -M -N -G vssadmin -s /bin/sh "$user"
if setpriv --reuid="$user" --regid=nogroup --init-groups busctl --system call \
	org.vssd.ShadowCopy1 /org/vssd/ShadowCopy1 org.vssd.ShadowCopy1.Manager CreateSnapshotSet \
	'asa{sv}' 1 "$a" 2 schedule s "$SCHED" no-writers b true >"$WORK/forged" 2>&1; then
	fail "a vssadmin member tagged a set with a schedule: $(cat "$WORK/forged")"
fi
grep -q "only root may create a set for a schedule" "$WORK/forged" ||
	fail "the refusal: $(cat "$WORK/forged")"

# ---- 3. a schedule under a fast timer: sets made, pruned to keep, a hand-made set left alone
vssctl --json create shadow --volume "$a" --context persistent --no-writers \
	--description "schedule $SCHED" >"$WORK/hand.json" || fail "create shadow by hand"
hand=$(jq -r .set_id "$WORK/hand.json")
cat >"/etc/vssd/schedule.d/$SCHED.conf" <<EOC
[schedule]
volumes = $a
context = persistent
no-writers = yes
keep = 2
EOC
vssctl schedule run "$SCHED" >"$WORK/run1" 2>&1 || fail "schedule run: $(cat "$WORK/run1")"
grep -q "^Successfully created shadow copy set" "$WORK/run1" || fail "run 1: $(cat "$WORK/run1")"
grep -q "^Schedule $SCHED: 0 sets deleted by retention (keep 2" "$WORK/run1" ||
	fail "run 1 deleted something: $(cat "$WORK/run1")"
mkdir -p "/run/systemd/system/vssd-snapshot@$SCHED.timer.d"
printf '[Timer]\nOnCalendar=\nOnActiveSec=1s\nOnUnitActiveSec=3s\nAccuracySec=100ms\nPersistent=false\n' \
	>"/run/systemd/system/vssd-snapshot@$SCHED.timer.d/fast.conf"
systemctl daemon-reload
systemctl start "vssd-snapshot@$SCHED.timer" || fail "cannot start the timer"
runs_done() # at least 4 runs by the timer have ended
{
	journalctl -q -b --no-pager -u "vssd-snapshot@$SCHED.service" -o cat |
		grep -c "^Schedule $SCHED: .* deleted by retention" >"$WORK/nruns"
	[ "$(cat "$WORK/nruns")" -ge 4 ]
}
wait_for 3000 runs_done || fail "the timer ran $(cat "$WORK/nruns") times: $(systemctl status \
	--no-pager "vssd-snapshot@$SCHED.timer" 2>&1)"
systemctl stop "vssd-snapshot@$SCHED.timer"
idle()
{
	[ "$(prop "vssd-snapshot@$SCHED.service" ActiveState)" != activating ]
}
wait_for 600 idle || fail "the last run does not end"
assert_eq "$(prop "vssd-snapshot@$SCHED.service" Result)" success "the runs' result"
vssctl --json list shadows >"$WORK/list" || fail "list shadows"
assert_eq "$(jq '[.[] | select(.schedule == "'"$SCHED"'")] | length' "$WORK/list")" 2 \
	"the schedule's shadow copies after the runs (keep 2)"
assert_eq "$(jq -r '.[] | select(.set_id == "'"$hand"'") | .schedule' "$WORK/list")" null \
	"the hand-made set (same volume, same description) is still there, with no schedule"
# made and deleted: every run but the first two made one more than it kept
journalctl -q -b --no-pager -u "vssd-snapshot@$SCHED.service" -o cat >"$WORK/runs"
made=$(($(grep -c '^Successfully created shadow copy set' "$WORK/runs") + 1))
deleted=$(($(grep -c "^Schedule $SCHED: deleted set" "$WORK/runs")))
assert_eq "$((made - deleted))" 2 "sets made ($made) minus sets deleted ($deleted)"
grep -q "deleted set $hand" "$WORK/runs" && fail "the schedule deleted the hand-made set"
# the ones left are the newest two the schedule made
newest=$(grep -o '^Successfully created shadow copy set [0-9a-f-]*' "$WORK/runs" | tail -n 2 |
	awk '{ print $NF }' | sort | tr '\n' ' ')
left=$(jq -r '.[] | select(.schedule == "'"$SCHED"'") | .set_id' "$WORK/list" | sort | tr '\n' ' ')
assert_eq "$left" "$newest" "the schedule's sets left"
vssctl list shadows >"$WORK/list.txt" || fail "list shadows (text)"
assert_eq "$(grep -c "^   Made by schedule: $SCHED$" "$WORK/list.txt")" 2 \
	"'Made by schedule' lines in list shadows"
# each of them has its story in the journal too
for s in $left; do
	journal SET_ID="$s" MESSAGE_ID=$ID_CREATED | grep -q . ||
		fail "no set-created entry for the schedule's set $s"
done

# the tag outlives vssd: after a restart the sets still count as the schedule's, and the next
# run prunes one of them
systemctl restart vssd.service || fail "restart vssd"
vssctl --json list shadows >"$WORK/list2" || fail "list shadows after the restart"
assert_eq "$(jq -r '.[] | select(.schedule == "'"$SCHED"'") | .set_id' "$WORK/list2" | sort |
	tr '\n' ' ')" "$left" "the schedule's sets after a restart of vssd"
vssctl schedule run "$SCHED" >"$WORK/run2" 2>&1 || fail "schedule run: $(cat "$WORK/run2")"
oldest=$(for s in $left; do
	jq -r '.[] | select(.set_id == "'"$s"'") | "\(.creation_time) \(.set_id)"' "$WORK/list2"
done | sort -n | head -n 1 | cut -d' ' -f2)
grep -q "^Schedule $SCHED: deleted set $oldest" "$WORK/run2" ||
	fail "the run after the restart did not delete the oldest ($oldest): $(cat "$WORK/run2")"
vssctl --json list shadows >"$WORK/list3" || fail "list shadows"
assert_eq "$(jq '[.[] | select(.schedule == "'"$SCHED"'")] | length' "$WORK/list3")" 2 \
	"the schedule's shadow copies after the run that followed the restart"

# ---- 4. a bad schedule file: the run fails and says where
printf '[schedule]\nvolumes = %s\nkepp = 3\n' "$a" >"/etc/vssd/schedule.d/bad$$.conf"
systemctl start "vssd-snapshot@bad$$.service" 2>/dev/null &&
	fail "the run of a bad schedule succeeded"
assert_eq "$(prop "vssd-snapshot@bad$$.service" Result)" exit-code "the bad run's result"
journalctl -q -b --no-pager -u "vssd-snapshot@bad$$.service" -o cat |
	grep -q "bad$$.conf:3: unknown key \"kepp\"" ||
	fail "the bad run's message: $(journalctl -q -b --no-pager -u "vssd-snapshot@bad$$.service")"

vssctl delete shadows --all --quiet >/dev/null || fail "delete shadows --all"
systemctl stop vssd.service
[ -z "$(dm_with_uuid_prefix VSSD-)" ] || fail "left at the end: $(dm_with_uuid_prefix VSSD-)"
