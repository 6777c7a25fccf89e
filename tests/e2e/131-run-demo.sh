#!/bin/bash
# 131-run-demo — `make run`'s banner (scripts/banner) and scripts/demo-message
# read ports and names from the configuration they use, never assume the
# defaults: an edge on free ports (none of 5061/5070/5080/5062/8080), the
# banner shows those ports, and demo-message -c FILE sends a MESSAGE both
# ways through it and gets the 200.
. "$(dirname "$0")/lib.sh"

topology
CFG=$T_TMP/fedge.ini
fedge_config "$CFG"
start_fedge "$CFG" || finish

"$FEDGE_ROOT/scripts/banner" "$CFG" "$FEDGE_BUILD" > "$T_LOGS/banner.txt" 2>&1
sed 's/^/#   /' "$T_LOGS/banner.txt"
check "banner: the external port of the file" grep -q "external  127.0.0.1:$EXT_PORT  mutual TLS" "$T_LOGS/banner.txt"
check "banner: the internal port and next hop of the file" \
    grep -q "internal  127.0.0.1:$INT_PORT  TCP from the internal SIP server; next hop 127.0.0.1:$UAS_PORT" "$T_LOGS/banner.txt"
check "banner: the default route of the file" grep -q "default route 127.0.0.1:$DR_PORT" "$T_LOGS/banner.txt"
check "banner: the admin listener of the file" grep -q "http://127.0.0.1:$ADMIN_PORT/" "$T_LOGS/banner.txt"
check "banner: demo-message told to use the file" grep -q "scripts/demo-message -c $CFG --outbound" "$T_LOGS/banner.txt"

demo_ok() { # NAME ARGS...: demo-message, its logs in this test's folder, got its 200
    local name=$1; shift
    DEMO_LOGS=$T_LOGS/$name "$FEDGE_ROOT/scripts/demo-message" -c "$CFG" "$@" > "$T_LOGS/$name.txt" 2>&1 &&
        grep -q 'MESSAGE answered: SIP/2.0 200' "$T_LOGS/$name.txt"
}
check "demo-message -c FILE: partner -> edge :$EXT_PORT -> internal :$UAS_PORT, 200" demo_ok demo-in ||
    tail -5 "$T_LOGS/demo-in.txt"
check "demo-message -c FILE --outbound: internal :$INT_PORT -> edge -> default route :$DR_PORT, 200" \
    demo_ok demo-out --outbound || tail -5 "$T_LOGS/demo-out.txt"

# A file that routes by DNS SRV: --outbound has no partner edge to start.
sed -e 's/^routing = default-route/routing = dns-srv/' -e '/^default_route/d' "$CFG" > "$T_TMP/srv.ini"
check "demo-message --outbound on a dns-srv file: exit 2 saying why" bash -c "
    '$FEDGE_ROOT/scripts/demo-message' -c '$T_TMP/srv.ini' --outbound > '$T_LOGS/srv.txt' 2>&1
    [ \$? -eq 2 ] && grep -q 'needs \[federation\] routing = default-route' '$T_LOGS/srv.txt'"
finish
