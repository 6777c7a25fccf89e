#!/bin/bash
# 160-remote-config-lockouts: [remote] in the configuration and the store.
# `fedge check-config` validates [remote] (summary; a listener shared with
# [external] refused with FILE:LINE) and `fedge serve` listens on it (what
# it does there: tests/e2e/162-remote-register.sh); the lock-outs of remote
# users and addresses in a SQLite store and, copied with `fedge store copy`,
# in a private PostgreSQL cluster (migration 4 of both dialects): listed
# (text, JSON), ended with `fedge remote unlock` in any spelling, audited.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

F="$FEDGE_BIN"
topology
REM_PORT=$(free_port)
CFG=$T_TMP/fedge.ini
fedge_config "$CFG"
cat >> "$CFG" <<EOT

[remote]
listen = 127.0.0.1:$REM_PORT
registrar = 127.0.0.1:$UAS_PORT
lockout_user_failures = 20
EOT
REM_LINE=$(grep -n '^listen = 127.0.0.1:'"$REM_PORT" "$CFG" | cut -d: -f1)
EXT_LINE=$(grep -n '^listen = 127.0.0.1:'"$EXT_PORT" "$CFG" | cut -d: -f1)

note "[remote] in the configuration"
check_out "check-config accepts [remote] and shows it" sh -c "
    '$F' check-config -c '$CFG' | tee /dev/stderr |
        grep -q 'remote      listen 127.0.0.1:$REM_PORT (TLS, no client certificate); registrar 127.0.0.1:$UAS_PORT'"
shared() {
    local bad=$T_TMP/shared.ini out rc
    sed "s/^listen = 127.0.0.1:$REM_PORT/listen = 127.0.0.1:$EXT_PORT/" "$CFG" > "$bad"
    out=$("$F" check-config -c "$bad" 2>&1); rc=$?
    echo "$out"
    [ "$rc" -eq 2 ] &&
        [ "$out" = "$bad:$REM_LINE: [remote] listen = \"127.0.0.1:$EXT_PORT\": shares 127.0.0.1:$EXT_PORT with [external] listen on line $EXT_LINE; expected a port or address of its own (partners on [external] present a client certificate, remote clients do not; 443 is the usual remote port)" ]
}
check_out "a [remote] listener on the federation port: exit 2, FILE:LINE" shared
serves() {
    start_bg fedge-remote "$F" serve -c "$CFG"
    wait_listen "$REM_PORT" 10 "$BG_PID" || { show fedge-remote; return 1; }
    grep -q "listening side=remote address=127.0.0.1 port=$REM_PORT transport=tls" "$T_LOGS/fedge-remote.log"
    local rc=$?
    stop fedge-remote
    return $rc
}
check_out "fedge serve listens on [remote] (TLS; tests/e2e/162 registers through it)" serves

note "lock-outs in the SQLite store"
check "none at first" sh -c "'$F' remote lockouts -c '$CFG' | grep -qx 'no user or address is locked out'"
# What the edge writes when a lock-out applies (store_lockout_add; the
# running edge does not write them yet), straight into the store file.
now=$(date +%s)
python3 - "$T_TMP/fedge.db" "$now" <<'PY' || { note "cannot write the store"; finish; }
import sqlite3, sys
db, now = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
rows = [("user", "alice@contoso.test", now + 900, 20), ("address", "2001:db8::7", now + 900, 50),
        ("user", "bob@contoso.test", now - 5, 20)]
for kind, subject, until, n in rows:
    c.execute("INSERT INTO remote_lockout VALUES(?, ?, '2026-01-01T00:00:00Z', ?, ?, 'test')",
              (kind, subject, until, n))
c.commit()
PY
check_out "the two in force are listed, the ended one is not" sh -c "
    out=\$('$F' remote lockouts -c '$CFG') && echo \"\$out\" &&
    echo \"\$out\" | grep -Eq '^user +alice@contoso.test .* 20 +test\$' &&
    echo \"\$out\" | grep -Eq '^address +2001:db8::7 .* 50 +test\$' &&
    ! echo \"\$out\" | grep -q bob@"
check "unlock an address written another way" sh -c "'$F' remote unlock '[2001:DB8:0::7]' -c '$CFG' | grep -qx 'unlocked \[2001:DB8:0::7\]'"
check "unlock what is not locked out: exit 1 with the reason" sh -c "
    out=\$('$F' remote unlock bob@contoso.test -c '$CFG' 2>&1); rc=\$?
    echo \"\$out\"; [ \$rc -eq 1 ] && [ \"\$out\" = 'fedge: user bob@contoso.test is not locked out' ]"

note "lock-outs in PostgreSQL (fedge store copy, migration 4 of the PostgreSQL dialect)"
check "a private PostgreSQL 15 cluster starts (initdb, pg_ctl as postgres)" pg_start || finish
check_out "store copy carries the lock-outs over (both rows)" sh -c "
    '$F' store copy --from '$T_TMP/fedge.db' --to '$PG_URI' | grep -E 'remote lock-outs +2 \(source 2\)'"
check_out "listed from PostgreSQL as JSON: alice only (bob's has ended)" sh -c "
    '$F' remote lockouts --json --store '$PG_URI' | python3 -c '
import json, sys
d = json.load(sys.stdin)[\"lockouts\"]
print(d)
assert [(x[\"kind\"], x[\"subject\"], x[\"failures\"]) for x in d] == [(\"user\", \"alice@contoso.test\", 20)]'"
check "unlock through PostgreSQL" sh -c "'$F' remote unlock Alice@Contoso.Test --store '$PG_URI' | grep -qx 'unlocked Alice@Contoso.Test'"
check "nothing locked out any more" sh -c "'$F' remote lockouts --store '$PG_URI' | grep -qx 'no user or address is locked out'"
audited() {
    local n
    n=$(pg_sql "SELECT count(*) FROM audit WHERE action = 'remote.unlock' AND object = 'alice@contoso.test' AND actor LIKE 'cli:%'" fedge) || return 1
    echo "$n remote.unlock entries by cli: in PostgreSQL"
    [ "$n" -eq 1 ]
}
check_out "the unlock is in PostgreSQL's audit log" audited
finish
