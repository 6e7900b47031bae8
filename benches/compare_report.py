#!/usr/bin/env python3
"""The tables of a `benches/compare.sh` run, from its results file (one JSON
line per run): `python3 benches/compare_report.py RESULTS.jsonl`."""
import json, statistics, sys
from collections import defaultdict
rows = defaultdict(list)
order = []
for line in open(sys.argv[1]):
    d = json.loads(line)
    key = (d["topology"], d["workload"], d["sessions"], d["inflight"], d.get("offered_rate") or 0)
    if key not in order:
        order.append(key)
    rows[key + (d["label"], d.get("generator", "zk-load"))].append(d)
med = lambda rs, f: statistics.median(r[f] for r in rs)
spread = lambda rs: f"{min(r['ops_per_s'] for r in rs):,.0f}–{max(r['ops_per_s'] for r in rs):,.0f}"
gens = sorted({k[6] for k in rows}, key=lambda g: (g != "zk-load", g))

def best(key, label):
    """The generator whose median rate is highest for this side, and its runs."""
    found = [(med(rows[key + (label, g)], "ops_per_s"), g) for g in gens if rows.get(key + (label, g))]
    if not found:
        return None, []
    _, g = max(found)
    return g, rows[key + (label, g)]

def case(k):
    return f"{k[1]} {k[2]}×{k[3]}" + (f" at {k[4]:,.0f}/s" if k[4] else "")

print()
print("| servers | case | Corral ops/s (spread) | ZooKeeper ops/s (spread) | ratio | Corral p50 / p99 ms | ZooKeeper p50 / p99 ms | p99, Corral / ZooKeeper | generator CPU, Corral / ZooKeeper | other side's CPU (max) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for k in order:
    cg, c = best(k, "corral")
    zg, z = best(k, "zookeeper")
    if not c or not z:
        continue
    co, zo = med(c, "ops_per_s"), med(z, "ops_per_s")
    tag = lambda g: "" if len(gens) == 1 else f" [{g}]"
    other = max(r.get("other_cpu", 0) for r in c + z)
    print(f"| {k[0]} | {case(k)} | {co:,.0f} ({spread(c)}){tag(cg)} | {zo:,.0f} ({spread(z)}){tag(zg)} | {co / zo:.2f}× | "
          f"{med(c, 'p50_ms'):.2f} / {med(c, 'p99_ms'):.2f} | {med(z, 'p50_ms'):.2f} / {med(z, 'p99_ms'):.2f} | "
          f"{med(c, 'p99_ms') / max(med(z, 'p99_ms'), 1e-9):.2f} | "
          f"{100 * med(c, 'loadgen_cpu'):.0f} % / {100 * med(z, 'loadgen_cpu'):.0f} % | {100 * other:.1f} % |")
print(f"\n(medians of {max(len(v) for v in rows.values())} runs each; each side's figure is its best "
      "generator's median, named in brackets; watch: ops are fan-out rounds, latency from the set to "
      "the last watcher notified; sessions: an op is a connect + close; other side's CPU: the server "
      "not measured, in % of one core, during the run)")
if len(gens) > 1:
    print()
    print("| servers | case | " + " | ".join(f"ZooKeeper, {g}" for g in gens) + " | "
          + " | ".join(f"Corral, {g}" for g in gens) + " |")
    print("|---|---|" + "---|" * (2 * len(gens)))
    for k in order:
        cells = []
        for label in ("zookeeper", "corral"):
            for g in gens:
                rs = rows.get(k + (label, g))
                cells.append(f"{med(rs, 'ops_per_s'):,.0f} ({100 * med(rs, 'loadgen_cpu'):.0f} % CPU)" if rs else "–")
        if sum(c != "–" for c in cells) > 2:
            print(f"| {k[0]} | {case(k)} | " + " | ".join(cells) + " |")
    print("\n(each generator's median ops/s, and its own CPU in % of one core)")
