#!/usr/bin/env python3
"""admin_client.py — HTTP checks of the fedge admin server for
071-admin-security.sh. Each subcommand runs one group of checks, prints what
it saw and exits 1 at the first failed expectation.

usage: admin_client.py URL USER PASS GROUP [args]
GROUP: unauth | cookie | csrf | validation | meta DBFILE | flood | logout |
       passwd-ends FEDGE CFG | headers | limits"""
import http.client
import json
import sqlite3
import sys
import time
import urllib.parse

URL, USER, PASS, GROUP = sys.argv[1:5]
ARGS = sys.argv[5:]
u = urllib.parse.urlparse(URL)

ROUTES = [
    ("GET", "/api/session"), ("POST", "/api/logout"),
    ("GET", "/api/edge"), ("PUT", "/api/edge"),
    ("GET", "/api/domains/allowed"), ("POST", "/api/domains/allowed"),
    ("PUT", "/api/domains/allowed/contoso.test"), ("DELETE", "/api/domains/allowed/contoso.test"),
    ("GET", "/api/domains/blocked"), ("POST", "/api/domains/blocked"),
    ("PUT", "/api/domains/blocked/contoso.test"), ("DELETE", "/api/domains/blocked/contoso.test"),
    ("GET", "/api/providers"), ("POST", "/api/providers"),
    ("PUT", "/api/providers/p1"), ("DELETE", "/api/providers/p1"),
    ("GET", "/api/policies"), ("POST", "/api/policies"), ("PUT", "/api/policies/global"),
    ("POST", "/api/assignments"), ("DELETE", "/api/assignments/bob@contoso.test"),
    ("GET", "/api/watchlist"), ("DELETE", "/api/watchlist/x.test"),
    ("GET", "/api/audit"), ("GET", "/api/status"), ("GET", "/api/nonexistent"),
    ("GET", "/api/domains"), ("PUT", "/api/domains/contoso.test"),
    ("POST", "/api/domains/import"), ("DELETE", "/api/policies/p1"),
    ("GET", "/api/audit/search"), ("GET", "/api/diagnostics"), ("GET", "/api/media"),
]
CHANGES = [r for r in ROUTES if r[0] != "GET" and r[1] != "/api/logout"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def req(method, path, body=None, cookie=None, csrf=None, headers=None, raw=None):
    if u.scheme == "https":
        import ssl
        ctx = ssl.create_default_context(cafile=ARGS[0] if ARGS else None)
        c = http.client.HTTPSConnection(u.hostname, u.port, timeout=10, context=ctx)
    else:
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    h = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    if cookie:
        h["Cookie"] = "fedge_session=" + cookie
    if csrf is not None:
        h["X-CSRF-Token"] = csrf
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read()
    c.close()
    try:
        j = json.loads(text) if text else None
    except ValueError:
        j = None
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), j, r.getheader("Set-Cookie")


def login(user=USER, pw=PASS):
    st, h, j, sc = req("POST", "/api/login", {"name": user, "password": pw})
    if st != 200:
        fail("login of %s: %d %s" % (user, st, j))
    cookie = sc.split(";")[0].split("=", 1)[1]
    return cookie, j["csrf"], sc


def expect(what, got, want):
    print("%s: %s" % (what, got))
    if got != want:
        fail("%s: expected %s, got %s" % (what, want, got))


def body_for(method, path):
    return {} if method in ("POST", "PUT") else None


if GROUP == "unauth":
    for cookie in (None, "0" * 64, "deadbeef"):
        for m, p in ROUTES:
            st, h, j, _ = req(m, p, body_for(m, p), cookie=cookie, csrf="x")
            expect("%s %s (cookie %s)" % (m, p, cookie and cookie[:8]), st, 401)
    st, h, j, _ = req("GET", "/")
    expect("GET / (static asset) without session", st, 200)
    # DNS rebinding: a foreign name pointing at the loopback address.
    for host in ("evil.example:%d" % u.port, "127.0.0.1.evil.example", "localhost.evil.example"):
        st, h, j, _ = req("GET", "/", headers={"Host": host})
        expect("GET / with Host %s" % host, st, 421)
        st, h, j, _ = req("POST", "/api/login", {"name": USER, "password": PASS}, headers={"Host": host})
        expect("login with Host %s" % host, st, 421)
    for host in ("localhost:%d" % u.port, "127.0.0.1:%d" % u.port, "127.0.0.1"):
        st, h, j, _ = req("GET", "/", headers={"Host": host})
        expect("GET / with Host %s" % host, st, 200)
    st, h, j, _ = req("GET", "/app.js")
    expect("GET /app.js without session", st, 200)

elif GROUP == "cookie":
    cookie, csrf, sc = login()
    print("Set-Cookie:", sc.replace(cookie, "<id>"))
    attrs = [a.strip().lower() for a in sc.split(";")]
    for want in ("httponly", "samesite=strict", "path=/"):
        if want not in attrs:
            fail("cookie lacks " + want)
    if not any(a.startswith("max-age=") for a in attrs):
        fail("cookie has no expiry")
    secure = "secure" in attrs
    if (u.scheme == "https") != secure:
        fail("Secure attribute %s under %s" % (secure, u.scheme))
    if len(cookie) != 64 or any(ch not in "0123456789abcdef" for ch in cookie):
        fail("session id is not 256 bits of hex")
    c2, csrf2, _ = login()
    if c2 == cookie or csrf2 == csrf:
        fail("two logins gave the same id or token")
    print("ok: HttpOnly, SameSite=Strict, expiry, Secure=%s, fresh random ids" % secure)

elif GROUP == "csrf":
    cookie, csrf, _ = login()
    st, h, j, _ = req("GET", "/api/audit", cookie=cookie)
    before = len(j["items"])
    for m, p in CHANGES:
        body = {"domain": "csrf.test"} if p.endswith("/allowed") or p.endswith("/blocked") else body_for(m, p)
        for tok in (None, "", "0" * 64, csrf[:-1] + ("0" if csrf[-1] != "0" else "1")):
            st, h, j, _ = req(m, p, body, cookie=cookie, csrf=tok)
            expect("%s %s with token %r" % (m, p, tok and tok[:6]), st, 403)
    st, h, j, _ = req("POST", "/api/domains/blocked", {"domain": "csrf.test"}, cookie=cookie,
                      csrf=csrf, headers={"Origin": "http://evil.example"})
    expect("right token but a foreign Origin", st, 403)
    st, h, j, _ = req("POST", "/api/logout", cookie=cookie)
    expect("logout without token", st, 403)
    st, h, j, _ = req("GET", "/api/audit", cookie=cookie)
    expect("nothing was changed (audit entries)", len(j["items"]), before)
    st, h, j, _ = req("POST", "/api/domains/blocked", {"domain": "csrf.test"}, cookie=cookie, csrf=csrf)
    expect("with the right token", st, 201)

elif GROUP == "validation":
    cookie, csrf, _ = login()
    cases = [
        ("POST", "/api/domains/allowed", {"domain": "bad..test"}, 400, "domain"),
        ("POST", "/api/domains/allowed", {"domain": "ok.test", "proxy_fqdn": "-x.test"}, 400, "proxy_fqdn"),
        ("POST", "/api/domains/allowed", {"domain": "ok.test", "monitor": "yes"}, 400, "monitor"),
        ("POST", "/api/domains/allowed", {"domain": "ok.test", "colour": 1}, 400, "colour"),
        ("POST", "/api/domains/allowed", {}, 400, "domain"),
        ("POST", "/api/domains/blocked", {"domain": "127.0.0.1"}, 400, "domain"),
        ("POST", "/api/domains/blocked", {"domain": "ok.test", "comment": "a\nb"}, 400, "comment"),
        ("POST", "/api/domains/blocked", {"domain": "ok.test", "comment": "x" * 513}, 400, "comment"),
        ("PUT", "/api/edge", {"discovered-rate": 0}, 400, "discovered-rate"),
        ("PUT", "/api/edge", {"routing": "carrier-pigeon"}, 400, "routing"),
        ("PUT", "/api/edge", {"routing": "default-route", "default-route": ""}, 400, "default-route"),
        ("PUT", "/api/edge", {"nonsense": True}, 400, "nonsense"),
        ("POST", "/api/providers", {"name": "p", "proxy_fqdn": "sip.p.test", "kind": "other"}, 400, "kind"),
        ("POST", "/api/providers", {"name": "p", "proxy_fqdn": "sip.p.test", "kind": "public",
                                    "domains": ["ok.test", "no domain"]}, 400, "domains"),
        ("POST", "/api/providers", {"name": "<p>", "proxy_fqdn": "sip.p.test", "kind": "public"}, 400, "name"),
        ("POST", "/api/policies", {"scope": "site:"}, 400, "scope"),
        ("POST", "/api/assignments", {"user": "nobody", "policy": "x"}, 400, "user"),
        ("POST", "/api/assignments", {"user": "bob@contoso.test", "policy": "nosuch"}, 400, "policy"),
        ("GET", "/api/audit?limit=-1", None, 400, "limit"),
    ]
    for m, p, b, want, field in cases:
        st, h, j, _ = req(m, p, b, cookie=cookie, csrf=csrf)
        print("%s %s %s -> %d %s" % (m, p, json.dumps(b)[:80], st, j))
        if st != want or not j or j.get("field") != field or not j.get("error"):
            fail("expected %d naming field %s" % (want, field))
    st, h, j, _ = req("POST", "/api/domains/blocked", None, cookie=cookie, csrf=csrf, raw=b"{not json",
                      headers={"Content-Type": "application/json"})
    expect("invalid JSON", st, 400)
    # 404 and 409
    for m, p, b, want in [
        ("PUT", "/api/domains/allowed/none.test", {"comment": "x"}, 404),
        ("DELETE", "/api/domains/blocked/none.test", None, 404),
        ("DELETE", "/api/providers/none", None, 404),
        ("PUT", "/api/policies/none", {"xmpp": True}, 404),
        ("GET", "/api/nothing-here", None, 404),
    ]:
        st, h, j, _ = req(m, p, b, cookie=cookie, csrf=csrf)
        expect("%s %s" % (m, p), st, want)
    st, _, _, _ = req("POST", "/api/domains/allowed", {"domain": "both.test"}, cookie=cookie, csrf=csrf)
    expect("allow both.test", st, 201)
    st, h, j, _ = req("POST", "/api/domains/blocked", {"domain": "both.test"}, cookie=cookie, csrf=csrf)
    expect("block an allowed domain (conflict)", st, 409)
    if j.get("field") != "domain":
        fail("409 names the field")
    st, h, j, _ = req("POST", "/api/domains/allowed", {"domain": "both.test"}, cookie=cookie, csrf=csrf)
    expect("allow it twice (conflict)", st, 409)
    st, h, j, _ = req("POST", "/api/providers", {"name": "p1", "proxy_fqdn": "sip.p.test", "kind": "public"},
                      cookie=cookie, csrf=csrf)
    expect("provider p1", st, 201)
    st, h, j, _ = req("POST", "/api/providers", {"name": "p2", "proxy_fqdn": "sip.p.test", "kind": "public"},
                      cookie=cookie, csrf=csrf)
    expect("second provider with the same proxy FQDN (conflict)", st, 409)

elif GROUP == "meta":
    db = ARGS[0]
    cookie, csrf, _ = login()
    evil = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'; DROP TABLE blocked_domain; --",
            "Robert'); DELETE FROM audit;--", "%s%n%x \\ ` $(id) {{7*7}} ${x}", "&lt;b&gt; &amp; \u00e9\u4e2d"]
    for i, text in enumerate(evil):
        d = "meta%d.test" % i
        st, h, j, _ = req("POST", "/api/domains/blocked", {"domain": d, "comment": text}, cookie=cookie, csrf=csrf)
        expect("block %s with comment %r" % (d, text), st, 201)
        if j["comment"] != text:
            fail("answer changed the text: %r" % j["comment"])
        d2 = "metaa%d.test" % i
        st, h, j, _ = req("POST", "/api/domains/allowed", {"domain": d2, "comment": text}, cookie=cookie, csrf=csrf)
        expect("allow %s with comment %r" % (d2, text), st, 201)
        if j["comment"] != text:
            fail("answer changed the text: %r" % j["comment"])
    # Metacharacters in validated fields are refused, never stored.
    for field, path, body in [
        ("domain", "/api/domains/blocked", {"domain": "<script>.test"}),
        ("domain", "/api/domains/allowed", {"domain": "x.test'; DROP TABLE audit;--"}),
        ("proxy_fqdn", "/api/domains/allowed", {"domain": "pf.test", "proxy_fqdn": "\"><b>.test"}),
        ("name", "/api/providers", {"name": "a'--", "proxy_fqdn": "s.test", "kind": "public"}),
        ("scope", "/api/policies", {"scope": "<b>"}),
        ("user", "/api/assignments", {"user": "<b>@x.test", "policy": "global"}),
    ]:
        st, h, j, _ = req("POST", path, body, cookie=cookie, csrf=csrf)
        expect("%s %s" % (path, json.dumps(body)), (st, j.get("field")), (400, field))
    st, h, j, _ = req("GET", "/api/domains/blocked", cookie=cookie)
    got = {x["domain"]: x["comment"] for x in j["items"]}
    for i, text in enumerate(evil):
        if got.get("meta%d.test" % i) != text:
            fail("GET changed the text of meta%d.test: %r" % (i, got.get("meta%d.test" % i)))
    if h.get("content-type", "").split(";")[0] != "application/json" or h.get("x-content-type-options") != "nosniff":
        fail("API answers must be application/json with nosniff: %s" % h)
    con = sqlite3.connect(db)
    rows = dict(con.execute("SELECT domain, comment FROM blocked_domain WHERE domain LIKE 'meta%'").fetchall())
    n_audit = con.execute("SELECT count(*) FROM audit").fetchone()[0]
    con.close()
    for i, text in enumerate(evil):
        if rows.get("meta%d.test" % i) != text:
            fail("the store holds %r" % rows.get("meta%d.test" % i))
    print("stored verbatim in %s; tables intact (audit has %d rows)" % (db, n_audit))
    st, h, _, _ = req("GET", "/")
    csp = h.get("content-security-policy", "")
    print("CSP:", csp)
    if "script-src 'self'" not in csp or "unsafe-inline" in csp or "frame-ancestors 'none'" not in csp:
        fail("the page's CSP must forbid inline script and framing")

elif GROUP == "flood":
    # Per account: 3 free failures, then growing delays answered with 429.
    statuses = []
    t0 = time.time()
    for i in range(8):
        st, h, j, _ = req("POST", "/api/login", {"name": ARGS[0], "password": "wrong-%d" % i})
        statuses.append((st, h.get("retry-after")))
    took = time.time() - t0
    print("8 wrong logins for %s: %s in %.2f s" % (ARGS[0], statuses, took))
    if [s for s, _ in statuses[:3]] != [401, 401, 401]:
        fail("the first three failures are answered 401")
    if statuses[3][0] != 401 or any(s != 429 for s, _ in statuses[4:]):
        fail("after the free failures, logins are refused with 429 until the delay passes")
    if any(not ra or int(ra) < 1 for s, ra in statuses[4:]):
        fail("429 carries Retry-After")
    if took > 5:
        fail("the server slept instead of answering 429 (%.1f s)" % took)
    st, h, j, _ = req("POST", "/api/login", {"name": ARGS[0], "password": ARGS[1]})
    expect("even the right password during the delay", st, 429)
    ra = int(h["retry-after"])
    print("waiting Retry-After = %d s" % ra)
    time.sleep(ra + 0.2)
    st, h, j, _ = req("POST", "/api/login", {"name": ARGS[0], "password": ARGS[1]})
    expect("the right password after the delay", st, 200)
    # Per source address: many names from one address.
    statuses = []
    for i in range(14):
        st, h, j, _ = req("POST", "/api/login", {"name": "guess%d" % i, "password": "x" * 8})
        statuses.append(st)
    print("14 wrong logins, each a different name, one address:", statuses)
    if statuses[:10] != [401] * 10 or 429 not in statuses[10:]:
        fail("after 10 failures from one address, further attempts get 429")
    # Other requests are still served at once during the flood.
    t0 = time.time()
    st, _, _, _ = req("GET", "/app.js")
    expect("static asset during the flood", st, 200)
    if time.time() - t0 > 1:
        fail("the server is slow to answer others during the flood")

elif GROUP == "logout":
    cookie, csrf, _ = login()
    st, _, _, _ = req("GET", "/api/edge", cookie=cookie)
    expect("session works", st, 200)
    st, h, _, sc = req("POST", "/api/logout", cookie=cookie, csrf=csrf)
    expect("logout", st, 204)
    print("logout Set-Cookie:", sc)
    if not sc or "max-age=0" not in sc.lower():
        fail("logout clears the cookie")
    for m, p in [("GET", "/api/edge"), ("GET", "/api/session"), ("POST", "/api/domains/blocked")]:
        st, _, _, _ = req(m, p, {"domain": "after.test"} if m == "POST" else None, cookie=cookie, csrf=csrf)
        expect("%s %s with the cookie from before logout" % (m, p), st, 401)

elif GROUP == "passwd-ends":
    fedge, cfg, newpw = ARGS
    cookie, csrf, _ = login()
    import subprocess
    r = subprocess.run([fedge, "admin", "passwd", USER, "-c", cfg], input=(newpw + "\n").encode())
    expect("fedge admin passwd exit", r.returncode, 0)
    st, _, _, _ = req("GET", "/api/edge", cookie=cookie)
    expect("a session from before the password change", st, 401)
    st, _, _, _ = req("POST", "/api/login", {"name": USER, "password": PASS})
    expect("the old password", st, 401)
    st, _, _, _ = req("POST", "/api/login", {"name": USER, "password": newpw})
    expect("the new password", st, 200)

elif GROUP == "limits":
    cookie, csrf, _ = login()
    big = b'{"domain":"big.test","comment":"' + b"x" * 70000 + b'"}'
    st, _, _, _ = req("POST", "/api/domains/blocked", None, cookie=cookie, csrf=csrf, raw=big,
                      headers={"Content-Type": "application/json"})
    expect("a 70 kB body", st, 413)
    st, _, _, _ = req("POST", "/api/domains/blocked", None, cookie=cookie, csrf=csrf,
                      raw=b"domain=form.test", headers={"Content-Type": "application/x-www-form-urlencoded"})
    expect("a form body (not JSON)", st, 415)
    st, _, _, _ = req("POST", "/api/login", None, raw=b"name=a&password=b",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    expect("a form login (cross-site form posts)", st, 415)

else:
    fail("unknown group " + GROUP)
print("ok")
