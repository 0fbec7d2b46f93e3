#!/usr/bin/env bash
# The man page renders without groff warnings and documents every long
# option that --help lists (so the two cannot drift apart).
set -uo pipefail
bin=$1
src=$2
page="$src/docs/portolan.1"
failed=0
if ! command -v groff >/dev/null; then
	echo "SKIP: groff is not installed"
	exit 0
fi
warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
if [[ -n "$warnings" ]]; then
	echo "FAIL groff warnings:"
	echo "$warnings"
	failed=1
fi
rendered=$(groff -man -Tascii -P-cbou "$page" 2>/dev/null)
for opt in $("$bin" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	if ! grep -qF -- "$opt" <<<"$rendered"; then
		echo "FAIL $opt is in --help but not in the man page"
		failed=1
	fi
done
[[ $failed -eq 0 ]] && echo "man page: ok"
exit $failed
