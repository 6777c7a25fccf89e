#!/bin/bash
# 060-bad-config: `fedge serve -c FILE` refuses a bad configuration before
# starting anything: exit status 2 and a message starting with FILE:LINE:
# (the line of the faulty key, or of the section header for a missing key).
# `fedge check-config` shows the store's settings in force without creating it.
. "$(dirname "$0")/lib.sh"

topology
fedge_config "$T_TMP/good.ini"

# bad_config NAME LINE: run fedge serve on $T_TMP/NAME.ini, expect exit 2,
# "NAME.ini:LINE:" on stderr, and nothing listening.
bad_config() {
    local f=$T_TMP/$1.ini line=$2 rc err
    timeout 10 "$FEDGE_BIN" serve -c "$f" > "$T_LOGS/$1.out" 2> "$T_LOGS/$1.err"; rc=$?
    err=$(cat "$T_LOGS/$1.err")
    echo "exit status $rc; stderr: $err"
    [ "$rc" -eq 2 ] || return 1
    printf '%s\n' "$err" | grep -q -- "$f:$line: " || { echo "expected '$f:$line: ' in stderr"; return 1; }
    ! listening "$EXT_PORT" || { echo "something listens on $EXT_PORT"; return 1; }
}
lineof() { grep -n -- "$2" "$1" | head -1 | cut -d: -f1; }

# 1. unknown key
sed 's/^idle_timeout.*//; s/^\[limits\]/[limits]\nidle_timeuot = 30s/' "$T_TMP/good.ini" > "$T_TMP/unknown.ini"
check_out "unknown key: exit 2 with FILE:LINE" bad_config unknown "$(lineof "$T_TMP/unknown.ini" idle_timeuot)"
# 2. bad value
sed 's/^\[limits\]/[limits]\nidle_timeout = ten/' "$T_TMP/good.ini" > "$T_TMP/badvalue.ini"
check_out "bad duration value: exit 2 with FILE:LINE" bad_config badvalue "$(lineof "$T_TMP/badvalue.ini" 'idle_timeout = ten')"
# 3. missing required key: no next_hop -> the [internal] header line
grep -v '^next_hop' "$T_TMP/good.ini" > "$T_TMP/missing.ini"
check_out "missing [internal] next_hop: exit 2 with the section's line" bad_config missing "$(lineof "$T_TMP/missing.ini" '^\[internal\]')"
# 4. unknown section
printf '\n[bogus]\nkey = value\n' | cat "$T_TMP/good.ini" - > "$T_TMP/section.ini"
check_out "unknown section: exit 2 with FILE:LINE" bad_config section "$(lineof "$T_TMP/section.ini" '^\[bogus\]')"
# 5. certificate file that does not exist
sed "s#^certificate = .*edge.contoso.test.crt#certificate = $T_TMP/nope.crt#" "$T_TMP/good.ini" > "$T_TMP/nocert.ini"
check_out "unreadable certificate: exit 2 with FILE:LINE" bad_config nocert "$(lineof "$T_TMP/nocert.ini" nope.crt)"
# 6. a file that is not there at all
nofile() {
    local rc
    timeout 10 "$FEDGE_BIN" serve -c "$T_TMP/absent.ini" 2> "$T_LOGS/absent.err"; rc=$?
    echo "exit status $rc; stderr: $(cat "$T_LOGS/absent.err")"
    [ "$rc" -eq 2 ] && grep -q -- "$T_TMP/absent.ini" "$T_LOGS/absent.err"
}
check_out "configuration file missing: exit 2 naming the file" nofile

# 7. check-config before the first start: the store is named, not created.
cc_nostore() {
    local out rc
    out=$("$FEDGE_BIN" check-config -c "$T_TMP/good.ini" 2>&1); rc=$?
    printf '%s\n' "$out"
    [ "$rc" -eq 0 ] || return 1
    printf '%s\n' "$out" | grep -qF "in force    store $T_TMP/fedge.db does not exist yet: the file's settings are seeded at first start" || return 1
    [ ! -e "$T_TMP/fedge.db" ] || { echo "check-config created the store"; return 1; }
}
check_out "check-config without a store: says so, creates none" cc_nostore
# 8. a store that cannot be read: one line, the file is still valid (exit 0)
echo "not a database" > "$T_TMP/junk.db"
sed "s#^store = .*#store = $T_TMP/junk.db#" "$T_TMP/good.ini" > "$T_TMP/junkstore.ini"
cc_junk() {
    local out rc
    out=$("$FEDGE_BIN" check-config -c "$T_TMP/junkstore.ini" 2>&1); rc=$?
    printf '%s\n' "$out"
    [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q "cannot read the store's settings: .*junk.db"
}
check_out "check-config with an unreadable store: one line, exit 0" cc_junk

# Control: the good file starts (so the checks above can tell the difference).
check "the good configuration starts and listens" start_fedge "$T_TMP/good.ini"

# 9. the store's routing over the file's: seeded from the file at start, then
# set by an administrator to dns-srv (the file says default-route).
cc_store() { # EXPECTED-ROUTING DIFFER(0|1)
    local out rc
    out=$("$FEDGE_BIN" check-config -c "$T_TMP/good.ini" 2>&1); rc=$?
    printf '%s\n' "$out"
    [ "$rc" -eq 0 ] || return 1
    printf '%s\n' "$out" | grep -Eq "^  in force    routing $1.*; federation on, discovery off \(store $T_TMP/fedge.db\)" || return 1
    if [ "$2" = 1 ]; then
        printf '%s\n' "$out" | grep -q "differs from this file's: the running edge uses the store's (fedge edge show)"
    else
        ! printf '%s\n' "$out" | grep -q "differs"
    fi
}
check_out "check-config after start: the file's routing, seeded in the store" cc_store "default-route; default route 127.0.0.1:$DR_PORT" 0
check "an administrator sets routing dns-srv in the store" "$FEDGE_BIN" edge set --routing dns-srv -c "$T_TMP/good.ini"
check_out "check-config: the store's routing in force, and the difference said" cc_store dns-srv 1
finish
