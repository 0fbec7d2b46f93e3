#!/usr/bin/env bash
# --report: the page is self-contained (nothing it would load from elsewhere),
# escapes what came from the wire, and renders in headless Chromium without a
# page error or an empty chart, to a PNG (kept in the build tree for a look:
# report/report.png).  Chromium comes with the README's test command
# (scripts/install-deps --test); without it only the static checks run.
set -uo pipefail
bin=$1
src=$2
out=${REPORT_OUT:-$PWD/report}
mkdir -p "$out"
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() {
	echo "FAIL $*"
	failed=$((failed + 1))
}

page="$out/report.html"
"$bin" -r "$src/pcaps/demo.pcap" -r "$src/pcaps/lab/telnet-login.pcap" \
	-r "$src/pcaps/lab/imap.pcap" -r "$src/pcaps/http-pipelined.pcap" \
	-r "$src/pcaps/tcp-refused.pcap" --report "$page" >/dev/null 2>&1
[[ $? -eq 0 && -s "$page" ]] && ok || bad "report written"

# self-contained: no element or rule that fetches anything
if grep -Eiq '<(link|img|iframe|object|embed|audio|video|source)\b|\b(src|href|srcset)=|@import|url\([^#]' "$page"; then
	bad "external resource reference:"
	grep -Eio '<(link|img|iframe|object|embed|audio|video|source)\b[^>]*|\b(src|href|srcset)=[^ >]*|@import[^;]*|url\([^#)][^)]*\)' "$page" | head -5
else ok; fi
grep -Eiq 'https?://' "$page" && bad "a URL in the page" || ok
# the content is there: charts, findings with their cards, ladders, the table
for needle in 'id="protocols"' 'id="ports"' 'cleartext-credentials' 'Secure alternative:' \
	'class="ladder"' 'Three-way handshake' 'UDP: ' 'data-rows="'; do
	grep -qF -- "$needle" "$page" && ok || bad "page lacks $needle"
done

# wire text is escaped: a hostile HTTP request line in a generated capture
hostile="$out/hostile.pcap"
python3 - "$hostile" <<'PY'
import struct, sys
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def ip(src, dst, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, 6, 0, bytes(src), bytes(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload
def tcp(sp, dp, seq, ack, flags, data=b""):
    return struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
c, s = [10, 0, 0, 1], [10, 0, 0, 2]
evil = b"GET /<script>alert(1)</script> HTTP/1.1\r\nHost: <img src=x onerror=alert(2)>\r\n\r\n"
pkts = [(c, s, tcp(40000, 80, 1, 0, 0x02)), (s, c, tcp(80, 40000, 9, 2, 0x12)),
        (c, s, tcp(40000, 80, 2, 10, 0x10)), (c, s, tcp(40000, 80, 2, 10, 0x18, evil))]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))
    for i, (a, b, seg) in enumerate(pkts):
        p = ip(a, b, seg)
        f.write(struct.pack("<IIII", 1700000000, i * 1000, len(p), len(p)) + p)
PY
"$bin" -r "$hostile" --report "$out/hostile.html" >/dev/null 2>&1
if grep -qF '<script>alert' "$out/hostile.html" || grep -qF '<img src=x' "$out/hostile.html"; then
	bad "wire text not escaped"
else
	grep -qF '&lt;script&gt;alert(1)' "$out/hostile.html" && ok || bad "escaped request line missing"
fi

# rendering in headless Chromium
chromium=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$chromium" ]]; then
	echo "note: chromium not installed: rendering not checked"
else
	flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,2600)
	dom=$(timeout 120 "$chromium" "${flags[@]}" --dump-dom "file://$page" 2>/dev/null)
	check=$(grep -o 'data-check="[^"]*"' <<<"$dom" | head -1)
	[[ "$check" == 'data-check="ok"' ]] && ok || bad "page check in Chromium: ${check:-no result (script error?)}"
	rm -f "$out/report.png"
	timeout 120 "$chromium" "${flags[@]}" --screenshot="$out/report.png" "file://$page" \
		>/dev/null 2>&1
	size=$(stat -c %s "$out/report.png" 2>/dev/null || echo 0)
	[[ $size -gt 50000 ]] && ok || bad "screenshot missing or blank ($size bytes)"
	[[ $failed -eq 0 ]] && echo "screenshot: $out/report.png"
fi

echo "report: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
