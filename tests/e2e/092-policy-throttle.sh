#!/bin/bash
# 092-policy-throttle: discovered partners at edge A (discovery on, peers
# verified by DNS SRV): the standard rate (503, 19010 beyond it, allowed
# again a second later); the contacts limit (the request to one local user
# too many is refused 19009, the partner is on the store's watch list within
# a second — `fedge watchlist` shows it — and refused 19009 for everyone;
# clearing it lets it in again); the enumeration check (a partner whose
# requests mostly fail is slowed to 1 request/s); an allowed domain is not
# throttled at all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/policy_lib.sh"

check "dnsmasq, two UASs and two edges start" pol_start || finish
check "A: discovery on, 2 requests/s, 3 distinct users per discovered partner" \
    A edge set --discovery on --discovered-rate 2 --discovered-contacts 3
settle
N=edge.northwind.test NW=sip:x@northwind.test

note "standard rate: 2 requests/s, one second of burst"
check "4 requests at once: 200, 200, then 503 19010 (public) twice" \
    in_a $N $NW sip:carol@contoso.test 200 200 503:19010:public 503:19010:public
# --pause only spaces requests after the first, so wait here: the bucket
# refills in one second (this check used to send at once and was flaky).
# Time, not a state, is what this waits for: so a sleep.
sleep 1.5
check "1.5 seconds later: allowed again" \
    in_a $N $NW sip:carol@contoso.test 200
sleep 1.1 # time: the bucket refills

note "contacts limit: 3 distinct local users"
check "users 2 and 3 (carol was the first): 200 each, 1.1 s apart" \
    in_a $N $NW 'sip:user{n}@contoso.test' 200 200 -- --pause 1.1
sleep 1.1 # time: the bucket refills
check "a fourth distinct user: 403 19009 (watch list, public)" \
    in_a $N $NW sip:dave@contoso.test 403:19009:public
check "then carol too: 403 19009" in_a $N $NW sip:carol@contoso.test 403:19009:public
watchlisted() {
    local rc=0
    wait_for "'$FEDGE_BIN' watchlist -c '$CA' > '$T_LOGS/watchlist.out' 2>&1 &&
        grep -q northwind.test '$T_LOGS/watchlist.out'" 1.5 || rc=1
    cat "$T_LOGS/watchlist.out"
    return $rc
}
check "fedge watchlist shows northwind.test within a second" watchlisted
check "fedge watchlist --json: 4 distinct users" \
    sh -c "'$FEDGE_BIN' watchlist --json -c '$CA' | python3 -c 'import json,sys; d=json.load(sys.stdin); w=d if isinstance(d, list) else d.get(\"watchlist\", d); e=[x for x in w if x[\"domain\"]==\"northwind.test\"]; print(e); assert e and e[0][\"users\"]==4'"
check "still refused after the store took it over: 403 19009" \
    in_a $N $NW sip:carol@contoso.test 403:19009:public
check "an administrator clears it" A watchlist --clear northwind.test
settle
check "allowed again after clearing: 200" in_a $N $NW sip:carol@contoso.test 200

note "allowed domains are not throttled"
check "A: northwind.test becomes an allowed domain" A domain allow northwind.test
settle
check "6 requests at once to 6 users: all 200" \
    in_a $N $NW 'sip:u{n}@contoso.test' 200 200 200 200 200 200
check "A: northwind.test back to discovered" A domain remove northwind.test

note "enumeration: a partner whose requests mostly fail is slowed to 1/s"
check "A: 1000 requests/s, 1000 distinct users" \
    A edge set --discovered-rate 1000 --discovered-contacts 1000
settle
enum=()
for i in $(seq 20); do enum+=(404); done
check "adatum.test: 20 requests to unknown users, each 404" \
    in_a edge.adatum.test sip:scan@adatum.test 'sip:nobody{n}@contoso.test' "${enum[@]}"
check "now slowed: 2 requests at once to carol: 200, then 503 19010" \
    in_a edge.adatum.test sip:scan@adatum.test sip:carol@contoso.test 200 503:19010:public
check "the other discovered partner is not slowed: 3 at once, all 200" \
    in_a $N $NW sip:carol@contoso.test 200 200 200
check "edge A alive" alive edge-a
finish
