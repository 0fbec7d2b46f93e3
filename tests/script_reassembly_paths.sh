#!/usr/bin/env bash
# The dissectors cannot tell which reassembly path ran: every capture in
# pcaps/ (and ../shared/corpus when present) gives the same session records
# with libnids in front of our reassembler and with ours alone, but for the
# "reassembly" key that names the path.
set -euo pipefail
bin=$1
src=$2
dirs=("$src/pcaps")
[[ -d "$src/../shared/corpus/pcaps" ]] && dirs+=("$src/../shared/corpus/pcaps")
python3 - "$bin" "${dirs[@]}" <<'PY'
import glob, json, subprocess, sys

binary, dirs = sys.argv[1], sys.argv[2:]

def records(capture, extra):
    out = subprocess.run([binary, "-r", capture, "--json"] + extra, capture_output=True,
                         text=True, timeout=120).stdout
    recs = []
    for line in out.splitlines():
        r = json.loads(line)
        if r.get("type") != "session":
            continue
        r.pop("uid", None)
        r.get("tcp", {}).pop("reassembly", None)
        recs.append(json.dumps(r, sort_keys=True))
    return sorted(recs)

passed = failed = 0
for d in dirs:
    for capture in sorted(glob.glob(d + "/*.pcap") + glob.glob(d + "/*.pcapng")):
        if records(capture, []) == records(capture, ["--no-libnids"]):
            passed += 1
        else:
            failed += 1
            print("paths differ:", capture)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
