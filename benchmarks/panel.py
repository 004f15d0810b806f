"""The dashboard's images panel as a user sees it (issue 36), on the app and on Horizon's
own API, in headless Chromium: make bench-panel.

    python -m benchmarks.panel [--quick] [--images N] [--samples N] [--record]

Seeds ``--images`` (1,000) images in the bench project, starts the dev cloud's Horizon
twice over the same venv and settings: with glance_api in place of its ``/api/glance/``
(``devcloud.horizon``'s legacy-mode server) and on Horizon's own (``own_api_server``).
Then, taking turns, each sample in a fresh browser context signed in as the bench user
(not timed):

- **panel**: from navigating to ``/project/images/`` to the table showing a seeded
  image's row (the page's ``performance.now()``: since the navigation began), on the
  first visit after signing in (the app validates the session's token with Keystone
  then, once per ``TOKEN_CACHE_SECONDS``; Horizon's own API does not), then again;
- **its list call**: the browser's own timing of the panel's ``GET /api/glance/images/``;
- **Create Image**: the wait of the form's kernel and ramdisk lists, the browser's timing
  of the ``GET /api/glance/images/?paginate=false`` the form sends as it opens.

Prints the medians side by side; writes bench-results/panel.json (``--record``:
docs/data/panel.json). Removes what it seeded and stops the own-API Horizon.
"""

import argparse
import shutil
import statistics
import uuid
from concurrent.futures import ThreadPoolExecutor

from devcloud import accounts, cloud, horizon
from devcloud import config as devcloud

from .common import direct_glance, keystone_session, record, write_results

FIGURES = ("panel_first_ms", "list_first_ms", "panel_again_ms", "list_again_ms", "form_lists_ms")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def seed(glance, count: int, mark: str) -> list[str]:
    def one(index: int) -> str:
        return glance.images.create(
            name=f"panel-{index:04d}",
            disk_format="aki" if index % 100 == 0 else "qcow2",
            container_format="aki" if index % 100 == 0 else "bare",
            panel_run=mark,
        )["id"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def _resource_ms(page, fragment: str) -> float | None:
    """The browser's duration of its last request whose URL contains ``fragment``."""
    return page.evaluate(
        """(fragment) => {
            const all = performance.getEntriesByType('resource')
                .filter((e) => e.name.includes(fragment));
            return all.length ? all[all.length - 1].duration : null;
        }""",
        fragment,
    )


def one_sample(browser, base: str) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120000)
    try:
        page.goto(f"{base}/auth/login/")
        page.fill("#id_username", devcloud.BENCH.username)
        page.fill("#id_password", devcloud.BENCH.password)
        page.click("#loginBtn")
        page.wait_for_load_state("networkidle")
        figures = {}
        for visit in ("first", "again"):
            page.goto("about:blank")  # a navigation of its own, not one within the page
            page.goto(f"{base}/project/images/", wait_until="commit")
            page.wait_for_selector("table tbody tr >> text=/panel-\\d{4}/")
            figures[f"panel_{visit}_ms"] = page.evaluate("performance.now()")
            figures[f"list_{visit}_ms"] = _resource_ms(page, "/api/glance/images/")
            page.wait_for_load_state("networkidle")
        with page.expect_response(lambda r: "paginate=false" in r.url) as answered:
            page.click("button:has-text('Create Image')")
        assert answered.value.status == 200
        page.wait_for_selector(".modal-dialog #imageForm-name")
        figures["form_lists_ms"] = _resource_ms(page, "paginate=false")
        return figures
    finally:
        context.close()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 images, 1 sample, no warm-up")
    parser.add_argument("--images", type=int, help="images to seed (1,000; quick 50)")
    parser.add_argument("--samples", type=int, help="samples per backend (7; quick 1)")
    parser.add_argument("--record", action="store_true", help="write docs/data/panel.json")
    args, _ = parser.parse_known_args(argv)
    count = args.images or (50 if args.quick else 1000)
    samples = args.samples or (1 if args.quick else 7)

    from playwright import sync_api

    cloud.up()
    accounts.register()
    horizon.down()  # started anew, so that they serve this checkout's code
    app_horizon = horizon.up()[0]  # legacy upload mode, glance_api in place
    own = horizon.own_api_server()
    own.start()
    own.wait()
    backends = {"glance_api": app_horizon.url.rstrip("/"), "Horizon's own": own.url.rstrip("/")}
    session = keystone_session(devcloud.BENCH)
    glance = direct_glance(session)
    mark = uuid.uuid4().hex
    print(f"Seeding {count} images in project {devcloud.BENCH.project}...", flush=True)
    ids = []
    try:
        ids = seed(glance, count, mark)
        measured = {name: [] for name in backends}
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS
            )
            try:
                for base in backends.values() if not args.quick else ():
                    one_sample(browser, base)  # warm-up: each server's first pages
                for number in range(samples):
                    print(f"sample {number + 1} of {samples}", flush=True)
                    for name, base in backends.items():
                        measured[name].append(one_sample(browser, base))
            finally:
                browser.close()
    finally:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(glance.images.delete, ids))
        own.stop()
    results = {
        "images": count,
        "samples": samples,
        "rows": [
            {
                "backend": name,
                **{
                    figure: round(statistics.median(s[figure] for s in runs), 1)
                    for figure in FIGURES
                },
            }
            for name, runs in measured.items()
        ],
        "each": measured,
    }
    report(results)
    write_results("panel-quick" if args.quick else "panel", results)
    if args.record:
        record("panel", results)
    return results


def report(results: dict) -> None:
    print(
        f"\nHorizon's images panel with {results['images']} images, medians of "
        f"{results['samples']} (ms): the first visit after signing in, then again"
    )
    print(
        f"{'backend':<16}{'panel 1st':>11}{'its list':>10}{'panel again':>13}{'its list':>10}"
        f"{'Create Image lists':>20}"
    )
    for row in results["rows"]:
        print(
            f"{row['backend']:<16}{row['panel_first_ms']:>11}{row['list_first_ms']:>10}"
            f"{row['panel_again_ms']:>13}{row['list_again_ms']:>10}{row['form_lists_ms']:>20}"
        )


if __name__ == "__main__":
    main()
