# scripts/lab/dhcp.sh -- sourced by scripts/lab-captures (uses its helpers)
# dhcp-dora: dnsmasq (DHCP only, --port=0: no DNS) in S, busybox udhcpc in C. vethC starts
# without an address; udhcpc's script (ours, in the temp dir) puts the leased address on
# vethC only, never a route or a resolver, then udhcpc -R releases the lease on exit.

run_dhcp_dora() {
    log "dhcp-dora"
    need dnsmasq busybox
    net_up 13
    ip -n "$NS_C" addr flush dev vethC          # the client starts with no address
    local d="$T/dhcp"
    mkdir -p "$d"
    cat > "$d/udhcpc.sh" <<'SH'
#!/bin/sh
# udhcpc event script for the lab: record the event, put the address on the lab veth only
echo "event=$1 ip=$ip mask=$mask serverid=$serverid lease=$lease router=$router dns=$dns" >> "$LAB_DHCP_EVENTS"
case "$1" in
    bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface" ;;
    deconfig) ip addr flush dev "$interface" ;;
esac
exit 0
SH
    chmod 755 "$d/udhcpc.sh"
    cap_start dhcp-dora "udp and (port 67 or port 68)"
    start_bg dnsmasq timeout 120 ip netns exec "$NS_S" dnsmasq --no-daemon --conf-file=/dev/null \
        --port=0 --interface=vethS --bind-interfaces --user=root --group=root \
        --dhcp-range=10.214.13.100,10.214.13.120,255.255.255.0,1h \
        --dhcp-option=option:router --dhcp-option=option:domain-name,lab.example \
        --dhcp-authoritative --no-ping --dhcp-leasefile="$d/leases" --pid-file="$d/dnsmasq.pid" \
        --log-dhcp --log-facility=-
    local dnsmasq_pid=$BG_PID
    wait_udp "$NS_S" 0.0.0.0 67
    # -f: stay in the foreground, -R: release the lease on SIGTERM (with -q busybox 1.35
    # quits before it is in BOUND state and sends no RELEASE, so it is stopped by pid
    # instead); hostname and vendor class are sent as options 12 and 60
    LAB_DHCP_EVENTS="$d/events" start_bg udhcpc timeout 60 ip netns exec "$NS_C" \
        busybox udhcpc -i vethC -f -R -t 4 -T 2 -A 5 \
        -x hostname:labclient -V portolan-lab -s "$d/udhcpc.sh"
    local udhcpc_pid=$BG_PID
    for _ in $(seq 100); do grep -q 'event=bound' "$d/events" 2>/dev/null && break; sleep 0.1; done
    grep -q 'event=bound ip=10.214.13.1' "$d/events" || { cat "$T/log/udhcpc.err" >&2; die "udhcpc got no lease"; }
    sleep 0.3
    stop "$udhcpc_pid"                          # SIGTERM: DHCPRELEASE, unicast to the server
    sleep 0.5
    cap_stop
    stop "$dnsmasq_pid"
    grep -q 'unicasting a release' "$T/log/udhcpc.err" || die "udhcpc sent no release"
    net_down
}
