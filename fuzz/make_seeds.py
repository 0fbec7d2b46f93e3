#!/usr/bin/env python3
"""Seed inputs for the fuzz harnesses, made from the project's own captures.

    fuzz/make_seeds.py OUTDIR CAPTURE...

Writes OUTDIR/frames (link byte + one frame: fuzz_decode), OUTDIR/packets
(whole captures in fuzz_pipeline's record format), OUTDIR/flows (each TCP or
UDP flow's payloads as fuzz_dissector's chunk script: every dissector harness
reads the same pool and keeps what reaches new code), OUTDIR/ber (UDP
payloads of SNMP, Kerberos and LDAP) and OUTDIR/captures (the files
themselves).  Standard library only; pcap files only (pcapng is skipped).
"""
import hashlib
import os
import struct
import sys

LINK_INDEX = {101: 0, 1: 1, 113: 3}  # fuzz_pipeline's table: raw, ethernet, -, sll
DECODE_INDEX = {0: 0, 1: 1, 9: 2, 101: 3, 12: 4, 14: 5, 108: 6, 113: 7, 228: 8, 229: 9, 276: 10}
MAX_FRAMES = 3000


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None, []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        return None, []
    linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    frames, off = [], 24
    while off + 16 <= len(data):
        ts, tfrac, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frames.append((ts + tfrac / 1e6, data[off:off + caplen]))
        off += caplen
    return linktype, frames


def ip_of(linktype, frame):
    """The IP packet inside a frame, or None."""
    if linktype == 101:
        return frame
    if linktype == 1:
        off, etype = 14, struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else 0
        while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
            etype = struct.unpack("!H", frame[off + 2:off + 4])[0]
            off += 4
        return frame[off:] if etype in (0x0800, 0x86DD) else None
    if linktype == 113 and len(frame) >= 16:
        return frame[16:] if struct.unpack("!H", frame[14:16])[0] in (0x0800, 0x86DD) else None
    return None


def transport(ip):
    """(proto, src, sport, dst, dport, payload) of a TCP/UDP packet, or None."""
    if len(ip) < 20:
        return None
    if ip[0] >> 4 == 4:
        hl, proto, src, dst = (ip[0] & 15) * 4, ip[9], ip[12:16], ip[16:20]
        body = ip[hl:struct.unpack("!H", ip[2:4])[0]]
    elif ip[0] >> 4 == 6 and len(ip) >= 40:
        proto, src, dst, body = ip[6], ip[8:24], ip[24:40], ip[40:]
    else:
        return None
    if proto == 6 and len(body) >= 20:
        return 6, src, body[0:2], dst, body[2:4], body[(body[12] >> 4) * 4:]
    if proto == 17 and len(body) >= 8:
        return 17, src, body[0:2], dst, body[2:4], body[8:]
    return None


def write(outdir, kind, blob):
    d = os.path.join(outdir, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(blob).hexdigest()[:16]), "wb") as f:
        f.write(blob)


def main():
    outdir, paths = sys.argv[1], sys.argv[2:]
    frames_written = 0
    for path in paths:
        linktype, frames = read_pcap(path)
        if linktype is None:
            continue
        with open(path, "rb") as f:
            write(outdir, "captures", f.read())
        if linktype in LINK_INDEX:
            recs, last = bytearray([LINK_INDEX[linktype]]), frames[0][0] if frames else 0
            for ts, fr in frames[:2000]:
                dt = min(255, max(0, int((ts - last) * 1000)))
                last = ts
                recs += struct.pack("!HB", min(len(fr), 65535), dt) + fr[:65535]
            write(outdir, "packets", bytes(recs))
        flows = {}
        for _, fr in frames:
            if frames_written < MAX_FRAMES and linktype in DECODE_INDEX:
                write(outdir, "frames", bytes([DECODE_INDEX[linktype]]) + fr)
                frames_written += 1
            ip = ip_of(linktype, fr)
            t = ip and transport(ip)
            if not t or not t[5]:
                continue
            proto, src, sport, dst, dport, payload = t
            a, b = (src, sport), (dst, dport)
            key = (proto,) + tuple(sorted([a, b]))
            flow = flows.setdefault(key, {"client": a, "chunks": []})
            flow["chunks"].append((a != flow["client"], payload))
        for (proto, *_), flow in flows.items():
            script = bytearray([0 if proto == 6 else 1])
            for server_side, payload in flow["chunks"][:64]:
                payload = payload[:0x7FFF]
                script += struct.pack("!H", (0x8000 if server_side else 0) | len(payload)) + payload
            write(outdir, "flows", bytes(script))
            if proto == 17:
                for _, payload in flow["chunks"][:8]:
                    if payload[:1] in (b"\x30", b"\x6a", b"\x6b", b"\x6c", b"\x6d", b"\x7e"):
                        write(outdir, "ber", payload)


if __name__ == "__main__":
    main()
