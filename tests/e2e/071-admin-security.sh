#!/bin/bash
# 071-admin-security: the admin server's defences over real HTTP (python3,
# tests/e2e/admin_client.py): no session -> 401 on every API route; missing
# or wrong CSRF token (or a foreign Origin) -> 403 and nothing changed; 400
# naming the field, 404, 409; HTML and SQL metacharacters stored verbatim
# (API and SQLite file) and refused in validated fields; the page's CSP;
# cookie attributes; a login flood answered 429 + Retry-After without
# stalling the server; a cookie from before logout (or a password change)
# refused; body limits; HTTPS with Secure cookies when a certificate is
# configured; non-loopback without certificate refused; the served panel
# files are src/admin/www's (embedded by the build).
. "$(dirname "$0")/lib.sh"

AC="python3 $E2E_DIR/admin_client.py"
topology
CFG=$T_TMP/fedge.ini
fedge_config "$CFG"
DB=$T_TMP/fedge.db
USER=alice PASS='s3cret pass'
check "fedge admin add (password on stdin)" sh -c "printf '%s\n' '$PASS' | '$FEDGE_BIN' admin add $USER -c '$CFG'"
check "a second administrator" sh -c "printf 'other-pass-1\n' | '$FEDGE_BIN' admin add carol -c '$CFG'"
check "fedge admin add refuses a short password" sh -c "! printf 'short\n' | '$FEDGE_BIN' admin add dave -c '$CFG'"
check "fedge admin add refuses an existing name" sh -c "! printf 'long-enough\n' | '$FEDGE_BIN' admin add alice -c '$CFG'"
check_out "the store keeps an scrypt hash, never the password" sh -c "
    sqlite3 '$DB' \"SELECT pwhash FROM admin_account WHERE name='alice'\" | grep -E '^scrypt\\\$15\\\$8\\\$1\\\$[0-9a-f]{32}\\\$[0-9a-f]{64}\$' &&
    ! grep -a -q '$PASS' '$DB'"

start_bg admin "$FEDGE_BIN" admin serve -c "$CFG"
check "fedge admin serve listens" wait_listen "$ADMIN_PORT" 10 "$BG_PID" || { show admin; finish; }
URL=http://127.0.0.1:$ADMIN_PORT
check_out "the served panel files are src/admin/www's, byte for byte (embedded by the build)" sh -c '
    cd "$1/src/admin/www" && find . -type f | sed "s|^\./||" | while read -r f; do
        curl -sSf "$2/$f" | cmp - "$f" || exit 1
    done' sh "$FEDGE_ROOT" "$URL"
check_out "no session (or a forged one): 401 on every API route; static assets open; foreign Host 421" $AC "$URL" $USER "$PASS" unauth
check_out "session cookie: HttpOnly, SameSite=Strict, expiry, random 256-bit id" $AC "$URL" $USER "$PASS" cookie
check_out "missing/wrong CSRF token or foreign Origin: 403, nothing changed" $AC "$URL" $USER "$PASS" csrf
check_out "invalid input: 400 naming the field; 404; 409 for conflicts" $AC "$URL" $USER "$PASS" validation
check_out "HTML and SQL metacharacters stored verbatim, refused where validated, CSP" $AC "$URL" $USER "$PASS" meta "$DB"
check_out "body limits: 413 over 64 KiB, 415 for non-JSON bodies (incl. login)" $AC "$URL" $USER "$PASS" limits
check_out "a cookie from before logout is refused" $AC "$URL" $USER "$PASS" logout
check_out "the API's changes are audited with the account name" sh -c "
    sqlite3 '$DB' \"SELECT actor, action, object FROM audit WHERE actor='admin:alice'\" | tee /dev/stderr | grep -q 'admin:alice|domain.block|meta0.test'"
check_out "fedge admin passwd ends the account's sessions" $AC "$URL" $USER "$PASS" passwd-ends "$FEDGE_BIN" "$CFG" 'new password 2'
PASS='new password 2'
check_out "login flood: 429 with Retry-After after 3 failures per account / 10 per address" \
    $AC "$URL" $USER "$PASS" flood carol other-pass-1
check "fedge admin remove" "$FEDGE_BIN" admin remove carol -c "$CFG"
check "removed account cannot log in" sh -c "! $AC '$URL' carol other-pass-1 cookie"
check "admin server still running" alive admin
check "stops on SIGTERM" stop admin

# ---- HTTPS and the loopback rule ----
HCFG=$T_TMP/https.ini
HPORT=$(free_port)
sed -e "s/^listen = 127.0.0.1:$ADMIN_PORT\$/listen = 127.0.0.1:$HPORT\ncertificate = $(printf '%s' "$PKI/edge.contoso.test.crt" | sed 's/[\/&]/\\&/g')\nprivate_key = $(printf '%s' "$PKI/edge.contoso.test.key" | sed 's/[\/&]/\\&/g')/" "$CFG" > "$HCFG"
start_bg admin-https "$FEDGE_BIN" admin serve -c "$HCFG"
check "admin serve with a certificate listens (HTTPS)" wait_listen "$HPORT" 10 "$BG_PID" || show admin-https
https_ok() {
    curl -sS --cacert "$PKI/ca.crt" --resolve "edge.contoso.test:$HPORT:127.0.0.1" \
        "https://edge.contoso.test:$HPORT/" | grep -q '<title>fedge' &&
    ! curl -s --max-time 5 "http://127.0.0.1:$HPORT/" | grep -q fedge
}
check "the panel is served over verified TLS, not over plain HTTP" https_ok
https_cookie() {
    curl -sS -i --cacert "$PKI/ca.crt" --resolve "edge.contoso.test:$HPORT:127.0.0.1" \
        -H 'Content-Type: application/json' -d "{\"name\":\"$USER\",\"password\":\"$PASS\"}" \
        "https://edge.contoso.test:$HPORT/api/login" | tr -d '\r' | grep -i '^set-cookie:' | tee /dev/stderr |
        grep -qi 'HttpOnly; SameSite=Strict; Max-Age=[0-9]*; Secure'
}
check_out "under HTTPS the session cookie is Secure" https_cookie
stop admin-https

NCFG=$T_TMP/public.ini
sed -e "s/^listen = 127.0.0.1:$ADMIN_PORT\$/listen = 0.0.0.0:$(free_port)/" "$CFG" > "$NCFG"
refused_public() {
    local out rc
    out=$(timeout 10 "$FEDGE_BIN" admin serve -c "$NCFG" 2>&1); rc=$?
    echo "$out (exit $rc)"
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && echo "$out" | grep -qi 'certificate'
}
check_out "a non-loopback admin address without certificate is refused" refused_public
finish
