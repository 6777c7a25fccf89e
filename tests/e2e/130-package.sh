#!/bin/bash
# 130-package — the Debian package: `make deb` builds it, lintian reports on
# it (errors fail, warnings are shown), `apt-get install ./fedge_*.deb`
# installs it (fedge system user, /etc/fedge/fedge.ini, /var/lib/fedge, the
# systemd unit, man pages), `systemd-analyze verify` accepts the unit, and
# the installed binary runs as the fedge user on the shipped configuration
# (only its addresses and certificates changed to the test's): it says
# READY=1 and STOPPING=1 on NOTIFY_SOCKET as systemd's Type=notify expects,
# answers OPTIONS over mutual TLS, reloads on SIGHUP, stops on SIGTERM.
# There is no systemd as PID 1 here: the unit's settings are verified, not
# run. The package is purged at the end, also when a check failed.
# Needs root (CI is root on a fresh machine).
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    check "running as root (dpkg needs it)" false
    finish
fi

APT="apt-get -q -y -o DPkg::Lock::Timeout=600"
RUN_DIR=""

purge() {
    if dpkg-query -W -f='${Status}' fedge 2>/dev/null | grep -q "ok installed\|config-files"; then
        $APT purge fedge > "$T_LOGS/purge.log" 2>&1 || dpkg --purge fedge >> "$T_LOGS/purge.log" 2>&1
    fi
    [ -n "$RUN_DIR" ] && rm -rf "$RUN_DIR"
    return 0
}
# Purge first, whatever happened: then lib.sh's cleanup (it reads $?).
trap '_rc=$?; purge; (exit $_rc); _t_cleanup' EXIT

if dpkg-query -W fedge > /dev/null 2>&1; then
    note "fedge was installed before this test (an earlier run?): purging it first"
    purge
fi

cd "$FEDGE_ROOT" || exit 1
VERSION=$(sed -n 's/^#define FEDGE_VERSION "\(.*\)"/\1/p' src/version.h)
ARCH=$(dpkg --print-architecture)
DEB=$FEDGE_ROOT/fedge_${VERSION}_$ARCH.deb
rm -f "$DEB"

# ---------------------------------------------------------------- build
check "make deb builds fedge_${VERSION}_$ARCH.deb" \
    bash -c "make --no-print-directory BUILD='$FEDGE_BUILD/pkg' deb > '$T_LOGS/make-deb.log' 2>&1 && test -s '$DEB'" ||
    { tail -30 "$T_LOGS/make-deb.log"; finish; }

lintian "$DEB" > "$T_LOGS/lintian.log" 2>&1
note "lintian: $(grep -c '^[EWIP]:' "$T_LOGS/lintian.log") tags"
sed -n 's/^\([EWIP]: .*\)/#   \1/p' "$T_LOGS/lintian.log"
check "lintian reports no errors" bash -c "! grep -q '^E:' '$T_LOGS/lintian.log'"

check "the package holds the binary, unit, configuration and man pages" bash -c "
    dpkg-deb -c '$DEB' > '$T_LOGS/contents.txt' &&
    for f in ./usr/bin/fedge ./lib/systemd/system/fedge.service ./etc/fedge/fedge.ini \
             ./usr/share/man/man8/fedge.8.gz ./usr/share/man/man5/fedge.ini.5.gz; do
        grep -q \" \$f\$\" '$T_LOGS/contents.txt' || { echo \"missing \$f\"; exit 1; }
    done"
check "/etc/fedge/fedge.ini is a conffile" bash -c "dpkg-deb --ctrl-tarfile '$DEB' | tar -xOf - ./conffiles | grep -qx /etc/fedge/fedge.ini"
check "the man pages render without warnings" bash -c "
    for p in '$FEDGE_BUILD/pkg/deb/fedge-$VERSION/build/man/fedge.8' \
             '$FEDGE_BUILD/pkg/deb/fedge-$VERSION/build/man/fedge.ini.5'; do
        out=\$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z \"\$p\" 2>&1 >/dev/null)
        [ -z \"\$out\" ] || { echo \"\$p: \$out\"; exit 1; }
    done"

# ---------------------------------------------------------------- install
check "apt-get install ./fedge_${VERSION}_$ARCH.deb" \
    bash -c "$APT install '$DEB' > '$T_LOGS/install.log' 2>&1" ||
    { tail -20 "$T_LOGS/install.log"; finish; }
check "fedge --version of the installed binary says $VERSION" \
    bash -c "[ \"\$(/usr/bin/fedge --version)\" = 'fedge $VERSION' ]"
check "a fedge system user and group, no login shell" bash -c '
    u=$(getent passwd fedge) && getent group fedge >/dev/null &&
    uid=$(echo "$u" | cut -d: -f3) && [ "$uid" -lt 1000 ] &&
    case $(echo "$u" | cut -d: -f7) in */nologin|*/false) ;; *) exit 1 ;; esac'
check "/etc/fedge/fedge.ini: root:fedge 640" \
    bash -c '[ "$(stat -c "%U:%G %a" /etc/fedge/fedge.ini)" = "root:fedge 640" ]'
check "/var/lib/fedge: fedge:fedge 750" \
    bash -c '[ "$(stat -c "%U:%G %a" /var/lib/fedge)" = "fedge:fedge 750" ]'
check "the shipped configuration does not route everything to a gateway" bash -c '
    grep -Eq "^routing *= *dns-srv" /etc/fedge/fedge.ini && ! grep -Eq "^default_route" /etc/fedge/fedge.ini'
check "man fedge and man fedge.ini find the installed pages" bash -c '
    [ "$(man -w fedge)" = /usr/share/man/man8/fedge.8.gz ] &&
    [ "$(man -w fedge.ini)" = /usr/share/man/man5/fedge.ini.5.gz ]'

UNIT=/lib/systemd/system/fedge.service
if command -v systemd-analyze > /dev/null; then
    check_out "systemd-analyze verify accepts the unit" \
        bash -c "out=\$(systemd-analyze verify --man=no $UNIT 2>&1); rc=\$?; echo \"\$out\"; [ \$rc -eq 0 ] && [ -z \"\$out\" ]"
else
    check "systemd-analyze is installed (package systemd in scripts/bootstrap)" false
fi
check "the unit: Type=notify, User=fedge, CAP_NET_BIND_SERVICE, StateDirectory, ProtectSystem=strict, reload by SIGHUP" bash -c "
    for l in Type=notify User=fedge AmbientCapabilities=CAP_NET_BIND_SERVICE StateDirectory=fedge \
             ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes \
             'ExecReload=/bin/kill -HUP \$MAINPID' 'ExecStart=/usr/bin/fedge serve -c /etc/fedge/fedge.ini'; do
        grep -qxF \"\$l\" $UNIT || { echo \"missing: \$l\"; exit 1; }
    done"

# ---------------------------------------------------------------- run as fedge
# The shipped configuration with the test's loopback ports and test PKI,
# in a folder the fedge user can read; the store stays where it is shipped
# (/var/lib/fedge, the unit's StateDirectory).
topology
RUN_DIR=$(mktemp -d /tmp/fedge-pkg.XXXXXX)
mkdir -p "$RUN_DIR/tls"
cp "$PKI/edge.contoso.test.crt" "$PKI/edge.contoso.test.key" "$PKI/ca.crt" "$RUN_DIR/tls/"
sed -e "s|^fqdn = .*|fqdn = edge.contoso.test|" \
    -e "s|^sip_domains = .*|sip_domains = contoso.test|" \
    -e "/^\[external\]/,/^\[/ s|^listen = .*|listen = 127.0.0.1:$EXT_PORT|" \
    -e "/^\[external\]/,/^\[/ s|^certificate = .*|certificate = tls/edge.contoso.test.crt|" \
    -e "/^\[external\]/,/^\[/ s|^private_key = .*|private_key = tls/edge.contoso.test.key|" \
    -e "/^\[external\]/,/^\[/ s|^ca_file = .*|ca_file = tls/ca.crt|" \
    -e "/^\[internal\]/,/^\[/ s|^listen = .*|listen = 127.0.0.1:$INT_PORT|" \
    -e "/^\[internal\]/,/^\[/ s|^transport = .*|transport = tcp|" \
    -e "/^\[internal\]/,/^\[/ s|^next_hop = .*|next_hop = 127.0.0.1:$UAS_PORT|" \
    -e "/^\[internal\]/,/^\[/ {/^certificate\|^private_key\|^ca_file/d}" \
    -e "/^\[admin\]/,/^\[/ s|^listen = .*|listen = 127.0.0.1:$ADMIN_PORT|" \
    /etc/fedge/fedge.ini > "$RUN_DIR/fedge.ini"
chown -R root:fedge "$RUN_DIR" && chmod -R g+rX "$RUN_DIR" && chmod 750 "$RUN_DIR"
check "the shipped configuration passes check-config with test addresses" \
    runuser -u fedge -- /usr/bin/fedge check-config -c "$RUN_DIR/fedge.ini"
check "fedge domain allow as the fedge user writes /var/lib/fedge/fedge.db" bash -c "
    runuser -u fedge -- /usr/bin/fedge domain allow fabrikam.test --proxy-fqdn edge.fabrikam.test -c '$RUN_DIR/fedge.ini' &&
    [ \"\$(stat -c %U /var/lib/fedge/fedge.db)\" = fedge ]"

# The service manager's side of Type=notify: a datagram socket that prints
# what it receives, writable by the fedge user as systemd's is. On READY=1
# it also tries the external port at once: ready means accepting.
NOTIFY=$RUN_DIR/notify.sock
start_bg notify python3 -u -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
print("listening", flush=True)
while True:
    m = s.recv(4096).decode().replace("\n", " ")
    if "READY=1" in m:
        try:
            socket.create_connection(("127.0.0.1", int(sys.argv[2])), 1).close()
            m += " (external port accepts)"
        except OSError as e:
            m += " (external port: %s)" % e
    print(m, flush=True)
' "$NOTIFY" "$EXT_PORT"
for _ in $(seq 50); do grep -q listening "$T_LOGS/notify.log" && break; sleep 0.1; done

# Under strace: every system call it makes is checked against the unit's
# SystemCallFilter below.
install -o fedge -g fedge -m 0600 /dev/null "$RUN_DIR/strace.txt"
start_bg fedge env NOTIFY_SOCKET="$NOTIFY" runuser -u fedge -- \
    strace -f -qq -o "$RUN_DIR/strace.txt" /usr/bin/fedge serve -c "$RUN_DIR/fedge.ini"
listens_both() { wait_listen "$EXT_PORT" 10 && wait_listen "$INT_PORT" 5; }
check "the installed fedge listens (external $EXT_PORT, internal $INT_PORT)" listens_both || show fedge
check "it runs as fedge" bash -c "ps -o user= -C fedge | grep -qx fedge"
wait_notify() { # TEXT: wait up to 5 s for TEXT in the notify log
    for _ in $(seq 50); do grep -q "$1" "$T_LOGS/notify.log" && return 0; sleep 0.1; done
    return 1
}
check "READY=1 on NOTIFY_SOCKET once it listens (the external port accepted at once)" \
    wait_notify "READY=1 STATUS=listening (external port accepts)" || show notify
check "OPTIONS over mutual TLS answered 200" \
    $SIPCLIENT options --port "$EXT_PORT" --pki "$PKI"
check "the admin panel answers" curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN_PORT/"
kill -HUP "$(pgrep -u fedge -x fedge)"
check "SIGHUP (ExecReload) reloads the certificates" bash -c "
    for _ in \$(seq 50); do grep -q 'certificates reloaded' '$T_LOGS/fedge.log' && exit 0; sleep 0.1; done; exit 1"
kill -TERM "$(pgrep -u fedge -x fedge)"
check "STOPPING=1 on NOTIFY_SOCKET when it drains" wait_notify "STOPPING=1"
check "SIGTERM: it exits 0" wait_exit fedge 10
show fedge 8
show notify 5
cp "$RUN_DIR/strace.txt" "$T_LOGS/strace.txt" 2>/dev/null
syscalls_allowed() { # every call in the trace passes the unit's SystemCallFilter lines
    python3 - "$T_LOGS/strace.txt" "$UNIT" <<'EOF'
import re, subprocess, sys
used = set()
for line in open(sys.argv[1]):
    m = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
    if m:
        used.add(m.group(1))
out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True).stdout
groups, cur = {}, None
for l in out.splitlines():
    if l.startswith("@"):
        cur = l.strip(); groups[cur] = []
    elif cur and l.strip() and not l.strip().startswith("#"):
        groups[cur].append(l.strip())
def expand(items):
    res = set()
    for x in items:
        res |= expand(groups.get(x, [])) if x.startswith("@") else {x}
    return res
allowed, denied = set(), set()
for l in open(sys.argv[2]):
    if l.startswith("SystemCallFilter="):
        v = l.strip().split("=", 1)[1]
        if v.startswith("~"):
            denied |= expand(v[1:].split())
        else:
            allowed |= expand(v.split())
bad = sorted(c for c in used if c not in allowed or c in denied)
print("%d distinct system calls; outside the filter: %s" % (len(used), bad or "none"))
sys.exit(1 if bad or len(used) < 10 else 0)
EOF
}
check_out "every system call the edge made passes the unit's SystemCallFilter" syscalls_allowed

# ---------------------------------------------------------------- purge
check "apt-get purge fedge removes it all (binary, configuration, store, user)" bash -c "
    $APT purge fedge > '$T_LOGS/purge.log' 2>&1 &&
    ! dpkg-query -W fedge >/dev/null 2>&1 &&
    [ ! -e /usr/bin/fedge ] && [ ! -e /etc/fedge ] && [ ! -e /var/lib/fedge ] &&
    ! getent passwd fedge >/dev/null"
finish
