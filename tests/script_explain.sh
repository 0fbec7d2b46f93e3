#!/usr/bin/env bash
# --explain: golden ladders and explanations for the project's own captures
# (a handshake with data and a four-way close, a refused port, an unanswered
# SYN, a mid-stream start, reordering and retransmissions, a DNS exchange),
# the caps, colours, and the option errors.
#
# Regenerate a golden with: BIN -r pcaps/X.pcap --explain --color=never \
#   2>/dev/null > tests/explain/X.txt  -- and read it against tshark first
# (tshark -r pcaps/X.pcap -T fields -e tcp.flags.str -e tcp.seq -e tcp.ack
#  -e tcp.len -e tcp.analysis.retransmission -e tcp.analysis.out_of_order).
set -uo pipefail
bin=$1
src=$2
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { passed=$((passed + 1)); }
bad() {
	echo "FAIL $*"
	failed=$((failed + 1))
}

for golden in "$src"/tests/explain/*.txt; do
	name=$(basename "$golden" .txt)
	"$bin" -r "$src/pcaps/$name.pcap" --explain --color=never 2>/dev/null >"$tmp/out"
	if diff -u "$golden" "$tmp/out" >"$tmp/diff"; then ok; else
		bad "golden $name"
		head -40 "$tmp/diff"
	fi
done

# the caps: packets per session and sessions drawn
"$bin" -r "$src/pcaps/tcp-reorder-retrans.pcap" --explain --explain-packets 3 --color=never \
	2>/dev/null >"$tmp/out"
[[ $(grep -c '|' "$tmp/out") -eq 3 ]] && grep -q "23 more packets not drawn" "$tmp/out" && ok ||
	bad "--explain-packets 3"
"$bin" -r "$src/pcaps/demo.pcap" --explain --explain-sessions 2 --color=never \
	2>/dev/null >"$tmp/out"
[[ $(grep -c '^What happened' "$tmp/out") -eq 2 ]] &&
	grep -q "^6 more sessions not drawn (--explain-sessions 2)" "$tmp/out" && ok ||
	bad "--explain-sessions 2"
# the filter picks which sessions
"$bin" -r "$src/pcaps/demo.pcap" --explain --color=never udp 2>/dev/null >"$tmp/out"
! grep -q '^TCP ' "$tmp/out" && grep -q '^UDP ' "$tmp/out" && ok || bad "filter picks sessions"

# colours: always paints, never and NO_COLOR (auto, not a terminal) do not
esc=$'\033['
"$bin" -r "$src/pcaps/tcp-refused.pcap" --explain --color=always 2>/dev/null >"$tmp/out"
grep -qF "$esc" "$tmp/out" && ok || bad "--color=always paints"
NO_COLOR=1 "$bin" -r "$src/pcaps/tcp-refused.pcap" --explain 2>/dev/null >"$tmp/out"
! grep -qF "$esc" "$tmp/out" && ok || bad "NO_COLOR"
"$bin" -r "$src/pcaps/tcp-refused.pcap" --explain --color=never 2>/dev/null >"$tmp/out"
! grep -qF "$esc" "$tmp/out" && ok || bad "--color=never"

# errors: one line, exit 2
for args in "--color=sometimes" "--explain-packets 0" "--explain-sessions x" "--explain --json"; do
	# shellcheck disable=SC2086
	"$bin" -r "$src/pcaps/tcp-refused.pcap" $args >/dev/null 2>"$tmp/err"
	rc=$?
	[[ $rc -eq 2 && $(wc -l <"$tmp/err") -eq 1 ]] && ok || bad "error for $args (rc $rc)"
done

echo "explain: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
