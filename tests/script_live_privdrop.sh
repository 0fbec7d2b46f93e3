#!/usr/bin/env bash
# Live capture safety (issue 9), in two network namespaces joined by a veth
# pair this test makes (10.215.0.0/24, no route out):
#  - -Z nobody: portolan captures on the veth end, then runs as nobody (uid,
#    gid and groups checked in /proc while it runs), and the -o file opened
#    before the drop still gets the records; no "as root" warning;
#  - as root without -Z: exactly one warning;
#  - -Z with an unknown user: one error line, non-zero exit;
#  - without privilege (setpriv to nobody, no capabilities): one error line
#    naming the missing capability.
# Needs root, `ip netns` and setpriv; skipped (exit 0) without them.
set -uo pipefail
bin=$1
src=$2

if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null 2>&1 || ! ip netns list >/dev/null 2>&1 ||
	! command -v setpriv >/dev/null 2>&1 || ! id nobody >/dev/null 2>&1; then
	echo "skipped: needs root, ip netns, setpriv and a user nobody"
	exit 0
fi

nsA=ptl-za-$$
nsB=ptl-zb-$$
tmp=$(mktemp -d)
chmod 755 "$tmp"
cleanup() {
	local ns p
	for ns in "$nsA" "$nsB"; do
		for p in $(timeout 5 ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		timeout 10 ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$nsA" && ip netns add "$nsB" &&
	ip link add ptlza$$ netns "$nsA" type veth peer name ptlzb$$ netns "$nsB" &&
	ip -n "$nsA" addr add 10.215.0.1/24 dev ptlza$$ && ip -n "$nsB" addr add 10.215.0.2/24 dev ptlzb$$ &&
	ip -n "$nsA" link set ptlza$$ up && ip -n "$nsB" link set ptlzb$$ up || {
	echo "skipped: cannot make the namespaces and the veth pair"
	exit 0
}
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() {
	echo "FAIL $*"
	failed=$((failed + 1))
}

# pid of the portolan running in namespace B, waiting until it is up
portolan_pid() {
	local p
	for _ in $(seq 100); do
		for p in $(ip netns pids "$nsB" 2>/dev/null); do
			[[ $(cat "/proc/$p/comm" 2>/dev/null) == portolan ]] && {
				echo "$p"
				return
			}
		done
		sleep 0.1
	done
}

send_udp() { # a few datagrams from A to B
	ip netns exec "$nsA" bash -c 'for i in 1 2 3; do echo hello >/dev/udp/10.215.0.2/9999; sleep 0.1; done' 2>/dev/null
}

# --- -Z nobody ---
ip netns exec "$nsB" timeout 30 "$bin" -i ptlzb$$ -Z nobody -o "$tmp/out.jsonl" >"$tmp/stdout" 2>"$tmp/err" &
runner=$!
pid=$(portolan_pid)
sleep 1 # the drop follows the opening of the capture and the output
if [[ -z $pid ]]; then
	bad "-Z: portolan did not start"
	cat "$tmp/err"
else
	uid=$(id -u nobody)
	gid=$(id -g nobody)
	read -r _ ruid euid suid fsuid < <(grep '^Uid:' "/proc/$pid/status")
	read -r _ rgid egid sgid fsgid < <(grep '^Gid:' "/proc/$pid/status")
	groups=$(grep '^Groups:' "/proc/$pid/status" | cut -f2 | xargs)
	want_groups=$(id -G nobody | tr ' ' '\n' | sort -n | xargs)
	have_groups=$(tr ' ' '\n' <<<"$groups" | sort -n | xargs)
	if [[ "$ruid $euid $suid $fsuid" == "$uid $uid $uid $uid" &&
		"$rgid $egid $sgid $fsgid" == "$gid $gid $gid $gid" && "$have_groups" == "$want_groups" ]]; then
		ok
	else
		bad "-Z nobody: uid $ruid/$euid/$suid gid $rgid/$egid/$sgid groups '$groups' (want $uid, $gid, '$want_groups')"
	fi
	send_udp
	sleep 0.5
	kill -TERM "$pid" 2>/dev/null
fi
wait "$runner"
rc=$?
if [[ $rc -eq 0 ]] && grep -q '"type":"session"' "$tmp/out.jsonl" && grep -q '"type":"stats"' "$tmp/out.jsonl" &&
	! grep -q "as root" "$tmp/err"; then
	ok
else
	bad "-Z nobody: exit $rc, records: $(grep -c . "$tmp/out.jsonl" 2>/dev/null), stderr:"
	cat "$tmp/err"
fi

# --- as root without -Z: one warning ---
ip netns exec "$nsB" timeout 30 "$bin" -i ptlzb$$ >"$tmp/stdout" 2>"$tmp/err" &
runner=$!
pid=$(portolan_pid)
sleep 0.5
[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null
wait "$runner"
n=$(grep -c "warning: capturing as root" "$tmp/err")
[[ $n -eq 1 ]] && ok || bad "root without -Z: $n warnings"

# --- an unknown user ---
ip netns exec "$nsB" timeout 30 "$bin" -i ptlzb$$ -Z no-such-user-$$ >"$tmp/stdout" 2>"$tmp/err"
rc=$?
[[ $rc -ne 0 && $(wc -l <"$tmp/err") -eq 1 ]] && grep -q "no user called" "$tmp/err" && ok ||
	bad "-Z unknown user: exit $rc, $(cat "$tmp/err")"

# --- without privilege ---
ip netns exec "$nsB" setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --inh-caps=-all \
	timeout 30 "$bin" -i ptlzb$$ >"$tmp/stdout" 2>"$tmp/err"
rc=$?
[[ $rc -ne 0 && $(wc -l <"$tmp/err") -eq 1 ]] && grep -q "permission denied.*CAP_NET_RAW" "$tmp/err" && ok ||
	bad "unprivileged: exit $rc, $(cat "$tmp/err")"
# and -Z without root
ip netns exec "$nsB" setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --inh-caps=-all \
	timeout 30 "$bin" -r "$src/pcaps/demo.pcap" -Z nobody >"$tmp/stdout" 2>"$tmp/err"
rc=$?
[[ $rc -ne 0 && $(wc -l <"$tmp/err") -eq 1 ]] && grep -q "only root" "$tmp/err" && ok ||
	bad "-Z as nobody: exit $rc, $(cat "$tmp/err")"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
