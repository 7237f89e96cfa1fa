#!/usr/bin/python3
"""The table of test/bench/compare: our figures (queue_bench's BENCH lines,
one per round, and multiplex_bench's), the peers' (the JSON lines of
../shared/peers' scripts), the ratios, the goals of the performance issue.
Where a figure was measured in several rounds the table shows the median.
Prints the table and a COMPARE JSON line and writes the table to RESULTS.md.

usage: compare_report.py OURS.jsonl PEERS.jsonl [--multiplex MUX.json]
                         [--results FILE] [--n N]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess


def load_peers(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    rows.append(json.loads(line))
    except FileNotFoundError:
        pass
    return rows


def median_row(rows):
    """One row whose numbers are the medians over `rows` (others: the first
    row's value); None when `rows` is empty."""
    if not rows:
        return None
    out = dict(rows[0])
    for key, value in rows[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values = [r[key] for r in rows
                      if isinstance(r.get(key), (int, float))]
            out[key] = statistics.median(values)
    out["rounds"] = len(rows)
    return out


def find(rows, **want):
    return median_row([r for r in rows
                       if all(r.get(k) == v for k, v in want.items())])


def num(v, unit="/s"):
    if v is None:
        return "-"
    if unit == "/s":
        return f"{v:,.0f} /s"
    if unit == "ms":
        return f"{v:.2f} ms"
    if unit == "MiB":
        return f"{v:.1f} MiB"
    return str(v)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        redis = subprocess.run(["redis-server", "--version"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        redis = "?"
    load = open("/proc/loadavg").read().split()[:3]
    return (f"{platform.node()}: {platform.system()} {platform.release()}, "
            f"{os.cpu_count()} cores ({cpu}); {redis}; load {' '.join(load)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("peers")
    ap.add_argument("--multiplex")
    ap.add_argument("--results")
    ap.add_argument("--n", type=int, default=0)
    a = ap.parse_args()
    rounds = load_peers(a.ours)
    ours = median_row(rounds) or {}
    peers = load_peers(a.peers)
    mux = {}
    if a.multiplex:
        try:
            mux = json.load(open(a.multiplex))
        except (OSError, ValueError):
            mux = {}

    sk2 = find(peers, kind="sidekiq", phase="drain", label="2 procs -c 5")
    sk1 = find(peers, kind="sidekiq", phase="drain", label="1 proc -c 10")
    bs = find(peers, kind="beanstalk", phase="drain")
    ce = find(peers, kind="celery", phase="drain", label="2 procs -P solo")
    sk_single = find(peers, kind="sidekiq", phase="enqueue", mode="single")
    sk_bulk = find(peers, kind="sidekiq", phase="enqueue", mode="bulk")
    bs_single = find(peers, kind="beanstalk", phase="enqueue")
    ce_single = find(peers, kind="celery", phase="enqueue")

    def rate(r, key="drain_rate"):
        return r.get(key) if r else None

    drain = ours.get("drain_rate")
    rows = []  # figure, ours, peer figure, ratio, goal, met

    def row(figure, value, unit, versus, other, goal_text="", goal_ok=None):
        r = ratio(value, other) if other is not None else None
        rows.append({
            "figure": figure, "ours": num(value, unit), "versus": versus,
            "theirs": num(other, unit) if other is not None else "-",
            "ratio": fmt_ratio(r), "goal": goal_text,
            "met": "-" if goal_ok is None else ("yes" if goal_ok else "NO"),
            "ratio_value": r,
        })
        return r

    ceil = ours.get("ceiling_rate")
    r_sk2 = row("no-op drain, --threads=2", drain, "/s", "Sidekiq 2x5",
                rate(sk2), ">= 10x Sidekiq 2x5",
                None if ratio(drain, rate(sk2)) is None
                else ratio(drain, rate(sk2)) >= 10)
    row("", drain, "/s", "Sidekiq 1x10", rate(sk1))
    row("", drain, "/s", "beanstalkd 2 procs", rate(bs))
    if ce:
        row("", drain, "/s", "Celery 2 x solo", rate(ce))
    r_ceil = row("", drain, "/s", "Redis read+ack ceiling", ceil,
                 ">= 0.8x ceiling",
                 None if ratio(drain, ceil) is None else ratio(drain, ceil) >= 0.8)
    row("", drain, "/s", "ceiling with XDEL", ours.get("ceiling_del_rate"))
    row("", drain, "/s", "ceiling with the trim", ours.get("ceiling_trim_rate"))
    single = ours.get("single_rate")
    row("single enqueue, 1 client", single, "/s", "Sidekiq perform_async",
        rate(sk_single, "enqueue_rate"))
    row("", single, "/s", "beanstalkd put", rate(bs_single, "enqueue_rate"))
    if ce_single:
        row("", single, "/s", "Celery delay", rate(ce_single, "enqueue_rate"))
    bulk = ours.get("bulk_rate")
    row("bulk enqueue (queuectl --bulk)", bulk, "/s", "Sidekiq push_bulk",
        rate(sk_bulk, "enqueue_rate"), ">= 300,000 /s",
        None if bulk is None else bulk >= 300000)
    p99 = ours.get("latency_p99_ms")
    row("latency p50 @10k/s offered", ours.get("latency_p50_ms"), "ms", "", None)
    row("latency p99 @10k/s offered", p99, "ms", "", None, "<= 2 ms",
        None if p99 is None else p99 <= 2.0)
    wrss = ours.get("worker_rss_kib", 0) / 1024.0
    mrss = ours.get("master_rss_kib", 0) / 1024.0
    row("worker RSS (largest, after drain)", wrss, "MiB", "Sidekiq 2x5 peak/proc",
        sk2.get("peak_rss_max_mib") if sk2 else None, "<= 8 MiB", wrss <= 8)
    row("master RSS (after drain)", mrss, "MiB", "", None, "<= 12 MiB",
        mrss <= 12)
    ka0 = mux.get("ka0_rate") if mux.get("ka0_ok") else None
    ka5 = mux.get("ka5_rate") if mux.get("ka5_ok") else None
    idle_mib = None
    if mux.get("idle") == 10000 and mux.get("idle_open") == 10000:
        idle_mib = mux.get("master_rss_kib_idle", 0) / 1024.0
    if mux:
        row("multiplex: fork per request", ka0, "/s", "fork+exit ceiling",
            mux.get("fork_ceiling"), ">= 0.6x ceiling",
            None if ratio(ka0, mux.get("fork_ceiling")) is None
            else ratio(ka0, mux.get("fork_ceiling")) >= 0.6)
        row("multiplex: keepalive 5s", ka5, "/s", "direct echo ceiling",
            mux.get("echo_ceiling"), ">= 0.5x ceiling",
            None if ratio(ka5, mux.get("echo_ceiling")) is None
            else ratio(ka5, mux.get("echo_ceiling")) >= 0.5)
        row("master RSS, 10,000 idle conns", idle_mib, "MiB", "", None,
            "<= 64 MiB", None if idle_mib is None else idle_mib <= 64)

    when = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    where = machine()
    head = ["figure", "ours", "versus", "theirs", "ratio", "goal", "met"]
    widths = [max(len(h), *(len(r[h]) for r in rows)) for h in head]
    lines = [f"queuedaemon vs peers, one run, N={ours.get('n', a.n)}, "
             f"medians of {len(rounds)} rounds",
             f"date: {when}", f"machine: {where}", ""]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(r[h].ljust(w) for h, w in zip(head, widths)))
    missing = [name for name, r in [("Sidekiq 2x5", sk2), ("beanstalkd", bs)]
               if r is None]
    if missing:
        lines.append("")
        lines.append("not measured (see the peer logs): " + ", ".join(missing))
    table = "\n".join(lines)
    print(table)
    summary = {
        "bench": "compare", "date": when, "n": ours.get("n"),
        "rounds": len(rounds),
        "drain_rate": drain, "ceiling_rate": ceil,
        "sidekiq_2x5_rate": rate(sk2), "sidekiq_1x10_rate": rate(sk1),
        "beanstalk_rate": rate(bs), "celery_solo2_rate": rate(ce),
        "drain_vs_sidekiq_2x5": r_sk2, "drain_vs_ceiling": r_ceil,
        "single_rate": single, "bulk_rate": bulk,
        "sidekiq_single_rate": rate(sk_single, "enqueue_rate"),
        "sidekiq_bulk_rate": rate(sk_bulk, "enqueue_rate"),
        "latency_p50_ms": ours.get("latency_p50_ms"), "latency_p99_ms": p99,
        "worker_rss_mib": round(wrss, 1), "master_rss_mib": round(mrss, 1),
        "multiplex_fork_rate": ka0, "multiplex_keepalive_rate": ka5,
        "fork_ceiling": mux.get("fork_ceiling"),
        "echo_ceiling": mux.get("echo_ceiling"),
        "master_idle_10000_mib": None if idle_mib is None else round(idle_mib, 1),
    }
    print("COMPARE " + json.dumps(summary, sort_keys=True))
    if a.results:
        with open(a.results, "w") as f:
            f.write("# Benchmark results\n\n")
            f.write("Written by `test/bench/compare` (test/bench/README.md): "
                    "every figure below comes from one run on one machine; "
                    "compare ratios, not absolute figures, between runs.\n\n")
            f.write("```\n" + table + "\n```\n\n")
            f.write("```\nCOMPARE " + json.dumps(summary, sort_keys=True) +
                    "\n```\n")
            notes = os.path.join(os.path.dirname(a.results), "RESULTS-notes.md")
            if os.path.exists(notes):
                f.write("\n" + open(notes).read())


if __name__ == "__main__":
    main()
