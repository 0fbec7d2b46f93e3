# scripts/lab/udp-misc.sh -- sourced by scripts/lab-captures (uses its helpers)
# ntp: chronyd as a server in S, chronyd -Q as a one-shot client in C.
# syslog: util-linux logger in C (UDP RFC 3164 / RFC 5424, TCP with octet counting),
# socat listeners in S writing what they get to files.
# Neither chronyd ever sets the host clock: the server runs with -x (the clock is not
# per-namespace), the client with -Q (measure only).

run_ntp() {
    log "ntp"
    need chronyd chronyc
    net_up 20
    local d="$T/chrony"
    mkdir -p "$d/server" "$d/client"
    cat > "$d/server/chrony.conf" <<CONF
# serve local time at stratum 10 to the lab subnet; answer chronyc there too
local stratum 10
allow 10.214.20.0/24
bindaddress $SRV
cmdallow 10.214.20.0/24
bindcmdaddress $SRV
bindcmdaddress /
cmdport 323
pidfile $d/server/chronyd.pid
driftfile $d/server/drift
CONF
    cat > "$d/client/chrony.conf" <<CONF
server $SRV iburst maxsamples 4
pidfile $d/client/chronyd.pid
cmdport 0
bindcmdaddress /
CONF
    # chronyd makes /run/chrony (its Unix command socket dir) itself: removed at exit if we
    # made it (the socket is also switched off: bindcmdaddress /)
    [[ -d /run/chrony ]] || CLEANUP_DIRS+=(/run/chrony)
    cap_start ntp "udp and host $CLI"
    start_bg chronyd-server timeout 120 ip netns exec "$NS_S" chronyd -d -x -u root -f "$d/server/chrony.conf"
    local chronyd_pid=$BG_PID
    wait_udp "$NS_S" "$SRV" 123
    # client mode 3 requests (iburst: 4 of them), server mode 4 replies (stratum 10, refid LOCL)
    in_c chronyd -Q -u root -t 20 -f "$d/client/chrony.conf" > "$T/log/chronyd-client.txt" 2>&1 \
        || { cat "$T/log/chronyd-client.txt" >&2; die "chronyd -Q got no answer"; }
    # one chronyc query (chrony's own command protocol, UDP 323; not NTP mode 6)
    in_c chronyc -h "$SRV" -n tracking > "$T/log/chronyc.txt" 2>&1 \
        || { cat "$T/log/chronyc.txt" >&2; log "warning: chronyc tracking failed"; }
    cap_stop
    stop "$chronyd_pid"
    grep -q 'System clock wrong by' "$T/log/chronyd-client.txt" || die "chronyd -Q measured nothing"
    net_down
}

run_syslog() {
    log "syslog"
    need logger socat
    net_up 21
    local d="$T/syslog"
    mkdir -p "$d"
    start_bg syslog-udp timeout 120 ip netns exec "$NS_S" socat -u "UDP-RECVFROM:514,bind=$SRV,fork" \
        "OPEN:$d/udp.log,creat,append"
    local udp_pid=$BG_PID
    start_bg syslog-tcp timeout 120 ip netns exec "$NS_S" socat -u "TCP-LISTEN:514,bind=$SRV,reuseaddr,fork" \
        "OPEN:$d/tcp.log,creat,append"
    local tcp_pid=$BG_PID
    wait_udp "$NS_S" "$SRV" 514
    wait_listen "$NS_S" "$SRV" 514
    cap_start syslog "host $CLI and (udp or tcp)"
    # UDP: RFC 3164 (local0.notice, tag labapp), RFC 5424 with structured data
    # (auth.warning, msgid LOGIN), RFC 5424 without; TCP: one RFC 5424 message, octet counted
    in_c logger -n "$SRV" -P 514 -d --rfc3164 -t labapp -p local0.notice \
        "portolan lab: RFC 3164 message over UDP"
    in_c logger -n "$SRV" -P 514 -d --rfc5424 -t labapp -p auth.warning --msgid LOGIN \
        --sd-id lab@32473 --sd-param 'user="carol"' --sd-param 'result="failure"' \
        "portolan lab: failed login for carol"
    in_c logger -n "$SRV" -P 514 -d --rfc5424=notq -t labapp -p daemon.err \
        "portolan lab: RFC 5424 message over UDP"
    in_c logger -n "$SRV" -P 514 -T --octet-count --rfc5424 -t labapp -p user.info \
        "portolan lab: RFC 5424 message over TCP"
    sleep 0.5
    cap_stop
    stop "$udp_pid"; stop "$tcp_pid"
    grep -q 'failed login for carol' "$d/udp.log" || die "syslog UDP message missing"
    grep -q 'over TCP' "$d/tcp.log" || die "syslog TCP message missing"
    net_down
}
