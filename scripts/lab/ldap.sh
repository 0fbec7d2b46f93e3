# scripts/lab/ldap.sh -- sourced by scripts/lab-captures (uses its helpers)
# ldap, ldap-starttls: OpenLDAP slapd in S from a throwaway slapd.conf (-f) and an mdb
# database in the temp dir (suffix dc=lab,dc=example), OpenLDAP's ldap-utils in C.

LDAP_BASE="dc=lab,dc=example"
LDAP_ROOT="cn=admin,$LDAP_BASE"
LDAP_ROOT_PASS=ldap-admin-pw-9
LDAP_USER_DN="uid=carol,ou=people,$LDAP_BASE"
LDAP_USER_PASS=carol-pw-10

# slapd_start NAME TLS(yes|no)
slapd_start() {
    local name=$1 tls=$2 d="$T/slapd-$1"
    mkdir -p "$d/db"
    {
        printf 'include /etc/ldap/schema/%s.schema\n' core cosine inetorgperson
        cat <<CONF
pidfile $d/slapd.pid
argsfile $d/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
loglevel stats
CONF
        [[ $tls == yes ]] && cat <<CONF
TLSCertificateFile $T/cert.pem
TLSCertificateKeyFile $T/key.pem
CONF
        cat <<CONF
database mdb
maxsize 16777216
suffix "$LDAP_BASE"
rootdn "$LDAP_ROOT"
rootpw $LDAP_ROOT_PASS
directory $d/db
access to attrs=userPassword by self read by anonymous auth by * none
access to * by * read
CONF
    } > "$d/slapd.conf"
    start_bg "slapd-$name" timeout 120 ip netns exec "$NS_S" \
        slapd -d stats -f "$d/slapd.conf" -h "ldap://$SRV/"
    SLAPD_PID=$BG_PID
    wait_listen "$NS_S" "$SRV" 389
    cat > "$d/add.ldif" <<LDIF
dn: $LDAP_BASE
objectClass: dcObject
objectClass: organization
dc: lab
o: portolan lab

dn: ou=people,$LDAP_BASE
objectClass: organizationalUnit
ou: people

dn: $LDAP_USER_DN
objectClass: inetOrgPerson
uid: carol
cn: Carol Lab
sn: Lab
mail: carol@lab.example
userPassword: $LDAP_USER_PASS
LDIF
}

# ldap_c LOGNAME CMD ARGS...: an ldap-utils client in C reading our client config only
# (LDAPCONF; TLS_REQCERT never: the lab certificate is self-signed)
ldap_c() {
    local name=$1; shift
    [[ -e $T/ldap-client.conf ]] || printf 'TLS_REQCERT never\n' > "$T/ldap-client.conf"
    LDAPCONF="$T/ldap-client.conf" LDAPRC=/nonexistent in_c "$@" >> "$T/log/ldap-$name.txt" 2>&1 \
        || { cat "$T/log/ldap-$name.txt" >&2; die "ldap client failed: $*"; }
}

run_ldap() {
    log "ldap"
    need slapd ldapadd ldapsearch ldapwhoami
    net_up 17
    slapd_start plain no
    cap_start ldap
    local h="ldap://$SRV/"
    # 1. simple bind as the root DN, add 3 entries  2. simple bind as the root DN, search
    # for uid=carol  3. anonymous search (objectClass=inetOrgPerson), attributes cn mail
    # 4. ldapwhoami as carol  5. ldapwhoami as carol with a wrong password (invalidCredentials)
    ldap_c plain ldapadd -x -H "$h" -D "$LDAP_ROOT" -w "$LDAP_ROOT_PASS" -f "$T/slapd-plain/add.ldif"
    ldap_c plain ldapsearch -x -H "$h" -D "$LDAP_ROOT" -w "$LDAP_ROOT_PASS" -b "$LDAP_BASE" '(uid=carol)'
    ldap_c plain ldapsearch -x -H "$h" -b "ou=people,$LDAP_BASE" -s one '(objectClass=inetOrgPerson)' cn mail
    ldap_c plain ldapwhoami -x -H "$h" -D "$LDAP_USER_DN" -w "$LDAP_USER_PASS"
    LDAPCONF="$T/ldap-client.conf" LDAPRC=/nonexistent in_c ldapwhoami -x -H "$h" -D "$LDAP_USER_DN" -w wrong-password-0 \
        >> "$T/log/ldap-plain.txt" 2>&1 && die "ldap bind with a wrong password succeeded"
    cap_stop
    stop "$SLAPD_PID"
    grep -q "dn:$LDAP_USER_DN" "$T/log/ldap-plain.txt" || die "ldapwhoami did not name carol"
    grep -q 'Invalid credentials (49)' "$T/log/ldap-plain.txt" || die "no invalidCredentials"
    net_down
}

run_ldap_starttls() {
    log "ldap-starttls"
    need slapd ldapadd ldapsearch
    net_up 18
    slapd_start tls yes
    # the entries go in before the capture (so the capture holds only the StartTLS session)
    ldap_c tls ldapadd -x -H "ldap://$SRV/" -D "$LDAP_ROOT" -w "$LDAP_ROOT_PASS" -f "$T/slapd-tls/add.ldif"
    cap_start ldap-starttls
    # ExtendedRequest 1.3.6.1.4.1.1466.20037 (StartTLS), TLS handshake, then the bind and
    # search inside TLS
    ldap_c tls ldapsearch -ZZ -x -H "ldap://$SRV/" -D "$LDAP_USER_DN" \
        -w "$LDAP_USER_PASS" -b "$LDAP_BASE" '(uid=carol)' mail
    cap_stop
    stop "$SLAPD_PID"
    grep -q 'mail: carol@lab.example' "$T/log/ldap-tls.txt" || die "ldap StartTLS search failed"
    net_down
}
