#!/bin/bash
# 150-metrics: a real Prometheus (Debian's) scrapes fedge's [metrics] listen
# every second while partners send MESSAGEs through the edge, one request
# is refused and one partner presents an expired certificate; the figures
# are read back with PromQL through Prometheus's HTTP API. Also: the
# endpoint's text format (HELP/TYPE, labels, promtool), 404/405 elsewhere,
# the JSON log format (every line an object), the access log, and
# docs/proxy.md's list of metrics against what is exposed.
. "$(dirname "$0")/lib.sh"

N=5 # MESSAGEs sent through the edge

topology
MET_PORT=$(free_port); PROM_PORT=$(free_port)
fedge_config "$T_TMP/fedge.ini"
sed -i 's/^format = text$/format = json\naccess = on/' "$T_TMP/fedge.ini"
printf '\n[metrics]\nlisten = 127.0.0.1:%s\n' "$MET_PORT" >> "$T_TMP/fedge.ini"
check "fedge serve starts with [metrics] listen" start_fedge "$T_TMP/fedge.ini" || finish
check "the metrics endpoint listens" wait_listen "$MET_PORT" 5
check "partner TLS legs start" inbound_legs || finish

mkdir -p "$T_TMP/prom"
cat > "$T_TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: fedge
    static_configs:
      - targets: ['127.0.0.1:$MET_PORT']
YML
start_bg prometheus prometheus --config.file="$T_TMP/prometheus.yml" \
    --storage.tsdb.path="$T_TMP/prom" --web.listen-address="127.0.0.1:$PROM_PORT" \
    --storage.tsdb.retention.time=1h
check "prometheus starts" wait_listen "$PROM_PORT" 30 "$BG_PID" || { show prometheus; finish; }

# promql QUERY: the first value of an instant query, or nothing.
promql() {
    curl -sf --get "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
# prom_at_least QUERY N: the query's value is >= N.
prom_at_least() {
    local v
    v=$(promql "$1") && [ -n "$v" ] && awk -v v="$v" -v n="$2" 'BEGIN { exit !(v + 0 >= n + 0) }'
}
prom_wait() { # QUERY N: wait (up to 30 s) until Prometheus has it, then show it
    wait_for "prom_at_least '$1' '$2'" 30
    local rc=$?
    echo "$1 = $(promql "$1") (want >= $2)"
    return $rc
}

check "prometheus scrapes fedge (up == 1)" prom_wait 'up{job="fedge"}' 1

# traffic: N MESSAGEs from the partner, one refused relay, one expired certificate
messages() {
    sipp_uas msg-uas message_uas.xml "$UAS_PORT" "sip:bob@127.0.0.1:$UAS_PORT;transport=tcp" "$N" &&
        sipp_uac msg-uac message_uac.xml "$PARTNER_PORT" "$UAC_PORT" "sip:bob@contoso.test" \
            "sip:alice@fabrikam.test" "sip:alice@127.0.0.1:$DR_PORT;transport=tls" "$N" &&
        wait_exit msg-uas 10
}
check "$N inbound MESSAGEs get 200 from the internal UAS" messages
mk_sip "$T_TMP/relay.sip" <<'SIP'
MESSAGE sip:someone@example.org SIP/2.0
Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-relay-1
Max-Forwards: 70
From: <sip:alice@fabrikam.test>;tag=r1
To: <sip:someone@example.org>
Call-ID: relay-1@fabrikam.test
CSeq: 1 MESSAGE
Content-Type: text/plain
Content-Length: @CL@

relay
SIP
check_out "a MESSAGE to a foreign domain is refused (403)" \
    $SIPCLIENT send --port "$EXT_PORT" --pki "$PKI" --data "$T_TMP/relay.sip" --expect-status 403
mk_sip "$T_TMP/stranger.sip" <<'SIP'
MESSAGE sip:bob@contoso.test SIP/2.0
Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-stranger-1
Max-Forwards: 70
From: <sip:eve@stranger.test>;tag=s1
To: <sip:bob@contoso.test>
Call-ID: stranger-1@stranger.test
CSeq: 1 MESSAGE
Content-Type: text/plain
Content-Length: @CL@

who am I
SIP
check_out "a MESSAGE from a domain that is not a partner is refused by the policy (403)" \
    $SIPCLIENT send --port "$EXT_PORT" --pki "$PKI" --data "$T_TMP/stranger.sip" --expect-status 403
check_out "a partner with an expired certificate is refused" \
    $SIPCLIENT refused --port "$EXT_PORT" --pki "$PKI" --cert expired.fabrikam.test

# the endpoint itself
curl -sf "http://127.0.0.1:$MET_PORT/metrics" > "$T_LOGS/metrics.txt"
check "GET /metrics has HELP and TYPE lines" \
    grep -q '^# TYPE fedge_sip_requests_forwarded_total counter$' "$T_LOGS/metrics.txt"
check "GET /metrics labels requests by side, direction and method" \
    grep -Eq '^fedge_sip_request_messages_total\{side="external",direction="received",method="MESSAGE"\} [1-9]' "$T_LOGS/metrics.txt"
check "GET /metrics is valid for promtool" sh -c "promtool check metrics < '$T_LOGS/metrics.txt' 2>&1 | grep -v 'counter metrics should have \"_total\" suffix' | { ! grep -q .; }"
check "GET /other is 404" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$MET_PORT/other)\" = 404 ]"
check "POST /metrics is 405" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -d x http://127.0.0.1:$MET_PORT/metrics)\" = 405 ]"

# through Prometheus
check "PromQL: requests forwarded >= $N" prom_wait 'fedge_sip_requests_forwarded_total' "$N"
check "PromQL: MESSAGEs received from the external side >= $N" \
    prom_wait 'sum(fedge_sip_request_messages_total{side="external",direction="received",method="MESSAGE"})' "$((N + 1))"
check "PromQL: 2xx responses sent to the external side >= $N" \
    prom_wait 'fedge_sip_response_messages_total{side="external",direction="sent",class="2xx"}' "$N"
check "PromQL: partner fabrikam.test allowed >= $N" \
    prom_wait 'fedge_partner_requests_total{partner="fabrikam.test",outcome="allowed"}' "$N"
check "PromQL: forwarding latency observed for $N MESSAGEs sent to the internal side" \
    prom_wait 'fedge_sip_forward_duration_seconds_count{side="internal",method="MESSAGE"}' "$N"
check "PromQL: median forwarding latency of a MESSAGE is known (histogram_quantile)" \
    prom_wait 'histogram_quantile(0.5, sum by (le) (fedge_sip_forward_duration_seconds_bucket{method="MESSAGE"})) > 0' 0
check "PromQL: requests refused >= 2" prom_wait 'fedge_sip_requests_refused_total' 2
check "PromQL: policy refusals by diagnostic ID >= 1" \
    prom_wait 'sum(fedge_policy_refusals_total{diagnostic=~"[0-9]+"})' 1
check "PromQL: expired certificate counted as a TLS failure by reason" \
    prom_wait 'fedge_tls_handshake_failures_total{direction="inbound",reason="certificate_expired"}' 1
start_bg hold $SIPCLIENT hold --port "$EXT_PORT" --pki "$PKI" --count 3 --ready "$T_TMP/held"
check "a partner holds 3 connections" wait_for "test -s '$T_TMP/held'" 20
check "PromQL: connections open on the external side >= 3" \
    prom_wait 'fedge_connections_open{side="external"}' 3
stop hold
prom_zero() { [ "$(promql 'fedge_connections_open{side="external"}')" = 0 ]; }
check "PromQL: back to 0 open external connections once they close" wait_for prom_zero 30
check "PromQL: store generation >= 1" prom_wait 'fedge_store_generation' 1

# [log] format = json: every line fedge wrote is one JSON object
json_lines() {
    python3 - "$T_LOGS/fedge.log" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(line)
    assert isinstance(o, dict) and {"ts", "level", "component", "msg"} <= o.keys(), line
    n += 1
print(n, "JSON lines")
assert n > 10
PY
}
check_out "[log] format = json: every log line is a JSON object" json_lines

# [log] access = on: one line per transaction
access_lines() {
    python3 - "$T_LOGS/fedge.log" "$N" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
acc = [o for o in lines if o["component"] == "access"]
for o in acc:
    print(json.dumps(o))
ok = [o for o in acc if o["method"] == "MESSAGE" and o["status"] == "200"
      and o["from"] == "fabrikam.test" and o["to"] == "contoso.test"
      and o["partner"] == "fabrikam.test" and o["diagnostic"] == "-"
      and o["duration_ms"].isdigit() and o["level"] == "info"]
assert len(ok) == int(sys.argv[2]), "%d delivered MESSAGE lines" % len(ok)
ref = [o for o in acc if o["status"] == "403" and o["partner"] == "stranger.test"]
assert len(ref) == 1 and ref[0]["diagnostic"].isdigit(), ref
relay = [o for o in acc if o["status"] == "403" and o["to"] == "example.org"]
assert len(relay) == 1, relay
PY
}
check_out "[log] access = on: a line per MESSAGE (domains, partner, status, duration) and per refusal (diagnostic)" access_lines

# docs/proxy.md, "Metrics" lists exactly what the endpoint exposes
docs_match() {
    local doc real
    doc=$(sed -n '/^## Metrics/,/^## Signals/p' "$FEDGE_ROOT/docs/proxy.md" | grep -o '`fedge_[a-z_]*`' | tr -d '`' | sort -u)
    real=$(curl -sf "http://127.0.0.1:$MET_PORT/metrics" | awk '$1 == "#" && $2 == "TYPE" {print $3}' | sort -u)
    diff <(echo "$doc") <(echo "$real") && echo "$(echo "$doc" | wc -l) metrics documented and exposed"
}
check_out "every metric in docs/proxy.md is exposed, and every exposed one is documented" docs_match

check "fedge still running" alive fedge
finish
