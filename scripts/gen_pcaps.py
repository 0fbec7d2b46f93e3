#!/usr/bin/env python3
"""Generate portolan's test captures, field by field, with the standard library only.

Usage: scripts/gen_pcaps.py [OUTDIR]        (default: pcaps/ beside scripts/)

Every capture is a classic pcap file (magic 0xa1b2c3d4 written little-endian, microsecond
timestamps, snaplen 262144 unless a scenario says otherwise). Everything is fixed — timestamps,
IP ids, sequence numbers, MACs, DNS ids — so running this twice gives byte-identical files.
Only private and documentation addresses are used (10/8, 192.168/16, 2001:db8::/32, fd00::/8).

Layout: byte builders (ether, vlan, ipv4, ipv6, udp, tcp, ...), a DNS message builder with name
compression, link-layer framers, a Net (capture + framer + clock) with a TcpSession helper, and
one short function per capture registered with @capture("name.pcap"). pcaps/README.md says what
each capture shows; keep it in step when adding a scenario here.
"""

import base64
import hashlib
import ipaddress
import os
import struct
import sys
import zlib

# ---------------------------------------------------------------------------------------------
# pcap file

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276

PCAP_MAGIC = 0xA1B2C3D4
DEFAULT_SNAPLEN = 262144
START_US = 1_700_000_000 * 1_000_000  # 2023-11-14 22:13:20 UTC; every capture starts here

MS = 1000  # microseconds
SEC = 1000 * MS


class Capture:
    """Packets of one pcap file: (timestamp_us, captured bytes, original length)."""

    def __init__(self, linktype=LINKTYPE_ETHERNET, snaplen=DEFAULT_SNAPLEN, start_us=START_US):
        self.linktype = linktype
        self.snaplen = snaplen
        self.t = start_us
        self.records = []

    def add(self, frame, dt_us=0):
        """Append a frame dt_us after the previous one, cut to the snaplen."""
        self.t += dt_us
        self.records.append((self.t, bytes(frame[: self.snaplen]), len(frame)))

    def to_bytes(self):
        out = [struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, self.snaplen, self.linktype)]
        for t, data, orig_len in self.records:
            out.append(struct.pack("<IIII", t // SEC, t % SEC, len(data), orig_len))
            out.append(data)
        return b"".join(out)


# ---------------------------------------------------------------------------------------------
# checksums and addresses


def inet_checksum(data):
    """RFC 1071 one's-complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def addr(a):
    if isinstance(a, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return a
    return ipaddress.ip_address(a)


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def pseudo_header(src, dst, proto, length):
    src, dst = addr(src), addr(dst)
    if src.version == 4:
        return src.packed + dst.packed + struct.pack("!BBH", 0, proto, length)
    return src.packed + dst.packed + struct.pack("!I3xB", length, proto)


# ---------------------------------------------------------------------------------------------
# link layer

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_VLAN = 0x8100
ETH_QINQ = 0x88A8
ETH_MPLS = 0x8847
ETH_PPPOE_SESSION = 0x8864
PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057


def ether(dst, src, ethertype, payload):
    return mac(dst) + mac(src) + struct.pack("!H", ethertype) + payload


def vlan(vid, ethertype, payload, pcp=0, dei=0):
    """An 802.1Q/802.1ad tag body (TCI + inner ethertype); the TPID is the enclosing ethertype."""
    return struct.pack("!HH", (pcp << 13) | (dei << 12) | vid, ethertype) + payload


def pppoe_session(session_id, ppp_proto, payload):
    """PPPoE session header (RFC 2516) + 2-byte PPP protocol field."""
    return struct.pack("!BBHHH", 0x11, 0x00, session_id, len(payload) + 2, ppp_proto) + payload


def mpls(labels, payload):
    """labels: [(label, tc, ttl)], outermost first; bottom-of-stack set on the last."""
    out = b""
    for i, (label, tc, ttl) in enumerate(labels):
        bos = 1 if i == len(labels) - 1 else 0
        out += struct.pack("!I", (label << 12) | (tc << 9) | (bos << 8) | ttl)
    return out + payload


def linux_sll(pkttype, ll_addr, proto, payload, arphrd=1):
    """LINUX_SLL (113) header: pkttype, ARPHRD, address length, 8-byte address, protocol."""
    return struct.pack("!HHH8sH", pkttype, arphrd, len(ll_addr), ll_addr, proto) + payload


def linux_sll2(proto, ifindex, pkttype, ll_addr, payload, arphrd=1):
    """LINUX_SLL2 (276) header: protocol, reserved, ifindex, ARPHRD, pkttype, addr len, addr."""
    return struct.pack("!HHIHBB8s", proto, 0, ifindex, arphrd, pkttype, len(ll_addr),
                       ll_addr) + payload


SLL_HOST = 0       # addressed to us
SLL_OUTGOING = 4   # sent by us


def ethernet_fcs(frame):
    """The Ethernet CRC-32 as it appears on the wire (least significant byte first)."""
    return struct.pack("<I", zlib.crc32(frame) & 0xFFFFFFFF)


# ---------------------------------------------------------------------------------------------
# IPv4 / IPv6

PROTO_HOPOPTS = 0
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_IPV6_FRAG = 44
PROTO_ESP = 50
PROTO_AH = 51
PROTO_DSTOPTS = 60


def ipv4(src, dst, proto, payload, ident, ttl=64, df=False, mf=False, frag_offset=0, tos=0):
    """IPv4 header (no options) + payload, header checksum computed. frag_offset in bytes."""
    assert frag_offset % 8 == 0
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag_offset // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(payload), ident, flags, ttl, proto, 0,
                      addr(src).packed, addr(dst).packed)
    return hdr[:10] + struct.pack("!H", inet_checksum(hdr)) + hdr[12:] + payload


def ipv6(src, dst, next_header, payload, hlim=64, tclass=0, flow=0):
    vtf = (6 << 28) | (tclass << 20) | flow
    return struct.pack("!IHBB16s16s", vtf, len(payload), next_header, hlim,
                       addr(src).packed, addr(dst).packed) + payload


def ipv6_options_header(next_header, options):
    """Hop-by-Hop or Destination Options header; options padded with Pad1/PadN to 8n bytes."""
    pad = -(len(options) + 2) % 8
    if pad == 1:
        options += b"\x00"
    elif pad > 1:
        options += bytes([1, pad - 2]) + bytes(pad - 2)
    return bytes([next_header, (len(options) + 2) // 8 - 1]) + options


def ipv6_frag_header(next_header, offset, more, ident):
    assert offset % 8 == 0
    return struct.pack("!BBHI", next_header, 0, offset | (1 if more else 0), ident)


def ah_header(next_header, spi, seq, icv):
    """Authentication Header (RFC 4302); Payload Len is the length in 4-byte units minus 2."""
    length = 12 + len(icv)
    assert length % 8 == 0, "AH over IPv6 must be a multiple of 8 bytes"
    return struct.pack("!BBHII", next_header, length // 4 - 2, 0, spi, seq) + icv


def esp(spi, seq, opaque):
    """ESP (RFC 4303): SPI and sequence number, then bytes nobody outside can read."""
    return struct.pack("!II", spi, seq) + opaque


def fragment_ipv4(src, dst, proto, datagram, ident, mtu=1500, ttl=64):
    """Split a transport datagram into IPv4 fragments (in order); each with its own checksum."""
    step = (mtu - 20) // 8 * 8
    frags = []
    for off in range(0, len(datagram), step):
        chunk = datagram[off: off + step]
        frags.append(ipv4(src, dst, proto, chunk, ident, ttl=ttl,
                          mf=off + len(chunk) < len(datagram), frag_offset=off))
    return frags


def fragment_ipv6(src, dst, next_header, datagram, ident, mtu=1500, hlim=64):
    """Split a transport datagram into IPv6 packets with a Fragment header (in order)."""
    step = (mtu - 40 - 8) // 8 * 8
    frags = []
    for off in range(0, len(datagram), step):
        chunk = datagram[off: off + step]
        fh = ipv6_frag_header(next_header, off, off + len(chunk) < len(datagram), ident)
        frags.append(ipv6(src, dst, PROTO_IPV6_FRAG, fh + chunk, hlim=hlim))
    return frags


# ---------------------------------------------------------------------------------------------
# UDP / TCP

FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


def udp(src, dst, sport, dport, payload):
    """UDP header + payload with the checksum over the IPv4 or IPv6 pseudo-header."""
    length = 8 + len(payload)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    csum = inet_checksum(pseudo_header(src, dst, PROTO_UDP, length) + hdr + payload) or 0xFFFF
    return hdr[:6] + struct.pack("!H", csum) + payload


def tcp_options(mss=None, wscale=None, sack_perm=False):
    opts = b""
    if mss is not None:
        opts += struct.pack("!BBH", 2, 4, mss)
    if wscale is not None:
        opts += struct.pack("!BBBB", 1, 3, 3, wscale)       # NOP, window scale
    if sack_perm:
        opts += struct.pack("!BBBB", 1, 1, 4, 2)            # NOP, NOP, SACK permitted
    return opts


def sack_option(blocks):
    """NOP, NOP, SACK (kind 5) with [(left edge, right edge)] blocks (RFC 2018)."""
    return struct.pack("!BBBB", 1, 1, 5, 2 + 8 * len(blocks)) + b"".join(
        struct.pack("!II", l & 0xFFFFFFFF, r & 0xFFFFFFFF) for l, r in blocks)


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", window=64240, options=b"", urgent=0):
    options += b"\x00" * (-len(options) % 4)
    off = (20 + len(options)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      off << 4, flags, window, 0, urgent) + options
    length = len(hdr) + len(payload)
    csum = inet_checksum(pseudo_header(src, dst, PROTO_TCP, length) + hdr + payload)
    return hdr[:16] + struct.pack("!H", csum) + hdr[18:] + payload


# ---------------------------------------------------------------------------------------------
# DNS

QTYPE = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "OPT": 41}
CLASS_IN = 1
RCODE = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5}


def dns_flags(qr, rd=True, ra=False, aa=False, tc=False, opcode=0, rcode="NOERROR"):
    return ((qr << 15) | (opcode << 11) | (aa << 10) | (tc << 9) | (rd << 8) | (ra << 7)
            | RCODE[rcode])


QUERY = dns_flags(qr=0, rd=True)                     # 0x0100


def response(rcode="NOERROR"):
    return dns_flags(qr=1, rd=True, ra=True, rcode=rcode)   # 0x8180 | rcode


def rr(name, rtype, data, ttl=300, rclass=CLASS_IN):
    """A resource record. data by type: A/AAAA address str; CNAME/NS/PTR name; MX (pref, name);
    TXT str or [str]; SOA (mname, rname, serial, refresh, retry, expire, minimum); raw bytes."""
    return (name, rtype, rclass, ttl, data)


def edns_opt(udp_size=4096):
    return rr(".", "OPT", b"", ttl=0, rclass=udp_size)


class _DnsWriter:
    """Writes a DNS message, compressing every name (owner names and names inside RDATA of the
    RFC 1035 types) against the suffixes already written."""

    def __init__(self):
        self.buf = bytearray()
        self.offsets = {}

    def name(self, name):
        labels = [l for l in name.rstrip(".").split(".") if l]
        for i in range(len(labels)):
            suffix = ".".join(labels[i:]).lower()
            if suffix in self.offsets:
                self.buf += struct.pack("!H", 0xC000 | self.offsets[suffix])
                return
            if len(self.buf) < 0x4000:
                self.offsets[suffix] = len(self.buf)
            label = labels[i].encode("ascii")
            assert 0 < len(label) < 64
            self.buf += bytes([len(label)]) + label
        self.buf += b"\x00"

    def rdata(self, rtype, data):
        if isinstance(data, bytes):
            self.buf += data
        elif rtype == "A":
            self.buf += ipaddress.IPv4Address(data).packed
        elif rtype == "AAAA":
            self.buf += ipaddress.IPv6Address(data).packed
        elif rtype in ("CNAME", "NS", "PTR"):
            self.name(data)
        elif rtype == "MX":
            self.buf += struct.pack("!H", data[0])
            self.name(data[1])
        elif rtype == "TXT":
            for s in [data] if isinstance(data, str) else data:
                b = s.encode("ascii")
                assert len(b) < 256
                self.buf += bytes([len(b)]) + b
        elif rtype == "SOA":
            self.name(data[0])
            self.name(data[1])
            self.buf += struct.pack("!IIIII", *data[2:])
        else:
            raise ValueError("no RDATA encoder for %s" % rtype)

    def record(self, rec):
        name, rtype, rclass, ttl, data = rec
        self.name(name)
        self.buf += struct.pack("!HHIH", QTYPE[rtype], rclass, ttl, 0)
        start = len(self.buf)
        self.rdata(rtype, data)
        struct.pack_into("!H", self.buf, start - 2, len(self.buf) - start)


def dns_message(ident, flags, questions=(), answers=(), authority=(), additional=()):
    """questions: [(name, qtype)]; the record lists hold rr(...) tuples."""
    w = _DnsWriter()
    w.buf += struct.pack("!HHHHHH", ident, flags, len(questions), len(answers), len(authority),
                         len(additional))
    for name, qtype in questions:
        w.name(name)
        w.buf += struct.pack("!HH", QTYPE[qtype], CLASS_IN)
    for rec in list(answers) + list(authority) + list(additional):
        w.record(rec)
    return bytes(w.buf)


def dns_pair(ident, qname, qtype, answers=(), authority=(), rcode="NOERROR", edns=False):
    """A query (RD) and its response (RD+RA) for one question."""
    add = [edns_opt()] if edns else []
    q = dns_message(ident, QUERY, [(qname, qtype)], additional=add)
    r = dns_message(ident, response(rcode), [(qname, qtype)], answers, authority, add)
    return q, r


EXAMPLE_SOA = rr("example.com", "SOA", ("ns1.example.com", "hostmaster.example.com",
                                        2023111401, 7200, 3600, 1209600, 3600), ttl=3600)


# ---------------------------------------------------------------------------------------------
# hosts, framers, the network a capture sees


class Host:
    def __init__(self, ip, mac_addr="02:00:00:00:00:01", ip_id=0x1000):
        self.ip = addr(ip)
        self.mac = mac_addr
        self.ip_id = ip_id

    def next_id(self):
        v = self.ip_id
        self.ip_id = (v + 1) & 0xFFFF
        return v


def ip_packet(src, dst, proto, l4, df=False, ttl=64):
    """One unfragmented IPv4 or IPv6 packet from src to dst (Host objects)."""
    if src.ip.version == 4:
        return ipv4(src.ip, dst.ip, proto, l4, ident=src.next_id(), ttl=ttl, df=df)
    return ipv6(src.ip, dst.ip, proto, l4, hlim=ttl)


def _ethertype(pkt):
    return ETH_IPV4 if pkt[0] >> 4 == 4 else ETH_IPV6


def eth_framer(tags=(), min_len=0, fcs=False):
    """Ethernet, optionally tagged: tags = [(tpid, vid)], outermost first. min_len pads short
    frames with zeros (60 = the minimum frame without FCS); fcs appends the CRC-32."""
    def frame(pkt, src, dst):
        etype, payload = _ethertype(pkt), pkt
        for tpid, vid in reversed(tags):
            payload, etype = vlan(vid, etype, payload), tpid
        f = ether(dst.mac, src.mac, etype, payload)
        f += bytes(max(0, min_len - len(f)))
        return f + ethernet_fcs(f) if fcs else f
    return frame


def pppoe_framer(session_id):
    def frame(pkt, src, dst):
        proto = PPP_IPV4 if pkt[0] >> 4 == 4 else PPP_IPV6
        return ether(dst.mac, src.mac, ETH_PPPOE_SESSION, pppoe_session(session_id, proto, pkt))
    return frame


def mpls_framer(labels):
    def frame(pkt, src, dst):
        return ether(dst.mac, src.mac, ETH_MPLS, mpls(labels, pkt))
    return frame


def sll_framer(me, v2=False, ifindex=2):
    """Linux cooked capture taken on host `me`: its own packets are OUTGOING."""
    def frame(pkt, src, dst):
        pkttype = SLL_OUTGOING if src is me else SLL_HOST
        if v2:
            return linux_sll2(_ethertype(pkt), ifindex, pkttype, mac(src.mac), pkt)
        return linux_sll(pkttype, mac(src.mac), _ethertype(pkt), pkt)
    return frame


def null_framer(af_inet6, byteorder):
    """DLT_NULL ('<': host order, little-endian) or DLT_LOOP ('!'): a 4-byte address family."""
    def frame(pkt, src, dst):
        af = 2 if pkt[0] >> 4 == 4 else af_inet6
        return struct.pack(byteorder + "I", af) + pkt
    return frame


def raw_framer():
    return lambda pkt, src, dst: pkt


class Net:
    """What one capture sees: packets framed by `framer`, appended on a fixed clock."""

    def __init__(self, cap, framer):
        self.cap = cap
        self.framer = framer

    def send(self, pkt, src, dst, dt_us=0):
        self.cap.add(self.framer(pkt, src, dst), dt_us)

    def udp(self, src, dst, sport, dport, payload, dt_us=0):
        self.send(ip_packet(src, dst, PROTO_UDP, udp(src.ip, dst.ip, sport, dport, payload)),
                  src, dst, dt_us)

    def dns(self, client, server, sport, query, answer=None, dt_us=0, rtt_us=12 * MS, dport=53):
        """A DNS query and, unless answer is None, its answer rtt_us later."""
        self.udp(client, server, sport, dport, query, dt_us)
        if answer is not None:
            self.udp(server, client, dport, sport, answer, rtt_us)


class OneWayNet(Net):
    """A capture point that sees only the packets `only` sends (asymmetric routing): the other
    side's packets are sent (IP ids used up, time passes) but never recorded."""

    def __init__(self, cap, framer, only):
        super().__init__(cap, framer)
        self.only = only

    def send(self, pkt, src, dst, dt_us=0):
        if src is self.only:
            super().send(pkt, src, dst, dt_us)
        else:
            self.cap.t += dt_us


class TcpSession:
    """One TCP connection with correct seq/ack on both sides; every method emits one segment
    dt_us after the previous packet of the capture. All data is assumed received, so each
    segment acknowledges everything the other side has sent so far."""

    SYN_OPTS = tcp_options(mss=1460, wscale=7, sack_perm=True)

    def __init__(self, net, client, cport, server, sport, client_isn, server_isn):
        self.net = net
        self.ends = {True: (client, cport), False: (server, sport)}
        self.isn = {True: client_isn, False: server_isn}
        self.nxt = dict(self.isn)                          # next sequence number per side

    def _seg(self, from_client, flags, payload=b"", dt_us=0, window=502, options=b"", seq=None,
             ack=None, captured=True):
        """One segment. captured=False: the host sends it (its IP id is used up) but the capture
        point never sees it."""
        (src, sp), (dst, dp) = self.ends[from_client], self.ends[not from_client]
        if seq is None:
            seq = self.nxt[from_client]
        if ack is None:
            ack = self.nxt[not from_client] if flags & ACK else 0
        seg = tcp(src.ip, dst.ip, sp, dp, seq, ack, flags, payload, window, options)
        pkt = ip_packet(src, dst, PROTO_TCP, seg, df=True)
        if captured:
            self.net.send(pkt, src, dst, dt_us)
        else:
            self.net.cap.t += dt_us                        # time passes all the same

    def syn(self, dt_us=0):
        """Client SYN (calling it again retransmits it: same sequence number)."""
        self._seg(True, SYN, dt_us=dt_us, window=64240, options=self.SYN_OPTS,
                  seq=self.isn[True])
        self.nxt[True] = self.isn[True] + 1

    def syn_ack(self, dt_us=0):
        self._seg(False, SYN | ACK, dt_us=dt_us, window=65160, options=self.SYN_OPTS,
                  seq=self.isn[False])
        self.nxt[False] = self.isn[False] + 1

    def refuse(self, dt_us=0):
        """The server's answer to a SYN on a closed port: RST+ACK, seq 0, window 0."""
        self._seg(False, RST | ACK, dt_us=dt_us, window=0, seq=0)

    def ack(self, from_client, dt_us=0, ack=None, options=b""):
        """A pure ACK; ack/options override the acknowledgment number (default: everything the
        other side sent) and add TCP options (e.g. sack_option)."""
        self._seg(from_client, ACK, dt_us=dt_us, ack=ack, options=options)

    def handshake(self, rtt_us=20 * MS, dt_us=0):
        """SYN at t (dt_us after the previous packet), SYN-ACK at t + rtt/2, ACK at t + rtt."""
        self.syn(dt_us)
        self.syn_ack(rtt_us // 2)
        self.ack(True, rtt_us // 2)

    def send(self, from_client, data, dt_us=0, flags=PSH | ACK, captured=True):
        """The next data segment of one side; captured=False loses it on the way to the capture
        point (the sequence space and the other side's ACKs still cover it)."""
        self._seg(from_client, flags, data, dt_us=dt_us, captured=captured)
        self.nxt[from_client] += len(data)

    def resend(self, from_client, data, seq, dt_us=0, flags=PSH | ACK):
        """A data segment at an explicit sequence number (out of order, or a retransmission);
        the side's next sequence number is not changed."""
        self._seg(from_client, flags, data, dt_us=dt_us, seq=seq)

    def resume(self, client_sent, server_sent):
        """Pretend the connection already carried this many payload bytes each way (a capture
        that starts mid-stream): the next sequence numbers are ISN + 1 + bytes sent."""
        self.nxt = {True: self.isn[True] + 1 + client_sent,
                    False: self.isn[False] + 1 + server_sent}

    def fin(self, from_client, dt_us=0):
        self._seg(from_client, FIN | ACK, dt_us=dt_us)
        self.nxt[from_client] += 1

    def rst(self, from_client, dt_us=0, with_ack=True):
        self._seg(from_client, RST | (ACK if with_ack else 0), dt_us=dt_us, window=0)

    def close(self, from_client=True, dt_us=0, rtt_us=10 * MS):
        """Orderly four-way close: FIN, pure ACK, FIN from the other side, last ACK."""
        self.fin(from_client, dt_us)
        self.ack(not from_client, rtt_us // 2)
        self.fin(not from_client, 1 * MS)
        self.ack(from_client, rtt_us // 2)


# ---------------------------------------------------------------------------------------------
# the captures

CAPTURES = []


def capture(filename):
    def register(fn):
        CAPTURES.append((filename, fn))
        return fn
    return register


def v4_pair(client_ip="10.0.0.5", server_ip="10.0.0.53"):
    return (Host(client_ip, "02:00:00:00:00:05", 0x1000),
            Host(server_ip, "02:00:00:00:00:53", 0x5300))


def v6_pair(client_ip="2001:db8::5", server_ip="2001:db8::53"):
    return (Host(client_ip, "02:00:00:00:00:05"), Host(server_ip, "02:00:00:00:00:53"))


def simple_dns(net, client, server, sport, ident, qname="www.example.com", qtype="A",
               answer="10.0.1.10", dt_us=0):
    """One query and answer with a single record of qtype."""
    q, r = dns_pair(ident, qname, qtype, [rr(qname, qtype, answer)])
    net.dns(client, server, sport, q, r, dt_us)


@capture("dns-udp-ipv4.pcap")
def cap_dns_udp_ipv4():
    cap = Capture()
    net, (c, s) = Net(cap, eth_framer()), v4_pair()
    net.dns(c, s, 51000, *dns_pair(0x1A01, "www.example.com", "A", [
        rr("www.example.com", "CNAME", "example.com", ttl=3600),
        rr("example.com", "A", "10.0.1.10"),
        rr("example.com", "A", "10.0.1.11")]))
    net.dns(c, s, 51000, *dns_pair(0x1A02, "example.com", "AAAA", [
        rr("example.com", "AAAA", "2001:db8::80")]), dt_us=100 * MS)
    net.dns(c, s, 51000, *dns_pair(0x1A03, "nonexistent.example.com", "A", [],
                                   authority=[EXAMPLE_SOA], rcode="NXDOMAIN"), dt_us=100 * MS)
    net.dns(c, s, 51000, dns_pair(0x1A04, "unanswered.example.com", "A")[0], None, dt_us=100 * MS)
    return cap


@capture("dns-udp-ipv6.pcap")
def cap_dns_udp_ipv6():
    cap = Capture()
    net, (c, s) = Net(cap, eth_framer()), v6_pair()
    simple_dns(net, c, s, 40000, 0x6A01, "www.example.com", "A", "10.0.1.10")
    net.dns(c, s, 40000, *dns_pair(0x6A02, "example.com", "MX", [
        rr("example.com", "MX", (10, "mail1.example.com"), ttl=3600),
        rr("example.com", "MX", (20, "mail2.example.com"), ttl=3600)]), dt_us=100 * MS)
    net.dns(c, s, 40000, *dns_pair(0x6A03, "example.com", "TXT", [
        rr("example.com", "TXT", "v=spf1 ip4:10.0.1.0/24 -all", ttl=3600)]), dt_us=100 * MS)
    return cap


@capture("dns-vlan.pcap")
def cap_dns_vlan():
    cap = Capture()
    framer = eth_framer(tags=[(ETH_VLAN, 100)])
    net, (c, s) = Net(cap, framer), v4_pair("192.168.100.5", "192.168.100.53")
    simple_dns(net, c, s, 51100, 0x0100, "vlan.example.com", "A", "192.168.100.80")
    return cap


@capture("dns-qinq.pcap")
def cap_dns_qinq():
    cap = Capture()
    framer = eth_framer(tags=[(ETH_QINQ, 200), (ETH_VLAN, 300)])
    net, (c, s) = Net(cap, framer), v4_pair("192.168.30.5", "192.168.30.53")
    simple_dns(net, c, s, 51200, 0x0200, "qinq.example.com", "A", "192.168.30.80")
    return cap


@capture("dns-sll.pcap")
def cap_dns_sll():
    cap = Capture(LINKTYPE_LINUX_SLL)
    c, s = v4_pair()
    simple_dns(Net(cap, sll_framer(c)), c, s, 51300, 0x1300, "sll.example.com", "A", "10.0.1.13")
    return cap


@capture("dns-sll2.pcap")
def cap_dns_sll2():
    cap = Capture(LINKTYPE_LINUX_SLL2)
    c, s = v4_pair()
    simple_dns(Net(cap, sll_framer(c, v2=True)), c, s, 51301, 0x1301, "sll2.example.com", "A",
               "10.0.1.14")
    return cap


def _v4_and_v6_dns(cap, framer, sport, ident, name, v6_client="2001:db8::5",
                   v6_server="2001:db8::53"):
    """A query + answer over IPv4, then one over IPv6 (for the non-Ethernet link types)."""
    net = Net(cap, framer)
    c, s = v4_pair()
    simple_dns(net, c, s, sport, ident, name, "A", "10.0.1.20")
    c6, s6 = v6_pair(v6_client, v6_server)
    simple_dns(net, c6, s6, sport + 1, ident + 1, name, "AAAA", "2001:db8::20", dt_us=100 * MS)
    return cap


@capture("dns-null.pcap")
def cap_dns_null():
    # DLT_NULL: AF in the capturing host's byte order (little-endian); AF_INET6 = 30 (macOS).
    return _v4_and_v6_dns(Capture(LINKTYPE_NULL), null_framer(30, "<"), 51400, 0x1400,
                          "null.example.com")


@capture("dns-loop.pcap")
def cap_dns_loop():
    # DLT_LOOP: AF in network byte order; AF_INET6 = 24 (OpenBSD).
    return _v4_and_v6_dns(Capture(LINKTYPE_LOOP), null_framer(24, "!"), 51500, 0x1500,
                          "loop.example.com")


@capture("dns-raw.pcap")
def cap_dns_raw():
    return _v4_and_v6_dns(Capture(LINKTYPE_RAW), raw_framer(), 51600, 0x1600, "raw.example.com",
                          "fd00::5", "fd00::53")


@capture("dns-pppoe.pcap")
def cap_dns_pppoe():
    cap = Capture()
    c = Host("10.64.0.5", "02:00:00:00:00:05", 0x1000)        # PPPoE client
    s = Host("10.0.0.53", "02:00:00:00:00:fe", 0x5300)        # MAC = the access concentrator's
    simple_dns(Net(cap, pppoe_framer(0x1234)), c, s, 51700, 0x1700, "pppoe.example.com", "A",
               "10.0.1.17")
    return cap


@capture("dns-mpls.pcap")
def cap_dns_mpls():
    cap = Capture()
    c, s = v4_pair()
    framer = mpls_framer([(16001, 0, 64), (24005, 0, 64)])
    simple_dns(Net(cap, framer), c, s, 51800, 0x1800, "mpls.example.com", "A", "10.0.1.18")
    return cap


def _big_txt_answer(ident, qname):
    """A query with EDNS0 (4096) and a ~3000-byte TXT answer: 11 records of one 255-byte string."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    answers = []
    for i in range(11):
        head = "chunk-%02d:" % i
        body = (alphabet * 8)[i: i + 255 - len(head)]
        answers.append(rr(qname, "TXT", head + body, ttl=600))
    return dns_pair(ident, qname, "TXT", answers, edns=True)


@capture("dns-fragmented.pcap")
def cap_dns_fragmented():
    cap = Capture()
    net, (c, s) = Net(cap, eth_framer()), v4_pair()
    q, r = _big_txt_answer(0x1F01, "big.example.com")
    net.udp(c, s, 51900, 53, q)
    frags = fragment_ipv4(s.ip, c.ip, PROTO_UDP, udp(s.ip, c.ip, 53, 51900, r), ident=s.next_id())
    assert len(frags) == 3
    for i, f in enumerate([frags[2], frags[0], frags[1]]):      # last fragment first
        net.send(f, s, c, 12 * MS if i == 0 else 100)
    return cap


@capture("dns-fragmented-ipv6.pcap")
def cap_dns_fragmented_ipv6():
    cap = Capture()
    net, (c, s) = Net(cap, eth_framer()), v6_pair()
    q, r = _big_txt_answer(0x1F02, "big.example.com")
    net.udp(c, s, 41900, 53, q)
    frags = fragment_ipv6(s.ip, c.ip, PROTO_UDP, udp(s.ip, c.ip, 53, 41900, r), ident=0x0000F602)
    assert len(frags) == 3
    for i, f in enumerate(frags):
        net.send(f, s, c, 12 * MS if i == 0 else 100)
    return cap


def tcp_hosts():
    return (Host("10.0.0.5", "02:00:00:00:00:05", 0x2000),
            Host("10.0.0.80", "02:00:00:00:00:80", 0x8000))


@capture("tcp-refused.pcap")
def cap_tcp_refused():
    cap = Capture()
    c, s = tcp_hosts()
    t = TcpSession(Net(cap, eth_framer()), c, 40001, s, 8081, 0x10000001, 0)
    t.syn()
    t.refuse(1 * MS)
    return cap


@capture("tcp-unanswered-syn.pcap")
def cap_tcp_unanswered_syn():
    cap = Capture()
    c, s = tcp_hosts()
    t = TcpSession(Net(cap, eth_framer()), c, 40002, s, 8082, 0x20000001, 0)
    t.syn()
    t.syn(1 * SEC)
    t.syn(2 * SEC)
    return cap


@capture("tcp-open-close.pcap")
def cap_tcp_open_close():
    cap = Capture()
    c, s = tcp_hosts()
    t = TcpSession(Net(cap, eth_framer()), c, 40003, s, 9000, 0x30000001, 0x70000001)
    t.handshake(rtt_us=20 * MS)
    t.send(True, b"hello\n", 5 * MS)
    t.ack(False, 10 * MS)
    t.send(False, b"world\n", 1 * MS)
    t.ack(True, 10 * MS)
    t.close(from_client=True, dt_us=50 * MS, rtt_us=20 * MS)
    return cap


@capture("link-ethernet-padding.pcap")
def cap_link_ethernet_padding():
    cap = Capture()
    c, s = v4_pair()
    # A capture that kept the FCS. The root NS query (17 bytes of DNS) makes a 59-byte frame:
    # padded to 60, then the 4-byte FCS. Only the IP total length (45) and UDP length (25) tell
    # where the message ends; the answer frame also ends in an FCS beyond the IP packet.
    q, r = dns_pair(0x0E01, ".", "NS", [rr(".", "NS", "a.root-servers.example", ttl=518400)])
    Net(cap, eth_framer(min_len=60, fcs=True)).dns(c, s, 52000, q, r)
    return cap


@capture("ipv6-ext-headers.pcap")
def cap_ipv6_ext_headers():
    cap = Capture()
    net, (c, s) = Net(cap, eth_framer()), v6_pair()
    q, r = dns_pair(0x6E01, "ext.example.com", "A", [rr("ext.example.com", "A", "10.0.1.60")])
    # query: IPv6 -> Hop-by-Hop (Router Alert) -> Destination Options (experimental 0x1e) -> UDP
    dstopts = ipv6_options_header(PROTO_UDP, bytes([0x1E, 4]) + b"\xde\xad\xbe\xef")
    hbh = ipv6_options_header(PROTO_DSTOPTS, bytes([0x05, 2, 0, 0]))
    net.send(ipv6(c.ip, s.ip, PROTO_HOPOPTS, hbh + dstopts + udp(c.ip, s.ip, 42000, 53, q)), c, s)
    # answer: IPv6 -> AH (12-byte ICV, 24 bytes, Payload Len 4) -> UDP
    ah = ah_header(PROTO_UDP, spi=0x00000AA1, seq=1, icv=bytes(range(0xA0, 0xAC)))
    net.send(ipv6(s.ip, c.ip, PROTO_AH, ah + udp(s.ip, c.ip, 53, 42000, r)), s, c, 12 * MS)
    # ESP: opaque from the SPI on; nothing after it may be decoded
    opaque = bytes((i * 37 + 11) & 0xFF for i in range(64))
    net.send(ipv6(c.ip, s.ip, PROTO_ESP, esp(0x00000E51, 1, opaque)), c, s, 100 * MS)
    return cap


@capture("snaplen-truncated.pcap")
def cap_snaplen_truncated():
    cap = Capture(snaplen=96)
    net, (c, s) = Net(cap, eth_framer()), v4_pair()
    net.dns(c, s, 52100, *dns_pair(0x5A01, "www.example.com", "A", [
        rr("www.example.com", "CNAME", "example.com", ttl=3600),
        rr("example.com", "A", "10.0.1.10"),
        rr("example.com", "A", "10.0.1.11")]))
    return cap


@capture("demo.pcap")
def cap_demo():
    """A small mixed capture as a receiving NIC would show it (short frames padded to 60)."""
    cap = Capture()
    net = Net(cap, eth_framer(min_len=60))
    alice = Host("10.0.0.5", "02:00:00:00:00:05", 0x3000)
    bob = Host("10.0.0.6", "02:00:00:00:00:06", 0x6000)
    dns = Host("10.0.0.53", "02:00:00:00:00:53", 0x5300)
    app = Host("10.0.0.80", "02:00:00:00:00:80", 0x8000)
    db = Host("10.0.0.81", "02:00:00:00:00:81", 0x8100)

    net.dns(alice, dns, 53001, *dns_pair(0xD001, "app.example.com", "A", [
        rr("app.example.com", "A", "10.0.0.80")]))
    net.dns(alice, dns, 53002, *dns_pair(0xD002, "app.example.com", "AAAA", [],
                                         authority=[EXAMPLE_SOA]), dt_us=1 * MS)
    t = TcpSession(net, alice, 40100, app, 9000, 0x41000001, 0x81000001)
    t.handshake(rtt_us=2 * MS, dt_us=30 * MS)
    t.send(True, b"hello\n", 1 * MS)
    t.ack(False, 1 * MS)
    t.send(False, b"world\n", 1 * MS)
    t.ack(True, 1 * MS)
    t.close(from_client=True, dt_us=20 * MS, rtt_us=2 * MS)

    net.dns(alice, dns, 53003, *dns_pair(0xD003, "db.example.com", "A", [
        rr("db.example.com", "A", "10.0.0.81")]), dt_us=200 * MS)
    refused = TcpSession(net, alice, 40101, db, 5432, 0x42000001, 0)
    refused.syn(5 * MS)
    refused.refuse(1 * MS)

    net.dns(bob, dns, 53101, *dns_pair(0xD101, "nonexistent.example.com", "A", [],
                                       authority=[EXAMPLE_SOA], rcode="NXDOMAIN"), dt_us=300 * MS)
    net.dns(bob, dns, 53102, *dns_pair(0xD102, "www.example.com", "A", [
        rr("www.example.com", "CNAME", "example.com", ttl=3600),
        rr("example.com", "A", "10.0.0.80")]), dt_us=5 * MS)
    t2 = TcpSession(net, bob, 40200, app, 9000, 0x62000001, 0x82000001)
    t2.handshake(rtt_us=2 * MS, dt_us=20 * MS)
    t2.send(True, b"hello from bob\n", 1 * MS)
    t2.ack(False, 1 * MS)
    t2.rst(True, 50 * MS)
    return cap


# ---------------------------------------------------------------------------------------------
# HTTP, TLS, WebSocket and DNS-over-TCP payloads

HTTP_DATE = "Tue, 14 Nov 2023 22:13:20 GMT"     # START_US as an HTTP date


def http_request(method, uri, host="www.example.com", headers=(), body=b"", ua="curl/8.0",
                 accept="*/*"):
    """A request as curl writes it; Content-Length is added when there is a body."""
    lines = ["%s %s HTTP/1.1" % (method, uri), "Host: " + host, "User-Agent: " + ua]
    lines += (["Accept: " + accept] if accept else []) + ["%s: %s" % h for h in headers]
    if body:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


def http_response(status, reason, headers=(), body=b""):
    """A response as nginx writes it: Server and Date first, then `headers` as given (the caller
    says how the body is delimited: Content-Length, chunked, or nothing)."""
    lines = ["HTTP/1.1 %d %s" % (status, reason), "Server: nginx", "Date: " + HTTP_DATE]
    lines += ["%s: %s" % h for h in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


def length_headers(content_type, body):
    return [("Content-Type", content_type), ("Content-Length", str(len(body))),
            ("Connection", "keep-alive")]


def chunk(data):
    """One chunk of a chunked body; chunk(b"") is the last-chunk plus the empty trailer."""
    return b"%x\r\n" % len(data) + data + b"\r\n"


def text_body(n, what):
    """n bytes of numbered text lines (for bodies whose size matters, not their content)."""
    out, i = b"", 0
    while len(out) < n:
        out += b"%s line %04d: the quick brown fox jumps over the lazy dog\n" % (what, i)
        i += 1
    return out[:n]


INDEX_HTML = (b"<!doctype html>\n<html><head><title>Example Domain</title>\n"
              b"<link rel=\"stylesheet\" href=\"/style.css\"></head>\n"
              b"<body><h1>Example Domain</h1><p>For use in documentation.</p></body></html>\n")
NOT_FOUND_HTML = (b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
                  b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
                  b"</body>\r\n</html>\r\n")


def tls_record(content_type, version, body):
    return struct.pack("!BHH", content_type, version, len(body)) + body


def tls_handshake(msg_type, body):
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def tls_ext(ext_type, data):
    return struct.pack("!HH", ext_type, len(data)) + data


def tls_client_hello(sni, alpn=("h2", "http/1.1")):
    """A TLS 1.3-capable ClientHello as one record (record version 0x0301, legacy_version
    0x0303): SNI, supported_groups, ec_point_formats, signature_algorithms, ALPN,
    supported_versions (1.3, 1.2), psk_key_exchange_modes and an x25519 key share."""
    name = sni.encode("ascii")
    protos = b"".join(bytes([len(p)]) + p.encode("ascii") for p in alpn)
    exts = (tls_ext(0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name)
            + tls_ext(10, struct.pack("!HHH", 4, 0x001D, 0x0017))
            + tls_ext(11, b"\x01\x00")
            + tls_ext(13, struct.pack("!HHHHH", 8, 0x0403, 0x0804, 0x0401, 0x0503))
            + tls_ext(16, struct.pack("!H", len(protos)) + protos)
            + tls_ext(43, b"\x04\x03\x04\x03\x03")
            + tls_ext(45, b"\x01\x01")
            + tls_ext(51, struct.pack("!HHH", 36, 0x001D, 32) + bytes(range(0x60, 0x80))))
    suites = (0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F)
    body = (struct.pack("!H", 0x0303) + bytes(range(0x20, 0x40))            # random
            + b"\x20" + bytes(range(0x40, 0x60))                              # session id
            + struct.pack("!H%dH" % len(suites), 2 * len(suites), *suites)
            + b"\x01\x00"                                                     # null compression
            + struct.pack("!H", len(exts)) + exts)
    return tls_record(0x16, 0x0301, tls_handshake(1, body))


def tls_server_hello_flight():
    """A TLS 1.3 ServerHello (TLS_AES_128_GCM_SHA256, x25519, echoing the ClientHello's session
    id), a ChangeCipherSpec and one opaque application_data record, record version 0x0303."""
    exts = (tls_ext(43, b"\x03\x04")
            + tls_ext(51, struct.pack("!HH", 0x001D, 32) + bytes(range(0xA0, 0xC0))))
    body = (struct.pack("!H", 0x0303) + bytes(range(0x80, 0xA0))            # random
            + b"\x20" + bytes(range(0x40, 0x60)) + struct.pack("!HB", 0x1301, 0)
            + struct.pack("!H", len(exts)) + exts)
    opaque = bytes((i * 73 + 5) & 0xFF for i in range(48))
    return (tls_record(0x16, 0x0303, tls_handshake(2, body)) + tls_record(0x14, 0x0303, b"\x01")
            + tls_record(0x17, 0x0303, opaque))


WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode("ascii")).digest()).decode()


def ws_frame(opcode, payload, mask=None):
    """One final WebSocket frame (RFC 6455); mask = 4-byte key for client frames."""
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        hdr = struct.pack("!BB", 0x80 | opcode, m | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", 0x80 | opcode, m | 126, n)
    else:
        hdr = struct.pack("!BBQ", 0x80 | opcode, m | 127, n)
    if mask:
        hdr += mask
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return hdr + payload


WS_BINARY, WS_CLOSE = 0x2, 0x8


def dns_tcp(msg):
    """A DNS message framed for TCP: 2-byte length prefix (RFC 1035 4.2.2)."""
    return struct.pack("!H", len(msg)) + msg


# ---------------------------------------------------------------------------------------------
# HTTP and other TCP conversations


def simple_http_get(t, rtt_us=10 * MS):
    """Handshake, GET / and a 200 with a Content-Length body, client ACK, client-first close."""
    t.handshake(rtt_us=rtt_us)
    t.send(True, http_request("GET", "/"), 1 * MS)
    t.send(False, http_response(200, "OK", length_headers("text/html", INDEX_HTML), INDEX_HTML),
           rtt_us // 2 + 1 * MS)
    t.ack(True, rtt_us // 2)
    t.close(from_client=True, dt_us=100 * MS, rtt_us=rtt_us)


@capture("http-keepalive.pcap")
def cap_http_keepalive():
    cap = Capture()
    c, s = tcp_hosts()
    t = TcpSession(Net(cap, eth_framer()), c, 40300, s, 80, 0x43000001, 0x83000001)
    t.handshake(rtt_us=10 * MS)
    # 1: GET / -> 200, Content-Length body
    t.send(True, http_request("GET", "/"), 1 * MS)
    t.send(False, http_response(200, "OK", length_headers("text/html", INDEX_HTML), INDEX_HTML),
           6 * MS)
    t.ack(True, 5 * MS)
    # 2: GET /style.css -> 200 chunked: two chunks + last-chunk; the 2nd chunk is cut in two
    css1 = b"body { margin: 0; font-family: sans-serif; }\n"
    css2 = b"h1 { color: #336; font-size: 2em; }\np { line-height: 1.5; }\n"
    resp = http_response(200, "OK", [("Content-Type", "text/css"),
                                      ("Transfer-Encoding", "chunked"),
                                      ("Connection", "keep-alive")],
                         chunk(css1) + chunk(css2) + chunk(b""))
    cut = resp.index(css2) + 20
    t.send(True, http_request("GET", "/style.css"), 40 * MS)
    t.send(False, resp[:cut], 6 * MS, flags=ACK)
    t.send(False, resp[cut:], 1 * MS)
    t.ack(True, 5 * MS)
    # 3: GET /missing -> 404, Content-Length body
    t.send(True, http_request("GET", "/missing"), 40 * MS)
    t.send(False, http_response(404, "Not Found", length_headers("text/html", NOT_FOUND_HTML),
                                NOT_FOUND_HTML), 6 * MS)
    t.ack(True, 5 * MS)
    t.close(from_client=True, dt_us=100 * MS, rtt_us=10 * MS)
    return cap


@capture("http-pipelined.pcap")
def cap_http_pipelined():
    cap = Capture()
    c, s = tcp_hosts()
    t = TcpSession(Net(cap, eth_framer()), c, 40301, s, 80, 0x43010001, 0x83010001)
    t.handshake(rtt_us=10 * MS)
    etag = '"65540000-64"'
    t.send(True, http_request("GET", "/a") + http_request("HEAD", "/b")
           + http_request("GET", "/c", headers=[("If-None-Match", etag)]), 1 * MS)
    r1 = http_response(200, "OK", length_headers("text/plain", b"hello"), b"hello")
    r2 = http_response(200, "OK", [("Content-Type", "application/octet-stream"),
                                   ("Content-Length", "1000"), ("Connection", "keep-alive")])
    r3 = http_response(304, "Not Modified", [("ETag", etag), ("Connection", "keep-alive")])
    # segment 1 ends inside r1's body; segment 2 = the end of r1 + the start of r2's status
    # line; segment 3 = the rest of r2 + all of r3
    segs = [r1[:-3], r1[-3:] + r2[:20], r2[20:] + r3]
    t.send(False, segs[0], 6 * MS, flags=ACK)
    t.send(False, segs[1], 1 * MS, flags=ACK)
    t.ack(True, 1 * MS)
    t.send(False, segs[2], 1 * MS)
    t.ack(True, 5 * MS)
    t.close(from_client=True, dt_us=100 * MS, rtt_us=10 * MS)
    return cap


@capture("http-nonstandard-port.pcap")
def cap_http_nonstandard_port():
    cap = Capture()
    c, s = tcp_hosts()
    simple_http_get(TcpSession(Net(cap, eth_framer()), c, 40302, s, 8081, 0x43020001,
                               0x83020001))
    return cap


@capture("http-ipv6.pcap")
def cap_http_ipv6():
    cap = Capture()
    c = Host("2001:db8::5", "02:00:00:00:00:05")
    s = Host("2001:db8::80", "02:00:00:00:00:80")
    simple_http_get(TcpSession(Net(cap, eth_framer()), c, 40303, s, 80, 0x43030001, 0x83030001))
    return cap


@capture("http-midstream.pcap")
def cap_http_midstream():
    cap = Capture()
    c = Host("10.0.0.5", "02:00:00:00:00:05", 0x2A17)
    s = Host("10.0.0.80", "02:00:00:00:00:80", 0x8B02)
    t = TcpSession(Net(cap, eth_framer()), c, 40304, s, 80, 0x9A3C5E01, 0xC4D2E7F1)
    # before the capture: the handshake, GET / (its request) and the 200 (its response)
    first_req = http_request("GET", "/")
    first_resp = http_response(200, "OK", length_headers("text/html", INDEX_HTML), INDEX_HTML)
    t.resume(len(first_req), len(first_resp))
    page2 = b"<!doctype html>\n<html><body><h1>Page 2</h1></body></html>\n"
    t.send(True, http_request("GET", "/page2"))
    t.send(False, http_response(200, "OK", length_headers("text/html", page2), page2), 6 * MS)
    t.ack(True, 5 * MS)
    t.close(from_client=True, dt_us=100 * MS, rtt_us=10 * MS)
    return cap


@capture("tcp-lost-segments.pcap")
def cap_tcp_lost_segments():
    cap = Capture()
    c, s = tcp_hosts()
    t = TcpSession(Net(cap, eth_framer()), c, 40305, s, 80, 0x43050001, 0x83050001)
    t.handshake(rtt_us=10 * MS)
    upload = text_body(3000, b"upload")
    req = http_request("POST", "/upload", headers=[("Content-Type", "text/plain")], body=upload)
    head = len(req) - len(upload)
    # the body in 3 segments of 1000 bytes (the first also carries the header); the middle one
    # never reaches the capture point, the server's ACKs cover it
    t.send(True, req[:head + 1000], 1 * MS, flags=ACK)
    t.send(True, req[head + 1000: head + 2000], 100, flags=ACK, captured=False)
    t.ack(False, 5 * MS)
    t.send(True, req[head + 2000:], 100)
    body = text_body(4000, b"result")
    resp = http_response(200, "OK", length_headers("text/plain", body), body)
    head = len(resp) - len(body)
    # the body in 3 segments: 1400 (with the header), 1400 (lost), 1200
    t.send(False, resp[:head + 1400], 6 * MS, flags=ACK)
    t.send(False, resp[head + 1400: head + 2800], 100, flags=ACK, captured=False)
    t.ack(True, 5 * MS)
    t.send(False, resp[head + 2800:], 100)
    t.ack(True, 5 * MS)
    t.close(from_client=True, dt_us=100 * MS, rtt_us=10 * MS)
    return cap


@capture("tcp-reorder-retrans.pcap")
def cap_tcp_reorder_retrans():
    cap = Capture()
    c, s = tcp_hosts()
    t = TcpSession(Net(cap, eth_framer()), c, 40306, s, 80, 0x43060001, 0x83060001)
    t.handshake(rtt_us=10 * MS)
    t.send(True, http_request("GET", "/data.bin"), 1 * MS)
    body = bytes((i * 7 + i // 256) & 0xFF for i in range(6000))
    resp = http_response(200, "OK", length_headers("application/octet-stream", body), body)
    head = len(resp) - len(body)
    base = t.nxt[False]
    # segment k (1..6) = body bytes 1000(k-1) .. 1000k; segment 1 also carries the header
    bounds = [0] + [head + 1000 * k for k in range(1, 7)]
    seq = [None] + [base + bounds[k - 1] for k in range(1, 7)]      # seq[k]: start of k
    end = [None] + [base + bounds[k] for k in range(1, 7)]          # end[k]: end of k

    def seg(k, dt_us):
        t.resend(False, resp[bounds[k - 1]: bounds[k]], seq[k], dt_us,
                 flags=PSH | ACK if k == 6 else ACK)

    def client_ack(ack, blocks, dt_us=100):
        t.ack(True, dt_us, ack=ack, options=sack_option(blocks) if blocks else b"")

    # arrival order 1, 3, 2, 5, 4, 6; the client ACKs each arrival (SACK for the holes)
    seg(1, 6 * MS)
    client_ack(end[1], [])
    seg(3, 200)
    client_ack(end[1], [(seq[3], end[3])])
    seg(2, 200)
    client_ack(end[3], [])
    seg(5, 200)
    client_ack(end[3], [(seq[5], end[5])])
    seg(4, 200)
    client_ack(end[5], [])
    seg(6, 200)
    client_ack(end[6], [])
    t.nxt[False] = end[6]
    # spurious retransmissions, identical bytes: 3, then 5, then one that covers the last 500
    # bytes of 4 and the first 500 of 5. The client answers each with a D-SACK (RFC 2883)
    seg(3, 200 * MS)
    client_ack(end[6], [(seq[3], end[3])])
    seg(5, 1 * MS)
    client_ack(end[6], [(seq[5], end[5])])
    ov_from, ov_to = bounds[4] - 500, bounds[4] + 500
    t.resend(False, resp[ov_from: ov_to], base + ov_from, 1 * MS, flags=ACK)
    client_ack(end[6], [(base + ov_from, base + ov_to)])
    t.close(from_client=True, dt_us=100 * MS, rtt_us=10 * MS)
    return cap


@capture("tcp-one-direction.pcap")
def cap_tcp_one_direction():
    cap = Capture()
    c, s = tcp_hosts()
    net = OneWayNet(cap, eth_framer(), only=c)
    t = TcpSession(net, c, 40307, s, 80, 0x43070001, 0x83070001)
    t.handshake(rtt_us=10 * MS)
    t.send(True, http_request("GET", "/download"), 1 * MS)
    body = text_body(2000, b"download")
    resp = http_response(200, "OK", length_headers("text/plain", body), body)
    t.send(False, resp[:1448], 6 * MS, flags=ACK)
    t.ack(True, 100)
    t.send(False, resp[1448:], 100)
    t.ack(True, 100)
    t.close(from_client=True, dt_us=100 * MS, rtt_us=10 * MS)
    return cap


@capture("dns-tcp.pcap")
def cap_dns_tcp():
    cap = Capture()
    c, s = v4_pair()
    t = TcpSession(Net(cap, eth_framer()), c, 40400, s, 53, 0x44000001, 0x54000001)
    t.handshake(rtt_us=10 * MS)
    q1, r1 = dns_pair(0x7001, "www.example.com", "A", [rr("www.example.com", "A", "10.0.1.10")])
    q2, r2 = dns_pair(0x7002, "www.example.com", "AAAA",
                      [rr("www.example.com", "AAAA", "2001:db8::80")])
    q3, r3 = dns_pair(0x7003, "example.com", "MX",
                      [rr("example.com", "MX", (10, "mail.example.com"), ttl=3600)])
    r2, r3 = dns_tcp(r2), dns_tcp(r3)
    t.send(True, dns_tcp(q1) + dns_tcp(q2), 1 * MS)      # two queries in one segment
    t.send(True, dns_tcp(q3), 1 * MS)
    t.send(False, dns_tcp(r1), 4 * MS)                   # the first answer alone
    t.send(False, r2[:22], 1 * MS)                       # length prefix + 20 bytes of answer 2
    t.send(False, r2[22:] + r3[:1], 100)                 # rest of 2 + 1st byte of 3's prefix
    t.send(False, r3[1:], 100)                           # 2nd byte of the prefix + answer 3
    t.ack(True, 5 * MS)
    t.close(from_client=True, dt_us=50 * MS, rtt_us=10 * MS)
    return cap


@capture("http-connect-tls.pcap")
def cap_http_connect_tls():
    cap = Capture()
    c = Host("10.0.0.5", "02:00:00:00:00:05", 0x2000)
    proxy = Host("10.0.0.8", "02:00:00:00:00:08", 0x0800)
    t = TcpSession(Net(cap, eth_framer()), c, 40308, proxy, 3128, 0x43080001, 0x83080001)
    t.handshake(rtt_us=10 * MS)
    t.send(True, http_request("CONNECT", "www.example.com:443", host="www.example.com:443",
                              accept=None, headers=[("Proxy-Connection", "Keep-Alive")]), 1 * MS)
    t.send(False, b"HTTP/1.1 200 Connection established\r\n\r\n", 30 * MS)
    t.send(True, tls_client_hello("www.example.com"), 1 * MS)
    t.send(False, tls_server_hello_flight(), 25 * MS)
    t.ack(True, 5 * MS)
    t.close(from_client=True, dt_us=100 * MS, rtt_us=10 * MS)
    return cap


@capture("http-websocket.pcap")
def cap_http_websocket():
    cap = Capture()
    c, s = tcp_hosts()
    t = TcpSession(Net(cap, eth_framer()), c, 40309, s, 80, 0x43090001, 0x83090001)
    t.handshake(rtt_us=10 * MS)
    key = "dGhlIHNhbXBsZSBub25jZQ=="                     # RFC 6455's example key
    t.send(True, http_request("GET", "/chat", headers=[
        ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"), ("Origin", "http://www.example.com")]), 1 * MS)
    t.send(False, b"HTTP/1.1 101 Switching Protocols\r\nServer: nginx\r\nDate: " +
           HTTP_DATE.encode("ascii") + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Accept: " + ws_accept(key).encode("ascii") + b"\r\n\r\n", 6 * MS)
    t.send(True, ws_frame(WS_BINARY, b"\x01\x00\x05hello", mask=b"\x37\xfa\x21\x3d"), 10 * MS)
    t.send(False, ws_frame(WS_BINARY, b"\x81\x00\x05HELLO"), 5 * MS)
    t.send(True, ws_frame(WS_BINARY, bytes(range(64)), mask=b"\xa1\x5b\x0c\x77"), 10 * MS)
    t.send(False, ws_frame(WS_BINARY, bytes((i * 3) & 0xFF for i in range(300))), 5 * MS)
    t.ack(True, 5 * MS)
    # closing handshake (status 1000 each way), then the server closes the TCP connection
    t.send(True, ws_frame(WS_CLOSE, struct.pack("!H", 1000), mask=b"\x0f\x1e\x2d\x3c"), 50 * MS)
    t.send(False, ws_frame(WS_CLOSE, struct.pack("!H", 1000)), 5 * MS)
    t.ack(True, 5 * MS)
    t.close(from_client=False, dt_us=1 * MS, rtt_us=10 * MS)
    return cap


# ---------------------------------------------------------------------------------------------
# TDS (MS-TDS): PRELOGIN, LOGIN7, SQL batch, RPC, and TLS inside PRELOGIN

TDS_PRELOGIN, TDS_LOGIN7, TDS_SQL_BATCH, TDS_RPC, TDS_RESULT = 0x12, 0x10, 0x01, 0x03, 0x04


def tds_packets(ptype, payload, size=4096, spid=0, first_id=1):
    """A TDS message cut into packets of at most `size` bytes (8-byte header included); the
    last one has status EOM (1)."""
    out, i, pid = b"", 0, first_id
    while True:
        part = payload[i:i + size - 8]
        i += len(part)
        eom = i >= len(payload)
        out += struct.pack("!BBHHBB", ptype, 1 if eom else 0, 8 + len(part), spid, pid & 0xFF, 0)
        out += part
        pid += 1
        if eom:
            return out


def tds_prelogin(options):
    """PRELOGIN option tokens (token, offset, length) then 0xFF, then the option data."""
    head_len = 5 * len(options) + 1
    head, data = b"", b""
    for token, value in options:
        head += struct.pack("!BHH", token, head_len + len(data), len(value))
        data += value
    return head + b"\xff" + data


def tds_version(major, minor, build, sub):
    return struct.pack("!BBH", major, minor, build) + struct.pack("<H", sub)  # as tshark reads it


def ucs2(text):
    return text.encode("utf-16-le")


def tds_login7(host, user, password, app, server, library, language, database):
    """A LOGIN7 message (TDS 7.4), strings UCS-2LE after the 94-byte fixed part; the password
    obfuscated as MS-TDS 2.2.6.4 says (nibbles swapped, then XOR 0xA5)."""
    pw = bytes((((b << 4) | (b >> 4)) & 0xFF) ^ 0xA5 for b in ucs2(password))
    fields = [ucs2(host), ucs2(user), pw, ucs2(app), ucs2(server), b"", ucs2(library),
              ucs2(language), ucs2(database)]
    chars = [len(host), len(user), len(password), len(app), len(server), 0, len(library),
             len(language), len(database)]
    offsets, data, at = b"", b"", 94
    for f, n in zip(fields, chars):
        offsets += struct.pack("<HH", at if n else 0, n)
        data += f
        at += len(f)
    fixed_tail = (b"\x00\x50\x56\xab\xcd\xef"       # ClientID (MAC)
                  + struct.pack("<HH", 0, 0)             # SSPI
                  + struct.pack("<HH", 0, 0)             # AtchDBFile
                  + struct.pack("<HH", 0, 0)             # ChangePassword
                  + struct.pack("<I", 0))                # cbSSPILong
    body = (struct.pack("<IIIII", 0x74000004, 4096, 0x07000000, 4242, 0)
            + bytes([0xE0, 0x03, 0x00, 0x00])            # OptionFlags1/2, TypeFlags, Flags3
            + struct.pack("<iI", -60, 0x0409)            # ClientTimeZone, ClientLCID
            + offsets + fixed_tail + data)
    return struct.pack("<I", 4 + len(body)) + body


def tds_all_headers():
    """ALL_HEADERS with one transaction descriptor header (TDS 7.2+)."""
    txn = struct.pack("<IHQI", 18, 2, 0, 1)
    return struct.pack("<I", 4 + len(txn)) + txn


def tds_token(token, body):
    return bytes([token]) + struct.pack("<H", len(body)) + body


def tds_bvarchar(text):
    return bytes([len(text)]) + ucs2(text)


def tds_usvarchar(text):
    return struct.pack("<H", len(text)) + ucs2(text)


def tds_done(status=0, rows=0):
    return b"\xfd" + struct.pack("<HHQ", status, 0, rows)


def tds_login_response(database):
    env = tds_token(0xE3, b"\x01" + tds_bvarchar(database) + tds_bvarchar("master"))
    info = tds_token(0xAB, struct.pack("<IBB", 5701, 2, 0)
                     + tds_usvarchar("Changed database context to '%s'." % database)
                     + tds_bvarchar("DB1") + tds_bvarchar("") + struct.pack("<I", 1))
    ack = tds_token(0xAD, b"\x01" + struct.pack("!I", 0x74000004)
                    + tds_bvarchar("Microsoft SQL Server") + bytes([15, 0, 0x07, 0xD0]))
    return env + info + ack + tds_done()


@capture("tds-login.pcap")
def cap_tds_login():
    """SQL Server login in clear (both sides ENCRYPT_NOT_SUP), a batch, an RPC, an error."""
    cap = Capture()
    c = Host("10.0.0.5", "02:00:00:00:00:05", 0x2500)
    s = Host("10.0.0.90", "02:00:00:00:00:90", 0x9000)
    t = TcpSession(Net(cap, eth_framer()), c, 40500, s, 1433, 0x45000001, 0x85000001)
    t.handshake(rtt_us=10 * MS)
    t.send(True, tds_packets(TDS_PRELOGIN, tds_prelogin([
        (0, tds_version(16, 0, 1000, 6)), (1, b"\x02"), (2, b"MSSQLServer\x00"),
        (3, struct.pack("!I", 4242)), (4, b"\x00")])), 1 * MS)
    t.send(False, tds_packets(TDS_RESULT, tds_prelogin([
        (0, tds_version(15, 0, 2000, 5)), (1, b"\x02"), (2, b"\x00"), (3, b""),
        (4, b"\x00")])), 2 * MS)
    # LOGIN7 in two TDS packets (packet size 128), the second in two TCP segments
    login = tds_packets(TDS_LOGIN7, tds_login7("WS-ALICE", "alice", "Secret!1", "sqlcmd",
                                               "db.example.com", "ODBC", "us_english", "sales"),
                        size=128)
    t.send(True, login[:128], 1 * MS)
    t.send(True, login[128:150], 1 * MS)
    t.send(True, login[150:], 1 * MS)
    t.send(False, tds_packets(TDS_RESULT, tds_login_response("sales")), 3 * MS)
    t.send(True, tds_packets(TDS_SQL_BATCH, tds_all_headers()
                             + ucs2("SELECT name FROM sys.databases WHERE name = N'sales'")),
           5 * MS)
    t.send(False, tds_packets(TDS_RESULT, tds_done(0x10, 1)), 2 * MS)
    # sp_executesql by ProcID, no parameters shown
    t.send(True, tds_packets(TDS_RPC, tds_all_headers() + struct.pack("<HHH", 0xFFFF, 10, 0)),
           5 * MS)
    err = tds_token(0xAA, struct.pack("<IBB", 208, 1, 16)
                    + tds_usvarchar("Invalid object name 'nosuch'.") + tds_bvarchar("DB1")
                    + tds_bvarchar("") + struct.pack("<I", 1))
    t.send(False, tds_packets(TDS_RESULT, err + tds_done(0x02)), 2 * MS)
    t.ack(True, 5 * MS)
    t.close(from_client=True, dt_us=20 * MS, rtt_us=10 * MS)
    return cap


def tls_client_hello_no_alpn(sni):
    """tls_client_hello's ClientHello without the ALPN extension (SQL Server's clients send
    none inside PRELOGIN)."""
    name = sni.encode("ascii")
    exts = (tls_ext(0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name)
            + tls_ext(10, struct.pack("!HHH", 4, 0x001D, 0x0017))
            + tls_ext(11, b"\x01\x00")
            + tls_ext(13, struct.pack("!HHHHH", 8, 0x0403, 0x0804, 0x0401, 0x0503)))
    suites = (0xC02F, 0xC030, 0x009C)
    body = (struct.pack("!H", 0x0303) + bytes(range(0x20, 0x40))
            + b"\x00"                                                     # no session id
            + struct.pack("!H%dH" % len(suites), 2 * len(suites), *suites)
            + b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    return tls_record(0x16, 0x0303, tls_handshake(1, body))


def tls12_server_hello():
    """A TLS 1.2 ServerHello (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) and ServerHelloDone."""
    body = (struct.pack("!H", 0x0303) + bytes(range(0x80, 0xA0)) + b"\x00"
            + struct.pack("!HB", 0xC02F, 0) + struct.pack("!H", 0))
    return tls_record(0x16, 0x0303, tls_handshake(2, body) + tls_handshake(14, b""))


@capture("tds-prelogin-tls.pcap")
def cap_tds_prelogin_tls():
    """ENCRYPT_ON both ways: the TLS handshake inside PRELOGIN packets, then bare TLS records
    (the LOGIN7 and everything after it are encrypted)."""
    cap = Capture()
    c = Host("10.0.0.5", "02:00:00:00:00:05", 0x2600)
    s = Host("10.0.0.90", "02:00:00:00:00:90", 0x9100)
    t = TcpSession(Net(cap, eth_framer()), c, 40501, s, 1433, 0x45010001, 0x85010001)
    t.handshake(rtt_us=10 * MS)
    t.send(True, tds_packets(TDS_PRELOGIN, tds_prelogin([
        (0, tds_version(16, 0, 1000, 6)), (1, b"\x01"), (2, b"\x00"),
        (3, struct.pack("!I", 4243)), (4, b"\x00")])), 1 * MS)
    t.send(False, tds_packets(TDS_RESULT, tds_prelogin([
        (0, tds_version(15, 0, 2000, 5)), (1, b"\x01"), (2, b"\x00"), (3, b""),
        (4, b"\x00")])), 2 * MS)
    t.send(True, tds_packets(TDS_PRELOGIN, tls_client_hello_no_alpn("db.example.com")), 1 * MS)
    t.send(False, tds_packets(TDS_PRELOGIN, tls12_server_hello()), 3 * MS)
    t.send(True, tds_packets(TDS_PRELOGIN, tls_record(0x16, 0x0303, tls_handshake(
                                 16, b"\x41\x04" + bytes(range(65))))     # ClientKeyExchange
                             + tls_record(0x14, 0x0303, b"\x01")
                             + tls_record(0x16, 0x0303, bytes(range(100, 140)))), 1 * MS)
    t.send(False, tds_packets(TDS_PRELOGIN, tls_record(0x14, 0x0303, b"\x01")
                              + tls_record(0x16, 0x0303, bytes(range(140, 180)))), 3 * MS)
    # the LOGIN7 and its answer as bare TLS application data
    t.send(True, tls_record(0x17, 0x0303, bytes((i * 37 + 11) & 0xFF for i in range(230))),
           1 * MS)
    t.send(False, tls_record(0x17, 0x0303, bytes((i * 59 + 3) & 0xFF for i in range(180))),
           4 * MS)
    t.ack(True, 5 * MS)
    t.close(from_client=True, dt_us=20 * MS, rtt_us=10 * MS)
    return cap


@capture("tds-strict.pcap")
def cap_tds_strict():
    """TDS 8.0 strict encryption: TLS (ALPN tds/8.0) before any TDS packet."""
    cap = Capture()
    c = Host("10.0.0.5", "02:00:00:00:00:05", 0x2700)
    s = Host("10.0.0.90", "02:00:00:00:00:90", 0x9200)
    t = TcpSession(Net(cap, eth_framer()), c, 40502, s, 1433, 0x45020001, 0x85020001)
    t.handshake(rtt_us=10 * MS)
    t.send(True, tls_client_hello("db.example.com", alpn=("tds/8.0",)), 1 * MS)
    t.send(False, tls_server_hello_flight(), 3 * MS)
    t.ack(True, 5 * MS)
    t.close(from_client=True, dt_us=20 * MS, rtt_us=10 * MS)
    return cap


def main(argv):
    if len(argv) > 2:
        sys.exit("usage: %s [OUTDIR]" % argv[0])
    outdir = argv[1] if len(argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), os.pardir, "pcaps")
    os.makedirs(outdir, exist_ok=True)
    for filename, build in CAPTURES:
        cap = build()
        with open(os.path.join(outdir, filename), "wb") as f:
            f.write(cap.to_bytes())
        print("%-28s %3d packets" % (filename, len(cap.records)))


if __name__ == "__main__":
    main(sys.argv)
