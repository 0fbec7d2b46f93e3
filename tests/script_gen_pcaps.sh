#!/usr/bin/env bash
# The committed captures are exactly what scripts/gen_pcaps.py writes.
set -euo pipefail
src=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python3 "$src/scripts/gen_pcaps.py" "$out" >/dev/null
status=0
for f in "$out"/*.pcap; do
	name=$(basename "$f")
	if ! cmp -s "$f" "$src/pcaps/$name"; then
		echo "pcaps/$name differs from what the generator writes"
		status=1
	fi
done
n=$(ls "$out"/*.pcap | wc -l)
echo "$n captures regenerated, $([[ $status -eq 0 ]] && echo all identical || echo some differ)"
exit $status
