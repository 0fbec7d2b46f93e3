#!/usr/bin/env python3
"""bench/report.py RESULTS_TSV OUT_DIR PACKETS RUNS: the markdown report of bench/run.

RESULTS_TSV has one line per timed run: label, packets, wall seconds, CPU seconds
(user+sys), peak RSS KiB. Labels starting with "x:" are the extra measurements; their
flow counts come from portolan's statistics in OUT_DIR/stderr-LABEL. The date printed is
the results file's modification time, so the report can be rebuilt from a past run.
"""
import datetime
import os
import platform
import re
import statistics
import sys

res, out, packets, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows = {}
order = []
for line in open(res):
    label, n, wall, cpu, rss = line.rstrip("\n").split("\t")
    if label not in rows:
        rows[label] = []
        order.append(label)
    rows[label].append((int(n), float(wall), float(cpu), int(rss)))

def med(label, i):
    return statistics.median(r[i] for r in rows[label])

def pps(label):
    return rows[label][0][0] / med(label, 1)

def cpu_pps(label):
    c = med(label, 2)
    return rows[label][0][0] / c if c > 0 else float("inf")

def rss_mib(label):
    return max(r[3] for r in rows[label]) / 1024

def stderr(label):
    p = os.path.join(out, "stderr-" + re.sub(r"[^A-Za-z0-9_.-]", "_", label))
    return open(p, errors="replace").read() if os.path.exists(p) else ""

def most_open(label):
    m = re.search(r"(\d+) most open at once", stderr(label))
    return int(m.group(1)) if m else None

def evicted(label):
    m = re.search(r"flows: (\d+) created, (\d+) evicted", stderr(label))
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)

cpu = "?"
for l in open("/proc/cpuinfo"):
    if l.startswith("model name"):
        cpu = l.split(":", 1)[1].strip()
        break
print("### bench/run, %s, %d packets (mix file), %d runs each, interleaved" % (
    datetime.datetime.fromtimestamp(os.path.getmtime(res)).strftime("%Y-%m-%d %H:%M"), packets, runs))
print()
print("Machine: %s, %d cores, %s" % (cpu, os.cpu_count(), platform.platform()))
print()
print("portolan: %s" % os.environ.get("BENCH_PORTOLAN_VERSION", "?"))
print()
main = [l for l in order if not l.startswith("x:")]
floor, nids = "floor (libpcap loop)", "libnids alone"
print("| program | packets/s (median) | × floor | × libnids alone | CPU packets/s (median) | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|")
for l in main:
    print("| %s | %s | %.3f | %.2f | %s | %.1f |" % (
        l, format(int(pps(l)), ","), pps(l) / pps(floor) if floor in rows else 0,
        pps(l) / pps(nids) if nids in rows else 0, format(int(cpu_pps(l)), ","), rss_mib(l)))
print()
tgt = []
tsh = [l for l in rows if l.startswith("tshark")]
for other, name, goal in ((nids, "libnids alone", "0.8"), ("ndpiReader -q", "ndpiReader", "20"),
                          (tsh[0] if tsh else None, "tshark conversation statistics", "20")):
    if "portolan" in rows and other in rows:
        tgt.append("portolan / %s = %.2f× wall, %.2f× CPU (target ≥ %s×)" % (
            name, pps("portolan") / pps(other), cpu_pps("portolan") / cpu_pps(other), goal))
for t in tgt:
    print("- " + t)
print()
print("Extra measurements (portolan, text output to /dev/null):")
print()
if "x:manyflows" in rows and "portolan" in rows:
    mo_many, mo_mix = most_open("x:manyflows"), most_open("portolan")
    rss_many, rss_mix = rss_mib("x:manyflows"), rss_mib("portolan")
    if mo_many and mo_mix is not None and mo_many > mo_mix:
        per = (rss_many - rss_mix) * 1048576 / (mo_many - mo_mix)
        print("- RSS per tracked flow: %.0f bytes ((%.1f MiB with %s flows open at once on the many-flows "
              "file − %.1f MiB with %s on the mix file) / difference)" % (
                  per, rss_many, format(mo_many, ","), rss_mix, format(mo_mix, ",")))
    c, e = evicted("x:manyflows")
    print("- many-flows file: %s packets/s, %s flows created, %s evicted" % (
        format(int(pps("x:manyflows")), ","), c, e))
if "x:flood" in rows:
    c, e = evicted("x:flood")
    print("- SYN flood (%s distinct sources), default flow cap: peak RSS %.1f MiB, %s packets/s, "
          "%s flows created, %s evicted, %s most open at once" % (
              format(rows["x:flood"][0][0], ","), rss_mib("x:flood"), format(int(pps("x:flood")), ","),
              c, e, most_open("x:flood")))
if "x:scale1" in rows and "x:scale4" in rows:
    n1, n4 = rows["x:scale1"][0][0], rows["x:scale4"][0][0]
    t1, t4 = med("x:scale1", 1), med("x:scale4", 1)
    print("- growth from %s to %s packets (mix): time %.2f s → %.2f s (×%.2f; linear is ×%.0f), "
          "peak RSS %.1f → %.1f MiB (×%.2f; flat is ×1), %s → %s packets/s" % (
              format(n1, ","), format(n4, ","), t1, t4, t4 / t1, n4 / n1, rss_mib("x:scale1"),
              rss_mib("x:scale4"), rss_mib("x:scale4") / rss_mib("x:scale1"),
              format(int(n1 / t1), ","), format(int(n4 / t4), ",")))
