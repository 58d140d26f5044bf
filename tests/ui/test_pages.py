"""End to end in headless Chromium: every page of the UI on a local (auth-off) server."""

from __future__ import annotations

import math
import re
import time

import requests
from playwright.sync_api import expect

from tests.ui.conftest import LONG_STEPS, Seeded, shot


def _no_errors(page) -> None:
    assert page.errors == [], page.errors


def test_workspaces_page_lists_default_with_its_tracking_uri(seeded: Seeded, page):
    page.goto(seeded.url + "/")
    card = page.locator(".ws-card", has_text="default")
    assert card.locator("code.uri").inner_text() == f"{seeded.url}/w/default"
    shot(page, "01-workspaces")
    card.get_by_role("link", name="default").click()
    page.wait_for_url(re.compile(r"/w/default$"))
    assert page.locator("#experiments").get_by_role("link", name="ui-demo").is_visible()
    shot(page, "02-experiments")
    page.select_option("#ws-switcher", label="team-b")
    page.wait_for_url(re.compile(r"/w/team-b$"))
    assert page.locator("#experiments").get_by_role("link", name="Default").is_visible()
    _no_errors(page)


def test_runs_table_sorts_filters_and_chooses_columns(seeded: Seeded, page):
    page.goto(f"{seeded.url}/w/default/experiments/{seeded.experiment_id}")
    names = page.locator("#runs a.runname")
    assert names.count() == 5
    # Default columns: the page's metrics and params.
    assert page.locator("#runs a[data-sort='metrics.loss']").count() == 1
    page.locator("#runs a[data-sort='metrics.loss']").click()  # descending first
    page.wait_for_url(re.compile(r"order=metrics\.(%60|`)loss(%60|`)\+DESC"))
    assert names.first.inner_text() == "run-3"
    page.locator("#runs a[data-sort='metrics.loss']").click()
    page.wait_for_url(re.compile(r"loss(%60|`)\+ASC"))
    assert names.first.inner_text() == "run-0"
    shot(page, "03-runs")
    page.locator("#runs a[data-sort='metrics.val loss']").click()
    page.wait_for_url(re.compile(r"val\+loss(%60|`)\+DESC"))
    assert names.first.inner_text() == "child-of-0" and page.locator("#filter-error").count() == 0

    page.fill("#filter", "params.lr = '0.2' or tags.team = 'nope'")
    page.press("#filter", "Enter")
    assert page.locator("#filter-error").inner_text().startswith("Invalid filter")
    shot(page, "04-runs-filter-error")
    page.fill("#filter", "tags.team = 'vision' and metrics.loss > 0")
    page.press("#filter", "Enter")
    page.wait_for_load_state()
    assert sorted(names.all_inner_texts()) == ["run-1", "run-3"]

    page.locator("#column-chooser summary").click()
    for box in page.locator("#column-chooser input[type=checkbox]").all():
        box.set_checked(box.get_attribute("value") == "params.optimizer")
    page.get_by_role("button", name="Apply columns").click()
    page.wait_for_url(re.compile(r"cols_set=1"))
    headers = page.locator("#runs thead th").all_text_contents()
    assert any("optimizer" in h for h in headers) and not any("loss" in h for h in headers)
    assert page.locator("#runs td[data-col='params.optimizer']").all_inner_texts() == ["adam", "adam"]
    _no_errors(page)


def test_runs_table_one_page(seeded: Seeded, page):
    page.goto(f"{seeded.url}/w/default/experiments/{seeded.experiment_id}?n=25")
    assert page.locator("#next-page").count() == 0 and page.locator("#prev-page").count() == 0
    assert page.locator("#range").inner_text() == "Runs 1\u20135"


def test_run_page_draws_every_metric_and_previews_artifacts(seeded: Seeded, page):
    rid = seeded.run_ids[0]
    page.goto(f"{seeded.url}/w/default/runs/{rid}")
    assert page.locator("#params").inner_text().count("adam") == 1
    assert page.locator("#children").get_by_role("link", name="child-of-0").is_visible()
    assert "ui-model v1" in page.locator("#versions").inner_text()
    datasets = page.locator("#datasets tbody").inner_text()
    assert "churn-2024" in datasets and "training" in datasets
    # One small chart per metric plus the overlay of the first metrics.
    expect(page.locator(".chartbox polyline.series")).to_have_count(2)
    expect(page.locator("#overlay-chart polyline.series")).to_have_count(2)
    loss = page.locator(".chartbox", has_text="loss").locator("polyline.series")
    drawn = int(loss.get_attribute("data-points"))
    assert 200 <= drawn <= 2000 < LONG_STEPS  # downsampled on the server
    assert loss.get_attribute("data-total") == str(LONG_STEPS)
    expect(page.locator(".chartbox", has_text="loss").locator("polygon.band")).to_have_count(1)
    acc = page.locator(".chartbox", has_text="accuracy").locator("polyline.series")
    assert acc.get_attribute("data-points") == "120"  # short histories arrive whole
    # Smoothing adds the raw line under the smoothed one; time on the x axis redraws.
    page.locator("#smoothing").fill("0.8")
    expect(page.locator(".chartbox polyline.raw")).to_have_count(2)
    page.select_option("#x-axis", "relative")
    page.locator("#overlay-keys input[value=accuracy]").uncheck()
    expect(page.locator("#overlay-chart polyline.series")).to_have_count(1)
    shot(page, "05-run")

    page.get_by_role("link", name=re.compile("notes.txt")).click()
    assert "learning rate sweep" in page.locator("#artifact-preview pre").inner_text()
    href = page.locator("#download").get_attribute("href")
    r = requests.get(seeded.url + href, timeout=30)
    assert r.status_code == 200 and r.content == b"learning rate sweep\nall good\n"
    assert r.headers["content-disposition"].startswith("attachment")
    shot(page, "06-run-artifact")
    page.get_by_role("link", name="plots/").click()
    page.get_by_role("link", name="curve.png").click()
    image = page.locator("#artifact-preview img")
    expect(image).to_be_visible()
    deadline = time.monotonic() + 10
    while image.evaluate("img => img.complete && img.naturalWidth") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert image.evaluate("img => img.naturalWidth") == 24  # the browser decoded the PNG
    expect(page.locator("#overlay-chart polyline.series")).to_have_count(2)
    shot(page, "06b-run-image")
    _no_errors(page)


def test_chart_data_is_downsampled_for_many_runs(seeded: Seeded):
    runs = ",".join(seeded.run_ids)
    r = requests.get(f"{seeded.url}/w/default/charts/metrics?runs={runs}&key=loss&points=500", timeout=30)
    assert r.status_code == 200
    series = r.json()["series"]
    assert [len(s["points"]) for s in series] == [500, 120, 120, 120]
    assert [len(s["band"]) for s in series] == [500, 0, 0, 0]
    assert series[0]["total"] == LONG_STEPS
    # The line spans the whole history; each bucket's band holds its mean.
    assert series[0]["points"][0][0] == 0 and series[0]["points"][-1][0] == LONG_STEPS - 1
    assert all(
        lo <= p[2] <= hi for p, (_s, lo, hi) in zip(series[0]["points"], series[0]["band"], strict=True)
    )
    assert series[1]["points"][:2] == [
        [0, series[1]["points"][0][1], 2.0],
        [1, series[1]["points"][1][1], 2 * math.exp(-1 / 40)],
    ]
    bad = requests.get(f"{seeded.url}/w/default/charts/metrics?key=loss", timeout=30)
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_compare_highlights_differences_and_overlays_histories(seeded: Seeded, page):
    page.goto(f"{seeded.url}/w/default/experiments/{seeded.experiment_id}?order=attributes.run_name%20ASC")
    for name in ("run-0", "run-1", "run-2"):
        page.locator("#runs tr", has_text=name).locator("input[name=run]").check()
    page.locator("#compare-button").click()
    page.wait_for_url(re.compile(r"/compare\?"))
    assert page.locator("#compare-params tr.diff td:first-child").all_inner_texts() == ["lr"]
    assert page.locator("#compare-params tr.same td:first-child").all_inner_texts() == ["optimizer"]
    assert page.locator(".chartbox").count() == 2
    for box in page.locator(".chartbox").all():
        expect(box.locator("polyline.series")).to_have_count(3)
    shot(page, "07-compare")
    page.locator("#only-diff").click()
    assert page.locator("#compare-params tr.same").count() == 0
    _no_errors(page)


def test_models_page_sets_an_alias(seeded: Seeded, page):
    page.goto(f"{seeded.url}/w/default/models")
    shot(page, "08-models")
    page.get_by_role("link", name=seeded.model).click()
    page.wait_for_url(re.compile(r"/models/ui-model$"))
    assert page.locator("#versions tbody tr").count() == 2
    page.fill("#alias-name", "champion")
    page.select_option("#alias-version", "2")
    page.locator("#set-alias").click()
    assert page.locator("#notice").inner_text() == "@champion now points to version 2."
    assert "@champion" in page.locator("#versions tr", has_text="v2").inner_text()
    shot(page, "09-model")
    # The lineage link goes back to the run that produced the version.
    page.locator("#versions tr", has_text="v1").locator("a.lineage").click()
    page.wait_for_url(re.compile(f"/runs/{seeded.run_ids[0]}$"))
    from mlflow.tracking import MlflowClient

    client = MlflowClient(seeded.url, seeded.url)
    assert client.get_model_version_by_alias(seeded.model, "champion").version == "2"
    _no_errors(page)


def test_access_endpoints_and_device_pages_render(seeded: Seeded, page):
    page.goto(f"{seeded.url}/w/default/access")
    assert "Authentication is off" in page.locator("main").inner_text()
    shot(page, "10-access")
    page.goto(f"{seeded.url}/w/default/endpoints")
    assert page.locator("#no-endpoints").is_visible()
    created = requests.post(
        f"{seeded.url}/w/default/api/2.0/runyard/endpoints",
        json={"name": "churn", "description": "Churn scoring"},
        timeout=30,
    )
    assert created.status_code == 200, created.text
    page.goto(f"{seeded.url}/w/default/endpoints")
    row = page.locator("#endpoints tbody tr", has_text="churn")
    assert "no traffic" in row.inner_text()
    assert f"{seeded.url}/w/default/endpoints/churn/invocations" in row.inner_text()
    shot(page, "11-endpoints")
    row.get_by_role("link", name="churn").click()
    page.wait_for_url(re.compile(r"/endpoints/churn$"))
    assert page.locator("#endpoint-state").inner_text() == "no traffic"
    assert "runyard deployment create" in page.locator("#deployments").inner_text()
    assert page.locator("#request-total").inner_text() == "0"
    shot(page, "11b-endpoint")
    assert requests.get(f"{seeded.url}/w/default/endpoints/nope", timeout=30).status_code == 404
    page.goto(f"{seeded.url}/device")
    assert "authentication off" in page.locator("main").inner_text()
    _no_errors(page)


def test_links_printed_by_the_mlflow_client_lead_to_the_pages(seeded: Seeded, page):
    page.goto(f"{seeded.url}/#/experiments/{seeded.experiment_id}/runs/{seeded.run_ids[1]}")
    page.wait_for_url(re.compile(f"/w/default/runs/{seeded.run_ids[1]}$"))
    page.goto(f"{seeded.url}/w/default/#/experiments/{seeded.experiment_id}")
    page.wait_for_url(re.compile(f"/w/default/experiments/{seeded.experiment_id}$"))


def test_missing_things_answer_with_a_readable_page(seeded: Seeded, page):
    r = page.goto(f"{seeded.url}/w/nope")
    assert r.status == 404 and "does not exist" in page.locator("#error-message").inner_text()
    r = page.goto(f"{seeded.url}/w/default/runs/{'0' * 32}")
    assert r.status == 404
    r = page.goto(f"{seeded.url}/w/default/compare?runs={seeded.run_ids[0]}")
    assert r.status == 400 and "Pick 2 to 20 runs" in page.locator("#error-message").inner_text()
