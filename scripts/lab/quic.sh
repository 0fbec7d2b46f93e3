# scripts/lab/quic.sh -- sourced by scripts/lab-captures (uses its helpers)
# quic: Debian's Chromium (headless) in C opens https://quic.lab.test/ with QUIC forced for
# that origin, the name mapped to S's address by a host-resolver rule (no DNS). Debian 12
# packages no QUIC server, so a socat UDP sink in S takes the datagrams without answering
# (no ICMP port-unreachable either): the capture holds Chromium's own client Initial packets
# and their retransmissions -- a real ClientHello split over CRYPTO frames in the way Chromium
# does it (several frames, out of order, across packets when the key share is large), the
# part of a QUIC connection that a passive observer can read. Stopped after 6 s.

run_quic() {
    log "quic"
    need chromium socat
    net_up 36
    local d="$T/quic"
    mkdir -p "$d/home"
    start_bg quic-sink timeout 60 ip netns exec "$NS_S" socat -u "UDP4-RECV:443,bind=$SRV" /dev/null
    local sink_pid=$BG_PID
    wait_udp "$NS_S" "$SRV" 443
    cap_start quic "udp and host $CLI"
    HOME="$d/home" start_bg quic-chromium timeout 20 ip netns exec "$NS_C" chromium \
        --headless=new --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --user-data-dir="$d/profile" \
        --enable-quic --origin-to-force-quic-on=quic.lab.test:443 \
        --host-resolver-rules="MAP quic.lab.test $SRV" --dump-dom https://quic.lab.test/
    local chromium_pid=$BG_PID
    sleep 6
    stop "$chromium_pid"
    cap_stop
    stop "$sink_pid"
    net_down
}
