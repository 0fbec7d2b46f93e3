# scripts/lab/kerberos.sh -- sourced by scripts/lab-captures (uses its helpers)
# kerberos-udp, kerberos-tcp: MIT krb5kdc in S with a throwaway realm LAB.EXAMPLE (database,
# stash, kdc.conf and krb5.conf all in the temp dir, found through KRB5_KDC_PROFILE and
# KRB5_CONFIG; /etc/krb5.conf is never read), MIT kinit / kvno in C.

KRB_REALM=LAB.EXAMPLE
KRB_MASTER_PASS=krb-master-pw-12
KRB_USER=alice
KRB_USER_PASS=alice-krb-pw-13
KRB_SERVICE=host/srv.lab.example

# krb5_start NAME: realm, principals alice and host/srv.lab.example, krb5kdc on 88 UDP+TCP
krb5_start() {
    local name=$1 d="$T/krb5-$1"
    mkdir -p "$d"
    cat > "$d/kdc.conf" <<CONF
[kdcdefaults]
    kdc_listen = $SRV:88
    kdc_tcp_listen = $SRV:88
[realms]
    $KRB_REALM = {
        database_name = $d/principal
        key_stash_file = $d/stash
        acl_file = $d/kadm5.acl
        max_life = 10h 0m 0s
        max_renewable_life = 7d 0h 0m 0s
        master_key_type = aes256-cts-hmac-sha1-96
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
        default_principal_flags = +preauth
    }
[logging]
    kdc = FILE:$T/log/krb5kdc-$name.log
    admin_server = FILE:$T/log/kadmin-$name.log
    default = FILE:$T/log/krb5-$name.log
CONF
    : > "$d/kadm5.acl"
    # udp_preference_limit: 1465 (the default) keeps small requests on UDP; 1 sends all on TCP
    local udp_limit=1465
    [[ $name == tcp ]] && udp_limit=1
    cat > "$d/krb5.conf" <<CONF
[libdefaults]
    default_realm = $KRB_REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    udp_preference_limit = $udp_limit
    permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96
[realms]
    $KRB_REALM = {
        kdc = $SRV:88
    }
CONF
    export KRB5_CONFIG="$d/krb5.conf" KRB5_KDC_PROFILE="$d/kdc.conf"
    timeout 60 kdb5_util create -s -r "$KRB_REALM" -P "$KRB_MASTER_PASS" > "$T/log/kdb5_util-$name.txt" 2>&1 \
        || { cat "$T/log/kdb5_util-$name.txt" >&2; die "kdb5_util create failed"; }
    timeout 60 kadmin.local -r "$KRB_REALM" -q "addprinc -pw $KRB_USER_PASS $KRB_USER" > "$T/log/kadmin-$name.txt" 2>&1
    timeout 60 kadmin.local -r "$KRB_REALM" -q "addprinc -randkey $KRB_SERVICE" >> "$T/log/kadmin-$name.txt" 2>&1
    grep -q "Principal \"$KRB_SERVICE@$KRB_REALM\" created" "$T/log/kadmin-$name.txt" \
        || { cat "$T/log/kadmin-$name.txt" >&2; die "kadmin.local addprinc failed"; }
    start_bg "krb5kdc-$name" timeout 120 ip netns exec "$NS_S" krb5kdc -n -r "$KRB_REALM" -P "$d/krb5kdc.pid"
    KDC_PID=$BG_PID
    wait_udp "$NS_S" "$SRV" 88
    wait_listen "$NS_S" "$SRV" 88
    KRB_CC="FILE:$d/ccache"
}

# krb_c LOGNAME CMD ARGS...: a krb5 client in C with the lab krb5.conf and ccache
krb_c() {
    local name=$1; shift
    KRB5CCNAME="$KRB_CC" in_c "$@" >> "$T/log/krb-$name.txt" 2>&1
}

# krb_session NAME: failed kinit (wrong password), kinit alice, kvno host/srv, kdestroy
krb_session() {
    local name=$1
    # AS-REQ without pre-auth -> KRB-ERROR PREAUTH_REQUIRED, AS-REQ with PA-ENC-TIMESTAMP
    # made from the wrong password -> KRB-ERROR PREAUTH_FAILED
    printf 'wrong-password-0\n' | krb_c "$name" kinit "$KRB_USER@$KRB_REALM" \
        && die "kinit with a wrong password succeeded"
    # the same two AS-REQs with the right password -> AS-REP (TGT krbtgt/LAB.EXAMPLE)
    printf '%s\n' "$KRB_USER_PASS" | krb_c "$name" kinit "$KRB_USER@$KRB_REALM" \
        || { cat "$T/log/krb-$name.txt" >&2; die "kinit failed"; }
    # TGS-REQ for host/srv.lab.example -> TGS-REP
    krb_c "$name" kvno "$KRB_SERVICE@$KRB_REALM" || { cat "$T/log/krb-$name.txt" >&2; die "kvno failed"; }
    krb_c "$name" klist
    krb_c "$name" kdestroy
    grep -q "$KRB_SERVICE@$KRB_REALM: kvno = 1" "$T/log/krb-$name.txt" || die "kvno gave no ticket"
}

run_kerberos_udp() {
    log "kerberos-udp"
    need krb5kdc kdb5_util kadmin.local kinit kvno
    net_up 22
    krb5_start udp
    cap_start kerberos-udp "host $CLI and (udp or tcp)"
    krb_session udp
    cap_stop
    stop "$KDC_PID"
    unset KRB5_CONFIG KRB5_KDC_PROFILE
    net_down
}

run_kerberos_tcp() {
    log "kerberos-tcp"
    need krb5kdc kdb5_util kadmin.local kinit kvno
    net_up 23
    krb5_start tcp
    cap_start kerberos-tcp
    krb_session tcp
    cap_stop
    stop "$KDC_PID"
    unset KRB5_CONFIG KRB5_KDC_PROFILE
    net_down
}
