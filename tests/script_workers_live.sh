#!/usr/bin/env bash
# Live capture with --workers 2: two network namespaces joined by a veth pair
# (private 10.217.0.0/24 addresses, no default route), 8 addresses on one
# side and 4 on the other, a TCP and a UDP echo server, portolan -i on the
# veth with 2 workers in one AF_PACKET fanout group, then a bounded burst:
# one TCP connection and one UDP exchange for each of the 32 address pairs.
# After SIGTERM every flow must have exactly one record and both workers
# must have had packets.  A second run kills one worker first: the
# supervisor must re-fork it onto the same socket, no flow may have two
# records, and the stats must count the restart.
# Needs root and `ip netns`; skipped (exit 0) without them.
set -uo pipefail
bin=$1
src=$2

if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null 2>&1 || ! ip netns list >/dev/null 2>&1; then
	echo "skipped: needs root and ip netns"
	exit 0
fi

nsA=ptw-a-$$
nsB=ptw-b-$$
tmp=$(mktemp -d)
pids=()
tpid=
portolan_pid=

ppid_of() { # pid: its parent's pid, empty once it is gone
	local line fields
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return
	read -ra fields <<<"${line##*) }"
	echo "${fields[1]:-}"
}

children_of() { # pid: its children's pids
	local stat p
	for stat in /proc/[0-9]*/stat; do
		p=${stat#/proc/}
		p=${p%/stat}
		[[ $(ppid_of "$p") == "$1" ]] && echo "$p"
	done
}

cleanup() {
	local ns p
	for p in "${pids[@]}"; do
		[[ $(ppid_of "$p") == "$$" ]] && kill -TERM "$p" 2>/dev/null
	done
	for ns in "$nsA" "$nsB"; do
		for p in $(timeout 5 ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
	sleep 0.2
	for ns in "$nsA" "$nsB"; do
		timeout 10 ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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
abort() {
	fail "$1"
	for f in "$tmp"/*.err; do
		[[ -s $f ]] && {
			echo "--- $(basename "$f")"
			cat "$f"
		}
	done
	echo "$passed passed, $failed failed"
	exit 1
}

nx() { # ns, command...: in the namespace, bounded
	local ns=$1
	shift
	timeout 20 ip netns exec "$ns" "$@"
}
timeout 10 ip netns add "$nsA" || abort "ip netns add $nsA"
timeout 10 ip netns add "$nsB" || abort "ip netns add $nsB"
for ns in "$nsA" "$nsB"; do
	for conf in all default; do
		nx "$ns" sh -c "echo 1 >/proc/sys/net/ipv6/conf/$conf/disable_ipv6" 2>/dev/null
	done
	nx "$ns" ip link set lo up || abort "lo up in $ns"
done
timeout 10 ip link add vetha netns "$nsA" type veth peer name vethb netns "$nsB" ||
	abort "veth pair between $nsA and $nsB"
addrsA=()
addrsB=()
for i in 1 2 3 4 5 6 7 8; do
	addrsA+=("10.217.0.$i")
	nx "$nsA" ip addr add "10.217.0.$i/24" dev vetha || abort "address 10.217.0.$i"
done
for i in 101 102 103 104; do
	addrsB+=("10.217.0.$i")
	nx "$nsB" ip addr add "10.217.0.$i/24" dev vethb || abort "address 10.217.0.$i"
done
nx "$nsA" ip link set vetha up || abort "vetha up"
nx "$nsB" ip link set vethb up || abort "vethb up"

cat >"$tmp/server.py" <<'PY'
# TCP echo on 7000 and UDP echo on 7001, every address.
import socket, sys, threading
ready = sys.argv[1]
def tcp_conn(c):
    with c:
        while True:
            d = c.recv(4096)
            if not d:
                return
            c.sendall(d)
def tcp_loop(t):
    while True:
        c, _ = t.accept()
        threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 7001))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", 7000))
t.listen(64)
threading.Thread(target=tcp_loop, args=(t,), daemon=True).start()
open(ready, "w").close()
while True:
    d, peer = u.recvfrom(4096)
    u.sendto(d, peer)
PY

cat >"$tmp/client.py" <<'PY'
# One TCP connection and one UDP exchange per (A address, B address).
import json, socket, sys
out, a_addrs, b_addrs = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
flows = []
for a in a_addrs:
    for b in b_addrs:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.settimeout(3)
        t.bind((a, 0))
        t.connect((b, 7000))
        msg = ("hello %s %s" % (a, b)).encode()
        t.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = t.recv(4096)
            assert chunk
            got += chunk
        flows.append(["tcp", a, t.getsockname()[1], b, 7000])
        t.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(3)
        u.bind((a, 0))
        u.sendto(msg, (b, 7001))
        assert u.recv(4096) == msg
        flows.append(["udp", a, u.getsockname()[1], b, 7001])
        u.close()
json.dump(flows, open(out, "w"))
PY

cat >"$tmp/check.py" <<'PY'
import json, sys
out, flows_file, killed = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
flows = json.load(open(flows_file))
def check(cond, what):
    print(("ok - " if cond else "FAIL - ") + what)
recs = [json.loads(l) for l in open(out) if l.strip()]
check(recs and recs[-1].get("type") == "stats", "the stats record is last")
stats = recs[-1] if recs else {}
sessions = [r for r in recs if r.get("type") == "session"]
seen = {}
for s in sessions:
    k = (s["transport"], s["client"]["ip"], s["client"]["port"], s["server"]["ip"], s["server"]["port"])
    seen[k] = seen.get(k, 0) + 1
missing = [f for f in flows if seen.get(tuple(f), 0) == 0]
twice = [f for f in flows if seen.get(tuple(f), 0) > 1]
if killed:  # see the README: a re-forked worker's first ring lap
    check(len(missing) <= 8, "at most a few flows lost after a restart (%d of %d)" % (len(missing), len(flows)))
else:
    check(not missing, "every flow of the burst has a record (%d flows, missing %r)" % (len(flows), missing[:5]))
check(not twice, "no flow has two records (%r)" % twice[:5])
uids = [s["uid"] for s in sessions]
check(len(uids) == len(set(uids)), "uids unique across workers (%d sessions)" % len(uids))
w = stats.get("workers") or []
check(len(w) == 2, "the stats list 2 workers")
check(all(x.get("packets", 0) > 0 for x in w), "both workers had packets (%r)" %
      [x.get("packets") for x in w])
check(sum(x.get("restarts", 0) for x in w) == (1 if killed else 0),
      "worker restarts counted (%r)" % [x.get("restarts") for x in w])
check(stats.get("packets") == sum(x.get("packets", 0) for x in w),
      "the packets add up (%r)" % stats.get("packets"))
PY

py=$(command -v python3) || abort "python3 is needed"
(cd "$tmp" && exec timeout 120 ip netns exec "$nsB" "$py" server.py "$tmp/server.ready") \
	>"$tmp/server.out" 2>"$tmp/server.err" &
pids+=($!)
for _ in $(seq 100); do
	[[ -e $tmp/server.ready ]] && break
	sleep 0.1
done
[[ -e $tmp/server.ready ]] || abort "the echo server starts"

# run NAME KILL [ARG...]: portolan with 2 workers, the burst, SIGTERM, the
# checks; KILL=1 kills a worker first.
run() {
	local name=$1 kill_one=$2 out=$tmp/$1.jsonl err=$tmp/$1.err rc
	shift 2
	portolan_pid=
	(exec timeout 120 ip netns exec "$nsA" "$bin" -i vetha --workers 2 -s 65535 -B 16384 \
		--json -o "$out" "$@") >"$tmp/$name.out" 2>"$err" &
	tpid=$!
	pids+=("$tpid")
	for _ in $(seq 100); do
		grep -q "workers capturing" "$err" 2>/dev/null && break
		kill -0 "$tpid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "2 workers capturing on vetha" "$err" || abort "$name: portolan starts 2 workers on vetha"
	ok "$name: $(grep "workers capturing" "$err")"
	portolan_pid=$(children_of "$tpid" | head -1)
	[[ -n $portolan_pid ]] || abort "$name: portolan's process found"
	local workers
	mapfile -t workers < <(children_of "$portolan_pid")
	[[ ${#workers[@]} -eq 2 ]] || abort "$name: 2 worker processes (found ${#workers[@]})"
	ok "$name: 2 worker processes"
	if [[ " $* " == *" -Z "* ]]; then
		local uid
		uid=$(awk '/^Uid:/ {print $3}' "/proc/${workers[0]}/status" 2>/dev/null)
		if [[ -n $uid && $uid != 0 ]]; then
			ok "$name: -Z: the workers run without root (uid $uid)"
		else
			fail "$name: -Z: the workers run without root (uid '$uid')"
		fi
	fi
	if [[ $kill_one -eq 1 ]]; then
		# a worker dies: the supervisor re-forks it onto the same socket
		kill -KILL "${workers[1]}"
		for _ in $(seq 50); do
			grep -q "restarting it" "$err" && break
			sleep 0.1
		done
		if grep -q "restarting it" "$err"; then
			ok "$name: a killed worker is restarted"
		else
			fail "$name: a killed worker is restarted"
		fi
		sleep 0.3
	fi
	(cd "$tmp" && timeout 60 ip netns exec "$nsA" "$py" client.py "$tmp/$name.flows" \
		"$(
			IFS=,
			echo "${addrsA[*]}"
		)" "$(
			IFS=,
			echo "${addrsB[*]}"
		)") >"$tmp/client.out" 2>"$tmp/client.err" || abort "$name: the client's burst completed"
	ok "$name: client: 32 TCP connections and 32 UDP exchanges over 32 address pairs"
	sleep 1 # the last packets reach the workers
	kill -TERM "$portolan_pid"
	for _ in $(seq 100); do
		kill -0 "$portolan_pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$tpid"
	rc=$?
	if [[ $rc -eq 0 ]]; then
		ok "$name: portolan exits 0 on SIGTERM"
	else
		fail "$name: portolan exits 0 on SIGTERM (exit $rc)"
	fi
	timeout 60 "$py" "$tmp/check.py" "$out" "$tmp/$name.flows" "$kill_one" >"$tmp/check.txt" 2>&1
	sed "s/^\(ok\|FAIL\) - /&$name: /" "$tmp/check.txt"
	passed=$((passed + $(grep -c '^ok - ' "$tmp/check.txt")))
	failed=$((failed + $(grep -c '^FAIL - ' "$tmp/check.txt")))
	grep -q '^ok - ' "$tmp/check.txt" || fail "$name: the checker ran"
	if grep -q '^FAIL' "$tmp/check.txt"; then
		echo "--- $name: portolan's stderr"
		cat "$err"
	fi
}
# the first run also drops root once the sockets and -o are open (-Z)
if id nobody >/dev/null 2>&1; then
	run fanout 0 -Z nobody
else
	run fanout 0
fi
run restart 1

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
