"""The benchmark scripts run and report every figure; times are printed, never asserted."""

import os
import subprocess
import sys
import time

from benchmarks import common, machinery, profile, run, transfer


def test_bench_quick_reports_every_figure_without_errors(clouds, capsys):
    results = run.main(["--quick"])
    own = results["own_cost"]["image get"]
    recorded = run.recorded_figures().get("own_cost", {}).get("image get")
    with capsys.disabled():  # in every CI log: where a regression of the app's own cost shows
        print(
            f"\nquick bench: the app's own cost, image get API / bare proxy {own['ratio']:.2f} "
            f"(Redis cache {results['own_cost']['image get' + run.REDIS]['ratio']:.2f}); "
            + (
                f"make bench's recorded {recorded['ratio']:.2f} "
                f"[{recorded['min']:.2f}-{recorded['max']:.2f}] (a quick run is noisier)"
                if recorded
                else "no recorded figure"
            )
        )
    figures = {row["figure"]: row for row in results["figures"]}
    assert set(figures) == {
        "image get",
        "image properties",
        "list, paginate=true (20)",
        "list of 200 images",
        "list of 1,000 images",
        "namespaces Flavor warm",
        "namespaces Flavor cold",
        "resource types",
        "version",
        "image update",
        run.BARE,
        "image get" + run.REDIS,
        "image properties" + run.REDIS,
    }
    assert set(results["own_cost"]) == {
        figure + cache for figure in run.OWN_COST for cache in ("", run.REDIS)
    }
    assert set(run.TARGETS) <= set(figures)
    for row in figures.values():
        assert row["api_ms"] > 0 and row["direct_ms"] > 0
        assert row["min"] <= row["ratio"] <= row["max"]
    (measured,) = results["each_run"]
    for row in measured["figures"].values():
        assert row["api"]["n"] >= 3 and row["direct"]["n"] >= 3
    load = results["throughput"]
    assert load["errors"] == 0 and all(rate > 0 for rate in load["requests_per_s"].values())
    assert set(load["requests_per_s"]) == {"api", "api_redis", "bare_proxy", "direct"}
    assert results["list_memory_mib"] >= 0


def test_the_machinery_script_counts_one_cache_read_per_request_and_prices_each_piece(clouds):
    """In a process of its own (its own settings: make bench's file cache): every measured
    path reads one cache key, the token's revocation mark, and calls Glance once."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.machinery", "--requests", "5", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=common.ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    printed = done.stdout
    for figure in machinery.PATHS:
        section = printed.split(f"\n{figure}\n", 1)[1]
        assert section.splitlines()[0] == (
            "  cache calls per request: Glance 1, get glance_api:forgotten 1"
        )
        assert "the app's own wall time per request" in section
        for variant in ("everything on", "no ETag", "no revocation-mark read", "request log ON"):
            assert variant in section


def test_the_guard_flags_an_own_cost_only_past_its_recorded_range_and_margin():
    recorded = {"own_cost": {"image get": {"ratio": 1.06, "min": 1.03, "max": 1.08}}}

    def verdict(ratio):
        return run.guard({"image get": {"ratio": ratio}, "version": {"ratio": 9}}, recorded)

    assert verdict(1.13) == {"image get": "ok", "version": "no record"}  # 1.08 x 1.05 = 1.134
    assert verdict(1.14)["image get"] == "flag"
    assert verdict(0.9)["image get"] == "ok"


def test_transfer_script_moves_the_bytes_both_ways(clouds):
    results = transfer.main(["--size-mib", "8", "--runs", "1"])
    for direction in ("upload", "download", "multipart"):
        assert results[direction]["api_mib_s"] > 0 and results[direction]["direct_mib_s"] > 0
        assert results[direction]["peak_rss_above_idle_mib"] >= 0
    assert results["multipart"]["peak_temporary_files_mib"] == 0  # nothing spooled


def test_the_profile_script_prints_a_call_tree(clouds, capsys):
    environment = dict(os.environ)
    profile.main(["/api/glance/version/", "--requests", "20"])
    printed = capsys.readouterr().out
    assert "VersionViewSet.list" in printed and "ms of CPU each" in printed
    # the settings it set for itself are gone: servers started later get their own
    assert dict(os.environ) == environment


def test_the_profile_script_samples_a_server_with_py_spy(clouds, capsys):
    profile.main(["/api/glance/version/", "--py-spy", "--seconds", "3"])
    printed = capsys.readouterr().out
    assert "samples holding the GIL in 2 workers" in printed
    assert "APIView.dispatch (rest_framework/views.py)" in printed


def test_chaos_starts_a_fault_only_once_nginx_has_forgotten_the_last_one(tmp_path):
    """A worker kill broke off 3 requests on one nginx worker, which took that instance out
    for fail_timeout; the instance stop that followed 5 s later left nginx with no live
    upstream (7,593 502s in 6 s of a CI run). Each fault now waits until fail_timeout has
    passed since nginx's last failure on an instance; other lines do not count."""
    from benchmarks.chaos import until_nginx_forgets_failures
    from deploy.stack import FAIL_TIMEOUT, FIRST_APP_PORT

    instances = {FIRST_APP_PORT, FIRST_APP_PORT + 1}
    upstream = f"http://127.0.0.1:{FIRST_APP_PORT + 1}/api/glance/images/"

    def line(ago: float, what: str, target: str = upstream) -> str:
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(time.time() - ago))
        return f'{stamp} [error] 1#1: *9 {what}, client: 127.0.0.1, upstream: "{target}"\n'

    log = tmp_path / "error.log"
    before = line(1, "upstream prematurely closed connection while reading response header")
    log.write_text(before)  # before the run: not its own
    with log.open("a") as text:  # what the run wrote: nothing that counts yet
        text.write(line(0, "no live upstreams while connecting to upstream", "http://glance_api/"))
        text.write(line(0, "connect() failed (111)", "http://127.0.0.1:9292/v2/images/x/file"))
        text.write(line(FAIL_TIMEOUT + 5, "recv() failed (104: Connection reset by peer)"))
    assert until_nginx_forgets_failures(log, len(before), instances) == 0
    with log.open("a") as text:
        text.write(line(2, "recv() failed (104: Connection reset by peer)"))
    wait = until_nginx_forgets_failures(log, len(before), instances)
    assert FAIL_TIMEOUT - 2 <= wait <= FAIL_TIMEOUT


def test_the_search_benchmark_reports_every_figure(clouds):
    """make bench's search figures (benchmarks/search.py) on a quick catalog of 300: each
    figure next to its baselines, Glance's calls per search (the first reads the names,
    a page at a time; the others one call each), and what it seeded removed."""
    from benchmarks import search

    results = search.main(["--quick"])
    rows = {row["figure"]: row for row in results["rows"]}
    assert set(rows) == {"first search", "repeated search", "next page"}
    assert all(row["api_ms"] > 0 and row["glanceclient_ms"] > 0 for row in rows.values())
    assert rows["first search"]["glance_calls"] >= 2
    assert rows["repeated search"]["glance_calls"] == rows["next page"]["glance_calls"] == 1
    assert results["left_behind"] == 0


def test_the_panel_benchmark_times_both_dashboards(clouds):
    """benchmarks/panel.py on 50 images: Horizon's images panel in Chromium on the app
    and on Horizon's own API, every figure measured for both (the browser's own
    timings), and the own-API Horizon stopped after."""
    from benchmarks import panel
    from devcloud import horizon

    results = panel.main(["--quick"])
    rows = {row["backend"]: row for row in results["rows"]}
    assert set(rows) == {"glance_api", "Horizon's own"}
    for row in rows.values():
        assert all(row[figure] > 0 for figure in panel.FIGURES), row
        assert row["panel_again_ms"] > row["list_again_ms"]  # the page waits for its list
    assert horizon.own_api_server().pid() is None
