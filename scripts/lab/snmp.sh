# scripts/lab/snmp.sh -- sourced by scripts/lab-captures (uses its helpers)
# snmp-v1, snmp-v2c, snmp-v3: net-snmp snmpd in S (own config, -C: no other config file
# read, its persistent dir in the temp dir), snmptrapd in S on 162, net-snmp clients in C.
# No MIB files are loaded (-m ''): every OID is numeric.

SNMP_COMMUNITY=lab-community
SNMP_AUTH_USER=labauth        # authNoPriv (SHA)
SNMP_AUTH_PASS=labauth-pw-6
SNMP_PRIV_USER=labpriv        # authPriv (SHA / AES)
SNMP_PRIV_PASS=labpriv-pw-7
SNMP_PRIV_KEY=labpriv-key-8

snmp_start() {
    local name=$1 d="$T/snmp-$1"
    mkdir -p "$d/persist"
    cat > "$d/snmpd.conf" <<CONF
agentAddress udp:$SRV:161
rocommunity $SNMP_COMMUNITY 10.214.0.0/16
createUser $SNMP_AUTH_USER SHA "$SNMP_AUTH_PASS"
createUser $SNMP_PRIV_USER SHA "$SNMP_PRIV_PASS" AES "$SNMP_PRIV_KEY"
rouser $SNMP_AUTH_USER auth
rouser $SNMP_PRIV_USER priv
sysName snmp.lab.example
sysLocation portolan lab, rack 1
sysContact lab-admin@lab.example
sysDescr portolan lab agent
sysServices 72
engineID portolan-lab-engine
CONF
    printf 'authCommunity log %s\n' "$SNMP_COMMUNITY" > "$d/snmptrapd.conf"
    start_bg "snmpd-$name" timeout 120 env SNMP_PERSISTENT_DIR="$d/persist" MIBS='' \
        ip netns exec "$NS_S" snmpd -f -C -c "$d/snmpd.conf" -Lf "$T/log/snmpd-$name.log" \
        -p "$d/snmpd.pid" -m ''
    SNMPD_PID=$BG_PID
    start_bg "snmptrapd-$name" timeout 120 env SNMP_PERSISTENT_DIR="$d/persist" MIBS='' \
        ip netns exec "$NS_S" snmptrapd -f -C -c "$d/snmptrapd.conf" -Lf "$T/log/snmptrapd-$name.log" \
        -p "$d/snmptrapd.pid" -m '' "udp:$SRV:162"
    SNMPTRAPD_PID=$BG_PID
    wait_udp "$NS_S" "$SRV" 161
    wait_udp "$NS_S" "$SRV" 162
}

snmp_stop() { stop "$SNMPTRAPD_PID"; stop "$SNMPD_PID"; }

# snmp_c LOGNAME CMD ARGS...: a net-snmp client in C, no MIBs, no config files, output kept;
# its persistent state (v3 engine boots, cert indexes) goes to the temp dir, not /var/lib/snmp
snmp_c() {
    local name=$1 cmd=$2; shift 2
    mkdir -p "$T/snmp-client"
    SNMP_PERSISTENT_DIR="$T/snmp-client" SNMPCONFPATH=/nonexistent MIBS='' in_c "$cmd" -m '' -t 2 -r 1 "$@" >> "$T/log/snmp-$name.txt" 2>&1 \
        || { cat "$T/log/snmp-$name.txt" >&2; die "snmp client failed: $cmd $*"; }
}

# snmp_c_fail LOGNAME CMD ARGS...: a client expected to fail (no retry, 1 s timeout)
snmp_c_fail() {
    local name=$1 cmd=$2; shift 2
    mkdir -p "$T/snmp-client"
    SNMP_PERSISTENT_DIR="$T/snmp-client" SNMPCONFPATH=/nonexistent MIBS='' in_c "$cmd" -m '' -t 1 -r 0 "$@" >> "$T/log/snmp-$name.txt" 2>&1 || true
}

run_snmp_v1() {
    log "snmp-v1"
    need snmpd snmptrapd snmpget snmpwalk snmptrap
    net_up 14
    snmp_start v1
    cap_start snmp-v1 "udp and host $CLI"
    # GetRequest sysDescr.0 sysName.0, GetNextRequest walk of system (1.3.6.1.2.1.1.1-8:
    # -CE stops before sysORTable),
    # a Get of a missing OID (noSuchName error in v1), an SNMPv1 Trap-PDU
    snmp_c v1 snmpget -v 1 -c "$SNMP_COMMUNITY" "$SRV" 1.3.6.1.2.1.1.1.0 1.3.6.1.2.1.1.5.0
    snmp_c v1 snmpwalk -v 1 -c "$SNMP_COMMUNITY" -CE 1.3.6.1.2.1.1.9 "$SRV" 1.3.6.1.2.1.1
    snmp_c_fail v1 snmpget -v 1 -c "$SNMP_COMMUNITY" "$SRV" 1.3.6.1.2.1.1.99.0
    snmp_c v1 snmptrap -v 1 -c "$SNMP_COMMUNITY" "$SRV:162" 1.3.6.1.4.1.8072.2.3.1 "$CLI" 6 17 '' \
        1.3.6.1.2.1.1.5.0 s "client.lab.example"
    cap_stop
    snmp_stop
    grep -q 'portolan lab agent' "$T/log/snmp-v1.txt" || die "snmp v1 get failed"
    net_down
}

run_snmp_v2c() {
    log "snmp-v2c"
    need snmpd snmptrapd snmpget snmpwalk snmpbulkget snmptrap
    net_up 15
    snmp_start v2c
    cap_start snmp-v2c "udp and host $CLI"
    # Get, GetBulk, a walk of system (GetNext), a wrong community (no answer: the agent
    # stays silent), a v2c trap (coldStart) to 162
    snmp_c v2c snmpget -v 2c -c "$SNMP_COMMUNITY" "$SRV" 1.3.6.1.2.1.1.5.0 1.3.6.1.2.1.1.6.0
    snmp_c v2c snmpbulkget -v 2c -c "$SNMP_COMMUNITY" -Cn0 -Cr3 "$SRV" 1.3.6.1.2.1.1
    snmp_c v2c snmpwalk -v 2c -c "$SNMP_COMMUNITY" -CE 1.3.6.1.2.1.1.9 "$SRV" 1.3.6.1.2.1.1
    snmp_c_fail v2c snmpget -v 2c -c wrong-community "$SRV" 1.3.6.1.2.1.1.5.0
    snmp_c v2c snmptrap -v 2c -c "$SNMP_COMMUNITY" "$SRV:162" '' 1.3.6.1.6.3.1.1.5.1 \
        1.3.6.1.2.1.1.5.0 s "client.lab.example"
    cap_stop
    snmp_stop
    grep -q 'snmp.lab.example' "$T/log/snmp-v2c.txt" || die "snmp v2c get failed"
    net_down
}

run_snmp_v3() {
    log "snmp-v3"
    need snmpd snmpget snmpwalk
    net_up 16
    snmp_start v3
    cap_start snmp-v3 "udp and host $CLI"
    # engine discovery (Report usmStatsUnknownEngineIDs), then an authNoPriv Get as labauth
    # (SHA), an authPriv walk of system as labpriv (SHA/AES), a wrong auth password
    # (Report usmStatsWrongDigests)
    snmp_c v3 snmpget -v 3 -l authNoPriv -u "$SNMP_AUTH_USER" -a SHA -A "$SNMP_AUTH_PASS" \
        "$SRV" 1.3.6.1.2.1.1.5.0
    snmp_c v3 snmpwalk -v 3 -l authPriv -u "$SNMP_PRIV_USER" -a SHA -A "$SNMP_PRIV_PASS" \
        -x AES -X "$SNMP_PRIV_KEY" -CE 1.3.6.1.2.1.1.9 "$SRV" 1.3.6.1.2.1.1
    snmp_c_fail v3 snmpget -v 3 -l authNoPriv -u "$SNMP_AUTH_USER" -a SHA -A wrong-password-0 \
        "$SRV" 1.3.6.1.2.1.1.5.0
    cap_stop
    snmp_stop
    grep -q 'portolan lab agent' "$T/log/snmp-v3.txt" || die "snmp v3 walk failed"
    net_down
}
