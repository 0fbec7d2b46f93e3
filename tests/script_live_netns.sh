#!/usr/bin/env bash
# Live capture end to end: two network namespaces joined by a veth pair
# (private 10.213.0.0/24 addresses, no default route), small DNS and HTTP
# servers in one, portolan -i on the other's end of the veth, a bounded burst
# of DNS (UDP and TCP) and HTTP, one TCP connection left open, then SIGTERM:
# every record must parse, the stats record comes last, each flow has exactly
# one record, and the open connection is flushed with end_reason
# "end-of-input".
# Needs root and `ip netns`; skipped (exit 0) without them.
set -uo pipefail
bin=$1
src=$2

if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null 2>&1 || ! ip netns list >/dev/null 2>&1; then
	echo "skipped: needs root and ip netns"
	exit 0
fi

nsA=ptl-a-$$
nsB=ptl-b-$$
addrA=10.213.0.1
addrB=10.213.0.2
answer=10.213.0.99
tmp=$(mktemp -d)
pids=()
portolan_pid=
tpid=

kill_pids() { # pid...: TERM, a short grace, then KILL
	local p alive=()
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null && alive+=("$p")
	done
	for _ in $(seq 20); do
		local any=0
		for p in "${alive[@]}"; do
			kill -0 "$p" 2>/dev/null && any=1
		done
		[[ $any -eq 0 ]] && return
		sleep 0.1
	done
	for p in "${alive[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
}

ppid_of() { # pid: its parent's pid, empty once it is gone
	local line fields
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return
	read -ra fields <<<"${line##*) }"
	echo "${fields[1]:-}"
}

cleanup() {
	local ns p mine=()
	# only pids that are still what we started: our children, and portolan
	# under its timeout (a pid reaped and reused is left alone)
	for p in "${pids[@]}"; do
		[[ $(ppid_of "$p") == "$$" ]] && mine+=("$p")
	done
	[[ -n $portolan_pid && $(ppid_of "$portolan_pid") == "$tpid" ]] && mine+=("$portolan_pid")
	kill_pids "${mine[@]}"
	# anything still running inside our namespaces is ours too
	for ns in "$nsA" "$nsB"; do
		mapfile -t mine < <(timeout 5 ip netns pids "$ns" 2>/dev/null)
		kill_pids "${mine[@]}"
	done
	for ns in "$nsA" "$nsB"; do
		timeout 10 ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
py=$(timeout 30 python3 -c 'import sys; print(sys.executable)') || {
	echo "FAIL - python3 is needed"
	echo "0 passed, 1 failed"
	exit 1
}

passed=0
failed=0
ok() {
	echo "ok - $1"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL - $1"
	failed=$((failed + 1))
}
show_logs() {
	local f
	for f in "$tmp"/*.err; do
		[[ -s $f ]] || continue
		echo "--- $(basename "$f")"
		cat "$f"
	done
}
abort() { # a step the rest depends on failed
	fail "$1"
	show_logs
	echo "$passed passed, $failed failed"
	exit 1
}

# Does this build have the HTTP dissector?  (-d PORT=PROTO refuses a name
# it does not know.)
if timeout 30 "$bin" -d 80=http -r "$src/pcaps/demo.pcap" >/dev/null 2>&1; then
	http_known=1
else
	http_known=0
fi

# ---- the two namespaces and the veth between them
nx() { # ns, command...: in the namespace, bounded
	local ns=$1
	shift
	timeout 20 ip netns exec "$ns" "$@"
}
timeout 10 ip netns add "$nsA" || abort "ip netns add $nsA"
timeout 10 ip netns add "$nsB" || abort "ip netns add $nsB"
for ns in "$nsA" "$nsB"; do
	# no IPv6 on the link: no router solicitations or other chatter
	for conf in all default; do
		nx "$ns" sh -c "echo 1 >/proc/sys/net/ipv6/conf/$conf/disable_ipv6" 2>/dev/null
	done
	nx "$ns" ip link set lo up || abort "lo up in $ns"
done
timeout 10 ip link add vetha netns "$nsA" type veth peer name vethb netns "$nsB" ||
	abort "veth pair between $nsA and $nsB"
nx "$nsA" ip addr add "$addrA/24" dev vetha || abort "address on vetha"
nx "$nsB" ip addr add "$addrB/24" dev vethb || abort "address on vethb"
nx "$nsA" ip link set vetha up || abort "vetha up"
nx "$nsB" ip link set vethb up || abort "vethb up"

# ---- the programs, inline Python (stdlib only)
cat >"$tmp/dnslib.py" <<'EOF'
import struct

def build_query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)

def question_end(msg):
    i = 12
    while msg[i]:
        i += 1 + msg[i]
    return i + 1 + 4

def build_answer(query, addr):
    qid, flags = struct.unpack("!HH", query[:4])
    end = question_end(query)
    qtype, = struct.unpack("!H", query[end - 4:end - 2])
    is_a = qtype == 1
    hdr = struct.pack("!HHHHHH", qid, 0x8080 | (flags & 0x0100), 1, 1 if is_a else 0, 0, 0)
    out = hdr + query[12:end]
    if is_a:
        out += struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4)
        out += bytes(int(x) for x in addr.split("."))
    return out

def answer_addr(msg):
    end = question_end(msg)
    ancount, = struct.unpack("!H", msg[6:8])
    if ancount < 1:
        return None
    rd = msg[end + 12:end + 16]
    return ".".join(str(b) for b in rd)

def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf
EOF

cat >"$tmp/dns_server.py" <<'EOF'
# DNS on UDP and TCP port 53: every A query is answered with one address.
import socket, struct, sys, threading
from dnslib import build_answer, recv_exact
host, addr, ready = sys.argv[1], sys.argv[2], sys.argv[3]

def udp_loop(s):
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            s.sendto(build_answer(msg, addr), peer)
        except Exception as e:
            print("udp: bad query:", e, file=sys.stderr)

def tcp_conn(c):
    with c:
        while True:
            hdr = recv_exact(c, 2)
            if hdr is None:
                return
            msg = recv_exact(c, struct.unpack("!H", hdr)[0])
            if msg is None:
                return
            ans = build_answer(msg, addr)
            c.sendall(struct.pack("!H", len(ans)) + ans)

def tcp_loop(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((host, 53))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((host, 53))
t.listen(16)
threading.Thread(target=udp_loop, args=(u,), daemon=True).start()
open(ready, "w").close()
tcp_loop(t)
EOF

cat >"$tmp/http_server.py" <<'EOF'
# HTTP/1.1 with keep-alive, a small text body for every GET.
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
host, port, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = ("hello from port %d, path %s\n" % (port, self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

srv = Server((host, port), Handler)
open(ready, "w").close()
srv.serve_forever()
EOF

cat >"$tmp/probe.py" <<'EOF'
# Are the servers answering?  Exit 0 when all of them do.
import socket, sys
from dnslib import build_query, answer_addr
host = sys.argv[1]
for port in (53, 80, 8080):
    socket.create_connection((host, port), timeout=1).close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(1)
u.sendto(build_query(1, "probe.test"), (host, 53))
assert answer_addr(u.recv(4096)) is not None
EOF

cat >"$tmp/client.py" <<'EOF'
# The burst: 3 DNS queries over UDP (one socket), 2 over one TCP connection,
# 2 HTTP GETs on one keep-alive connection to port 80, 1 to port 8080, and
# one connection to port 80 left open until the release file appears.
import http.client, json, os, socket, struct, sys, time
from dnslib import build_query, answer_addr, recv_exact
host, answer, ports_file, release = sys.argv[1:5]
ports = {}

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(3)
u.bind(("0.0.0.0", 0))
ports["udp_dns"] = u.getsockname()[1]
for i in range(1, 4):
    u.sendto(build_query(0x1100 + i, "udp-%d.live.test" % i), (host, 53))
    got = answer_addr(u.recv(4096))
    assert got == answer, "udp answer %r" % got
u.close()

t = socket.create_connection((host, 53), timeout=3)
ports["tcp_dns"] = t.getsockname()[1]
for i in range(1, 3):
    q = build_query(0x2200 + i, "tcp-%d.live.test" % i)
    t.sendall(struct.pack("!H", len(q)) + q)
    n = struct.unpack("!H", recv_exact(t, 2))[0]
    got = answer_addr(recv_exact(t, n))
    assert got == answer, "tcp answer %r" % got
t.close()

c = http.client.HTTPConnection(host, 80, timeout=3)
for path in ("/one", "/two"):
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
    ports["http80"] = c.sock.getsockname()[1]  # the same socket both times
c.close()

c = http.client.HTTPConnection(host, 8080, timeout=3)
c.request("GET", "/alt")
r = c.getresponse()
r.read()
assert r.status == 200, r.status
ports["http8080"] = c.sock.getsockname()[1]
c.close()

o = socket.create_connection((host, 80), timeout=3)
ports["open"] = o.getsockname()[1]
o.sendall(b"GET /open HTTP/1.1\r\nHost: x\r\n\r\n")
reply = b""
while b"\r\n\r\n" not in reply:  # the whole response, so that nothing
    chunk = o.recv(4096)          # unread turns the close into a reset
    assert chunk, "open connection closed by the server"
    reply += chunk
head, body = reply.split(b"\r\n\r\n", 1)
assert head.startswith(b"HTTP/1.1 200"), head
length = int([l.split(b":")[1] for l in head.split(b"\r\n")
              if l.lower().startswith(b"content-length:")][0])
body += recv_exact(o, length - len(body)) or b""

with open(ports_file + ".part", "w") as f:
    json.dump(ports, f)
os.rename(ports_file + ".part", ports_file)
deadline = time.time() + 60
while not os.path.exists(release) and time.time() < deadline:
    time.sleep(0.05)
o.close()
EOF

cat >"$tmp/ping.py" <<'EOF'
# One ICMP echo request (no flow record: portolan counts ICMP only).
import socket, struct, sys
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    return ~(s + (s >> 16)) & 0xFFFF
msg = struct.pack("!BBHHH", 8, 0, 0, 0x5054, 1) + b"portolan-marker!"
msg = msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(1)
s.sendto(msg, (sys.argv[1], 0))
try:
    s.recv(2048)
except socket.timeout:
    pass
EOF

cat >"$tmp/check.py" <<'EOF'
# Checks portolan's JSON lines against what the client did.
import json, sys
out, ports_file, http_known, answer, addr_a, addr_b = sys.argv[1:7]
http_known = http_known == "1"
ports = json.load(open(ports_file))

def check(ok, what):
    print(("ok - " if ok else "FAIL - ") + what)
    return ok

lines = open(out).read().splitlines()
records = []
bad = []
for n, line in enumerate(lines, 1):
    try:
        records.append(json.loads(line))
    except ValueError as e:
        bad.append("line %d: %s" % (n, e))
check(lines and not bad, "every output line is JSON (%d lines)%s"
      % (len(lines), "; " + "; ".join(bad[:3]) if bad else ""))
if not records:
    sys.exit(0)
types = [r.get("type") for r in records]
check(types[-1] == "stats" and types.count("stats") == 1,
      "one stats record, and it is last")
sessions = [r for r in records if r.get("type") == "session"]

def flow(transport, client_port, server_port):
    return [s for s in sessions
            if s.get("transport") == transport
            and s["client"]["ip"] == addr_a and s["client"]["port"] == client_port
            and s["server"]["ip"] == addr_b and s["server"]["port"] == server_port]

def one(name, transport, client_port, server_port):
    found = flow(transport, client_port, server_port)
    check(len(found) == 1, "%s: one %s session %s:%d -> %s:%d (found %d)"
          % (name, transport, addr_a, client_port, addr_b, server_port, len(found)))
    return found[0] if found else None

def queries(s):
    return (s.get("dns") or {}).get("queries") or []

s = one("udp dns", "udp", ports["udp_dns"], 53)
if s:
    q = queries(s)
    check(s.get("protocol") == "dns", "udp dns: protocol dns (%r)" % s.get("protocol"))
    check([x.get("name") for x in q] == ["udp-1.live.test", "udp-2.live.test", "udp-3.live.test"],
          "udp dns: the 3 query names (%r)" % [x.get("name") for x in q])
    check(all(x.get("answers") == [answer] and x.get("rcode") == "NOERROR" for x in q),
          "udp dns: every answer is %s" % answer)

s = one("tcp dns", "tcp", ports["tcp_dns"], 53)
if s:
    q = queries(s)
    check(s.get("protocol") == "dns", "tcp dns: protocol dns (%r)" % s.get("protocol"))
    check([x.get("name") for x in q] == ["tcp-1.live.test", "tcp-2.live.test"],
          "tcp dns: 2 queries on one connection (%r)" % [x.get("name") for x in q])
    check(all(x.get("answers") == [answer] for x in q), "tcp dns: every answer is %s" % answer)

def requests(s):
    return (s.get("http") or {}).get("requests") or []

s80 = one("http 80", "tcp", ports["http80"], 80)
s8080 = one("http 8080", "tcp", ports["http8080"], 8080)
so = one("open flow", "tcp", ports["open"], 80)
if so:
    check(so.get("end_reason") == "end-of-input",
          "open flow: flushed at SIGTERM, end_reason end-of-input (%r)" % so.get("end_reason"))
    check(so["packets"]["client"] > 0 and so["packets"]["server"] > 0,
          "open flow: packets both ways (%r)" % so.get("packets"))
if http_known:
    if s80:
        r = requests(s80)
        check(s80.get("protocol") == "http", "http 80: protocol http (%r)" % s80.get("protocol"))
        check([x.get("uri") for x in r] == ["/one", "/two"],
              "http 80: 2 requests on the keep-alive connection (%r)" % [x.get("uri") for x in r])
        check(all(x.get("method") == "GET" and x.get("status") == 200 for x in r),
              "http 80: GET, status 200")
    if s8080:
        r = requests(s8080)
        check(s8080.get("protocol") == "http" and s8080.get("detected_by") == "payload",
              "http 8080: protocol http detected_by payload (%r, %r)"
              % (s8080.get("protocol"), s8080.get("detected_by")))
        check([(x.get("uri"), x.get("status")) for x in r] == [("/alt", 200)],
              "http 8080: GET /alt, status 200")
    if so:
        r = requests(so)
        check([x.get("uri") for x in r] == ["/open"],
              "open flow: its request /open (%r)" % [x.get("uri") for x in r])
else:
    print("skipped: HTTP field checks (this portolan has no http dissector)")

keys = {}
uids = {}
for s in sessions:
    k = (s.get("transport"), s["client"]["ip"], s["client"]["port"],
         s["server"]["ip"], s["server"]["port"])
    k = (k[0],) + tuple(sorted([k[1:3], k[3:5]]))
    keys[k] = keys.get(k, 0) + 1
    uids[s.get("uid")] = uids.get(s.get("uid"), 0) + 1
dup = [k for k, n in keys.items() if n > 1] + [u for u, n in uids.items() if n > 1]
check(not dup, "one record per flow (%d sessions)%s"
      % (len(sessions), "; twice: %r" % dup if dup else ""))
EOF

# SIGUSR1 prints portolan's statistics on stderr, but only when the capture
# next hands it a packet (on a quiet link the request waits): so set the
# request, send a marker (an ICMP echo, which makes no flow record) and wait
# for the statistics.  Once they show, portolan has read up to a packet sent
# after the request.
barrier() {
	local before i
	before=$(grep -c '^portolan: [0-9]* packets' "$tmp/portolan.err")
	kill -USR1 "$portolan_pid" 2>/dev/null || return 1
	for i in $(seq 50); do
		if ((i % 10 == 1)); then
			(cd "$tmp" && timeout 5 ip netns exec "$nsA" "$py" ping.py "$addrB") 2>>"$tmp/ping.err"
		fi
		sleep 0.1
		(($(grep -c '^portolan: [0-9]* packets' "$tmp/portolan.err") > before)) && return 0
		kill -0 "$portolan_pid" 2>/dev/null || return 1
	done
	return 1
}

# ---- servers in B, wait until they answer from A (before capturing)
start_bg() { # name, ns, command...: bounded, pid recorded
	local name=$1 ns=$2
	shift 2
	(cd "$tmp" && exec timeout 120 ip netns exec "$ns" "$@") >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pids+=($!)
}
start_bg dns_server "$nsB" "$py" "$tmp/dns_server.py" "$addrB" "$answer" "$tmp/dns.ready"
start_bg http80 "$nsB" "$py" "$tmp/http_server.py" "$addrB" 80 "$tmp/http80.ready"
start_bg http8080 "$nsB" "$py" "$tmp/http_server.py" "$addrB" 8080 "$tmp/http8080.ready"
ready=0
for _ in $(seq 100); do
	if [[ -e $tmp/dns.ready && -e $tmp/http80.ready && -e $tmp/http8080.ready ]] &&
		(cd "$tmp" && timeout 5 ip netns exec "$nsA" "$py" probe.py "$addrB") 2>"$tmp/probe.err"; then
		ready=1
		break
	fi
	sleep 0.1
done
[[ $ready -eq 1 ]] || abort "the servers in $nsB answer from $nsA"
rm -f "$tmp/probe.err"

# ---- portolan on A's end of the veth
out=$tmp/records.jsonl
(exec timeout 120 ip netns exec "$nsA" "$bin" -i vetha -s 65535 --json -o "$out") \
	>"$tmp/portolan.out" 2>"$tmp/portolan.err" &
tpid=$!
pids+=("$tpid")
# ip netns exec execs; timeout forks portolan: find it by its parent
for _ in $(seq 50); do
	for stat in /proc/[0-9]*/stat; do
		{ read -r line <"$stat"; } 2>/dev/null || continue
		read -ra fields <<<"${line##*) }"
		if [[ ${fields[1]:-} == "$tpid" ]]; then
			p=${stat#/proc/}
			portolan_pid=${p%/stat}
			break
		fi
	done
	[[ -n $portolan_pid ]] && break
	sleep 0.1
done
[[ -n $portolan_pid ]] || abort "portolan runs (it exited at once)"
# portolan catches SIGUSR1 only once its capture is open (and a SIGUSR1
# before that would kill it): wait for the handler, then for a marker
handler=0
for _ in $(seq 100); do
	cgt=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$portolan_pid/status" 2>/dev/null)
	if [[ -n $cgt ]] && (((0x$cgt >> 9) & 1)); then # bit 9: SIGUSR1 (10)
		handler=1
		break
	fi
	kill -0 "$portolan_pid" 2>/dev/null || break
	sleep 0.1
done
if [[ $handler -ne 1 ]]; then
	kill -0 "$portolan_pid" 2>/dev/null && abort "portolan handles SIGUSR1 within 10 s"
	abort "portolan keeps running on vetha (it exited)"
fi
barrier || abort "portolan is capturing on vetha (answers SIGUSR1 once a packet arrives)"

# ---- the burst from A
(cd "$tmp" && exec timeout 90 ip netns exec "$nsA" "$py" client.py "$addrB" "$answer" \
	"$tmp/ports.json" "$tmp/release") >"$tmp/client.out" 2>"$tmp/client.err" &
cpid=$!
pids+=("$cpid")
for _ in $(seq 150); do
	[[ -e $tmp/ports.json ]] && break
	kill -0 "$cpid" 2>/dev/null || break
	sleep 0.1
done
[[ -e $tmp/ports.json ]] || abort "the client's burst completed"
ok "client: DNS over UDP and TCP, HTTP on 80 and 8080, one connection left open"

# let portolan read what is queued: a marker after the burst reaches it
sleep 0.2
barrier || fail "portolan reads a marker packet after the burst"

# ---- SIGTERM while the last connection is still open
kill -TERM "$portolan_pid" 2>/dev/null
for _ in $(seq 100); do
	kill -0 "$portolan_pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$portolan_pid" 2>/dev/null; then
	fail "portolan exits within 10 s of SIGTERM"
	kill -KILL "$portolan_pid" 2>/dev/null
fi
wait "$tpid"
rc=$?
portolan_pid=
if [[ $rc -eq 0 ]]; then
	ok "portolan exits 0 on SIGTERM"
else
	fail "portolan exits 0 on SIGTERM (exit $rc)"
fi
: >"$tmp/release"
wait "$cpid"
crc=$?
if [[ $crc -eq 0 ]]; then
	ok "client finished cleanly"
else
	fail "client finished cleanly (exit $crc)"
fi

# ---- the records
if [[ -s $out ]]; then
	ok "portolan wrote $(wc -l <"$out") records to -o"
	timeout 60 "$py" "$tmp/check.py" "$out" "$tmp/ports.json" "$http_known" "$answer" \
		"$addrA" "$addrB" >"$tmp/check.txt" 2>&1
	crc=$?
	cat "$tmp/check.txt"
	passed=$((passed + $(grep -c '^ok - ' "$tmp/check.txt")))
	failed=$((failed + $(grep -c '^FAIL - ' "$tmp/check.txt")))
	[[ $crc -eq 0 ]] || fail "the checker ran (exit $crc)"
else
	fail "portolan wrote records to -o"
fi

if [[ $failed -ne 0 ]]; then
	echo "--- records"
	cat "$out" 2>/dev/null
	show_logs
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
