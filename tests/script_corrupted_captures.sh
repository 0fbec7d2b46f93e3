#!/usr/bin/env bash
# Randomly corrupted copies of every capture in pcaps/ (issue 9): byte flips,
# runs of random bytes and truncations, made with a fixed seed, a bounded
# number per capture.  portolan (the sanitizer build in the test suite) must
# neither crash nor report a sanitizer error on any of them: exit 0 (read),
# 1 (nothing readable) or 2 (refused at open) only, within a time bound per
# file; text -v and JSON output in turn.  CORRUPT_PER_CAPTURE=N: copies per
# capture (default 5).
set -uo pipefail
bin=$1
src=$2
per_capture=${CORRUPT_PER_CAPTURE:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$src/pcaps" "$tmp" "$per_capture" <<'PY' || exit 1
import os, random, sys
root, out, per = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(20261126)  # fixed seed: the same copies every run
caps = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs
              if f.endswith((".pcap", ".pcapng")))
for path in caps:
    data = open(path, "rb").read()
    name = os.path.relpath(path, root).replace("/", "_")
    for k in range(per):
        b = bytearray(data)
        kind = k % 3
        if kind == 0 or len(b) < 64:  # flip bits at a few places (not the magic)
            for _ in range(rng.randint(1, 16)):
                i = rng.randrange(4, len(b)) if len(b) > 4 else 0
                b[i] ^= 1 << rng.randrange(8)
        elif kind == 1:  # overwrite a run with random bytes, lengths included
            i = rng.randrange(24, len(b))
            n = rng.randint(1, 64)
            b[i:i + n] = bytes(rng.getrandbits(8) for _ in range(min(n, len(b) - i)))
            b[rng.randrange(4, len(b))] = 0xFF
        else:  # truncate, and flip a byte before the cut
            cut = rng.randrange(24, len(b))
            b = b[:cut]
            b[rng.randrange(4, len(b))] ^= 0xFF
        open(os.path.join(out, "%s.%d" % (name, k)), "wb").write(bytes(b))
print(len(caps), "captures", file=sys.stderr)
PY

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
passed=0
failed=0
i=0
for f in "$tmp"/*.[0-9]*; do
	# text -v and JSON output in turn
	mode=-v
	[[ $((i++ % 2)) -eq 1 ]] && mode=--json
	timeout 20 "$bin" $mode -r "$f" >/dev/null 2>"$tmp/err"
	rc=$?
	# 0: read (perhaps with a warning), 1: nothing readable, 2: refused
	# at open; a signal (128+), a timeout (124) or a sanitizer report fail
	if [[ $rc -le 2 ]] && ! grep -q -e "Sanitizer" -e "runtime error" "$tmp/err"; then
		passed=$((passed + 1))
	else
		echo "FAIL $(basename "$f") $mode: exit $rc"
		grep -m 5 -e "ERROR" -e "runtime error" -e "#[0-3] " "$tmp/err"
		cp "$f" "/tmp/portolan-corrupt-$(basename "$f")" 2>/dev/null &&
			echo "  kept as /tmp/portolan-corrupt-$(basename "$f")"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
