#!/bin/bash
# 090-policy-matrix: the federation policy of two real edges (contoso and
# fabrikam, both `fedge serve`) and dnsmasq (tests/e2e/policy_lib.sh):
# federation type x direction x {allowed, blocked, unknown with discovery on
# and off, provider enabled and disabled, user policy on and off, spoofed
# From, certificate not matching, DNS not verifying}. Each case checks the
# status and the diagnostic ID in the Warning and in ms-diagnostics (answers
# to the inside, with source=) or ms-diagnostics-public (answers to a
# partner, without source=), and where a request is allowed that it reached
# the user behind the other edge with the edge's trust header. Changes are
# made with the CLI while both edges run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/policy_lib.sh"

check "dnsmasq, two UASs and two edges start" pol_start || finish
BOB=sip:bob@fabrikam.test CAROL=sip:carol@contoso.test

# ---------------------------------------------------------------- outbound
note "outbound: alice@contoso.test -> edge A -> edge B -> bob@fabrikam.test"
check "A allows partner server fabrikam.test (edge.fabrikam.test)" \
    A domain allow fabrikam.test --proxy-fqdn edge.fabrikam.test
check "B allows domain contoso.test" B domain allow contoso.test
settle
check "allowed partner server -> allowed domain (verified by DNS SRV at B): 200" \
    out alice "$BOB" 200 -- --call-id o-allowed
check "  bob got it with B's trust header: AutoFederation, ms-ep-fqdn edge.fabrikam.test" \
    seen_b o-allowed --count ms-edge-proxy-message-trust=1 \
    --match 'ms-edge-proxy-message-trust=ms-source-type=AutoFederation;ms-ep-fqdn=edge.fabrikam.test;ms-source-verified-user=verified;ms-source-network=federation'

check "A: fabrikam.test as an allowed domain instead (--replace)" A domain allow fabrikam.test --replace
settle
check "allowed domain outbound: 200" out alice "$BOB" 200 -- --call-id o-domain
check "  bob got it" seen_b o-domain

refuse_block() {
    ! "$FEDGE_BIN" domain block fabrikam.test -c "$CA" > "$T_LOGS/refuse.out" 2>&1 &&
        grep -q 'remove it from the allowed list first' "$T_LOGS/refuse.out"
}
reblock() { A domain remove fabrikam.test && A domain block fabrikam.test; }
check "A: blocking an allowed domain is refused with a clear message" refuse_block
check "A: remove fabrikam.test, then block it" reblock
settle
check "blocked domain outbound: 403, 1012 in ms-diagnostics (internal, with source)" \
    out alice "$BOB" 403:1012:internal -- --call-id o-blocked
check "  bob did not get it" never_b o-blocked

check "A: unblock fabrikam.test (discovery is off)" A domain remove fabrikam.test
settle
check "unknown domain, discovery off: 403, 1014 (internal)" \
    out alice "$BOB" 403:1014:internal -- --call-id o-unknown-off
check "  bob did not get it" never_b o-unknown-off

check "A: discovery on" A edge set --discovery on
settle
check "unknown domain, discovery on (discovered partner): 200" \
    out alice "$BOB" 200 -- --call-id o-discovered
check "  bob got it" seen_b o-discovered

check "B: remove contoso.test (B's discovery is off)" B domain remove contoso.test
settle
check "partner refuses us (unknown at B, discovery off): B's 403 1014 comes back, public form" \
    out alice "$BOB" 403:1014:public -- --call-id o-b-refuses
check "B: discovery on" B edge set --discovery on
settle
check "discovered at B too (B verifies edge A by DNS SRV): 200" \
    out alice "$BOB" 200 -- --call-id o-b-discovers
check "  bob got it, trust AutoFederation" \
    seen_b o-b-discovers --match 'ms-edge-proxy-message-trust=ms-source-type=AutoFederation'

note "providers, at A (discovery off again)"
check "A: discovery off" A edge set --discovery off
check "A: public provider pubim serves fabrikam.test (proxy edge.fabrikam.test)" \
    A provider add pubim --proxy-fqdn edge.fabrikam.test --kind public --domains fabrikam.test
check "A: global policy allows public IM" A policy set global --public on
settle
check "public provider enabled, user allowed: 200" out alice "$BOB" 200 -- --call-id o-provider
check "  bob got it" seen_b o-provider
check "A: global policy without public IM" A policy set global --public off
settle
check "public provider, user's policy says no public IM: 403, 1005 (internal)" \
    out alice "$BOB" 403:1005:internal -- --call-id o-no-public
check "A: provider pubim disabled" A provider set pubim --disabled
settle
check "provider disabled: 403, 19003 (internal)" \
    out alice "$BOB" 403:19003:internal -- --call-id o-provider-off
check "A: provider removed" A provider remove pubim
check "A: fabrikam.test allowed partner server again" \
    A domain allow fabrikam.test --proxy-fqdn edge.fabrikam.test

note "user policies, at A"
check "A: named policy nofed (no federation)" A policy set nofed --federation off
check "A: nofed assigned to alice" A policy assign alice@contoso.test nofed
settle
check "alice's policy: no federation: 403, 1002 (internal)" \
    out alice "$BOB" 403:1002:internal -- --call-id o-nofed
check "carol (global policy) still federates: 200" out carol "$BOB" 200 -- --call-id o-carol
check "A: federation off on the edge" A edge set --federation off
settle
check "federation off: 403, 1027 (internal)" out carol "$BOB" 403:1027:internal
check "A: federation on" A edge set --federation on
check "relay attempt: From not in a local domain: 403, 19007 (internal)" \
    $POLSIP send --port "$IA" --from sip:mallory@fabrikam.test --ruri "$BOB" --expect 403:19007:internal

# ---------------------------------------------------------------- inbound
note "inbound: a partner edge connects straight to edge A (mutual TLS) for carol@contoso.test"
check "recipient's named policy (alice: nofed): 403, 19005 (public)" \
    in_a edge.fabrikam.test sip:bob@fabrikam.test sip:alice@contoso.test 403:19005:public
check "allowed partner server, certificate names edge.fabrikam.test: 200" \
    in_a edge.fabrikam.test sip:bob@fabrikam.test "$CAROL" 200 -- --call-id i-partner
check "  carol got it with A's trust header: DirectPartner, ms-ep-fqdn edge.contoso.test" \
    seen_a i-partner --count ms-edge-proxy-message-trust=1 \
    --match 'ms-edge-proxy-message-trust=^ms-source-type=DirectPartner;ms-ep-fqdn=edge.contoso.test;ms-source-verified-user=verified;ms-source-network=federation$'
check "certificate not matching the partner server (edge.northwind.test for fabrikam.test): 403, 1010 (public)" \
    in_a edge.northwind.test sip:bob@fabrikam.test "$CAROL" 403:1010:public -- --call-id i-cert
check "  carol did not get it" never_a i-cert
check "spoofed From in our own domain: 403, 19001 (public)" \
    in_a edge.fabrikam.test sip:eve@contoso.test "$CAROL" 403:19001:public -- --call-id i-spoof
check "  carol did not get it" never_a i-spoof
check "known partner server sending for an unknown domain: 403, 19002 (public)" \
    in_a edge.fabrikam.test sip:x@unknown.test "$CAROL" 403:19002:public
check "unknown domain and peer, discovery off: 403, 1014 (public)" \
    in_a edge.northwind.test sip:x@northwind.test "$CAROL" 403:1014:public
check "A: allow domain northwind.test (DNS SRV names edge.northwind.test)" A domain allow northwind.test
settle
check "allowed domain, peer verified by DNS SRV: 200" \
    in_a edge.northwind.test sip:x@northwind.test "$CAROL" 200 -- --call-id i-dns-ok
check "  carol got it, trust AutoFederation" \
    seen_a i-dns-ok --match 'ms-edge-proxy-message-trust=ms-source-type=AutoFederation'
check "A: allow domain litware.test (its SRV names someone else's edge)" A domain allow litware.test
settle
check "allowed domain, peer not among its SRV targets: 403, 1009 (public)" \
    in_a edge.northwind.test sip:x@litware.test "$CAROL" 403:1009:public
check "A: allow domain dnsfail.test (its DNS never answers)" A domain allow dnsfail.test
settle
check "allowed domain, DNS lookup fails: 504, 19012 (public), within the DNS timeout" \
    in_a edge.northwind.test sip:x@dnsfail.test "$CAROL" 504:19012:public
check "A: remove fabrikam.test, then block it" reblock
settle
check "blocked domain inbound: 403, 1012 (public)" \
    in_a edge.fabrikam.test sip:bob@fabrikam.test "$CAROL" 403:1012:public -- --call-id i-blocked
check "  carol did not get it" never_a i-blocked
check "A: hosting provider hostco (proxy edge.fabrikam.test) serves hosted.test" \
    A provider add hostco --proxy-fqdn edge.fabrikam.test --kind hosting --domains hosted.test
settle
check "hosting provider enabled: 200" \
    in_a edge.fabrikam.test sip:x@hosted.test "$CAROL" 200 -- --call-id i-hosted
check "  carol got it, trust AuthorizedServer" \
    seen_a i-hosted --match 'ms-edge-proxy-message-trust=ms-source-type=AuthorizedServer'
check "hosting provider, wrong certificate (edge.northwind.test): 403, 1010 (public)" \
    in_a edge.northwind.test sip:x@hosted.test "$CAROL" 403:1010:public
check "A: provider hostco disabled" A provider set hostco --disabled
settle
check "hosting provider disabled: 403, 19003 (public)" \
    in_a edge.fabrikam.test sip:x@hosted.test "$CAROL" 403:19003:public
check "A: global policy without federation" A policy set global --federation off
settle
check "recipient's policy: no federation: 403, 19005 (public)" \
    in_a edge.northwind.test sip:x@northwind.test "$CAROL" 403:19005:public
check "A: global policy with federation again" A policy set global --federation on
check "A: federation off on the edge" A edge set --federation off
settle
check "federation off inbound: 403, 1027 (public)" \
    in_a edge.northwind.test sip:x@northwind.test "$CAROL" 403:1027:public

check "admin figures: A counted the refusals per diagnostic (GET /api/status as seen by the panel)" \
    python3 - "$ADA" "$CA" "$FEDGE_BIN" <<'EOF'
import json, subprocess, sys, urllib.request
port, cfg, fedge = sys.argv[1:4]
subprocess.run([fedge, "admin", "add", "ops", "-c", cfg], input=b"correct horse battery\n",
               check=True, capture_output=True)
req = urllib.request.Request("http://127.0.0.1:%s/api/login" % port,
                             data=json.dumps({"name": "ops", "password": "correct horse battery"}).encode(),
                             headers={"Content-Type": "application/json"})
r = urllib.request.urlopen(req)
cookie = r.headers["Set-Cookie"].split(";")[0]
st = json.loads(urllib.request.urlopen(urllib.request.Request(
    "http://127.0.0.1:%s/api/status" % port, headers={"Cookie": cookie})).read())
print(json.dumps(st)[:1500])
s = json.dumps(st)
for d in ("1012", "1014", "1010", "19001", "1027"):
    assert d in s, "diagnostic %s not counted" % d
assert "fabrikam.test" in s
EOF
check "edge A alive" alive edge-a
check "edge B alive" alive edge-b
finish
