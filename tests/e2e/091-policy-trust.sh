#!/bin/bash
# 091-policy-trust: ms-edge-proxy-message-trust smuggling. A partner sends
# requests carrying its own trust headers — exact name, upper case, mixed
# case with spaces or a tab before the colon, several at once, a folded
# value, and through a second fedge edge — and the user inside must receive
# exactly one trust header: the edge's own (MS-SIPRE §2.2.15 fields). A
# header whose name only contains the trust header's name is kept (the
# stripping is by exact name, so this check can fail the other way too).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/policy_lib.sh"

check "dnsmasq, two UASs and two edges start" pol_start || finish
check "A allows partner server fabrikam.test" A domain allow fabrikam.test --proxy-fqdn edge.fabrikam.test
check "B allows partner server contoso.test" B domain allow contoso.test --proxy-fqdn edge.contoso.test
settle

OURS='^ms-source-type=DirectPartner;ms-ep-fqdn=edge.contoso.test;ms-source-verified-user=verified;ms-source-network=federation$'
FAKE='ms-source-type=EdgeProxyGenerated;ms-ep-fqdn=edge.contoso.test;ms-source-verified-user=verified;ms-source-network=intranet'
n=0
smuggle() { # description, then --header arguments
    local desc=$1; shift
    n=$((n + 1))
    check "$desc: allowed (200)" in_a edge.fabrikam.test sip:bob@fabrikam.test \
        sip:carol@contoso.test 200 -- --call-id "smuggle-$n" "$@"
    check "$desc: carol got exactly one trust header, the edge's own" \
        seen_a "smuggle-$n" --count ms-edge-proxy-message-trust=1 \
        --match "ms-edge-proxy-message-trust=$OURS"
}
smuggle "exact name" --header "ms-edge-proxy-message-trust: $FAKE"
smuggle "upper case" --header "MS-EDGE-PROXY-MESSAGE-TRUST: $FAKE"
smuggle "mixed case, spaces before the colon" --header "Ms-Edge-Proxy-Message-Trust   : $FAKE"
smuggle "tab before the colon" --header "$(printf 'ms-edge-proxy-message-trust\t: %s' "$FAKE")"
smuggle "no space after the colon" --header "ms-edge-proxy-message-trust:$FAKE"
smuggle "five of them, interleaved with other headers" \
    --header "ms-edge-proxy-message-trust: $FAKE" --header "Subject: hello" \
    --header "MS-Edge-Proxy-Message-Trust : $FAKE" --header "User-Agent: smuggler" \
    --header "ms-edge-proxy-message-trust: a" --header "ms-edge-proxy-message-trust: b" \
    --header "$(printf 'MS-EDGE-PROXY-MESSAGE-TRUST \t : c')"
smuggle "folded value" --header "$(printf 'ms-edge-proxy-message-trust: ms-source-type=DirectPartner;\r\n ms-ep-fqdn=evil')"

n=$((n + 1))
check "a look-alike header (X-ms-edge-proxy-message-trust) is not a trust header: allowed" \
    in_a edge.fabrikam.test sip:bob@fabrikam.test sip:carol@contoso.test 200 -- \
    --call-id "smuggle-$n" --header "X-ms-edge-proxy-message-trust: keep me"
check "  it arrives as sent, next to one trust header of the edge" \
    seen_a "smuggle-$n" --count X-ms-edge-proxy-message-trust=1 \
    --match 'X-ms-edge-proxy-message-trust=^keep me$' --count ms-edge-proxy-message-trust=1

note "through edge B: carol@contoso.test -> A -> B -> bob, with a forged trust header from inside"
check "allowed (200)" out carol sip:bob@fabrikam.test 200 -- --call-id smuggle-out \
    --header "ms-edge-proxy-message-trust: $FAKE" --header "MS-EDGE-PROXY-MESSAGE-TRUST : x"
check "bob got exactly one trust header: B's own (ms-ep-fqdn edge.fabrikam.test)" \
    seen_b smuggle-out --count ms-edge-proxy-message-trust=1 \
    --match 'ms-edge-proxy-message-trust=^ms-source-type=DirectPartner;ms-ep-fqdn=edge.fabrikam.test;ms-source-verified-user=verified;ms-source-network=federation$'
check "edge A alive" alive edge-a
check "edge B alive" alive edge-b
finish
