# scripts/lab/icmp.sh -- sourced by scripts/lab-captures (uses its helpers)
# icmp: ping (iputils-ping, 4 echo requests) from C to S, one UDP datagram to a closed port
# on S (S's kernel answers ICMP port unreachable) and one TCP connect to a closed port (S
# answers RST), all over IPv4.
# icmp6: the same over IPv6. This is the only capture that turns IPv6 on, and only inside
# its own two namespaces: fd00:214:35::1/64 on vethS, ::2/64 on vethC (no DAD wait), so
# neighbour discovery and MLD messages appear too.
# The UDP and TCP clients are python3 one-liners: the datagram's refusal comes back to the
# socket as ECONNREFUSED, which the script checks, as it checks ping's replies.

# icmp_clients FAMILY SERVER: the ping, the UDP datagram and the TCP connect
icmp_clients() {
    local fam=$1 srv=$2 ping_opt=-4
    [[ $fam == 6 ]] && ping_opt=-6
    in_c ping "$ping_opt" -n -c 4 -i 0.2 -W 2 -s 56 "$srv" > "$T/log/ping$fam.txt" 2>&1 \
        || { cat "$T/log/ping$fam.txt" >&2; die "ping -$fam got no replies"; }
    grep -q ' 0% packet loss' "$T/log/ping$fam.txt" || die "ping -$fam lost replies"
    # a connected UDP socket hears the port unreachable as ECONNREFUSED on its next recv
    in_c "$PY" - "$fam" "$srv" > "$T/log/udp-closed$fam.txt" 2>&1 <<'PYEOF' || die "udp to a closed port: no refusal"
import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((sys.argv[2], 40001))
s.send(b"portolan lab: is anyone listening on udp/40001?\n")
try:
    s.recv(100)
    sys.exit("unexpected answer")
except ConnectionRefusedError:
    print("refused (ICMP port unreachable)")
PYEOF
    in_c "$PY" - "$fam" "$srv" > "$T/log/tcp-closed$fam.txt" 2>&1 <<'PYEOF' || die "tcp to a closed port: no RST"
import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(3)
try:
    s.connect((sys.argv[2], 40002))
    sys.exit("unexpected accept")
except ConnectionRefusedError:
    print("refused (RST)")
PYEOF
}

run_icmp() {
    log "icmp"
    need ping "$PY"
    net_up 34
    cap_start icmp "host $CLI and (icmp or udp or tcp)"
    icmp_clients 4 "$SRV"
    cap_stop
    net_down
}

run_icmp6() {
    log "icmp6"
    need ping "$PY"
    net_up 35
    local srv6=fd00:214:35::1 cli6=fd00:214:35::2
    # IPv6 on, in these two namespaces only; addresses without duplicate detection so they
    # are usable at once
    ip netns exec "$NS_S" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.vethS.disable_ipv6=0
    ip netns exec "$NS_C" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.vethC.disable_ipv6=0
    ip -n "$NS_S" addr add "$srv6/64" dev vethS nodad
    ip -n "$NS_C" addr add "$cli6/64" dev vethC nodad
    cap_start icmp6 "ip6"
    icmp_clients 6 "$srv6"
    cap_stop
    net_down
}
