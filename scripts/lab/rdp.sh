# scripts/lab/rdp.sh -- sourced by scripts/lab-captures (uses its helpers)
# rdp: xrdp in S (own xrdp.ini from Debian's with the listen address, an RSA certificate,
# no fork, logs in the temp dir), FreeRDP's xfreerdp in C under xvfb-run (a throwaway X
# server inside C's namespace). No session is started (no xrdp-sesman): the client does
# the X.224 negotiation, the TLS handshake and the MCS/GCC connect, then is stopped.

run_rdp() {
    log "rdp"
    need xrdp xfreerdp xvfb-run
    net_up 29
    local d="$T/xrdp"
    mkdir -p "$d"
    timeout 60 openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" \
        -days 2 -subj "/O=portolan lab/CN=rdp.lab.test" 2>"$T/log/openssl-rdp.err"
    sed -e "s|^port=3389|port=tcp://$SRV:3389|" -e 's|^fork=true|fork=false|' \
        -e "s|^certificate=.*|certificate=$d/cert.pem|" -e "s|^key_file=.*|key_file=$d/key.pem|" \
        -e "s|^LogFile=.*|LogFile=$T/log/xrdp.log|" -e 's|^EnableSyslog=.*|EnableSyslog=false|' \
        /etc/xrdp/xrdp.ini > "$d/xrdp.ini"
    # xrdp makes its runtime dirs (/run/xrdp/sockdir) itself: removed at exit if we made them
    [[ -d /run/xrdp ]] || CLEANUP_DIRS+=(/run/xrdp/sockdir /run/xrdp)
    start_bg xrdp timeout 120 ip netns exec "$NS_S" xrdp --nodaemon --config "$d/xrdp.ini"
    local xrdp_pid=$BG_PID
    wait_listen "$NS_S" "$SRV" 3389
    cap_start rdp
    # HOME in the temp dir: FreeRDP keeps its known-certificate store under ~/.config/freerdp
    mkdir -p "$d/home"
    # 1. /sec:tls: X.224 Connection Request (cookie mstshash=ptlab, requestedProtocols TLS),
    #    Connection Confirm (TLS selected), TLS handshake, then MCS/GCC and the RDP
    #    connection sequence inside TLS
    # 2. /sec:rdp: standard RDP security: the X.224 request asks for no TLS, and the MCS
    #    Connect Initial with the GCC client data (client name LABCLI, keyboard, build) goes
    #    in clear before the RC4-encrypted part
    local sec
    for sec in tls rdp; do
        HOME="$d/home" XDG_CONFIG_HOME="$d/home/.config" start_bg "xfreerdp-$sec" timeout 30 \
            ip netns exec "$NS_C" xvfb-run -a -s '-nolisten tcp' \
            xfreerdp /v:"$SRV" /u:"$LAB_USER" /p:"$LAB_PASS" /d:LABWG /client-hostname:LABCLI \
            /cert:ignore /sec:$sec +auth-only /log-level:INFO
        local rdp_pid=$BG_PID
        for _ in $(seq 150); do kill -0 "$rdp_pid" 2>/dev/null || break; sleep 0.1; done
        stop "$rdp_pid"
    done
    cap_stop
    stop "$xrdp_pid"
    net_down
}
