"""Charts of the benchmarks' figures, drawn by matplotlib as SVG: beside each result's
JSON (write_results), and for the documentation from its data/ (docs/conf.py).

- ``bench``: each figure's median through the API next to direct glanceclient;
- ``load``: p50 and p99 per operation;
- ``chaos``: answers and errors per second over the run, each fault's window shaded;
- ``watch``: Glance's requests per second and the memory per waiter, against the waiters.
"""

import json
from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("svg")  # no display, no GUI toolkit
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "glance_api", "font.size": 9})  # stable output
    return plt


def bench_chart(results: dict, path: Path) -> None:
    plt = _pyplot()
    rows = [row for row in results["figures"] if row.get("direct_ms")]
    names = [row["figure"] for row in rows]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(rows) + 1.2))
    ys = range(len(rows))
    ax.barh([y + 0.2 for y in ys], [row["api_ms"] for row in rows], 0.4, label="through the API")
    ax.barh([y - 0.2 for y in ys], [row["direct_ms"] for row in rows], 0.4, label="glanceclient")
    ax.set_yticks(list(ys), names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("median ms (log scale)")
    ax.legend(loc="lower right")
    ax.set_title("make bench: each figure through the API and direct")
    _save(fig, path)


def load_chart(results: dict, path: Path) -> None:
    plt = _pyplot()
    operations = list(results["operations"])
    fig, ax = plt.subplots(figsize=(7, 3.2))
    xs = range(len(operations))
    p50 = [results["operations"][op]["p50_ms"] for op in operations]
    p99 = [results["operations"][op]["p99_ms"] for op in operations]
    ax.bar([x - 0.2 for x in xs], p50, 0.4, label="p50")
    ax.bar([x + 0.2 for x in xs], p99, 0.4, label="p99")
    ax.set_xticks(list(xs), operations, rotation=30, ha="right")
    ax.set_ylabel("ms")
    ax.legend()
    ax.set_title(
        f"make load: {results['clients']} clients, {results['requests']:,} requests, "
        f"{results['errors']} errors"
    )
    _save(fig, path)


def chaos_chart(results: dict, path: Path) -> None:
    plt = _pyplot()
    seconds = [row[0] for row in results["timeline"]]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.plot(seconds, [row[1] for row in results["timeline"]], label="answers per second")
    ax.plot(seconds, [row[2] for row in results["timeline"]], label="errors per second")
    for name, fault in results["faults"].items():
        ax.axvspan(fault["at_s"], fault["back_at_s"], alpha=0.2, color="tab:red")
        ax.annotate(name, (fault["at_s"], ax.get_ylim()[1]), rotation=90, va="top", fontsize=7)
    ax.set_xlabel("seconds")
    ax.legend(loc="center right")
    ax.set_title(f"make chaos: {results['clients']} clients; shaded: each part down")
    _save(fig, path)


def watch_chart(results: dict, path: Path) -> None:
    plt = _pyplot()
    rows = results["rows"]
    fig, (calls, memory) = plt.subplots(1, 2, figsize=(8, 3.2))
    names = [row["case"].replace(" of a project", "") for row in rows]
    xs = range(len(rows))
    calls.bar(xs, [row["glance_per_s"] for row in rows], 0.6)
    calls.set_xticks(list(xs), names, rotation=30, ha="right")
    calls.set_ylabel("Glance requests per second")
    calls.set_title(f"one poll each {results['poll_s']} s, however many wait")
    scaled = [row for row in rows if row["waiters"] >= 100]
    memory.bar(range(len(scaled)), [row["kib_per_waiter"] for row in scaled], 0.6)
    memory.set_xticks(
        list(range(len(scaled))),
        [row["case"].replace(" of a project", "") for row in scaled],
        rotation=30,
        ha="right",
    )
    memory.set_ylabel("KiB per waiter (asynchronous instances)")
    others = results["others"]
    memory.set_title(
        f"{others['waiters']} waiting: others' p99 x{others['p99_ratio']}, "
        f"a change seen in {results['change']['last_s']} s",
        fontsize=8,
    )
    _save(fig, path)


def search_chart(results: dict, path: Path) -> None:
    plt = _pyplot()
    rows = results["rows"]
    fig, axes = plt.subplots(1, len(rows), figsize=(9, 3.2))
    for ax, row in zip(axes, rows, strict=True):
        ax.bar(
            [0, 1, 2],
            [row["api_ms"], row["glanceclient_ms"], row["raw_json_ms"]],
            0.6,
            color=["tab:blue", "tab:gray", "lightgray"],
        )
        ax.set_xticks([0, 1, 2], ["API (q)", "glanceclient", "raw JSON"], fontsize=8)
        ax.set_title(f"{row['figure']}: x{row['ratio']} (goal {row['goal']})", fontsize=9)
        ax.set_ylabel("ms (median)")
        ax.set_xlabel(f"baseline: {row['baseline']}", fontsize=7)
    fig.suptitle(f"q in {results['images']:,} images, pages of {results['page']}", fontsize=10)
    _save(fig, path)


def panel_chart(results: dict, path: Path) -> None:
    plt = _pyplot()
    figures = [
        ("panel_first_ms", "panel,\n1st visit"),
        ("list_first_ms", "its list"),
        ("panel_again_ms", "panel,\nagain"),
        ("list_again_ms", "its list"),
        ("form_lists_ms", "Create Image\nlists"),
    ]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    width = 0.8 / len(results["rows"])
    for i, row in enumerate(results["rows"]):
        xs = [x + i * width for x in range(len(figures))]
        ax.bar(xs, [row[key] for key, _ in figures], width, label=row["backend"])
    ax.set_xticks([x + width / 2 for x in range(len(figures))], [label for _, label in figures])
    ax.set_ylabel("ms (median)")
    ax.set_title(f"Horizon's images panel with {results['images']:,} images", fontsize=10)
    ax.legend(fontsize=8)
    _save(fig, path)


CHARTS = {
    "bench": bench_chart,
    "load": load_chart,
    "chaos": chaos_chart,
    "watch": watch_chart,
    "search": search_chart,
    "panel": panel_chart,
}


def write_chart(name: str, results: dict, folder: Path) -> Path | None:
    """``<name>.svg`` in ``folder`` where there is a chart for that result."""
    draw = CHARTS.get(name)
    if draw is None:
        return None
    path = folder / f"{name}.svg"
    draw(results, path)
    return path


def write_charts(data: Path, folder: Path) -> list[Path]:
    """A chart of each result in ``data`` (docs/data/<name>.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        path
        for source in sorted(data.glob("*.json"))
        if (path := write_chart(source.stem, json.loads(source.read_text()), folder))
    ]


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
