# scripts/lab/databases.sh -- sourced by scripts/lab-captures (uses its helpers)
# postgresql: PostgreSQL 15 (`postgres` run directly as the throwaway account, cluster made
# by initdb in the temp dir, listening on the S address; pg_hba.conf: `password` (cleartext)
# for pgclear, `md5` for pgmd5, `scram-sha-256` for pgscram; ssl on with a throwaway
# self-signed certificate, used by one sslmode=require connection only), psql in C.
# mariadb: MariaDB (`mariadbd --no-defaults` run directly as the throwaway account, datadir
# made by mariadb-install-db in the temp dir, grant tables on, listening on the S address), the
# mariadb client in C as a mysql_native_password user.
# The roles, databases and tables are made over each server's unix socket in the temp dir
# before the capture starts, so only the clients' TCP connections are recorded.

PG_BIN=/usr/lib/postgresql/15/bin
PG_CLEAR_USER=pgclear
PG_CLEAR_PASS=pgclear-pw-14
PG_MD5_USER=pgmd5
PG_MD5_PASS=pgmd5-pw-15
PG_SCRAM_USER=pgscram
PG_SCRAM_PASS=pgscram-pw-16
MY_USER=myuser
MY_PASS=my-pw-17
WRONG_PASS=wrong-password-0

run_postgresql() {
    log "postgresql"
    need "$PG_BIN/initdb" "$PG_BIN/postgres" psql runuser
    net_up 30
    local d="$T/pg"
    mkdir -p "$d/sock"
    chown "$LAB_USER:" "$d" "$d/sock"
    timeout 60 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/server.key" -out "$d/server.crt" -days 2 -subj "/CN=db.lab.test" \
        2>"$T/log/openssl-pg.err"
    chown "$LAB_USER:" "$d/server.key" "$d/server.crt"
    chmod 600 "$d/server.key"
    timeout 120 runuser -u "$LAB_USER" -- "$PG_BIN/initdb" -D "$d/data" -U postgres \
        --auth-local=trust --auth-host=reject -E UTF8 --locale=C.UTF-8 \
        > "$T/log/initdb.out" 2>&1 || { cat "$T/log/initdb.out" >&2; die "initdb failed"; }
    cat >> "$d/data/postgresql.conf" <<CONF
listen_addresses = '$SRV'
port = 5432
unix_socket_directories = '$d/sock'
ssl = on
ssl_cert_file = '$d/server.crt'
ssl_key_file = '$d/server.key'
log_connections = on
log_destination = 'stderr'
logging_collector = off
CONF
    cat > "$d/data/pg_hba.conf" <<CONF
local all all trust
host  all $PG_CLEAR_USER 10.214.30.0/24 password
host  all $PG_MD5_USER   10.214.30.0/24 md5
host  all $PG_SCRAM_USER 10.214.30.0/24 scram-sha-256
CONF
    start_bg postgres timeout 300 ip netns exec "$NS_S" \
        runuser -u "$LAB_USER" -- "$PG_BIN/postgres" -D "$d/data"
    local pg_pid=$BG_PID
    wait_listen "$NS_S" "$SRV" 5432
    # roles, database and a table, over the unix socket (not captured)
    timeout 60 runuser -u "$LAB_USER" -- psql -X -q -v ON_ERROR_STOP=1 -h "$d/sock" -U postgres \
        -d postgres > "$T/log/pg-setup.out" 2>&1 <<SQL || { cat "$T/log/pg-setup.out" >&2; die "postgresql setup failed"; }
SET password_encryption = 'scram-sha-256';
CREATE ROLE $PG_CLEAR_USER LOGIN PASSWORD '$PG_CLEAR_PASS';
CREATE ROLE $PG_SCRAM_USER LOGIN PASSWORD '$PG_SCRAM_PASS';
SET password_encryption = 'md5';
CREATE ROLE $PG_MD5_USER LOGIN PASSWORD '$PG_MD5_PASS';
CREATE DATABASE labdb OWNER $PG_CLEAR_USER;
\\c labdb
CREATE TABLE lab_items (id int PRIMARY KEY, name text);
INSERT INTO lab_items VALUES (1, 'anchor'), (2, 'compass'), (3, 'sextant');
GRANT SELECT ON lab_items TO PUBLIC;
SQL
    local out="$T/log/psql.txt"
    local base=(psql -X -w -v ON_ERROR_STOP=0 -P pager=off)
    local envs=(env PGGSSENCMODE=disable PGCONNECT_TIMEOUT=10)
    cap_start postgresql
    # 1. pgclear (cleartext `password`), labdb: three queries, the last one an error
    in_c "${envs[@]}" PGPASSWORD="$PG_CLEAR_PASS" PGSSLMODE=disable "${base[@]}" \
        "host=$SRV dbname=labdb user=$PG_CLEAR_USER application_name=portolan-lab" \
        -c 'SELECT 1 AS one' -c 'SELECT count(*) FROM lab_items' \
        -c 'SELECT * FROM no_such_table' >> "$out" 2>&1 || true
    # 2. pgmd5 (md5), labdb
    in_c "${envs[@]}" PGPASSWORD="$PG_MD5_PASS" PGSSLMODE=disable "${base[@]}" \
        "host=$SRV dbname=labdb user=$PG_MD5_USER" \
        -c "SELECT name FROM lab_items WHERE id = 2" >> "$out" 2>&1 || die "psql md5 failed"
    # 3. pgscram (scram-sha-256), database postgres
    in_c "${envs[@]}" PGPASSWORD="$PG_SCRAM_PASS" PGSSLMODE=disable "${base[@]}" \
        "host=$SRV dbname=postgres user=$PG_SCRAM_USER" \
        -c 'SELECT current_user, current_database()' >> "$out" 2>&1 || die "psql scram failed"
    # 4. pgscram with a wrong password: FATAL 28P01
    in_c "${envs[@]}" PGPASSWORD="$WRONG_PASS" PGSSLMODE=disable "${base[@]}" \
        "host=$SRV dbname=postgres user=$PG_SCRAM_USER" -c 'SELECT 2' >> "$out" 2>&1 \
        && die "psql with a wrong password succeeded"
    # 5. pgscram with sslmode=require: SSLRequest, 'S', then TLS
    in_c "${envs[@]}" PGPASSWORD="$PG_SCRAM_PASS" PGSSLMODE=require "${base[@]}" \
        "host=$SRV dbname=labdb user=$PG_SCRAM_USER" -c 'SELECT 3' >> "$out" 2>&1 \
        || die "psql sslmode=require failed"
    # 6. pgclear running pg_sleep(20), interrupted after 2 s: psql sends a CancelRequest on
    #    a second connection (57014 canceling statement due to user request)
    "${envs[@]}" PGPASSWORD="$PG_CLEAR_PASS" PGSSLMODE=disable timeout 30 \
        ip netns exec "$NS_C" "${base[@]}" "host=$SRV dbname=labdb user=$PG_CLEAR_USER" \
        -c 'SELECT pg_sleep(20)' >> "$out" 2>&1 &
    local psql_pid=$!
    sleep 2
    kill -INT "$psql_pid" 2>/dev/null || true
    wait "$psql_pid" 2>/dev/null || true
    cap_stop
    stop "$pg_pid"
    grep -q 'relation "no_such_table" does not exist' "$out" || die "postgresql: error missing"
    grep -q 'compass' "$out" || die "postgresql: md5 query answer missing"
    grep -q 'password authentication failed' "$out" || die "postgresql: wrong password not refused"
    grep -q 'canceling statement' "$out" || die "postgresql: cancel did not happen"
    net_down
}

run_mariadb() {
    log "mariadb"
    need mariadb-install-db mariadbd mariadb runuser
    net_up 31
    local d="$T/my"
    mkdir -p "$d/data" "$d/run"
    chown -R "$LAB_USER:" "$d"
    timeout 120 mariadb-install-db --no-defaults --user="$LAB_USER" --datadir="$d/data" \
        --auth-root-authentication-method=socket --skip-test-db > "$T/log/mariadb-install.out" 2>&1 \
        || { cat "$T/log/mariadb-install.out" >&2; die "mariadb-install-db failed"; }
    start_bg mariadbd timeout 300 ip netns exec "$NS_S" runuser -u "$LAB_USER" -- \
        /usr/sbin/mariadbd --no-defaults --datadir="$d/data" --socket="$d/run/mysqld.sock" \
        --pid-file="$d/run/mysqld.pid" --bind-address="$SRV" --port=3306 --skip-name-resolve \
        --log-error="$T/log/mariadbd.err" --skip-log-bin --innodb-buffer-pool-size=16M
    local my_pid=$BG_PID
    wait_listen "$NS_S" "$SRV" 3306
    # wait until the socket answers too (the TCP listener comes up first)
    for _ in $(seq 100); do
        timeout 10 mariadb --no-defaults -S "$d/run/mysqld.sock" -u root -e 'SELECT 1' \
            >/dev/null 2>&1 && break
        sleep 0.1
    done
    timeout 60 mariadb --no-defaults -S "$d/run/mysqld.sock" -u root \
        > "$T/log/mariadb-setup.out" 2>&1 <<SQL || { cat "$T/log/mariadb-setup.out" >&2; die "mariadb setup failed"; }
CREATE DATABASE labshop;
CREATE TABLE labshop.items (id INT PRIMARY KEY, name VARCHAR(32));
INSERT INTO labshop.items VALUES (1, 'anchor'), (2, 'compass'), (3, 'sextant');
CREATE USER '$MY_USER'@'10.214.31.2' IDENTIFIED VIA mysql_native_password USING PASSWORD('$MY_PASS');
GRANT SELECT ON labshop.* TO '$MY_USER'@'10.214.31.2';
SQL
    local out="$T/log/mariadb.txt"
    local base=(mariadb --no-defaults --skip-ssl --protocol=TCP -h "$SRV" -P 3306 -u "$MY_USER"
                --connect-timeout=10 --batch)
    cap_start mariadb
    # 1. with a database name: two queries, then one error (1146), which ends the batch
    in_c "${base[@]}" -p"$MY_PASS" -D labshop \
        -e 'SELECT COUNT(*) FROM items; SELECT name FROM items WHERE id = 2; SELECT * FROM no_such_table' \
        >> "$out" 2>&1 && die "mariadb: the failing query succeeded"
    # 2. without a database name
    in_c "${base[@]}" -p"$MY_PASS" -e 'SELECT VERSION(), CURRENT_USER()' >> "$out" 2>&1 \
        || die "mariadb: query without a database failed"
    # 3. a wrong password: ERR 1045
    in_c "${base[@]}" -p"$WRONG_PASS" -e 'SELECT 1' >> "$out" 2>&1 \
        && die "mariadb: a wrong password was accepted"
    cap_stop
    stop "$my_pid"
    grep -q 'compass' "$out" || die "mariadb: query answer missing"
    grep -q "1146" "$out" || die "mariadb: error 1146 missing"
    grep -q "1045" "$out" || die "mariadb: error 1045 missing"
    net_down
}
