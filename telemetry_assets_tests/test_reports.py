"""Reports opened in a real headless Chromium: every chart renders, no JS error, no network,
and strings from data are shown as text, never run."""

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import sync_playwright

from telemetry_assets.devtools.demo import generate_landing
from telemetry_assets.reporting import figures, images
from telemetry_assets_tests.factories import jsonl, metric_record, v1_record, write_file

# Every test here renders pages in (or exports PNGs through) a real headless Chromium.
pytestmark = pytest.mark.browser

XSS_EVENT = "<script>alert(1)</script>"
XSS_FEATURE = '<img src=x onerror="alert(2)">'
XSS_SERVICE = '<a href="javascript:alert(3)">svc</a>'
DAILY_CHARTS = 6
DASHBOARD_CHARTS = 8  # with the anomaly bands


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is required for the browser tests: `make browser` installs it"
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from telemetry_assets_tests.conftest import Pipeline

    root = tmp_path_factory.mktemp("reports")
    pipeline = Pipeline(landing=root / "landing", warehouse=root / "warehouse")
    generate_landing(pipeline.landing, dt.date(2025, 3, 1), days=2, events_per_hour=20)
    write_file(
        pipeline.landing,
        "xss/events-2025-03-02T12.jsonl",
        jsonl(
            v1_record(
                event=XSS_EVENT,
                timestamp="2025-03-02T12:00:00Z",
                payload={"user_id": "x", "feature_id": XSS_FEATURE, "latency_ms": 5},
            ),
            v1_record(
                channel="trace",
                event="span",
                timestamp="2025-03-02T12:00:01Z",
                payload={"service": XSS_SERVICE, "latency_ms": 2000, "status": 500},
            ),
            metric_record(
                metric_type="cpu", value=99, service=XSS_SERVICE, timestamp="2025-03-02T12:00:02Z"
            ),
        ),
    )
    write_file(
        pipeline.landing,
        "xss/logs-2025-03-02T12.jsonl",
        jsonl(
            {
                "ts": "2025-03-02T12:00:03Z",
                "service": XSS_SERVICE,
                "level": "error",
                "message": f"login failed for {XSS_EVENT}",
            }
        ),
    )
    assert pipeline.materialize("2025-03-01", "2025-03-02", selection="*").success
    return pipeline


def open_in_browser(path: Path, screenshot: Path) -> dict:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        seen = {"errors": [], "console_errors": [], "requests": [], "dialogs": []}
        page.on("pageerror", lambda error: seen["errors"].append(str(error)))
        page.on("console", lambda m: m.type == "error" and seen["console_errors"].append(m.text))
        page.on("request", lambda request: seen["requests"].append(request.url))
        page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        seen["charts"] = page.locator(".js-plotly-plot").count()
        seen["rendered"] = page.locator(".js-plotly-plot .main-svg").count()
        seen["titles"] = [t.text_content() for t in page.locator(".js-plotly-plot .gtitle").all()]
        seen["text"] = page.locator("body").inner_text()
        seen["svg_text"] = " ".join(page.locator("svg text").all_text_contents())
        seen["scripts"] = page.locator("script").count()
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return seen


@pytest.mark.parametrize(
    ("relative", "charts"),
    [("date=2025-03-02/report.html", DAILY_CHARTS), ("dashboard.html", DASHBOARD_CHARTS)],
)
def test_page_renders_every_chart_offline_without_errors(built, tmp_path, relative, charts):
    seen = open_in_browser(built.reports / relative, tmp_path / "shot.png")
    assert seen["errors"] == [] and seen["console_errors"] == []
    assert seen["requests"] == [(built.reports / relative).as_uri()]  # nothing fetched
    assert seen["charts"] == charts
    assert seen["rendered"] >= charts  # each chart drew its SVG
    assert all(seen["titles"]) and len(seen["titles"]) == charts
    assert (tmp_path / "shot.png").stat().st_size > 10_000


@pytest.mark.parametrize("relative", ["date=2025-03-02/report.html", "dashboard.html"])
def test_strings_from_data_render_as_text(built, tmp_path, relative):
    seen = open_in_browser(built.reports / relative, tmp_path / "shot.png")
    assert seen["dialogs"] == []
    assert seen["scripts"] == 1 + seen["charts"]  # plotly.js plus one per chart, none injected
    shown = seen["text"] + seen["svg_text"]
    assert XSS_SERVICE in shown
    if relative != "dashboard.html":
        assert XSS_EVENT in shown and XSS_FEATURE in shown
    raw_html = (built.reports / relative).read_text()
    assert XSS_EVENT not in raw_html and XSS_SERVICE not in raw_html
    if relative == "dashboard.html":  # the log-pattern panel shows the message and its service
        assert f"login failed for {XSS_EVENT}" in seen["text"]


def test_metrics_text_and_png(built):
    day = built.reports / "date=2025-03-02"
    text = (day / "metrics.txt").read_text()
    for needle in (
        "records read",
        "quarantined",
        "DAU",
        "WAU",
        "MAU",
        "top features",
        "p50",
        "p95",
        "p99",
        "api",
        "landing bytes",
        "warehouse Parquet",
        "  events ",
    ):
        assert needle in text
    png = (day / "feature_usage.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_png_export_failure_is_reported_not_raised(monkeypatch, tmp_path):
    async def no_browser(self):
        raise RuntimeError("no chrome here")

    monkeypatch.setattr(images.ReusedTab, "open", no_browser)
    with images.PngExporter() as exporter:
        note = exporter.export([(bar_figure(0), tmp_path / "x.png")])
        assert exporter.export([(bar_figure(1), tmp_path / "y.png")]) == note
        assert exporter.export([]) is None  # nothing to draw: nothing was skipped
    assert "PNG export skipped: RuntimeError: no chrome here" in note
    assert "apt-get install chromium" in note
    assert list(tmp_path.iterdir()) == []


def bar_figure(day: int) -> figures.Figure:
    usage = pl.DataFrame(
        {"feature_id": [f"f{n}" for n in range(3 + day)], "events": range(day, 2 * day + 3)}
    )
    return figures.feature_usage(usage.with_columns(users=pl.col("events") // 2), f"day {day}")


def test_one_session_draws_the_same_pngs_as_kaleido_with_a_reload_per_figure(tmp_path):
    """Handing tabs back without a reload must not change a single byte of any PNG."""
    import kaleido

    figures = [bar_figure(day) for day in range(4)]
    with images.PngExporter() as exporter:
        for day, fig in enumerate(figures):  # one call per chunk, one browser for all
            assert exporter.export([(fig, tmp_path / f"ours-{day}.png")]) is None
    kaleido.write_fig_from_object_sync(
        [{"fig": fig, "path": tmp_path / f"stock-{n}.png"} for n, fig in enumerate(figures)],
        kopts={"mathjax": False},
    )
    for day, fig in enumerate(figures):
        stock = (tmp_path / f"stock-{day}.png").read_bytes()
        ours = (tmp_path / f"ours-{day}.png").read_bytes()
        assert ours == images.with_digest(stock, images.figure_digest(fig))
    assert len({(tmp_path / f"stock-{n}.png").read_bytes() for n in range(4)}) == 4


def test_unchanged_pngs_start_no_browser(monkeypatch, tmp_path):
    fig = bar_figure(1)
    with images.PngExporter() as exporter:
        assert exporter.export([(fig, tmp_path / "a.png")]) is None
    drawn = (tmp_path / "a.png").read_bytes()

    async def no_browser(self):
        raise AssertionError("a browser was started for an unchanged figure")

    monkeypatch.setattr(images.ReusedTab, "open", no_browser)
    with images.PngExporter() as exporter:
        assert exporter.export([(fig, tmp_path / "a.png")]) is None
    assert (tmp_path / "a.png").read_bytes() == drawn
