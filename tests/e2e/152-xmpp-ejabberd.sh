#!/bin/bash
# 152-xmpp-ejabberd: the SIP <-> XMPP gateway against a real ejabberd
# (Debian 23.01) on loopback as the partner domain fabrikam.test, a second
# XMPP server besides Prosody (150-xmpp-prosody.sh), with certificates from
# the test CA and a real XMPP client (slixmpp) as its user bob.
#   ejabberd runs privately: as the ejabberd system user, its own configuration, spool and log folders under T_TMP,
#   its own Erlang node name and distribution port (ERL_DIST_PORT: no epmd,
#   so nothing is shared with a system ejabberd or any other Erlang node),
#   its DNS from the test's dnsmasq (an inetrc): ejabberd finds fedge by
#   the _xmpp-server._tcp.contoso.test SRV record (its target is localhost:
#   ejabberd 23.01 asked dnsmasq for the SRV record but never for the
#   target's address, and failed with enoname on a name only dnsmasq knows).
#   SIP MESSAGE alice -> bob reaches the XMPP client, bob's answer comes
#   back as a SIP MESSAGE; both streams STARTTLS, authenticated by SASL
#   EXTERNAL or dialback (the log says which); presence the other way:
#   bob subscribes to alice (SIP) and sees her state; fedge refreshes the
#   SIP subscription before it expires, and ends it (Expires: 0) at the
#   refresh after the partner is blocked.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # Debian's, with python3-slixmpp
XD=$E2E_DIR/xmpp
EJ=$T_TMP/ejabberd
topology
XMPP_PORT=$(free_port)
P_C2S=$(free_port)
P_S2S=$(free_port)
DIST_PORT=$(free_port)
DNS_PORT=$(free_port)
CFG=$T_TMP/fedge.ini
fedge_config "$CFG"
cat >> "$CFG" <<EOF

[xmpp]
listen = 127.0.0.1:$XMPP_PORT

[dns]
servers = 127.0.0.1:$DNS_PORT
EOF

# ejctl ARGS: ejabberdctl for the private node, run as the ejabberd user by
# setpriv (an exec: the node stays in the test's process group, where su
# would start a session of its own) with a HOME of its own (the Erlang
# cookie).
EJCTL=(env HOME="$EJ/home" setpriv --reuid=ejabberd --regid=ejabberd --init-groups
       /usr/sbin/ejabberdctl --config-dir "$EJ/etc" --spool "$EJ/spool" --logs "$EJ/log"
       --node fedgetest@localhost)
ejctl() { "${EJCTL[@]}" "$@"; }

ej_config() {
    mkdir -p "$EJ/etc" "$EJ/spool" "$EJ/log" "$EJ/home"
    cat "$PKI/edge.fabrikam.test.crt" "$PKI/edge.fabrikam.test.key" > "$EJ/etc/fabrikam.pem"
    cp "$PKI/ca.crt" "$EJ/etc/ca.crt"
    # Sourced by ejabberdctl: the distribution on loopback at a fixed port
    # of ours, without epmd.
    cat > "$EJ/etc/ejabberdctl.cfg" <<EOF
ERL_DIST_PORT=$DIST_PORT
INET_DIST_INTERFACE=127.0.0.1
EOF
    # Erlang's resolver: only the test's dnsmasq (not /etc/resolv.conf).
    cat > "$EJ/etc/inetrc" <<EOF
{resolv_conf, ""}.
{hosts_file, ""}.
{lookup, [file, dns]}.
{host, {127,0,0,1}, ["localhost"]}.
{nameserver, {127,0,0,1}, $DNS_PORT}.
EOF
    cat > "$EJ/etc/ejabberd.yml" <<EOF
loglevel: info
hosts:
  - fabrikam.test
certfiles:
  - "$EJ/etc/fabrikam.pem"
ca_file: "$EJ/etc/ca.crt"
listen:
  -
    port: $P_C2S
    ip: "127.0.0.1"
    module: ejabberd_c2s
    access: c2s
  -
    port: $P_S2S
    ip: "127.0.0.1"
    module: ejabberd_s2s_in
s2s_use_starttls: required
s2s_access: s2s
auth_method: internal
auth_password_format: plain
access_rules:
  local:
    allow: all
  c2s:
    allow: all
  s2s:
    allow: all
modules:
  mod_roster: {}
  mod_disco: {}
  mod_ping: {}
  mod_s2s_dialback: {}
  mod_stream_mgmt: {}
EOF
    chown -R ejabberd:ejabberd "$EJ"
    chmod 700 "$EJ"
    chmod o+x "$T_TMP" # the ejabberd user passes through to its own folder
}

ej_start() {
    ej_config || return 1
    start_bg ejabberd "${EJCTL[@]}" foreground
    wait_listen "$P_C2S" 60 "$BG_PID" && wait_listen "$P_S2S" 10 "$BG_PID" &&
        wait_for "ejctl status >> '$T_LOGS/ejctl.log' 2>&1" 30 &&
        ejctl register bob fabrikam.test secret >> "$T_LOGS/ejctl.log" 2>&1
}

fedge_store() { "$FEDGE_BIN" "$@" -c "$CFG" >> "$T_LOGS/store.log" 2>&1; }

check "dnsmasq: _xmpp-server._tcp.contoso.test SRV -> fedge's XMPP port" \
    dns_start dns "$DNS_PORT" 30 "--srv-host=_xmpp-server._tcp.contoso.test,localhost,$XMPP_PORT,0,5" \
    --log-queries || { show dns; finish; }
check "store: XMPP on in the global policy, fabrikam.test an XMPP partner at ejabberd's s2s port" \
    eval "fedge_store policy set global --federation on --xmpp on &&
          fedge_store xmpp allow fabrikam.test --proxy-fqdn 127.0.0.1:$P_S2S"
check "ejabberd for fabrikam.test starts (private node, user ejabberd), bob registered" \
    ej_start || { show ejabberd; show ejctl; finish; }
check "ejabberd runs as the ejabberd user, not root" \
    eval "pgrep -u ejabberd -f 'fedgetest@localhost' > /dev/null &&
          ! pgrep -u root -f 'beam.*fedgetest@localhost' > /dev/null"

echo "open At my desk" > "$T_TMP/alice-presence"
# The presence server grants 10 s subscriptions: fedge must refresh them.
start_bg uas $PY "$XD/sip_im.py" uas --port "$UAS_PORT" --presence "$T_TMP/alice-presence" \
    --sub-expires 10
check "internal next hop (SIP) starts" wait_for "grep -q READY '$T_LOGS/uas.log'" 5
FEDGE_NO_PARTNER=1 check "fedge serve starts with [xmpp]" start_fedge "$CFG" || finish
check "fedge listens for XMPP servers on $XMPP_PORT" wait_listen "$XMPP_PORT" 5
start_bg bob $PY "$XD/xmpp_user.py" bob@fabrikam.test secret "$P_C2S" --echo --seconds 120 \
    --subscribe alice@contoso.test
check "bob is online (slixmpp on ejabberd)" wait_for "grep -q ONLINE '$T_LOGS/bob.log'" 20

BODY='héllo ejabberd & <bob> ✓'
check_out "SIP MESSAGE from alice@contoso.test to bob@fabrikam.test gets 200" \
    $PY "$XD/sip_im.py" send --port "$INT_PORT" --from alice@contoso.test --to bob@fabrikam.test \
    --body "$BODY" --expect 200
check "bob's XMPP client gets it, text intact" \
    wait_for "grep -qF 'MSG alice@contoso.test $BODY' '$T_LOGS/bob.log'" 15
check "bob's reply comes back to alice as a SIP MESSAGE (ejabberd found fedge by SRV)" \
    wait_for "grep -qF 'MSG sip:bob@fabrikam.test sip:alice@contoso.test re: $BODY' '$T_LOGS/uas.log'" 15
auth_how() {
    grep -o '\(outbound\|inbound\) stream contoso.test [<>-]* fabrikam.test authenticated by [A-Za-z ]*' \
        "$T_LOGS/fedge.log" | sort -u
    grep -q 'outbound stream contoso.test -> fabrikam.test authenticated by \(SASL EXTERNAL\|dialback\)' \
        "$T_LOGS/fedge.log" &&
        grep -q 'inbound stream contoso.test <- fabrikam.test authenticated by \(SASL EXTERNAL\|dialback\)' \
            "$T_LOGS/fedge.log"
}
check_out "both s2s streams STARTTLS and authenticated (SASL EXTERNAL or dialback)" auth_how

# Presence the other way with ejabberd: bob subscribes to alice (SIP).
check "bob's subscription to alice becomes a SIP SUBSCRIBE" \
    wait_for "grep -q '^PSUB sip:bob@fabrikam.test sip:alice@contoso.test 10 new' '$T_LOGS/uas.log'" 15
check "bob gets subscribed and alice available with her note" \
    eval "wait_for \"grep -q '^SUBSCRIBED alice@contoso.test' '$T_LOGS/bob.log'\" 10 &&
          wait_for \"grep -q '^PRESENCE alice@contoso.test/sip available - At my desk' '$T_LOGS/bob.log'\" 10"
echo "away Coffee" > "$T_TMP/alice-presence"
check "alice away: bob sees away" \
    wait_for "grep -q '^PRESENCE alice@contoso.test/sip available away Coffee' '$T_LOGS/bob.log'" 10

check "fedge refreshes the SIP subscription before its 10 s run out" \
    wait_for "grep -q '^PSUB sip:bob@fabrikam.test sip:alice@contoso.test 10 refresh' '$T_LOGS/uas.log'" 15
check "fabrikam.test blocked for XMPP" \
    eval 'fedge_store xmpp remove fabrikam.test && fedge_store xmpp block fabrikam.test'
check "at the next refresh the blocked domain's subscription ends: SUBSCRIBE Expires: 0" \
    wait_for "grep -q '^PSUB sip:bob@fabrikam.test sip:alice@contoso.test 0 ' '$T_LOGS/uas.log'" 20
check "fedge still running" alive fedge
check "fedge exits 0 on SIGTERM" stop fedge
stop bob
ej_stops() {
    ejctl stop >> "$T_LOGS/ejctl.log" 2>&1 && wait_for "! pgrep -f 'sname fedgetest@localhost' > /dev/null" 30
}
check "ejabberd stops (ejabberdctl stop)" ej_stops
finish
