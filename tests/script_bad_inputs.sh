#!/usr/bin/env bash
# A file that is not a readable capture gives one line on stderr naming the
# file, and a non-zero exit; bad options likewise.
set -uo pipefail
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/empty.pcap"
echo "this is not a capture" >"$tmp/text.pcap"
printf '\xd4\xc3\xb2\xa1\x02\x00' >"$tmp/short-header.pcap"
passed=0
failed=0

expect_error() { # description, expected stderr substring, args...
	local what=$1 needle=$2
	shift 2
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	local lines
	lines=$(wc -l <"$tmp/err")
	if [[ $rc -ne 0 && $lines -eq 1 ]] && grep -q -- "$needle" "$tmp/err"; then
		passed=$((passed + 1))
	else
		echo "FAIL $what: exit $rc, stderr:"; cat "$tmp/err"
		failed=$((failed + 1))
	fi
}

expect_error "missing file" "$tmp/missing.pcap" -r "$tmp/missing.pcap"
expect_error "empty file" "$tmp/empty.pcap" -r "$tmp/empty.pcap"
expect_error "text file" "$tmp/text.pcap" -r "$tmp/text.pcap"
expect_error "truncated header" "$tmp/short-header.pcap" -r "$tmp/short-header.pcap"
expect_error "bad filter" "bad filter" -r "$2/pcaps/demo.pcap" "not a filter ((("
expect_error "bad decode-as" "-d" -r "$2/pcaps/demo.pcap" -d 99999=dns
expect_error "unknown dissector" "no dissector" -r "$2/pcaps/demo.pcap" -d 53=nosuch
expect_error "-r with -i" "either" -r "$2/pcaps/demo.pcap" -i lo

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
