#!/usr/bin/env python3
"""Hostile captures for tests/script_hostile_input.sh (standard library only).

Usage: hostile_pcaps.py OUTDIR -- writes:
  http-no-newline.pcap   an HTTP client sending 3 MiB without a newline
  smtp-no-newline.pcap   an SMTP client sending 3 MiB after EHLO without a newline
  http-10000.pcap        10,000 HTTP requests and responses on one connection
  dns-loop.pcap          DNS queries whose names are compression loops
  names.pcap             quotes, backslashes, NULs, ESC and invalid UTF-8 in a DNS
                         query name, an HTTP Host and URI, and an SMTP HELO
"""

import struct
import sys

ETH = bytes.fromhex("02000000aa0202000000aa010800")


def csum(b):
    if len(b) & 1:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


class Pcap:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.t = 1_700_000_000 * 1_000_000

    def packet(self, src, dst, proto, l4):
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0,
                          ip4(src), ip4(dst))
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        frame = ETH + hdr + l4
        self.t += 100
        self.f.write(struct.pack("<IIII", self.t // 1_000_000, self.t % 1_000_000, len(frame),
                                 len(frame)) + frame)

    def udp(self, src, sport, dst, dport, payload):
        l4 = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 17, len(l4))
        c = csum(pseudo + l4) or 0xFFFF
        self.packet(src, dst, 17, l4[:6] + struct.pack("!H", c) + l4[8:])

    def close(self):
        self.f.close()


class Tcp:
    """One TCP connection with a handshake, data in MSS segments, each acknowledged."""

    def __init__(self, pcap, c, cport, s, sport):
        self.p, self.ends = pcap, [(c, cport), (s, sport)]
        self.seq = [1000, 500000]
        self.seg(0, 0x02, b"")
        self.seq[0] += 1
        self.seg(1, 0x12, b"")
        self.seq[1] += 1
        self.seg(0, 0x10, b"")

    def seg(self, d, flags, payload):
        (src, sp), (dst, dp) = self.ends[d], self.ends[1 - d]
        ack = self.seq[1 - d] if flags & 0x10 else 0
        l4 = struct.pack("!HHIIBBHHH", sp, dp, self.seq[d], ack, 5 << 4, flags, 65535, 0, 0)
        l4 += payload
        pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(l4))
        l4 = l4[:16] + struct.pack("!H", csum(pseudo + l4)) + l4[18:]
        self.p.packet(src, dst, 6, l4)

    def send(self, d, data, mss=1400):
        for i in range(0, len(data), mss):
            chunk = data[i:i + mss]
            self.seg(d, 0x18, chunk)
            self.seq[d] += len(chunk)
        self.seg(1 - d, 0x10, b"")

    def close(self):
        for d in (0, 1):
            self.seg(d, 0x11, b"")
            self.seq[d] += 1
        self.seg(0, 0x10, b"")


C, S = "10.9.0.1", "10.9.0.2"
HOSTILE = b'q"uote\\back\x00nul\x1b[31mesc\xff\xfe\xc3(bad'  # no space: one URI


def no_newline(out):
    p = Pcap(out + "/http-no-newline.pcap")
    t = Tcp(p, C, 40001, S, 80)
    t.send(0, b"GET /" + b"A" * (3 << 20))
    t.close()
    p.close()
    p = Pcap(out + "/smtp-no-newline.pcap")
    t = Tcp(p, C, 40002, S, 25)
    t.send(1, b"220 mail.example ESMTP\r\n")
    t.send(0, b"EHLO client.example\r\n")
    t.send(1, b"250 mail.example\r\n")
    t.send(0, b"MAIL FROM:<" + b"x" * (3 << 20))
    t.close()
    p.close()


def many_requests(out, n=10000):
    p = Pcap(out + "/http-10000.pcap")
    t = Tcp(p, C, 40003, S, 80)
    for i in range(n):
        t.send(0, b"GET /r%d HTTP/1.1\r\nHost: example.test\r\n\r\n" % i)
        t.send(1, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    t.close()
    p.close()


def dns_header(qid, flags=0x0100, qd=1, an=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, 0, 0)


def dns_loop(out):
    p = Pcap(out + "/dns-loop.pcap")
    # a name that points at itself
    p.udp(C, 50001, S, 53, dns_header(1) + b"\xc0\x0c" + b"\x00\x01\x00\x01")
    # two pointers pointing at each other
    p.udp(C, 50002, S, 53, dns_header(2) + b"\x01a\xc0\x12" + b"\x01b\xc0\x0c" + b"\x00\x01\x00\x01")
    # an answer whose name loops through the question
    ans = b"\xc0\x1d" + struct.pack("!HHIH", 1, 1, 60, 4) + b"\x01\x02\x03\x04"
    p.udp(S, 53, C, 50001, dns_header(1, 0x8180, 1, 1) + b"\x03www\xc0\x0c\x00\x01\x00\x01"
          + b"\x01x\xc0\x1b" + ans)
    p.close()


def names(out):
    p = Pcap(out + "/names.pcap")
    label = HOSTILE.replace(b".", b"")
    qname = bytes([len(label)]) + label + b"\x07example\x00"
    p.udp(C, 50010, S, 53, dns_header(7) + qname + b"\x00\x01\x00\x01")
    t = Tcp(p, C, 40010, S, 80)
    t.send(0, b"GET /" + HOSTILE + b" HTTP/1.1\r\nHost: " + HOSTILE + b"\r\nUser-Agent: "
           + HOSTILE + b"\r\n\r\n")
    t.send(1, b"HTTP/1.1 200 OK\r\nServer: " + HOSTILE + b"\r\nContent-Length: 0\r\n\r\n")
    t.close()
    # control characters make an HTTP request line malformed (above): a URI
    # with quotes, a backslash and invalid UTF-8, and a Host without the NUL
    no_nul = HOSTILE.replace(b"\x00", b"")
    t = Tcp(p, C, 40012, S, 80)
    t.send(0, b'GET /q"uote\\back\xff\xfe\xc3( HTTP/1.1\r\nHost: ' + no_nul + b"\r\n\r\n")
    t.send(1, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    t.close()
    t = Tcp(p, C, 40011, S, 25)
    t.send(1, b"220 " + HOSTILE + b" ESMTP\r\n")
    t.send(0, b"HELO " + HOSTILE + b"\r\n")
    t.send(1, b"250 ok\r\n")
    t.send(0, b"QUIT\r\n")
    t.send(1, b"221 bye\r\n")
    t.close()
    p.close()


def ber(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    if n < 0x100:
        return bytes([tag, 0x81, n]) + body
    return bytes([tag, 0x82]) + struct.pack("!H", n) + body


def ldap_bind(msg_id, dn, pw):
    op = ber(0x60, ber(0x02, b"\x03") + ber(0x04, dn) + ber(0x80, pw))
    return ber(0x30, ber(0x02, bytes([msg_id % 100 + 1])) + op)


def ldap_length_lie(out):
    """A message announcing 64 KiB (0xffff) that never comes: the binds sent
    after it are swallowed by the lie until 64 KiB have passed, then read;
    and once more where the connection ends inside the lie."""
    lie = b"\x30\x82\xff\xff\x02\x01\x01\x60\x82\xff\xf8"
    binds = b"".join(ldap_bind(i, b"cn=user%d,dc=example" % i, b"pw") for i in range(3000))
    p = Pcap(out + "/ldap-length-lie.pcap")
    t = Tcp(p, C, 40010, S, 389)
    t.send(0, lie + binds)  # ~100 KiB: the first 64 KiB belong to the lie
    t.close()
    t = Tcp(p, C, 40011, S, 389)
    t.send(0, lie + binds[:4000])  # the connection ends inside the lie
    t.close()
    p.close()


def main(out):
    no_newline(out)
    many_requests(out)
    dns_loop(out)
    names(out)
    ldap_length_lie(out)


if __name__ == "__main__":
    main(sys.argv[1])
