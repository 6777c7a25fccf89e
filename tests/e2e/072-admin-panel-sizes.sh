#!/bin/bash
# 072-admin-panel-sizes: the web panel at real sizes, on SQLite and on a
# private PostgreSQL cluster. `fedge domain import` loads 10,000 domains from
# CSV (all or nothing, unchanged on a second run, conflicts refused), then
# the browser scenario tests/browser/panel-sizes.mjs (Debian chromium,
# playwright-core) checks server-side paging, sorting and search (first page
# and a search within 300 ms, measured and printed), the audit (paging past
# 500 entries, filters, before/after, one entry per changed setting),
# policy delete, Allowed <-> Blocked, the federation-off confirmation and
# banner, cross-object warnings, lowercase notes, CSV import/export in the
# panel, focus ring contrast, dark mode and phone widths (390 and 360 px).
# Screenshots (1280 and 390 px) go to $FEDGE_BUILD/e2e/screenshots-sizes/
# and the figures to $FEDGE_BUILD/e2e/screenshots-sizes/measured-*.json.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

SHOTS=$FEDGE_BUILD/e2e/screenshots-sizes
BROWSER_DIR=$FEDGE_ROOT/tests/browser
rm -rf "$SHOTS"; mkdir -p "$SHOTS"

check "chromium is installed (/usr/bin/chromium; scripts/bootstrap)" test -x /usr/bin/chromium || finish
check "node is installed" command -v node || finish
if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
    check "npm ci installs playwright-core (no browser download)" \
        env PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$BROWSER_DIR" --no-audit --no-fund || finish
fi

# 10,000 domains: every 10th blocked (a comment with a comma), every 3rd
# other one an allowed partner server (3,000), the rest allowed domains.
CSV=$T_TMP/10k.csv
python3 - "$CSV" <<'EOF'
import sys
with open(sys.argv[1], 'w') as f:
    f.write('domain,access,proxy_fqdn,comment,monitor\n')
    for i in range(10000):
        if i % 10 == 0:
            f.write(f'blocked{i:05d}.example,blocked,,"spam, source {i}",no\n')
        elif i % 3 == 0:
            f.write(f'partner{i:05d}.test,allowed,edge.partner{i:05d}.test,Contract {i},yes\n')
        else:
            f.write(f'domain{i:05d}.test,allowed,,,no\n')
EOF
USER=alice PASS='correct horse battery'
topology

run_store() { # NAME STORE
    local name=$1 store=$2 cfg=$T_TMP/fedge-$1.ini
    fedge_config "$cfg"
    sed -i "s|^store = .*|store = $store|" "$cfg"
    check_out "$name: fedge domain import loads 10,000 domains from CSV" \
        bash -c "'$FEDGE_BIN' domain import '$CSV' -c '$cfg' | tee /dev/stderr | grep -qx 'imported 10000 rows from $CSV: 10000 added, 0 replaced, 0 unchanged'"
    check_out "$name: importing the same file again changes nothing" \
        bash -c "'$FEDGE_BIN' domain import '$CSV' -c '$cfg' | grep -q ': 0 added, 0 replaced, 10000 unchanged'"
    printf 'domain,access\nnew1.test,allowed\nDOMAIN00001.test,blocked\n' > "$T_TMP/conflict.csv"
    check_out "$name: a row that differs from the store is refused (exit 1), naming its line; nothing imported" \
        bash -c "'$FEDGE_BIN' domain import '$T_TMP/conflict.csv' -c '$cfg' 2>&1; test \$? -eq 1 &&
               '$FEDGE_BIN' domain import '$T_TMP/conflict.csv' -c '$cfg' 2>&1 | grep -q 'line 3: domain00001.test is allowed' &&
               ! '$FEDGE_BIN' domain list -c '$cfg' | grep -q new1.test"
    printf 'domain,access\nok.test,allowed\n"unterminated,blocked\n' > "$T_TMP/bad.csv"
    check_out "$name: a malformed file is refused (exit 2) naming the line" \
        bash -c "'$FEDGE_BIN' domain import '$T_TMP/bad.csv' -c '$cfg' 2>&1; test \$? -eq 2 &&
               '$FEDGE_BIN' domain import '$T_TMP/bad.csv' -c '$cfg' 2>&1 | grep -q 'line 3: a quoted field is not closed'"
    check_out "$name: fedge domain export writes back what was imported" \
        bash -c "'$FEDGE_BIN' domain export '$T_TMP/export-$name.csv' -c '$cfg' &&
               diff <(tail -n +2 '$CSV' | sort) <(tail -n +2 '$T_TMP/export-$name.csv' | tr -d '\r' | sort)"
    check "$name: fedge admin add" bash -c "printf '%s\n' '$PASS' | '$FEDGE_BIN' admin add $USER -c '$cfg'"
    start_bg "admin-$name" "$FEDGE_BIN" admin serve -c "$cfg"
    check "$name: fedge admin serve listens" wait_listen "$ADMIN_PORT" 10 "$BG_PID" || { show "admin-$name"; return 1; }
    mkdir -p "$T_TMP/csv-$name"
    check_out "$name: browser scenario (tests/browser/panel-sizes.mjs)" \
        bash -c "cd '$BROWSER_DIR' && ADMIN_URL='http://127.0.0.1:$ADMIN_PORT/' ADMIN_USER=$USER ADMIN_PASS='$PASS' \
            SHOTS='$SHOTS/$name' DOMAINS=10000 PARTNER_SERVERS=3000 CSV_DIR='$T_TMP/csv-$name' \
            PERF_OUT='$SHOTS/measured-$name.json' timeout 300 node panel-sizes.mjs"
    # The panel exported before it imported imported1.test and imported2.test.
    check_out "$name: the panel's CSV export is byte for byte fedge domain export's" \
        bash -c "'$FEDGE_BIN' domain export -c '$cfg' | grep -v '^imported[12]\.test,' |
               cmp - '$T_TMP/csv-$name/panel-export.csv'"
    check "$name: fedge admin serve stops on SIGTERM" stop "admin-$name"
}

run_store sqlite "$T_TMP/fedge.db"
check "a private PostgreSQL cluster starts" pg_start || finish
run_store postgresql "$PG_URI"
note "measured (ms): sqlite $(tr -d '\n ' < "$SHOTS/measured-sqlite.json" 2>/dev/null)"
note "measured (ms): postgresql $(tr -d '\n ' < "$SHOTS/measured-postgresql.json" 2>/dev/null)"
finish
