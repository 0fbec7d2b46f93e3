#!/usr/bin/env bash
# Broken capture files (issue 9): damage after some packets gives one warning
# line naming the file, the records of what was read before it and exit 0;
# damage before any packet gives one error line and a non-zero exit; odd but
# readable headers (snaplen 0 or 2^31, unknown pcapng blocks) are read.
# script_bad_inputs.sh covers the empty, text and short-header files.
set -uo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

python3 - "$tmp" <<'PY' || exit 1
import struct, sys
d = sys.argv[1]
eth = bytes.fromhex("02000000aa0202000000aa010800")
ip = bytes.fromhex("4500001c0001000040110000c0a80001c0a80002")
pkt = eth + ip + bytes.fromhex("0035003500080000")  # UDP 53 -> 53, no payload

def gh(snap=262144):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snap, 1)

def rec(data, caplen=None, wire=None, ts=1):
    caplen = len(data) if caplen is None else caplen
    return struct.pack("<IIII", ts, 0, caplen, len(data) if wire is None else wire) + data

def w(name, b):
    open("%s/%s" % (d, name), "wb").write(b)

w("trunc-last.pcap", gh() + rec(pkt) + rec(pkt)[:-5])
w("trunc-rechdr.pcap", gh() + rec(pkt) + rec(pkt)[:7])
w("over-snap.pcap", gh(snap=100) + rec(pkt) + rec(b"\0" * 200))
w("over-256k.pcap", gh() + rec(pkt) + rec(b"\0" * 300000))
w("over-256k-first.pcap", gh() + rec(b"\0" * 300000))
w("huge-len.pcap", gh() + rec(pkt) + struct.pack("<IIII", 1, 0, 0xFFFFFFFF, 0xFFFFFFFF) + pkt)
w("snap0.pcap", gh(snap=0) + rec(pkt))
w("snap2g.pcap", gh(snap=2**31) + rec(pkt))

def blk(t, body):
    body += b"\0" * ((-len(body)) % 4)
    n = 12 + len(body)
    return struct.pack("<II", t, n) + body + struct.pack("<I", n)

shb = blk(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
def idb(snap=262144): return blk(1, struct.pack("<HHI", 1, 0, snap))
epb = blk(6, struct.pack("<IIIII", 0, 0, 1, len(pkt), len(pkt)) + pkt)
unknown = blk(0x1234, b"an unknown block")
w("ng-unknown.pcapng", shb + idb() + unknown + epb + unknown)
w("ng-oversized.pcapng", shb + idb() + epb + struct.pack("<II", 0x1234, 0x7FFFFFF0) + b"\0" * 64)
w("ng-oversized-epb.pcapng", shb + idb() + epb +
  struct.pack("<II", 6, 0x7FFFFFF0) + struct.pack("<IIIII", 0, 0, 1, 0x7FFFFF00, 0x7FFFFF00))
w("ng-oversized-first.pcapng", shb + idb() + struct.pack("<II", 0x1234, 0x7FFFFFF0) + b"\0" * 64)
w("ng-trunc.pcapng", shb + idb() + epb + epb[:-9])
w("ng-snap0.pcapng", shb + idb(0) + epb)
w("ng-snap2g.pcapng", shb + idb(2**31) + epb)
# a second interface with another snap length: libpcap refuses it, our reader takes over
w("ng-two-ifaces.pcapng", shb + idb() + epb + idb(65535) +
  blk(6, struct.pack("<IIIII", 1, 0, 2, len(pkt), len(pkt)) + pkt))
PY

run() { # file: runs portolan --json on it, sets rc, records, lines (stderr)
	"$bin" --json -r "$tmp/$1" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	records=$(grep -c '"type":"session"' "$tmp/out")
	# the end-of-run summary's lines are indented or start "portolan: N packets"
	lines=$(grep -v -e '^  ' -e '^portolan: [0-9]* packets' "$tmp/err" | wc -l)
}

ok() { passed=$((passed + 1)); }
bad() {
	echo "FAIL $1: exit $rc, $records records, stderr:"
	cat "$tmp/err"
	failed=$((failed + 1))
}

expect_warning() { # file, stderr substring: records before the damage, exit 0
	run "$1"
	if [[ $rc -eq 0 && $records -ge 1 && $lines -eq 1 ]] &&
		grep -q "^portolan: warning: $tmp/$1: .*$2" "$tmp/err"; then ok; else bad "$1"; fi
}

expect_error() { # file, stderr substring: nothing readable, exit non-zero
	run "$1"
	if [[ $rc -ne 0 && $records -eq 0 && $lines -eq 1 ]] &&
		grep -q "^portolan: $tmp/$1: .*$2" "$tmp/err"; then ok; else bad "$1"; fi
}

expect_clean() { # file, packets: read without a message
	run "$1"
	if [[ $rc -eq 0 && $lines -eq 0 ]] && grep -q "\"packets\":$2," "$tmp/out"; then ok; else bad "$1"; fi
}

expect_warning trunc-last.pcap "truncated"
expect_warning trunc-rechdr.pcap "truncated"
expect_warning over-256k.pcap "bigger than"
expect_error over-256k-first.pcap "bigger than"
expect_warning huge-len.pcap "bigger than"
expect_warning ng-oversized.pcapng "block size"
expect_warning ng-oversized-epb.pcapng "block size"
expect_error ng-oversized-first.pcapng "block size"
expect_warning ng-trunc.pcapng "truncated"
expect_clean over-snap.pcap 2 # a record above the snaplen is cut to it
expect_clean snap0.pcap 1
expect_clean snap2g.pcap 1
expect_clean ng-unknown.pcapng 1
expect_clean ng-snap0.pcapng 1
expect_clean ng-snap2g.pcapng 1
expect_clean ng-two-ifaces.pcapng 2

# several files: the damaged one is named, the others are read in full
"$bin" --json -r "$tmp/trunc-last.pcap" -r "$tmp/snap0.pcap" >"$tmp/out" 2>"$tmp/err"
rc=$?
records=$(grep -c '"type":"session"' "$tmp/out")
if [[ $rc -eq 0 ]] && grep -q "warning: $tmp/trunc-last.pcap" "$tmp/err" &&
	grep -q '"packets":2,' "$tmp/out"; then ok; else bad "two files"; fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
