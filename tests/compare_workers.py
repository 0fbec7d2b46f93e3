#!/usr/bin/env python3
"""Compares two runs of portolan over the same input (one worker, N workers):
the same records, in any order, with uids compared by what they name.

usage: compare_workers.py ONE.jsonl[,ONE2.jsonl...] MANY.jsonl

Several comma-separated ONE files (--per-file: one run per file) are each
read on their own and their records added up; their stats are not compared.

A uid (the "uid" and "parent" keys, anywhere in a record) is replaced by the
session it names: transport, the two endpoints and the start time.  The
stats records are compared on everything but "workers" and flows.max_open
(with workers it is the sum of each worker's maximum).  Exit 0 when equal;
else the differences on stdout, exit 1."""
import collections
import json
import sys


def load(path):
    recs = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                recs.append(json.loads(line))
            except ValueError as e:
                sys.exit("%s:%d: not JSON: %s" % (path, n, e))
    return recs


def session_key(r):
    ends = sorted([(r["client"]["ip"], r["client"]["port"]), (r["server"]["ip"], r["server"]["port"])])
    return "%s %s:%s %s:%s @%s" % (r.get("transport"), ends[0][0], ends[0][1], ends[1][0], ends[1][1],
                                   r.get("ts_start"))


def canon(recs):
    names = {}
    for r in recs:
        if r.get("type") == "session" and "uid" in r:
            names[r["uid"]] = session_key(r)

    def sub(v):
        if isinstance(v, dict):
            return {k: (("session " + names.get(x, "unknown")) if k in ("uid", "parent") and isinstance(x, str)
                        else sub(x)) for k, x in v.items()}
        if isinstance(v, list):
            return [sub(x) for x in v]
        return v

    out = collections.Counter()
    stats = []
    for r in recs:
        if r.get("type") == "stats":
            r = dict(r)
            r.pop("workers", None)
            if isinstance(r.get("flows"), dict):
                r["flows"] = {k: v for k, v in r["flows"].items() if k != "max_open"}
            stats.append(r)
            continue
        out[json.dumps(sub(r), sort_keys=True)] += 1
    return out, stats


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, sa = collections.Counter(), []
    ones = sys.argv[1].split(",")
    for one in ones:
        c, st = canon(load(one))
        a += c
        sa += st
    b, sb = canon(load(sys.argv[2]))
    if len(ones) > 1:
        sa = sb = []
    bad = 0
    for rec, n in sorted((a - b).items()):
        print("only with one worker (%d): %s" % (n, rec[:400]))
        bad += 1
    for rec, n in sorted((b - a).items()):
        print("only with workers (%d): %s" % (n, rec[:400]))
        bad += 1
    if json.dumps(sa, sort_keys=True) != json.dumps(sb, sort_keys=True):
        print("stats differ:\n  one:  %s\n  many: %s" % (json.dumps(sa, sort_keys=True)[:1500],
                                                        json.dumps(sb, sort_keys=True)[:1500]))
        bad += 1
    if bad:
        sys.exit(1)
    print("same %d records" % sum(a.values()))


main()
