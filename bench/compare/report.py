#!/usr/bin/env python3
"""Turn bench/compare/run's raw files into JSON, the markdown results section of
docs/benchmarks.md (between the results markers; text outside them is kept) and the data
files that plots.gp draws. Medians over the rounds; ratios from the same run."""
import argparse
import glob
import json
import os
import re
import statistics

BEGIN = "<!-- compare:results:begin (written by bench/compare/report.py) -->"
END = "<!-- compare:results:end -->"
CONTENDER_LABEL = {
    "direct": "direct (no proxy)",
    "haproxy": "HAProxy 2.6",
    "haproxy-splice": "HAProxy 2.6, splice-auto",
    "haproxy-source": "HAProxy 2.6, source ranges",
    "nginx": "nginx 1.22 stream",
    "nginx-bind": "nginx 1.22 stream, proxy_bind",
    "portpool-kernel": "portpool-proxy, kernel mode",
    "portpool-pool": "portpool-proxy, pool mode",
    "portpool-pool-256k": "portpool-proxy, pool mode, --buffer-size 256 KiB",
}


def kv_file(path):
    out = {}
    for line in open(path, errors="replace"):
        for tok in line.split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                out[k] = v
    return out


def to_us(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]


def parse_wrk(path):
    text = open(path, errors="replace").read()
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        r["per_s"] = float(m.group(1))
    for pct in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        if m:
            r["p%s_us" % pct] = to_us(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    r["socket_errors"] = sum(map(int, m.groups())) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    r["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"loadavg_before=([\d.]+)", text)
    if m:
        r["load1"] = float(m.group(1))
    return r


def parse_iperf(path):
    try:
        j = json.load(open(path))
        return {"gbit_s": j["end"]["sum_received"]["bits_per_second"] / 1e9}
    except (ValueError, KeyError):
        return {}


def parse_hold(path):
    kv = kv_file(path)
    r = {}
    for k in ("connections", "rss_before_kb", "rss_peak_kb", "slab_before_kb", "slab_peak_kb",
              "established_to_backend", "held", "failed", "dropped"):
        if k in kv:
            r[k] = int(kv[k])
    held = r.get("held", 0)
    if held and "rss_peak_kb" in r:
        r["user_b_per_conn"] = (r["rss_peak_kb"] - r["rss_before_kb"]) * 1024 / held
        r["slab_b_per_conn"] = (r["slab_peak_kb"] - r["slab_before_kb"]) * 1024 / held
    if "loadavg" in kv:
        r["load1"] = float(kv["loadavg"].split(",")[0])
    return r


def median_of(samples):
    keys = set().union(*samples) if samples else set()
    out = {"rounds": len(samples)}
    for k in sorted(keys):
        vals = [s[k] for s in samples if s.get(k) is not None]
        if vals:
            out[k] = statistics.median(vals)
    return out


def collect(raw):
    groups = {}
    for path in sorted(glob.glob(os.path.join(raw, "*__*__t*__r*.*"))):
        base = os.path.basename(path)
        if base.endswith(".load"):
            continue
        measure, contender, threads, _ = base.split("__")
        threads = int(threads[1:])
        if measure in ("churn", "keepalive"):
            s = parse_wrk(path)
        elif measure == "bulk":
            s = parse_iperf(path)
            lp = path[: -len(".json")] + ".load"
            if os.path.exists(lp):
                s["load1"] = float(open(lp).read().split(",")[0])
        else:
            s = parse_hold(path)
        groups.setdefault((measure, contender, threads), []).append(s)
    results = {}
    for (measure, contender, threads), samples in groups.items():
        entry = median_of(samples)
        entry["samples"] = samples
        results.setdefault(measure, {}).setdefault(contender, {})[str(threads)] = entry
    connect = {}
    cpath = os.path.join(raw, "connect.txt")
    if os.path.exists(cpath):
        for line in open(cpath):
            kv = dict(t.split("=", 1) for t in line.split() if "=" in t)
            if {"strategy", "occupancy", "connect_us"} <= kv.keys():
                connect.setdefault(kv["strategy"], {})[int(float(kv["occupancy"]))] = float(kv["connect_us"])
    if connect:
        results["connect"] = connect
    return results


def get(results, measure, contender, threads, key):
    return results.get(measure, {}).get(contender, {}).get(str(threads), {}).get(key)


def ratio(a, b):
    return a / b if a is not None and b else None


def paired(results, measure, a, b, threads, key, b_threads=None):
    """Median over rounds of a/b within the same round: the machine's load drifts between
    rounds, the contenders of one round saw the same load."""
    sa = results.get(measure, {}).get(a, {}).get(str(threads), {}).get("samples", [])
    sb = results.get(measure, {}).get(b, {}).get(str(b_threads or threads), {}).get("samples", [])
    rs = [x[key] / y[key] for x, y in zip(sa, sb) if x.get(key) is not None and y.get(key)]
    return statistics.median(rs) if rs else None


def fmt(v, digits=0, suffix=""):
    if v is None:
        return "n/a"
    if isinstance(v, float) and digits == 0:
        return f"{v:,.0f}{suffix}"
    return f"{v:,.{digits}f}{suffix}"


def verdict(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def targets(results):
    rows = []
    for t in (1, 2):
        pp = get(results, "churn", "portpool-pool", t, "per_s")
        ha = get(results, "churn", "haproxy", t, "per_s")
        r = paired(results, "churn", "portpool-pool", "haproxy", t, "per_s")
        rows.append((f"churn conn/s >= 1.3x HAProxy ({t} thread{'s' * (t > 1)})",
                     f"{fmt(pp)} vs {fmt(ha)}; paired ratio {fmt(r, 2)}x", None if r is None else r >= 1.3))
        pp = get(results, "keepalive", "portpool-pool", t, "per_s")
        ha = get(results, "keepalive", "haproxy", t, "per_s")
        p99 = get(results, "keepalive", "portpool-pool", t, "p99_us")
        hp99 = get(results, "keepalive", "haproxy", t, "p99_us")
        r = paired(results, "keepalive", "portpool-pool", "haproxy", t, "per_s")
        ok = None if r is None or p99 is None or hp99 is None else (r >= 1.2 and p99 <= hp99)
        rows.append((f"keep-alive req/s >= 1.2x HAProxy, p99 no worse ({t} thread{'s' * (t > 1)})",
                     f"{fmt(pp)} vs {fmt(ha)}; paired ratio {fmt(r, 2)}x; p99 {fmt(p99)} us vs {fmt(hp99)} us", ok))
    pp = get(results, "bulk", "portpool-pool", 1, "gbit_s")
    sp = get(results, "bulk", "haproxy-splice", 1, "gbit_s")
    d = get(results, "bulk", "direct", 1, "gbit_s")
    rs = paired(results, "bulk", "portpool-pool", "haproxy-splice", 1, "gbit_s")
    rd = paired(results, "bulk", "portpool-pool", "direct", 1, "gbit_s")
    rows.append(("bulk >= HAProxy splice-auto", f"{fmt(pp, 2)} vs {fmt(sp, 2)} Gbit/s; paired ratio {fmt(rs, 2)}x",
                 None if rs is None else rs >= 1.0))
    rows.append(("bulk >= 0.6x direct", f"{fmt(pp, 2)} vs {fmt(d, 2)} Gbit/s; paired ratio {fmt(rd, 2)}x",
                 None if rd is None else rd >= 0.6))
    u = get(results, "idle", "portpool-pool", 1, "user_b_per_conn")
    hu = get(results, "idle", "haproxy", 1, "user_b_per_conn")
    rows.append(("idle user RSS <= 2 KB per proxied connection",
                 f"{fmt(u)} B (HAProxy {fmt(hu)} B)", None if u is None else u <= 2048))
    est = get(results, "capacity", "portpool-pool", 1, "established_to_backend")
    lost = None
    e = results.get("capacity", {}).get("portpool-pool", {}).get("1")
    if e:
        # Below the capacity nothing may fail: every round must have held min(asked, 4,000).
        lost = max(max(0, min(s.get("connections", 0), 4000) - s.get("held", 0)) for s in e["samples"])
    rows.append(("capacity = 100% of sources x ports (4 x 1,000 = 4,000), zero failures below it",
                 f"{fmt(est)} upstream connections = {fmt(ratio(est, 4000) and 100 * ratio(est, 4000), 1)}%; "
                 f"short of 4,000 held in the worst round: {fmt(lost)}",
                 None if est is None else (est >= 4000 and lost == 0)))
    return rows


def markdown(results, meta):
    L = []
    L.append(BEGIN)
    L.append("")
    L.append(f"Run: `bench/compare/run --{meta.get('mode', '?')} --rounds {meta.get('rounds', '?')} "
             f"--seconds {meta.get('seconds', '?')}` at {meta.get('started', '?')} "
             f"(commit {meta.get('commit', '?')}; binaries built {meta.get('proxy_binary_time', '?')} from the working tree, "
             f"uncommitted changes in: {meta.get('uncommitted', '?')}), {meta.get('rounds', '?')} interleaved rounds of "
             f"{meta.get('seconds', '?')} s per sample; absolute figures are medians over the rounds, ratios (x HAProxy, x direct) "
             f"are medians of the per-round ratios, since the contenders of one round saw the same machine load. Kernel {meta.get('kernel', '?')}, "
             f"{meta.get('cpus', '?')} CPUs shared with other builds: load average "
             f"{meta.get('loadavg_start', '?').replace(',', ' ')} at the start, "
             f"{meta.get('loadavg_end', '?').replace(',', ' ')} at the end. HAProxy {meta.get('haproxy', '?')}, "
             f"nginx {meta.get('nginx', '?')}, wrk {meta.get('wrk', '?')}, iperf3 {meta.get('iperf3', '?')}.")
    L.append("")
    L.append("### Targets")
    L.append("")
    L.append("| target | measured (portpool-proxy pool mode vs the reference) | verdict |")
    L.append("|---|---|---|")
    for name, fig, ok in targets(results):
        L.append(f"| {name} | {fig} | {verdict(ok)} |")
    L.append("")
    for measure, title, unit in (("churn", "1. Churn: wrk `Connection: close`, -c32, to nginx HTTP", "conn/s"),
                                 ("keepalive", "2. Keep-alive: wrk -c50 to nginx HTTP", "req/s")):
        if measure not in results:
            continue
        L.append(f"### {title}")
        L.append("")
        L.append(f"| contender | threads | {unit} | x HAProxy | x direct | p50 us | p99 us | errors | load 1m |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        for c in CONTENDER_LABEL:
            for t in (1, 2):
                e = results[measure].get(c, {}).get(str(t))
                if not e:
                    continue
                xha = paired(results, measure, c, "haproxy", t, "per_s", 1 if c == "direct" else t)
                xd = paired(results, measure, c, "direct", t, "per_s", 1)
                errs = sum(s.get("socket_errors", 0) + s.get("non_2xx", 0) for s in e["samples"])
                L.append(f"| {CONTENDER_LABEL[c]} | {t if c != 'direct' else '-'} | {fmt(e.get('per_s'))} | "
                         f"{fmt(xha, 2)} | {fmt(xd, 2)} | "
                         f"{fmt(e.get('p50_us'))} | {fmt(e.get('p99_us'))} | {errs} | {fmt(e.get('load1'), 1)} |")
        L.append("")
        L.append(f"![{measure}](img/{measure}.png)")
        L.append("")
    if "bulk" in results:
        L.append("### 3. Bulk: one iperf3 stream, 1 thread")
        L.append("")
        L.append("| contender | Gbit/s | x HAProxy splice-auto | x direct | load 1m |")
        L.append("|---|---|---|---|---|")
        for c in CONTENDER_LABEL:
            e = results["bulk"].get(c, {}).get("1")
            if e:
                g = e.get("gbit_s")
                L.append(f"| {CONTENDER_LABEL[c]} | {fmt(g, 2)} | "
                         f"{fmt(paired(results, 'bulk', c, 'haproxy-splice', 1, 'gbit_s'), 2)} | "
                         f"{fmt(paired(results, 'bulk', c, 'direct', 1, 'gbit_s'), 2)} | {fmt(e.get('load1'), 1)} |")
        L.append("")
        L.append("![bulk](img/bulk.png)")
        L.append("")
    if "idle" in results:
        L.append("### 4. Idle memory: 5,000 idle proxied connections (portpool-load hold, no bytes sent)")
        L.append("")
        L.append("| contender | held | user RSS growth B/conn | kernel slab growth B/conn (host-wide, noisy) |")
        L.append("|---|---|---|---|")
        for c in CONTENDER_LABEL:
            e = results["idle"].get(c, {}).get("1")
            if e:
                L.append(f"| {CONTENDER_LABEL[c]} | {fmt(e.get('held'))} | "
                         f"{'0 (no proxy)' if c == 'direct' else fmt(e.get('user_b_per_conn'))} | "
                         f"{fmt(e.get('slab_b_per_conn'))} |")
        L.append("")
        L.append("![idle](img/idle.png)")
        L.append("")
    if "capacity" in results:
        L.append("### 5. Capacity: 4,400 asked to one backend, 4 sources x 1,000 ports (explicit: 30000-30999 on each; kernel: ephemeral range 40000-40999)")
        L.append("")
        L.append("Capacity is the count of connections established to the backend (`ss`) once it holds "
                 "still; \"client-side held\" counts client connections the proxy kept open, some of them "
                 "without an upstream (HAProxy queues and retries them).")
        L.append("")
        L.append("| contender | upstream connections (ss) | % of 4 x 1,000 | client-side held | refused or dropped |")
        L.append("|---|---|---|---|---|")
        for c in CONTENDER_LABEL:
            e = results["capacity"].get(c, {}).get("1")
            if e:
                est = e.get("established_to_backend")
                L.append(f"| {CONTENDER_LABEL[c]} | {fmt(est)} | {fmt(ratio(est, 4000) and 100 * ratio(est, 4000), 1)} | "
                         f"{fmt(e.get('held'))} | {fmt((e.get('failed') or 0) + (e.get('dropped') or 0))} |")
        L.append("")
        L.append("![capacity](img/capacity.png)")
        L.append("")
    if "connect" in results:
        L.append("### 6. Connect cost versus occupancy (portpool-bench-connect, 10,000 ports)")
        L.append("")
        occ = sorted(set().union(*[set(v) for v in results["connect"].values()]))
        L.append("| occupancy % | " + " | ".join(f"{s} connect us (median)" for s in sorted(results["connect"])) + " |")
        L.append("|---|" + "---|" * len(results["connect"]))
        for o in occ:
            L.append(f"| {o} | " + " | ".join(fmt(results["connect"][s].get(o), 1) for s in sorted(results["connect"])) + " |")
        L.append("")
        L.append("![connect](img/connect.png)")
        L.append("")
    L.append(END)
    return "\n".join(L)


def write_plot_data(results, d):
    os.makedirs(d, exist_ok=True)
    for measure, key in (("churn", "per_s"), ("keepalive", "per_s")):
        with open(os.path.join(d, f"{measure}.dat"), "w") as f:
            f.write("# contender t1 t2\n")
            for c in CONTENDER_LABEL:
                if c in results.get(measure, {}):
                    v1 = get(results, measure, c, 1, key) or 0
                    v2 = get(results, measure, c, 2, key) if c != "direct" else "NaN"  # no proxy threads
                    f.write(f'"{CONTENDER_LABEL[c]}" {v1} {v2 or 0}\n')
    for measure, key in (("bulk", "gbit_s"), ("idle", "user_b_per_conn"), ("capacity", "established_to_backend")):
        with open(os.path.join(d, f"{measure}.dat"), "w") as f:
            f.write("# contender value\n")
            for c in CONTENDER_LABEL:
                v = get(results, measure, c, 1, key)
                if v is not None and not (measure == "idle" and c == "direct"):
                    f.write(f'"{CONTENDER_LABEL[c]}" {v}\n')
    with open(os.path.join(d, "connect.dat"), "w") as f:
        conn = results.get("connect", {})
        f.write("# occupancy kernel pool\n")
        for o in sorted(set().union(*[set(v) for v in conn.values()]) if conn else []):
            f.write(f"{o} {conn.get('kernel', {}).get(o, 'NaN')} {conn.get('pool', {}).get(o, 'NaN')}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--doc", required=True)
    ap.add_argument("--plot-data", required=True)
    a = ap.parse_args()
    meta = kv_file(os.path.join(a.raw, "meta.txt"))
    results = collect(a.raw)
    with open(a.json, "w") as f:
        json.dump({"meta": meta, "results": results,
                   "targets": [{"target": n, "measured": m, "met": ok} for n, m, ok in targets(results)]},
                  f, indent=1, sort_keys=True)
    section = markdown(results, meta)
    doc = open(a.doc).read() if os.path.exists(a.doc) else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + section + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + section + "\n"
    open(a.doc, "w").write(doc)
    write_plot_data(results, a.plot_data)
    for n, m, ok in targets(results):
        print(f"{verdict(ok).strip('*'):8} {n}: {m}")


if __name__ == "__main__":
    main()
