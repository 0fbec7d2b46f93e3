#!/usr/bin/env bash
# --workers N gives the same records as one process: every capture in pcaps/
# and pcaps/lab/, and a generated capture of a few thousand flows (TCP and
# UDP, IPv4 and IPv6, idle timeouts, fragments, ICMP errors, flows left
# open), read with --workers 1, 2 and 3 and compared by
# tests/compare_workers.py (order and uid values aside); also several -r
# files merged, --per-file against each file read alone, text output, and
# the options that refuse --workers.
set -uo pipefail
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() {
	echo "ok - $1"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL - $1"
	failed=$((failed + 1))
}

same() { # name, portolan arguments...: 1 worker against 2 and 3
	local name=$1
	shift
	if ! timeout 120 "$bin" "$@" --json >"$tmp/one.jsonl" 2>"$tmp/one.err"; then
		fail "$name: one process ran"
		return
	fi
	local n
	for n in 2 3; do
		if ! timeout 120 "$bin" "$@" --json --workers "$n" >"$tmp/many.jsonl" 2>"$tmp/many.err"; then
			fail "$name: --workers $n ran (exit $?)"
			sed 's/^/    /' "$tmp/many.err" | head -5
			continue
		fi
		if timeout 60 python3 "$src/tests/compare_workers.py" "$tmp/one.jsonl" \
			"$tmp/many.jsonl" >"$tmp/cmp.txt" 2>&1; then
			ok "$name: --workers $n $(cat "$tmp/cmp.txt")"
		else
			fail "$name: --workers $n gives other records"
			sed 's/^/    /' "$tmp/cmp.txt" | head -10
		fi
	done
}

for f in "$src"/pcaps/*.pcap "$src"/pcaps/*.pcapng "$src"/pcaps/lab/*.pcap "$src"/pcaps/lab/*.pcapng; do
	[[ -e $f ]] || continue
	same "${f#"$src"/}" -r "$f"
done

if timeout 120 python3 "$src/tests/gen_many_flows.py" "$tmp/many.pcap" >/dev/null; then
	same "generated many-flow capture" -r "$tmp/many.pcap"
	# each worker gets an Nth of the memory cap: the flows must fit in it
	grep -q '"evicted":0' "$tmp/many.jsonl" && ok "many flows: no eviction with 3 workers" ||
		fail "many flows: no eviction with 3 workers"
	grep -o '"workers":\[.*\]' "$tmp/many.jsonl" | grep -o '"packets":[0-9]*' |
		grep -qv '"packets":0$' && ok "many flows: the workers share the packets" ||
		fail "many flows: the workers share the packets"
else
	fail "the many-flow capture was generated"
fi

# several files merged in time order
lab=$src/pcaps/lab
if [[ -e $lab/ftp-passive.pcap && -e $lab/dhcp-dora.pcap ]]; then
	same "three files merged" -r "$lab/ftp-passive.pcap" -r "$lab/dhcp-dora.pcap" -r "$src/pcaps/demo.pcap"
fi

# --per-file: each file as if read alone
if [[ -e $lab/ftp-passive.pcap && -e $lab/dhcp-dora.pcap ]]; then
	ones=()
	for f in "$lab/ftp-passive.pcap" "$lab/dhcp-dora.pcap" "$src/pcaps/demo.pcap" \
		"$src/pcaps/dns-fragmented.pcap"; do
		n=${#ones[@]}
		timeout 60 "$bin" -r "$f" --json >"$tmp/alone$n.jsonl" 2>/dev/null
		ones+=("$tmp/alone$n.jsonl")
	done
	if timeout 60 "$bin" --workers 2 --per-file -r "$lab/ftp-passive.pcap" -r "$lab/dhcp-dora.pcap" \
		-r "$src/pcaps/demo.pcap" -r "$src/pcaps/dns-fragmented.pcap" --json \
		>"$tmp/perfile.jsonl" 2>"$tmp/perfile.err" &&
		timeout 60 python3 "$src/tests/compare_workers.py" "$(
			IFS=,
			echo "${ones[*]}"
		)" "$tmp/perfile.jsonl" >"$tmp/cmp.txt" 2>&1; then
		ok "--per-file: each file as if alone: $(cat "$tmp/cmp.txt")"
	else
		fail "--per-file: each file as if alone"
		sed 's/^/    /' "$tmp/cmp.txt" "$tmp/perfile.err" | head -10
	fi
fi

# text output: the same lines, in some order
if timeout 60 "$bin" -r "$src/pcaps/demo.pcap" >"$tmp/one.txt" 2>/dev/null &&
	timeout 60 "$bin" -r "$src/pcaps/demo.pcap" --workers 2 >"$tmp/two.txt" 2>/dev/null &&
	[[ -s $tmp/one.txt ]] && diff <(sort "$tmp/one.txt") <(sort "$tmp/two.txt") >/dev/null; then
	ok "text output: the same lines"
else
	fail "text output: the same lines"
fi

# -o FILE, --workers auto, and the discarding reader (bench)
if timeout 60 "$bin" -r "$src/pcaps/demo.pcap" --workers auto -o "$tmp/auto.jsonl" 2>/dev/null &&
	grep -q '"type":"stats"' "$tmp/auto.jsonl"; then
	ok "--workers auto -o FILE"
else
	fail "--workers auto -o FILE"
fi
if timeout 60 "$bin" -r "$src/pcaps/demo.pcap" --workers 2 --workers-discard --json 2>/dev/null |
	grep -q '"type":"stats","packets":29'; then
	ok "--workers-discard counts the packets it threw away"
else
	fail "--workers-discard counts the packets it threw away"
fi

refuse() { # what, arguments...: exit 2 and one line on stderr
	local what=$1
	shift
	timeout 30 "$bin" "$@" >/dev/null 2>"$tmp/err.txt"
	local rc=$?
	if [[ $rc -eq 2 && $(wc -l <"$tmp/err.txt") -eq 1 ]]; then
		ok "refused: $what ($(cat "$tmp/err.txt"))"
	else
		fail "refused: $what (exit $rc: $(head -2 "$tmp/err.txt"))"
	fi
}
refuse "--report" -r "$src/pcaps/demo.pcap" --workers 2 --report "$tmp/r.html"
refuse "--explain" -r "$src/pcaps/demo.pcap" --workers 2 --explain
refuse "--workers 0" -r "$src/pcaps/demo.pcap" --workers 0
refuse "--workers 65" -r "$src/pcaps/demo.pcap" --workers 65
refuse "--workers-discard alone" -r "$src/pcaps/demo.pcap" --workers-discard
refuse "-c with -i" -i lo -c 5 --workers 2
refuse "--per-file alone" -r "$src/pcaps/demo.pcap" --per-file
refuse "--per-file with -i" -i lo --workers 2 --per-file

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
