# scripts/lab/tls-ssh.sh -- sourced by scripts/lab-captures (uses its helpers)
# tls: nginx in S (own config, prefix and logs in the temp dir; TLS 1.0-1.3, ALPN h2 and
# http/1.1, a throwaway self-signed certificate for several names), curl and openssl
# s_client in C. ssh: OpenSSH sshd in S (own sshd_config and host keys in the temp dir, ports
# 22 and 2222), ssh / sftp in C as the throwaway account with a throwaway key.

run_tls() {
    log "tls"
    need nginx curl openssl
    net_up 24
    local d="$T/nginx"
    mkdir -p "$d/tmp" "$d/html"
    timeout 60 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/key.pem" -out "$d/cert.pem" -days 2 -subj "/O=portolan lab/CN=www.lab.test" \
        -addext "subjectAltName=DNS:www.lab.test,DNS:api.lab.test,DNS:legacy.lab.test,DNS:*.lab.test" \
        2>"$T/log/openssl-tls.err"
    cat > "$d/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $T/log/nginx-error.log info;
events { worker_connections 64; }
http {
    access_log $T/log/nginx-access.log;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen $SRV:443 ssl http2;
        server_name _;
        ssl_certificate $d/cert.pem;
        ssl_certificate_key $d/key.pem;
        # TLS 1.0 and 1.1 allowed on purpose (a deprecated-version session is wanted)
        ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
        ssl_ciphers DEFAULT:@SECLEVEL=0;
        ssl_session_tickets off;
        default_type text/plain;
        location / { return 200 "hello \$ssl_server_name over \$ssl_protocol\n"; }
    }
}
CONF
    start_bg nginx timeout 120 ip netns exec "$NS_S" nginx -p "$d" -e "$T/log/nginx-startup.log" -c "$d/nginx.conf"
    local nginx_pid=$BG_PID
    wait_listen "$NS_S" "$SRV" 443
    cap_start tls
    local out="$T/log/tls-clients.txt" req
    # 1. TLS 1.3, SNI www.lab.test, ALPN http/1.1      2. TLS 1.3, SNI api.lab.test, ALPN h2
    # 3. TLS 1.2 (--tls-max 1.2), SNI www.lab.test      4. s_client TLS 1.3, SNI mail.lab.test
    # 5. s_client TLS 1.0 (-tls1 at SECLEVEL=0), SNI legacy.lab.test
    in_c curl -sS -k --max-time 20 --http1.1 --resolve "www.lab.test:443:$SRV" \
        https://www.lab.test/one >> "$out" 2>&1 || die "curl http/1.1 failed"
    in_c curl -sS -k --max-time 20 --http2 --resolve "api.lab.test:443:$SRV" \
        https://api.lab.test/two >> "$out" 2>&1 || die "curl h2 failed"
    in_c curl -sS -k --max-time 20 --http1.1 --tlsv1.2 --tls-max 1.2 --resolve "www.lab.test:443:$SRV" \
        https://www.lab.test/three >> "$out" 2>&1 || die "curl TLS 1.2 failed"
    req='GET /four HTTP/1.1\r\nHost: mail.lab.test\r\nConnection: close\r\n\r\n'
    printf "$req" | in_c openssl s_client -connect "$SRV:443" -servername mail.lab.test \
        -alpn http/1.1 -ign_eof >> "$out" 2>&1 || die "s_client TLS 1.3 failed"
    req='GET /five HTTP/1.1\r\nHost: legacy.lab.test\r\nConnection: close\r\n\r\n'
    printf "$req" | in_c openssl s_client -connect "$SRV:443" -servername legacy.lab.test \
        -tls1 -cipher 'DEFAULT@SECLEVEL=0' -ign_eof >> "$out" 2>&1 || die "s_client TLS 1.0 failed"
    cap_stop
    stop "$nginx_pid"
    grep -q 'hello api.lab.test over TLSv1.3' "$out" || die "tls: h2 answer missing"
    grep -q 'hello www.lab.test over TLSv1.2' "$out" || die "tls: TLS 1.2 answer missing"
    grep -q 'hello legacy.lab.test over TLSv1$' "$out" || { grep -i 'protocol\|error' "$out" >&2; die "tls: TLS 1.0 answer missing"; }
    net_down
}

run_ssh() {
    log "ssh"
    need sshd ssh sftp ssh-keygen
    net_up 25
    local d="$T/ssh"
    mkdir -p "$d"
    # sshd insists on its privilege separation dir (the package makes it only when the
    # service starts): made here if missing, removed at exit
    if [[ ! -d /run/sshd ]]; then mkdir -m 755 /run/sshd; CLEANUP_DIRS+=(/run/sshd); fi
    timeout 60 ssh-keygen -q -t ed25519 -N '' -C 'portolan lab host key' -f "$d/ssh_host_ed25519_key"
    timeout 60 ssh-keygen -q -t ecdsa -N '' -C 'portolan lab host key' -f "$d/ssh_host_ecdsa_key"
    timeout 60 ssh-keygen -q -t ed25519 -N '' -C 'ptlab@client.lab.test' -f "$d/id_ed25519"
    cp "$d/id_ed25519.pub" "$d/authorized_keys"; chmod 644 "$d/authorized_keys"
    cat > "$d/sshd_config" <<CONF
ListenAddress $SRV:22
ListenAddress $SRV:2222
HostKey $d/ssh_host_ed25519_key
HostKey $d/ssh_host_ecdsa_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin no
AllowUsers $LAB_USER
PasswordAuthentication yes
KbdInteractiveAuthentication no
X11Forwarding no
PrintMotd no
Subsystem sftp internal-sftp
LogLevel VERBOSE
CONF
    timeout 30 /usr/sbin/sshd -t -f "$d/sshd_config" || die "sshd -t rejected the config"
    start_bg sshd timeout 120 ip netns exec "$NS_S" /usr/sbin/sshd -D -e -f "$d/sshd_config"
    local sshd_pid=$BG_PID
    wait_listen "$NS_S" "$SRV" 22
    wait_listen "$NS_S" "$SRV" 2222
    local o=(-F /dev/null -i "$d/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes
             -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="$d/known_hosts"
             -o ConnectTimeout=10)
    printf 'ls -l\n' > "$d/sftp.batch"
    cap_start ssh
    # 1. ssh to 22 running `true`  2. ssh to 2222 running `true`  3. sftp to 22, batch `ls -l`
    in_c ssh "${o[@]}" -p 22 "$LAB_USER@$SRV" true > "$T/log/ssh-1.txt" 2>&1 \
        || { cat "$T/log/ssh-1.txt" >&2; die "ssh to 22 failed"; }
    in_c ssh "${o[@]}" -p 2222 "$LAB_USER@$SRV" true > "$T/log/ssh-2.txt" 2>&1 \
        || { cat "$T/log/ssh-2.txt" >&2; die "ssh to 2222 failed"; }
    in_c sftp "${o[@]}" -P 22 -b "$d/sftp.batch" "$LAB_USER@$SRV" > "$T/log/sftp.txt" 2>&1 \
        || { cat "$T/log/sftp.txt" >&2; die "sftp failed"; }
    cap_stop
    stop "$sshd_pid"
    grep -q hello.txt "$T/log/sftp.txt" || die "sftp ls did not show hello.txt"
    net_down
}
