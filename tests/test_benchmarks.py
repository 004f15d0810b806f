"""The benchmark scripts run and report every figure; times are printed, never asserted."""

from benchmarks import run, transfer


def test_bench_quick_reports_every_figure_without_errors(clouds):
    results = run.main(["--quick"])
    figures = {row["figure"]: row for row in results["figures"]}
    assert set(figures) == {
        "image get", "image properties", "list, paginate=true (20)", "list of all images",
        "namespaces Flavor warm", "namespaces Flavor cold", "resource types", "version",
        run.BARE,
    }
    for row in figures.values():
        assert row["api"]["n"] >= 5 and row["direct"]["n"] >= 5
        assert row["api"]["median"] > 0 and row["direct"]["median"] > 0
    load = results["throughput"]
    for client in ("api", "bare_proxy", "direct"):
        assert load[client]["errors"] == 0 and load[client]["requests_per_s"] > 0


def test_transfer_script_moves_the_bytes_both_ways(clouds):
    results = transfer.main(["--size-mib", "8"])
    for direction in ("upload", "download", "multipart"):
        assert results[direction]["api_mib_s"] > 0 and results[direction]["direct_mib_s"] > 0
        assert results[direction]["peak_rss_above_idle_mib"] >= 0
    assert results["multipart"]["peak_temporary_files_mib"] == 0  # nothing spooled
