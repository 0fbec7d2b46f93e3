#!/usr/bin/env python3
# usage: gen_many_flows.py OUT.pcap [SCALE]
# A many-flow capture (stdlib only): TCP (HTTP) and UDP (DNS) over IPv4 and
# IPv6 between a few hundred hosts, UDP flows that go idle past the UDP
# timeout and come back (two sessions each), fragmented UDP datagrams, ICMP
# port-unreachable errors quoting a UDP flow, and TCP flows left open.
import random
import struct
import sys

out = sys.argv[1]
scale = int(sys.argv[2]) if len(sys.argv) > 2 else 1
rnd = random.Random(10)
pkts = []  # (ts, frame)
BASE = 1_700_000_000.0


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ip6(i, side):
    return bytes([0x20, 0x01, 0x0d, 0xb8, 0, side, 0, 0, 0, 0, 0, 0, 0, 0, i >> 8, i & 0xFF])


def eth(payload, v6):
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02" + struct.pack("!H", 0x86DD if v6 else 0x0800) + payload


ipid = [1]


def ipv4(src, dst, proto, payload, frag=None):
    ipid[0] = (ipid[0] + 1) & 0xFFFF
    ident, off, mf = (ipid[0], 0, 0) if frag is None else frag
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, (mf << 13) | (off // 8), 64,
                    proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nh, 64, src, dst) + payload


def pseudo(src, dst, proto, length):
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!IxxxB", length, proto)


def tcp(src, dst, sp, dp, seq, ack, flags, data=b""):
    h = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0)
    c = csum(pseudo(src, dst, 6, len(h) + len(data)) + h + data)
    return h[:16] + struct.pack("!H", c) + h[18:] + data


def udp(src, dst, sp, dp, data):
    h = struct.pack("!HHHH", sp, dp, 8 + len(data), 0)
    c = csum(pseudo(src, dst, 17, len(h) + len(data)) + h + data) or 0xFFFF
    return h[:6] + struct.pack("!H", c) + data


def frame(src, dst, proto, l4):
    if len(src) == 4:
        return eth(ipv4(src, dst, proto, l4), False)
    return eth(ipv6(src, dst, proto, l4), True)


def dns_query(qid, name):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def dns_answer(query):
    return query[:2] + b"\x81\x80" + query[4:6] + b"\0\x01\0\0\0\0" + query[12:] + \
        struct.pack("!HHHIH4s", 0xC00C, 1, 1, 60, 4, b"\x0a\0\0\x01")


def tcp_flow(t, c, s, cp, sp, n, close=True):
    cs, ss = rnd.randrange(1 << 31), rnd.randrange(1 << 31)
    req = b"GET /f%d HTTP/1.1\r\nHost: h%d.example\r\n\r\n" % (n, n)
    rsp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    seq = [(c, s, cp, sp, cs, 0, 0x02, b""), (s, c, sp, cp, ss, cs + 1, 0x12, b""),
           (c, s, cp, sp, cs + 1, ss + 1, 0x10, b""),
           (c, s, cp, sp, cs + 1, ss + 1, 0x18, req),
           (s, c, sp, cp, ss + 1, cs + 1 + len(req), 0x18, rsp),
           (c, s, cp, sp, cs + 1 + len(req), ss + 1 + len(rsp), 0x10, b"")]
    if close:
        seq += [(c, s, cp, sp, cs + 1 + len(req), ss + 1 + len(rsp), 0x11, b""),
                (s, c, sp, cp, ss + 1 + len(rsp), cs + 2 + len(req), 0x11, b""),
                (c, s, cp, sp, cs + 2 + len(req), ss + 2 + len(rsp), 0x10, b"")]
    for i, (a, b, ap, bp, sq, ak, fl, d) in enumerate(seq):
        pkts.append((t + i * 0.001, frame(a, b, 6, tcp(a, b, ap, bp, sq, ak, fl, d))))


def udp_exchange(t, c, s, cp, n):
    q = dns_query(n & 0xFFFF, "n%d.example" % n)
    pkts.append((t, frame(c, s, 17, udp(c, s, cp, 53, q))))
    pkts.append((t + 0.002, frame(s, c, 17, udp(s, c, 53, cp, dns_answer(q)))))


clients4 = ["10.1.%d.%d" % (i // 200, 1 + i % 200) for i in range(400)]
servers4 = ["10.2.0.%d" % (1 + i) for i in range(40)]
n = 0
for i in range(1500 * scale):
    t = BASE + i * 0.04
    tcp_flow(t, ip4(rnd.choice(clients4)), ip4(rnd.choice(servers4)), 20000 + i % 40000, 80, i)
for i in range(1500 * scale):
    t = BASE + 0.01 + i * 0.04
    c, s = ip4(rnd.choice(clients4)), ip4(rnd.choice(servers4))
    udp_exchange(t, c, s, 30000 + i % 30000, i)
    if i % 10 == 0:  # idle past the 60 s UDP timeout, then again: two sessions
        udp_exchange(t + 70, c, s, 30000 + i % 30000, i + 100000)
for i in range(300):
    t = BASE + 0.02 + i * 0.2
    udp_exchange(t, ip6(1 + i % 150, 1), ip6(1 + i % 20, 2), 40000 + i, 200000 + i)
for i in range(100):
    t = BASE + 0.03 + i * 0.5
    tcp_flow(t, ip6(1 + i % 150, 1), ip6(1 + i % 20, 2), 41000 + i, 80, 300000 + i)
for i in range(50):  # left open: flushed at the end of the input
    tcp_flow(BASE + 5 + i * 1.1, ip4(rnd.choice(clients4)), ip4(rnd.choice(servers4)), 50000 + i, 8080,
             400000 + i, close=False)
for i in range(20):  # fragmented UDP: 3 fragments each
    c, s = ip4(clients4[i]), ip4(servers4[i % 40])
    body = udp(c, s, 45000 + i, 9999, bytes(range(256)) * 10)
    ident = 0x4000 + i
    t = BASE + 7 + i * 0.3
    for k, off in enumerate((0, 1024, 2048)):
        part = body[off:off + 1024]
        more = 1 if off + 1024 < len(body) else 0
        pkts.append((t + k * 0.001, eth(ipv4(c, s, 17, part, (ident, off, more)), False)))
for i in range(50):  # ICMP port unreachable from the server, quoting the UDP query
    c, s = ip4(clients4[100 + i]), ip4(servers4[i % 40])
    t = BASE + 11 + i * 0.2
    q = udp(c, s, 46000 + i, 5353 + i, b"hello")
    quoted = ipv4(c, s, 17, q)[:28]
    pkts.append((t, frame(c, s, 17, q)))
    icmp = struct.pack("!BBHI", 3, 3, 0, 0) + quoted
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    pkts.append((t + 0.001, frame(s, c, 1, icmp)))

pkts.sort(key=lambda p: p[0])
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for ts, fr in pkts:
        sec = int(ts)
        us = int(round((ts - sec) * 1e6))
        if us >= 1000000:
            sec, us = sec + 1, us - 1000000
        f.write(struct.pack("<IIII", sec, us, len(fr), len(fr)) + fr)
print(len(pkts))
