# scripts/lab/sip.sh -- sourced by scripts/lab-captures (uses its helpers)
# sip: two baresip 1.0 user agents, bob in S (10.214.32.1:5060) answering automatically and
# alice in C (10.214.32.2:5060) calling him directly (no registrar, no proxy), G.711 audio
# read from a WAV file (aufile module: a 440 Hz tone, 8 kHz mono, made here) both ways, so
# RTP and RTCP flow between the ports the SDP offer and answer announce; alice's -t timer
# ends the call after 4 s (BYE). Before the call,
# sipsak sends an OPTIONS to bob over UDP and one over TCP (SIP over TCP framing).
# Nothing is registered and no credentials exist.

# baresip_conf DIR ADDR NAME: a config dir for one user agent
baresip_conf() {
    local d=$1 addr=$2 name=$3
    mkdir -p "$d"
    cat > "$d/config" <<CONF
poll_method		epoll
sip_listen		$addr:5060
sip_trans_def		udp
call_local_timeout	30
call_max_calls		1
audio_source		aufile,$T/sip/tone.wav
audio_player		aufile,$d/received.wav
audio_alert		aufile,$d/alert.wav
rtp_ports		10000-10010
rtcp_mux		no
jitter_buffer_delay	5-10
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module_app		account.so
module_app		menu.so
CONF
    printf '<sip:%s@%s>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA\n' "$name" "$addr" \
        > "$d/accounts"
    : > "$d/contacts"
}

run_sip() {
    log "sip"
    need baresip sipsak
    net_up 32
    local d="$T/sip"
    mkdir -p "$d"
    # 10 s of a 440 Hz tone, 8 kHz, 16-bit mono
    $PY - "$d/tone.wav" <<'PYEOF'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                       for i in range(8000 * 10)))
w.close()
PYEOF
    baresip_conf "$d/bob" "$SRV" bob
    baresip_conf "$d/alice" "$CLI" alice
    cap_start sip "host $CLI and (udp or tcp)"
    # bob: answers on its own (answermode=auto), quits after 25 s at the latest
    start_bg baresip-bob timeout 40 ip netns exec "$NS_S" baresip -4 -f "$d/bob" -t 25 -s
    local bob_pid=$BG_PID
    wait_udp "$NS_S" "$SRV" 5060
    wait_listen "$NS_S" "$SRV" 5060
    # OPTIONS over UDP and over TCP (sipsak waits for the 200 OK)
    in_c sipsak -s "sip:bob@$SRV" -H "$CLI" -l 5070 -vv > "$T/log/sipsak-udp.txt" 2>&1 \
        || log "warning: sipsak OPTIONS over UDP failed"
    in_c sipsak -s "sip:bob@$SRV" -E tcp -H "$CLI" -l 5071 -vv \
        > "$T/log/sipsak-tcp.txt" 2>&1 || log "warning: sipsak OPTIONS over TCP failed"
    # alice: dials bob; her -t timer ends the call after 4 s (BYE) and then baresip
    in_c timeout 30 baresip -4 -f "$d/alice" -t 4 -s -e "/dial sip:bob@$SRV" \
        > "$T/log/baresip-alice.txt" 2>&1 &
    local alice_pid=$!
    PIDS+=("$alice_pid")
    wait "$alice_pid" 2>/dev/null || true
    sleep 1
    stop "$bob_pid"
    cap_stop
    grep -q 'Call established\|call established' "$T/log/baresip-alice.txt" \
        || { tail -40 "$T/log/baresip-alice.txt" >&2; die "sip: the call was not established"; }
    net_down
}
