"""One table and one chart over every workload of a run: fastwsgi against the
best other Python server of the same run, per figure (issue 4's targets).

For each workload the peers are the WSGI servers measured in that run other
than fastwsgi itself, its access-log variant and the nginx ceiling. "Best"
is taken per column: the lowest CPU µs/req, the highest req/s, the lowest p99,
each possibly from a different server, so each ratio is against the strongest
rival on that figure. `python benchmarks/summary.py [--tag T]` rebuilds the
summary from the saved results/<workload>.json files. One exception: a peer that answered fewer than half as
many requests per second as fastwsgi is left out of the CPU column, because a
server that stalls (fastwsgi 0.0.9 on pipelined requests idles at 7% CPU)
spends little CPU per request by doing little; its req/s still counts. Written as results/summary[-TAG].md and .png by run.py
after the per-workload reports.
"""
import argparse
import json
import statistics
from pathlib import Path
from typing import Dict, List, Optional

OURS = "fastwsgi"
NOT_PEERS = ("fastwsgi", "fastwsgi-accesslog", "fastwsgi-nodefer", "fastwsgi-baseline")


def _best(rows, attr, lowest, min_rps=0.0):
    """(value, server name) of the peer with the best median of attr, among
    peers that answered at least min_rps requests per second."""
    found = [(r.median(attr), r.server.name) for r in rows
             if r.ok_runs() and r.server.name not in NOT_PEERS and not r.server.ceiling
             and r.median(attr) is not None and r.median("rps") >= min_rps]
    if not found:
        return None, None
    return (min if lowest else max)(found)


def summarize(rows_by_workload: Dict[str, Dict[str, object]]) -> List[dict]:
    """One dict per workload where fastwsgi and at least one peer ran."""
    lines = []
    for workload, by_server in rows_by_workload.items():
        rows = list(by_server.values())
        ours = by_server.get(OURS)
        if ours is None or not ours.ok_runs():
            continue
        cpu, cpu_peer = _best(rows, "cpu_us_per_req", lowest=True,
                              min_rps=0.5 * ours.median("rps"))
        rps, rps_peer = _best(rows, "rps", lowest=False)
        p99, p99_peer = _best(rows, "p99_us", lowest=True)
        if rps is None:
            continue
        ceiling = next((r for r in rows if r.server.ceiling and r.ok_runs()), None)
        lines.append({
            "workload": workload,
            "cpu": ours.median("cpu_us_per_req"), "peer_cpu": cpu, "peer_cpu_name": cpu_peer,
            "rps": ours.median("rps"), "peer_rps": rps, "peer_rps_name": rps_peer,
            "p99": ours.median("p99_us"), "peer_p99": p99, "peer_p99_name": p99_peer,
            "nginx_cpu": ceiling.median("cpu_us_per_req") if ceiling else None,
            "kernel": ours.median("kernel_share"),     # None in results saved before it existed
        })
    return lines


def markdown(lines: List[dict]) -> str:
    out = [
        "| workload | fastwsgi CPU µs/req | of it in kernel | best peer | CPU ratio (target ≤ 0.80) "
        "| fastwsgi req/s | best peer | req/s ratio (target ≥ 1) "
        "| fastwsgi p99 | best peer | nginx CPU µs/req |",
        "|---|--:|--:|---|--:|--:|---|--:|--:|---|--:|",
    ]
    for x in lines:
        nginx = "" if x["nginx_cpu"] is None else "%.1f" % x["nginx_cpu"]
        kernel = "n/a" if x["kernel"] is None else "%.0f%%" % (100 * x["kernel"])
        if x["peer_cpu"] is None:         # every peer below half our req/s
            peer_cpu, cpu_ratio = "none at ≥ ½ the req/s", "–"
        else:
            peer_cpu = "%.1f (%s)" % (x["peer_cpu"], x["peer_cpu_name"])
            cpu_ratio = "%.2f" % (x["cpu"] / x["peer_cpu"])
        out.append(
            "| %s | %.1f | %s | %s | **%s** | %s | %s (%s) | **%.2f** | %s | %s (%s) | %s |" % (
                x["workload"], x["cpu"], kernel, peer_cpu, cpu_ratio, "{:,.0f}".format(x["rps"]),
                "{:,.0f}".format(x["peer_rps"]), x["peer_rps_name"], x["rps"] / x["peer_rps"],
                _ms(x["p99"]), _ms(x["peer_p99"]), x["peer_p99_name"], nginx))
    return "\n".join(out)


def _ms(us: Optional[float]) -> str:
    return "n/a" if us is None else ("%.0f µs" % us if us < 1000 else "%.2f ms" % (us / 1000))


def chart(lines: List[dict], path, caption: str) -> Optional[str]:
    """Grouped bars: CPU and req/s ratios per workload, with the targets."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return "chart skipped: matplotlib not importable (%s)" % exc
    names = [x["workload"] for x in lines]
    cpu = [x["cpu"] / x["peer_cpu"] if x["peer_cpu"] else 0.0 for x in lines]
    rps = [x["rps"] / x["peer_rps"] for x in lines]
    xs = range(len(lines))
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(lines) + 2), 4.8))
    ax.bar([x - 0.2 for x in xs], cpu, width=0.4, color="#d95f02",
           label="CPU per request ÷ best peer's (lower is better)")
    ax.bar([x + 0.2 for x in xs], rps, width=0.4, color="#1f78b4",
           label="requests/s ÷ best peer's (higher is better)")
    for x, c, r in zip(xs, cpu, rps):
        ax.text(x - 0.2, c, "%.2f" % c if c else "–", ha="center", va="bottom", fontsize=8)
        ax.text(x + 0.2, r, "%.2f" % r, ha="center", va="bottom", fontsize=8)
    ax.axhline(1.0, color="k", linewidth=0.8)
    ax.axhline(0.8, color="#d95f02", linewidth=0.8, linestyle="--", label="CPU target 0.8")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(names, fontsize=9)
    ax.set_ylabel("fastwsgi ÷ best other Python server")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
    ax.set_title(caption, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def write(base, lines, rounds, duration, command, machine) -> str:
    """Write base.md and base.png; returns what was written, for the console."""
    base.with_suffix(".md").write_text(
        "# fastwsgi against the best other Python server, per workload\n\n%s\n\n"
        "Medians of %d interleaved round(s) of %d s; the best peer is taken per column among "
        "the WSGI servers of the run (not nginx, the ceiling). Per-workload reports: "
        "results/<workload>.md.\n\nCommand: `%s`\n\nMachine: %s\n" % (
            markdown(lines), rounds, duration, command,
            ", ".join("%s: %s" % item for item in machine.items())), encoding="utf-8")
    note = chart(lines, base.with_suffix(".png"), "median of %d round(s) × %d s; %s, %s" % (
        rounds, duration, machine.get("CPU", ""), machine.get("Python", "")))
    return "wrote %s.md%s" % (base, " (%s)" % note if note else ", .png")


# -- rebuilding the summary from saved results ----------------------------------


class _SavedServer:
    def __init__(self, name, ceiling):
        self.name, self.ceiling = name, ceiling


class _SavedRow:
    """A server's runs of one workload as results/<workload>.json holds them,
    with the two methods summarize() uses of run.py's Row."""

    def __init__(self, name, runs, ceiling):
        self.server, self.runs = _SavedServer(name, ceiling), runs

    def ok_runs(self):
        return [r for r in self.runs if r.get("error") is None]

    def median(self, attr):
        values = [r[attr] for r in self.ok_runs() if r.get(attr) is not None]
        return statistics.median(values) if values else None


def main():
    parser = argparse.ArgumentParser(description="Rebuild results/summary.md and .png "
                                     "from the saved results/<workload>.json files.")
    parser.add_argument("--tag", help="read <workload>-TAG.json, write summary-TAG.*")
    args = parser.parse_args()
    results = Path(__file__).resolve().parent / "results"
    import apps
    suffix = "-" + args.tag if args.tag else ""
    rows, meta = {}, None
    for w in apps.WORKLOADS:
        path = results / ("%s%s.json" % (w.name, suffix))
        if not path.exists():
            continue
        meta = json.loads(path.read_text())
        by_server = {}
        for run in meta["runs"]:
            by_server.setdefault(run["server"], []).append(run)
        rows[w.name] = {name: _SavedRow(name, runs, name == "nginx")
                        for name, runs in by_server.items()}
    if meta is None:
        parser.error("no results/<workload>%s.json to summarize: run benchmarks/run.sh first"
                     % suffix)
    lines = summarize(rows)
    print(markdown(lines))
    print(write(results / ("summary" + suffix), lines, meta["settings"]["rounds"],
                meta["settings"]["duration_s"], meta["command"], meta["machine"]))


if __name__ == "__main__":
    main()
