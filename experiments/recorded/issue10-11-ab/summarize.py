#!/usr/bin/env python3
"""Summarize the A/B runs in this directory: per-repetition depth-10 ratios
against the pread chain, per-hop slopes, the driver-hop split, steal and
the device trace. Usage: python3 summarize.py [RUN_DIR ...] (default: all)."""
import glob, json, os, statistics as st, sys

def spread(xs):
    xs = sorted(xs)
    return "%.2fx [%.2f–%.2f]" % (st.median(xs), xs[0], xs[-1]) if xs else "—"

def summarize(d):
    r = json.load(open(os.path.join(d, "result.json")))
    pts = {}
    for p in r["points"]:
        w = p["workload"]
        pts[(w["mode"], w["depth"], p["rep"])] = p
    modes = sorted({m for m, _, _ in pts}, key=["pread", "syscall", "driver", "driver-poll"].index)
    reps = sorted({k[2] for k in pts})
    steal = [p["steal"]["host"] for p in r["points"] if p.get("steal", {}).get("host") is not None]
    print("##", os.path.relpath(d), "—", r["meta"].get("kernel", {}) if False else "")
    if steal:
        print("host steal per point: median %.1f %%, max %.1f %%" % (100 * st.median(steal), 100 * max(steal)))
    for m in modes[1:]:
        iops = [pts[(m, 10, i)]["iops"] / pts[("pread", 10, i)]["iops"] for i in reps if (m, 10, i) in pts]
        lat = [pts[("pread", 10, i)]["summary"]["mean_ns"] / pts[(m, 10, i)]["summary"]["mean_ns"] for i in reps if (m, 10, i) in pts]
        print("d10 %-11s IOPS/pread %s   latency ratio %s" % (m, spread(iops), spread(lat)))
    for m in modes:
        hop = [(pts[(m, 10, i)]["summary"]["mean_ns"] - pts[(m, 1, i)]["summary"]["mean_ns"]) / 9e3 for i in reps]
        print("%-11s µs per extra hop: median %.1f [%.1f–%.1f]" % (m, st.median(hop), min(hop), max(hop)))
    for m in ("driver", "driver-poll"):
        segs = {}
        for i in reps:
            sp = (pts.get((m, 10, i), {}).get("hops") or {}).get("split")
            if not sp:
                continue
            for s in sp["segments"]:
                segs.setdefault(s["name"], []).append(s["mean_ns"] / 1e3)
            segs.setdefault("probe overhead per hop", []).append(sp["overhead_ns"] / 9e3)
        if segs:
            print("%s d10 hop split (µs, median [min–max] over reps): " % m +
                  ", ".join("%s %.1f [%.1f–%.1f]" % (k, st.median(v), min(v), max(v)) for k, v in segs.items()))
    dev = r.get("device")
    if dev:
        s = dev["summary"]
        print("device doorbell→MSI-X: mean %.1f µs p50 %.1f (%d paired)" % (s["mean_ns"] / 1e3, s["p50_ns"] / 1e3, dev["paired"]))
        for q in dev.get("queues", []):
            print("  queue %d: %d commands, %d interrupts%s, service mean %.1f µs p50 %.1f" % (
                q["id"], q["commands"], q["interrupts"], " (polled)" if q["interrupts"] == 0 else "", q["service"]["mean_ns"] / 1e3, q["service"]["p50_ns"] / 1e3))
    print()

here = os.path.dirname(os.path.abspath(__file__))
for d in sys.argv[1:] or sorted(glob.glob(os.path.join(here, "*", "2*"))):
    summarize(d)
