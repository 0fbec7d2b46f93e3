#!/usr/bin/env python3
"""Generate large, realistic benchmark captures for portolan (standard library only).

Usage: bench/gen_bench.py KIND PACKETS OUTPUT [--seed N] [--concurrency K]

KIND is one of:
  mix        short sessions interleaved ~1000 at a time: TCP with full handshakes and
             closes (HTTP/1.1 keep-alive with two requests, TLS 1.3 handshakes with SNI,
             SMTP, SSH banners and KEXINIT, FTP control) and UDP (DNS, SNMPv2c);
             ~10 k packets per second of traffic time.
  manyflows  the same mix, but sessions started in batches of K (default
             min(120000, PACKETS // 8)) and played round-robin, so 100,000+ flows are
             open at once: a 1 M packet file starts 120 k sessions in its first round and
             ends (after ~8 rounds) with the longer TCP sessions still open.
  flood      PACKETS TCP SYNs to one server, each from a distinct source address.
  udpflood   PACKETS UDP datagrams (a 32-byte payload) to one server, each from a distinct
             source address: as many distinct UDP flows.

The files are classic little-endian pcap (microsecond timestamps, Ethernet), written
straight from precomputed per-packet templates: only addresses, ports, sequence and
acknowledgement numbers, IP ids and timestamps vary per session. IPv4 header, TCP and
UDP checksums are all correct; they are computed incrementally (the constant part of each
template packet is summed once, the varying words are added per packet). The output is
deterministic for a given seed. Captures are meant for bench/out/ or a temp folder: never
commit them (1 M mix packets is ~340 MB).
"""

import argparse
import random
import struct
import sys
import time

PCAP_MAGIC = 0xA1B2C3D4
START_S = 1_700_000_000
M32 = 0xFFFFFFFF

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
CLIENT, SERVER = 0, 1
MSS = 1448

ETH_C2S = bytes.fromhex("02000000aa02" "02000000aa01") + b"\x08\x00"  # dst=server side, src=client
ETH_S2C = bytes.fromhex("02000000aa01" "02000000aa02") + b"\x08\x00"

SYN_OPTS = bytes.fromhex("020405b4" "01030307" "0101" "0402")  # MSS 1460, NOP, WS 7, NOP NOP, SACK-perm
SYNACK_OPTS = bytes.fromhex("020405b4" "0101" "0402" "01030307")

REC = struct.Struct("<IIII")
# Ethernet header (14s) + IPv4 header (20) + TCP header (20 without options)
TCP_HDR = struct.Struct("!14sBBHHHBBHIIHHIIHHHH")
UDP_HDR = struct.Struct("!14sBBHHHBBHIIHHHH")


def sum16(b):
    """One's-complement partial sum (not folded) of bytes, big-endian 16-bit words."""
    if len(b) & 1:
        b += b"\x00"
    return sum(struct.unpack("!%dH" % (len(b) // 2), b))


# ------------------------------------------------------------------------------------------
# Session templates: a list of packet specs, built once per variant.


class TcpTemplate:
    """Builds the packet list of one TCP session; seq/ack are relative to each side's ISN."""

    def __init__(self, sport_hint):
        self.pk = []
        self.nxt = [0, 0]  # next relative seq of client, server
        self.sport_hint = sport_hint

    def _add(self, d, flags, payload=b"", opts=b"", has_ack=True):
        seq = self.nxt[d]
        ack = self.nxt[1 - d] if has_ack else None
        self.pk.append((d, flags, payload, opts, seq, ack))
        self.nxt[d] = (self.nxt[d] + len(payload) + (1 if flags & (SYN | FIN) else 0)) & M32

    def handshake(self):
        self._add(CLIENT, SYN, opts=SYN_OPTS, has_ack=False)
        self._add(SERVER, SYN | ACK, opts=SYNACK_OPTS)
        self._add(CLIENT, ACK)
        return self

    def data(self, d, payload, ack_after=True):
        for i in range(0, len(payload), MSS):
            seg = payload[i : i + MSS]
            last = i + MSS >= len(payload)
            self._add(d, ACK | (PSH if last else 0), seg)
        if ack_after:
            self._add(1 - d, ACK)
        return self

    def close(self, first=CLIENT):
        self._add(first, FIN | ACK)
        self._add(1 - first, FIN | ACK)
        self._add(first, ACK)
        return self


def dns_name(name):
    out = b""
    for label in name.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def dns_pair(rng, name, qtype):
    qid = rng.getrandbits(16)
    q = dns_name(name) + struct.pack("!HH", qtype, 1)
    query = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1) + q
    query += bytes.fromhex("0000291000000000000000")  # OPT, 4096
    if qtype == 1:
        answers = [bytes.fromhex("c00c00010001") + struct.pack("!IH", 300, 4) + bytes([93, 184, 216, rng.randrange(1, 255)])
                   for _ in range(rng.randrange(1, 4))]
    else:
        answers = [bytes.fromhex("c00c001c0001") + struct.pack("!IH", 300, 16) + bytes.fromhex("20010db8") + rng.randbytes(12)]
    resp = struct.pack("!HHHHHH", qid, 0x8180, 1, len(answers), 0, 1) + q + b"".join(answers)
    resp += bytes.fromhex("0000291000000000000000")
    return query, resp


def ber(tag, value):
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    if n < 0x100:
        return bytes([tag, 0x81, n]) + value
    return bytes([tag, 0x82]) + struct.pack("!H", n) + value


def ber_int(v):
    b = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True)
    return ber(0x02, b)


def snmp_pair(rng, oid_bytes, value):
    rid = rng.getrandbits(30)

    def msg(pdu_tag, varval):
        vb = ber(0x30, ber(0x30, ber(0x06, oid_bytes) + varval))
        pdu = ber(pdu_tag, ber_int(rid) + ber_int(0) + ber_int(0) + vb)
        return ber(0x30, ber_int(1) + ber(0x04, b"public") + pdu)

    return msg(0xA0, b"\x05\x00"), msg(0xA2, ber(0x04, value))


def tls_client_hello(rng, sni):
    def ext(t, body):
        return struct.pack("!HH", t, len(body)) + body

    name = sni.encode()
    exts = ext(0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name)
    exts += ext(0x000A, bytes.fromhex("0008001d001700180019"))
    exts += ext(0x000B, bytes.fromhex("0100"))
    exts += ext(0x000D, bytes.fromhex("0012040308040401050308050501080606010201"))
    exts += ext(0x0010, bytes.fromhex("000c02683208687474702f312e31"))
    exts += ext(0x0017, b"")
    exts += ext(0x002B, bytes.fromhex("0403040303"))
    exts += ext(0x002D, bytes.fromhex("0101"))
    exts += ext(0x0033, struct.pack("!HHH", 36, 0x001D, 32) + rng.randbytes(32))
    suites = bytes.fromhex("130113021303c02bc02fc02cc030cca9cca8c013c014009c009d002f0035")
    body = b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32)
    body += struct.pack("!H", len(suites)) + suites + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def tls_server_flight(rng):
    exts = struct.pack("!HH", 0x002B, 2) + b"\x03\x04"
    exts += struct.pack("!HHHH", 0x0033, 36, 0x001D, 32) + rng.randbytes(32)
    body = b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32) + b"\x13\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x02" + len(body).to_bytes(3, "big") + body
    out = b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs
    out += bytes.fromhex("140303000101")  # ChangeCipherSpec
    for n in (rng.randrange(2400, 3600), 281, 69):  # encrypted exts+cert, cert verify, finished
        out += b"\x17\x03\x03" + struct.pack("!H", n) + rng.randbytes(n)
    return out


def tls_app(rng, n):
    return b"\x17\x03\x03" + struct.pack("!H", n) + rng.randbytes(n)


SSH_KEX_LISTS = ["curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
                 "diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,ext-info-c",
                 "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ssh-ed25519,"
                 "ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
                 "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com",
                 "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com",
                 "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha1",
                 "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha1",
                 "none,zlib@openssh.com", "none,zlib@openssh.com", "", ""]


def ssh_kexinit(rng, n):
    lists = SSH_KEX_LISTS[:]
    lists[0] += ",sntrup761x25519-sha512@openssh.com" * (n // 300)  # vary the size a little
    payload = b"\x14" + rng.randbytes(16)
    for name_list in lists:
        payload += struct.pack("!I", len(name_list)) + name_list.encode()
    payload += b"\x00\x00\x00\x00\x00"
    pad = 4 + (8 - (len(payload) + 5 + 4) % 8) % 8
    return struct.pack("!IB", len(payload) + pad + 1, pad) + payload + bytes(pad)


HOSTS = ["www.example.com", "api.example.net", "cdn.example.org", "mail.example.com",
         "login.example.net", "static.example.org", "img.example.com", "news.example.net"]


def make_templates(rng):
    """Returns [(weight, kind, server_port, [variants of packet-spec lists])]."""
    t = []

    http = []
    for host in HOSTS:
        v = TcpTemplate(80).handshake()
        for path, size in (("/", rng.randrange(600, 4000)), ("/static/app.js", rng.randrange(200, 9000))):
            req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) "
                   "Gecko/20100101 Firefox/115.0\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\n"
                   "Connection: keep-alive\r\n\r\n" % (path, host)).encode()
            resp = ("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n"
                    "Content-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\nConnection: keep-alive"
                    "\r\n\r\n" % size).encode() + bytes(rng.randrange(32, 127) for _ in range(size))
            v.data(CLIENT, req, ack_after=False).data(SERVER, resp)
        http.append(v.close().pk)
    t.append((25, "tcp", 80, http))

    tls = []
    for host in HOSTS:
        v = TcpTemplate(443).handshake()
        v.data(CLIENT, tls_client_hello(rng, host), ack_after=False)
        v.data(SERVER, tls_server_flight(rng))
        v.data(CLIENT, bytes.fromhex("140303000101") + tls_app(rng, 53), ack_after=False)
        v.data(CLIENT, tls_app(rng, rng.randrange(200, 600)), ack_after=False)
        v.data(SERVER, tls_app(rng, rng.randrange(200, 2500)))
        v.data(CLIENT, tls_app(rng, 19), ack_after=False)  # close_notify
        tls.append(v.close().pk)
    t.append((25, "tcp", 443, tls))

    smtp = []
    for host in HOSTS[:4]:
        v = TcpTemplate(25).handshake()
        lines = [(SERVER, "220 %s ESMTP Postfix (Debian/GNU)\r\n" % host),
                 (CLIENT, "EHLO client.example.net\r\n"),
                 (SERVER, "250-%s\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-8BITMIME\r\n"
                          "250 SMTPUTF8\r\n" % host),
                 (CLIENT, "MAIL FROM:<alice@example.net>\r\n"), (SERVER, "250 2.1.0 Ok\r\n"),
                 (CLIENT, "RCPT TO:<bob@%s>\r\n" % host), (SERVER, "250 2.1.5 Ok\r\n"),
                 (CLIENT, "DATA\r\n"), (SERVER, "354 End data with <CR><LF>.<CR><LF>\r\n"),
                 (CLIENT, "From: alice@example.net\r\nTo: bob@%s\r\nSubject: report\r\n\r\n%s\r\n.\r\n"
                          % (host, "The numbers are in. " * rng.randrange(5, 40))),
                 (SERVER, "250 2.0.0 Ok: queued as 4SVb3r0xK3z\r\n"),
                 (CLIENT, "QUIT\r\n"), (SERVER, "221 2.0.0 Bye\r\n")]
        for d, s in lines:
            v.data(d, s.encode(), ack_after=False)
        smtp.append(v.close(SERVER).pk)
    t.append((5, "tcp", 25, smtp))

    ssh = []
    for banner in ("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u1", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.4"):
        v = TcpTemplate(22).handshake()
        v.data(SERVER, (banner + "\r\n").encode(), ack_after=False)
        v.data(CLIENT, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u1\r\n", ack_after=False)
        v.data(CLIENT, ssh_kexinit(rng, 1400), ack_after=False)
        v.data(SERVER, ssh_kexinit(rng, 1050))
        ssh.append(v.close().pk)
    t.append((5, "tcp", 22, ssh))

    ftp = []
    for user in ("anonymous", "alice"):
        v = TcpTemplate(21).handshake()
        lines = [(SERVER, "220 (vsFTPd 3.0.3)\r\n"), (CLIENT, "USER %s\r\n" % user),
                 (SERVER, "331 Please specify the password.\r\n"), (CLIENT, "PASS secret\r\n"),
                 (SERVER, "230 Login successful.\r\n"), (CLIENT, "SYST\r\n"), (SERVER, "215 UNIX Type: L8\r\n"),
                 (CLIENT, "PWD\r\n"), (SERVER, '257 "/" is the current directory\r\n'),
                 (CLIENT, "QUIT\r\n"), (SERVER, "221 Goodbye.\r\n")]
        for d, s in lines:
            v.data(d, s.encode(), ack_after=False)
        ftp.append(v.close(SERVER).pk)
    t.append((5, "tcp", 21, ftp))

    dns = []
    for host in HOSTS:
        for qtype in (1, 28):
            q, r = dns_pair(rng, host, qtype)
            dns.append([(CLIENT, q), (SERVER, r)])
    t.append((30, "udp", 53, dns))

    snmp = []
    for oid, val in ((bytes.fromhex("2b06010201010100"), b"Linux router 6.1.0-13-amd64 #1 SMP x86_64"),
                     (bytes.fromhex("2b06010201010500"), b"core-sw-01")):
        q, r = snmp_pair(rng, oid, val)
        snmp.append([(CLIENT, q), (SERVER, r)])
    t.append((5, "udp", 161, snmp))
    return t


# ------------------------------------------------------------------------------------------
# Compiling templates into per-packet constants


def compile_tcp(spec):
    """-> list of (dir, eth, total_len, ip_csum_const, hdr_fields, tail, tcp_csum_const, seq, ack)"""
    out = []
    for d, flags, payload, opts, seq, ack in spec:
        tail = opts + payload
        tcp_len = 20 + len(tail)
        total = 20 + tcp_len
        ttl = 64 if d == CLIENT else 57
        doff_flags = ((5 + len(opts) // 4) << 12) | flags
        window = 64240 if flags & SYN else 502
        ip_c = 0x4500 + total + 0x4000 + ((ttl << 8) | 6)
        tcp_c = 6 + tcp_len + doff_flags + window + sum16(tail)
        out.append((d, ETH_C2S if d == CLIENT else ETH_S2C, total, ttl, ip_c, doff_flags, window, tail,
                    tcp_c, seq, ack, 14 + total))
    return out


def compile_udp(spec):
    out = []
    for d, payload in spec:
        udp_len = 8 + len(payload)
        total = 20 + udp_len
        ttl = 64 if d == CLIENT else 57
        ip_c = 0x4500 + total + 0x4000 + ((ttl << 8) | 17)
        udp_c = 17 + udp_len + udp_len + sum16(payload)
        out.append((d, ETH_C2S if d == CLIENT else ETH_S2C, total, ttl, ip_c, udp_len, payload, udp_c, 14 + total))
    return out


class Session:
    __slots__ = ("tcp", "pk", "i", "cip", "sip", "cport", "sport", "isn", "ipid", "a", "b")


class Writer:
    def __init__(self, path, snaplen=262144):
        self.f = open(path, "wb", buffering=1 << 20)
        self.f.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, snaplen, 1))
        self.buf = []
        self.n = 0
        self.bytes = 0

    def flush(self):
        self.f.write(b"".join(self.buf))
        self.buf.clear()

    def close(self):
        self.flush()
        self.f.close()


def fold(s):
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def emit(w, s, t_us):
    """Writes the next packet of session s at time t_us; returns True when s is done."""
    p = s.pk[s.i]
    s.i += 1
    buf = w.buf
    d = p[0]
    if d == CLIENT:
        src, dst, sp, dp = s.cip, s.sip, s.cport, s.sport
    else:
        src, dst, sp, dp = s.sip, s.cip, s.sport, s.cport
    ipid = s.ipid[d] = (s.ipid[d] + 1) & 0xFFFF
    buf.append(REC.pack(t_us // 1_000_000, t_us % 1_000_000, p[-1], p[-1]))
    if s.tcp:
        _, eth, total, ttl, ip_c, doff_flags, window, tail, tcp_c, rseq, rack, _ = p
        seq = (s.isn[d] + rseq) & M32
        if rack is None:
            ack = 0
        else:
            ack = (s.isn[1 - d] + rack) & M32
        tcs = fold(tcp_c + s.a + (seq >> 16) + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF))
        buf.append(TCP_HDR.pack(eth, 0x45, 0, total, ipid, 0x4000, ttl, 6, fold(ip_c + s.b + ipid), src, dst,
                                sp, dp, seq, ack, doff_flags, window, tcs, 0))
    else:
        _, eth, total, ttl, ip_c, udp_len, tail, udp_c, _ = p
        ucs = fold(udp_c + s.a) or 0xFFFF
        buf.append(UDP_HDR.pack(eth, 0x45, 0, total, ipid, 0x4000, ttl, 17, fold(ip_c + s.b + ipid), src, dst,
                                sp, dp, udp_len, ucs))
    buf.append(tail)
    w.n += 1
    if len(buf) >= 24000:
        w.flush()
    return s.i == len(s.pk)


class Mixer:
    def __init__(self, rng, client_net, client_bits):
        self.rng = rng
        self.templates = []
        for weight, kind, port, variants in make_templates(rng):
            comp = [compile_tcp(v) if kind == "tcp" else compile_udp(v) for v in variants]
            self.templates.append((weight, kind == "tcp", port, comp))
        self.weights = [t[0] for t in self.templates]
        self.client_net = client_net
        self.client_mask = (1 << client_bits) - 1
        # servers: a few per protocol, in 192.168.0.0/16
        self.servers = {t[2]: [0xC0A80000 | (k << 8) | i for i in range(1, 9)] for k, t in enumerate(self.templates)}
        self.mean_len = sum(t[0] * sum(len(v) for v in t[3]) / len(t[3]) for t in self.templates) / sum(self.weights)
        self.started = 0

    def new_session(self):
        rng = self.rng
        _, tcp, port, comp = rng.choices(self.templates, self.weights)[0]
        s = Session()
        s.tcp = tcp
        s.pk = comp[rng.randrange(len(comp))]
        s.i = 0
        s.cip = self.client_net | (rng.getrandbits(24) & self.client_mask) | 1
        srv = self.servers[port]
        s.sip = srv[rng.randrange(len(srv))]
        s.cport = rng.randrange(32768, 61000)
        s.sport = port
        s.isn = [rng.getrandbits(32), rng.getrandbits(32)]
        s.ipid = [rng.getrandbits(16), rng.getrandbits(16)]
        s.b = (s.cip >> 16) + (s.cip & 0xFFFF) + (s.sip >> 16) + (s.sip & 0xFFFF)
        s.a = s.b + s.cport + s.sport
        self.started += 1
        return s


def gen_mix(w, n, rng, concurrency):
    m = Mixer(rng, 0x0A010000, 16)  # clients in 10.1.0.0/16
    pool = [m.new_session() for _ in range(concurrency)]
    t = START_S * 1_000_000
    rr = rng.randrange
    while w.n < n:
        k = rr(concurrency)
        t += rr(1, 200)  # ~10 k packets/s of traffic time
        if emit(w, pool[k], t):
            pool[k] = m.new_session()
    return m.started


def gen_manyflows(w, n, rng, concurrency):
    m = Mixer(rng, 0x0A000000, 22)  # clients in 10.0.0.0/10, 4 M addresses
    if not concurrency:
        # 120 k for 1 M packets: more than the file can finish (~11 packets a session), so
        # the file ends with the longest sessions still open, all 120 k of them started
        concurrency = max(1000, min(120_000, n // 8))
    t = START_S * 1_000_000
    while w.n < n:
        active = [m.new_session() for _ in range(concurrency)]
        while active and w.n < n:
            still = []
            for s in active:
                t += 2
                if not emit(w, s, t):
                    still.append(s)
                if w.n >= n:
                    break
            active = still
    return m.started


def gen_flood(w, n, rng):
    dst = 0xC0A80150  # 192.168.1.80
    eth = ETH_C2S
    tail = SYN_OPTS
    total = 20 + 20 + len(tail)
    ip_c = 0x4500 + total + 0x4000 + ((64 << 8) | 6)
    doff_flags = (8 << 12) | SYN
    tcp_c0 = 6 + 20 + len(tail) + doff_flags + 64240 + sum16(tail) + (dst >> 16) + (dst & 0xFFFF) + 80
    rec_len = 14 + total
    t = START_S * 1_000_000
    buf = w.buf
    for i in range(n):
        # 10.0.0.0/8, scattered: multiplying by an odd number is a bijection mod 2^24, so the
        # first 16 M sources are all distinct
        src = 0x0A000000 | ((i * 2654435761) & 0xFFFFFF)
        sp = rng.randrange(1024, 65536)
        seq = rng.getrandbits(32)
        ipid = rng.getrandbits(16)
        t += 1
        tcs = fold(tcp_c0 + (src >> 16) + (src & 0xFFFF) + sp + (seq >> 16) + (seq & 0xFFFF))
        ics = fold(ip_c + (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + ipid)
        buf.append(REC.pack(t // 1_000_000, t % 1_000_000, rec_len, rec_len))
        buf.append(TCP_HDR.pack(eth, 0x45, 0, total, ipid, 0x4000, 64, 6, ics, src, dst, sp, 80, seq, 0,
                                doff_flags, 64240, tcs, 0))
        buf.append(tail)
        if len(buf) >= 24000:
            w.flush()
    w.n = n
    return n


def gen_udpflood(w, n, rng):
    dst = 0xC0A80150  # 192.168.1.80
    eth = ETH_C2S
    payload = bytes(range(32))
    total = 20 + 8 + len(payload)
    ip_c = 0x4500 + total + 0x4000 + ((64 << 8) | 17)
    udp_c0 = 17 + 2 * (8 + len(payload)) + sum16(payload) + (dst >> 16) + (dst & 0xFFFF) + 9999
    rec_len = 14 + total
    t = START_S * 1_000_000
    buf = w.buf
    for i in range(n):
        src = 0x0A000000 | ((i * 2654435761) & 0xFFFFFF)  # distinct, as gen_flood
        sp = rng.randrange(1024, 65536)
        ipid = rng.getrandbits(16)
        t += 1
        ucs = fold(udp_c0 + (src >> 16) + (src & 0xFFFF) + sp)
        ics = fold(ip_c + (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF) + ipid)
        buf.append(REC.pack(t // 1_000_000, t % 1_000_000, rec_len, rec_len))
        buf.append(UDP_HDR.pack(eth, 0x45, 0, total, ipid, 0x4000, 64, 17, ics, src, dst, sp, 9999,
                                8 + len(payload), ucs))
        buf.append(payload)
        if len(buf) >= 24000:
            w.flush()
    w.n = n
    return n


def main(argv):
    ap = argparse.ArgumentParser(description="Generate portolan benchmark captures.")
    ap.add_argument("kind", choices=("mix", "manyflows", "flood", "udpflood"))
    ap.add_argument("packets", type=int)
    ap.add_argument("output")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=0,
                    help="sessions in flight (mix: default 1000; manyflows: default min(120000, PACKETS//8))")
    a = ap.parse_args(argv)
    rng = random.Random(a.seed)
    w = Writer(a.output)
    t0 = time.monotonic()
    if a.kind == "mix":
        sessions = gen_mix(w, a.packets, rng, a.concurrency or 1000)
    elif a.kind == "manyflows":
        sessions = gen_manyflows(w, a.packets, rng, a.concurrency)
    elif a.kind == "udpflood":
        sessions = gen_udpflood(w, a.packets, rng)
    else:
        sessions = gen_flood(w, a.packets, rng)
    w.close()
    print("gen_bench: %s: %d packets, %d sessions started, %.1f s -> %s"
          % (a.kind, w.n, sessions, time.monotonic() - t0, a.output), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
