# scripts/lab/samba.sh -- sourced by scripts/lab-captures (uses its helpers)
# netbios, smb, smb-139, smb1: Samba's nmbd / smbd in S, each from its own smb.conf whose
# every directory (private, lock, state, cache, pid, ncalrpc) is in the temp dir; the
# clients (nmblookup, smbclient) in C read their own smb.conf too. The SMB user is the
# script's throwaway account, given a Samba password in a private passdb (tdbsam).

SMB_PASS=smb-pw-11

# samba_conf NAME ROLE(server|client) EXTRA...: write $T/samba-NAME-ROLE/smb.conf
samba_conf() {
    local name=$1 role=$2 d="$T/samba-$1-$2"; shift 2
    local ifname=vethS nb=LABSRV
    [[ $role == client ]] && { ifname=vethC; nb=LABCLI; }
    mkdir -p "$d/private" "$d/lock" "$d/state" "$d/cache" "$d/run" "$d/ncalrpc" "$d/share"
    chmod 700 "$d/private"
    {
        cat <<CONF
[global]
workgroup = LABWG
netbios name = $nb
server string = portolan lab
interfaces = $ifname
bind interfaces only = yes
server role = standalone server
private dir = $d/private
lock directory = $d/lock
state directory = $d/state
cache directory = $d/cache
pid directory = $d/run
ncalrpc dir = $d/ncalrpc
passdb backend = tdbsam:$d/private/passdb.tdb
log file = $T/log/samba-$name-$role.%m.log
log level = 1
load printers = no
printcap name = /dev/null
disable spoolss = yes
disable netbios = no
dns proxy = no
wins support = no
local master = no
domain master = no
preferred master = no
usershare max shares = 0
CONF
        for x in "$@"; do printf '%s\n' "$x"; done
    } > "$d/smb.conf"
    SAMBA_DIR=$d
}

run_netbios() {
    log "netbios"
    need nmbd nmblookup
    net_up 19
    samba_conf nb server
    local sconf="$SAMBA_DIR/smb.conf"
    samba_conf nb client
    local cconf="$SAMBA_DIR/smb.conf"
    # nmbd makes /run/samba/nmbd (its compiled-in socket dir) itself: removed at exit if we
    # made it
    [[ -d /run/samba/nmbd ]] || CLEANUP_DIRS+=(/run/samba/nmbd)
    # NBNS (137) and NBDS (138) in both directions and the subnet broadcasts
    cap_start netbios "udp and (port 137 or port 138)"
    # nmbd registers LABSRV<00>, LABSRV<03>, LABSRV<20>, LABWG<00>, LABWG<1e> by broadcast
    start_bg nmbd timeout 120 ip netns exec "$NS_S" nmbd --foreground --debug-stdout \
        --no-process-group --configfile="$sconf" --log-basename="$T/log/samba-nb-server"
    local nmbd_pid=$BG_PID
    wait_udp "$NS_S" "$SRV" 137
    # registration: 3 broadcasts per name, then the names are ours (bounded wait)
    for _ in $(seq 100); do
        grep -q 'is now a local master browser\|Samba name server LABSRV is now' "$T/log/nmbd.out" 2>/dev/null && break
        in_c nmblookup -s "$cconf" -U "$SRV" --recursion LABSRV >/dev/null 2>&1 && break
        sleep 0.2
    done
    # 1. unicast name query for LABSRV<20> to the server  2. node status (-A)
    # 3. broadcast name query for LABWG<1d>... (-M: master browser) on the subnet
    in_c nmblookup -s "$cconf" -U "$SRV" --recursion 'LABSRV#20' > "$T/log/nmblookup.txt" 2>&1 \
        || { cat "$T/log/nmblookup.txt" >&2; die "nmblookup name query failed"; }
    in_c nmblookup -s "$cconf" -A "$SRV" >> "$T/log/nmblookup.txt" 2>&1 \
        || { cat "$T/log/nmblookup.txt" >&2; die "nmblookup node status failed"; }
    in_c nmblookup -s "$cconf" -B 10.214.19.255 LABSRV >> "$T/log/nmblookup.txt" 2>&1 || true
    sleep 1
    cap_stop
    stop "$nmbd_pid"
    grep -q "$SRV LABSRV<20>" "$T/log/nmblookup.txt" || { cat "$T/log/nmblookup.txt" >&2; die "no LABSRV<20>"; }
    grep -q 'LABWG' "$T/log/nmblookup.txt" || die "node status without LABWG"
    net_down
}

# smbd_start NAME EXTRA...: smbd with share [lab] (read only, hello.txt) for the lab account
smbd_start() {
    local name=$1; shift
    samba_conf "$name" server "$@" \
        "[lab]" "path = $T/samba-$name-server/share" "read only = yes" "guest ok = no" \
        "valid users = $LAB_USER"
    SMBD_CONF="$SAMBA_DIR/smb.conf"
    printf 'hello from the portolan lab over SMB\n' > "$SAMBA_DIR/share/hello.txt"
    chmod 755 "$SAMBA_DIR/share"; chmod 644 "$SAMBA_DIR/share/hello.txt"
    printf '%s\n%s\n' "$SMB_PASS" "$SMB_PASS" | timeout 30 smbpasswd -c "$SMBD_CONF" -s -a "$LAB_USER" \
        > "$T/log/smbpasswd-$name.txt" 2>&1 || { cat "$T/log/smbpasswd-$name.txt" >&2; die "smbpasswd failed"; }
    start_bg "smbd-$name" timeout 120 ip netns exec "$NS_S" smbd --foreground --debug-stdout \
        --no-process-group --configfile="$SMBD_CONF" --log-basename="$T/log/samba-$name-server"
    SMBD_PID=$BG_PID
    wait_listen "$NS_S" "$SRV" 445
    wait_listen "$NS_S" "$SRV" 139
}

# smb_c NAME CONF ARGS...: smbclient in C against //LABSRV/lab, ls + get hello.txt
smb_c() {
    local name=$1 conf=$2; shift 2
    rm -f "$T/smb-$name-hello.txt"
    in_c smbclient --configfile="$conf" "//LABSRV/lab" -I "$SRV" -U "$LAB_USER%$SMB_PASS" \
        -W LABWG "$@" -c "ls; get hello.txt $T/smb-$name-hello.txt" > "$T/log/smbclient-$name.txt" 2>&1 \
        || { cat "$T/log/smbclient-$name.txt" >&2; die "smbclient $name failed"; }
    grep -q 'over SMB' "$T/smb-$name-hello.txt" || die "smbclient $name: get hello.txt failed"
}

run_smb() {
    log "smb"
    need smbd smbclient smbpasswd
    net_up 26
    smbd_start smb3 "server min protocol = SMB2_02"
    samba_conf smb3 client "client min protocol = SMB2_02" "client max protocol = SMB3"
    local cconf="$SAMBA_DIR/smb.conf"
    cap_start smb
    # SMB 3.1.1 over 445: NEGOTIATE, SESSION_SETUP (NTLMSSP, user ptlab), TREE_CONNECT
    # \\LABSRV\lab, CREATE/QUERY_DIRECTORY (ls), CREATE/READ hello.txt (get), LOGOFF
    smb_c smb3 "$cconf" -m SMB3 -p 445
    cap_stop
    stop "$SMBD_PID"
    net_down
}

run_smb_139() {
    log "smb-139"
    need smbd smbclient smbpasswd
    net_up 27
    smbd_start smb139 "server min protocol = SMB2_02"
    samba_conf smb139 client "client max protocol = SMB3"
    local cconf="$SAMBA_DIR/smb.conf"
    cap_start smb-139
    # port 139: NetBIOS session request (called LABSRV<20>, calling LABCLI<00>), positive
    # session response, then SMB2/3 as on 445
    smb_c smb139 "$cconf" -m SMB3 -p 139 -n LABCLI
    cap_stop
    stop "$SMBD_PID"
    net_down
}

run_smb1() {
    log "smb1"
    need smbd smbclient smbpasswd
    net_up 28
    smbd_start smb1 "server min protocol = NT1" "ntlm auth = ntlmv2-only"
    samba_conf smb1 client "client min protocol = NT1" "client max protocol = NT1"
    local cconf="$SAMBA_DIR/smb.conf"
    cap_start smb1
    # SMB1 (NT LM 0.12) over 445: NEGOTIATE, SESSION_SETUP_ANDX (NTLMSSP), TREE_CONNECT_ANDX,
    # TRANS2 FIND_FIRST2 (ls), NT_CREATE_ANDX / READ_ANDX hello.txt, CLOSE, LOGOFF
    smb_c smb1 "$cconf" -m NT1 -p 445
    cap_stop
    stop "$SMBD_PID"
    net_down
}
