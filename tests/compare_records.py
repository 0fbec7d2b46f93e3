#!/usr/bin/env python3
"""Capture test: run portolan on a capture and compare its session records
with the expected JSON Lines beside the capture, field by field.

Records are matched by transport, endpoints and start time, so their order
does not matter; `uid` is ignored (it is only unique within a run), and so
are "stats" records.  Every other key must be equal: a key the code adds
must be added to the expected file too, after checking it.

usage: compare_records.py PORTOLAN CAPTURE EXPECTED.jsonl [--write]
  --write  writes the current output as the expected file (for review
           against tshark before committing, never blindly)
"""
import json
import subprocess
import sys

IGNORED = {"uid"}


def run_portolan(binary, capture):
    proc = subprocess.run([binary, "-r", capture, "--json"], capture_output=True,
                          text=True, timeout=120)
    if proc.returncode != 0:
        sys.exit(f"portolan exited {proc.returncode}: {proc.stderr.strip()}")
    records = []
    for line in proc.stdout.splitlines():
        rec = json.loads(line)  # every line must parse
        if rec.get("type") == "session":
            records.append(rec)
    return records


def key(rec):
    c, s = rec["client"], rec["server"]
    return (rec["transport"], c["ip"], c["port"], s["ip"], s["port"], rec["ts_start"])


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in IGNORED}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def differences(expected, actual, path=""):
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k in sorted(set(expected) | set(actual)):
            where = f"{path}.{k}" if path else k
            if k not in actual:
                yield f"{where}: missing (expected {expected[k]!r})"
            elif k not in expected:
                yield f"{where}: unexpected {actual[k]!r}"
            else:
                yield from differences(expected[k], actual[k], where)
    elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (e, a) in enumerate(zip(expected, actual)):
            yield from differences(e, a, f"{path}[{i}]")
    elif expected != actual:
        yield f"{path}: expected {expected!r}, got {actual!r}"


def main():
    binary, capture, expected_path = sys.argv[1:4]
    actual = run_portolan(binary, capture)
    if "--write" in sys.argv[4:]:
        with open(expected_path, "w") as f:
            for rec in sorted(actual, key=key):
                f.write(json.dumps(strip(rec), sort_keys=True) + "\n")
        return 0
    with open(expected_path) as f:
        expected = [json.loads(line) for line in f if line.strip()]
    by_key = {key(r): r for r in actual}
    problems = []
    if len(actual) != len(expected):
        problems.append(f"{len(actual)} session records, expected {len(expected)}")
    for exp in expected:
        act = by_key.get(key(exp))
        if act is None:
            problems.append(f"no record for {key(exp)}")
            continue
        problems.extend(f"{key(exp)}: {d}" for d in differences(strip(exp), strip(act)))
    for p in problems:
        print(p)
    if problems:
        print(f"{capture}: {len(problems)} differences")
    else:
        print(f"{capture}: {len(expected)} records match")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
