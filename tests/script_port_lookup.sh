#!/usr/bin/env bash
# --port and --ports: IANA's range edges, every seed protocol's card, the
# misconceptions corrected, and clear errors for what is not a port.
set -uo pipefail
bin=$1
passed=0
failed=0
errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT

check() { # description, expected substring, args...
	local what=$1 needle=$2
	shift 2
	local out
	out=$("$bin" "$@" 2>&1)
	if grep -qF -- "$needle" <<<"$out"; then
		passed=$((passed + 1))
	else
		echo "FAIL $what: wanted '$needle' in:"
		echo "$out" | head -12
		failed=$((failed + 1))
	fi
}

check_error() { # description, args...: exit 2 and one line on stderr
	local what=$1
	shift
	"$bin" "$@" >/dev/null 2>"$errfile"
	local rc=$?
	if [[ $rc -eq 2 && $(wc -l <"$errfile") -eq 1 ]]; then
		passed=$((passed + 1))
	else
		echo "FAIL $what: exit $rc"
		cat "$errfile"
		failed=$((failed + 1))
	fi
}

check "0" "port 0: well-known" --port 0
check "1023" "port 1023: well-known" --port 1023
check "1024" "port 1024: registered" --port 1024
check "49151" "port 49151: registered" --port 49151
check "49152" "port 49152: dynamic" --port 49152
check "65535" "port 65535: dynamic" --port 65535
check "last port" "65535 is the last port" --port 80
check "linux range" "Linux uses 32768-60999" --port 443
check "client port fits both" "fits both Linux (32768-60999) and Windows (49152-65535)" --port 50000
check "client port fits Linux" "fits Linux (32768-60999) but not Windows" --port 40000
check_error "65536" --port 65536
check_error "-1" --port -1
check_error "unknown name" --port no-such-service
check "ftp-data active only" "only in active mode" --port 20
check "ftp cleartext" "In clear on the wire: user name, password" --port 21
check "sftp inside ssh" "SFTP and SCP" --port 22
check "telnet -> ssh" "Secure alternative: SSH (22)" --port 23
check "smtp" "STARTTLS" --port 25
check "dns uses tcp" "DNS uses TCP too" --port 53
check "dhcp server" "servers listen on 67, clients on 68" --port 67
check "dhcp client" "udp/dhcp" --port 68
check "http -> https" "HTTPS" --port 80
check "pop3 -> 995" "POP3S (995)" --port 110
check "netbios 137" "NetBIOS uses 137/UDP" --port 137
check "netbios 138" "as well as 137/UDP and 139/TCP" --port 138
check "netbios 139" "SMB3 with encryption" --port 139
check "imap name" "Internet Message Access Protocol" --port 143
check "snmpv2c not encrypted" "SNMPv2c is not encrypted" --port 161
check "ldap" "LDAPS (636) or StartTLS" --port 389
check "https" "Encrypted on the wire" --port 443
check "smb1" "SMB1 is deprecated" --port 445
check "mssql" "tcp/mssql" --port 1433
check "rdp" "NLA" --port 3389
check "by name" "port 143: well-known" --port imap
check "table" "dynamic/private" --port 8080
check "--ports" "ftp-data   well-known" --ports

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
