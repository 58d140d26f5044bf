"""Fixtures for the web UI tests: a real server seeded through the stock mlflow client, and
headless Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright."""

from __future__ import annotations

import math
import os
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.server import RunyardServer

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
LONG_STEPS = 6000  # one run's "loss" history: more points than the chart may draw


@dataclass
class Seeded:
    url: str
    experiment_id: str
    run_ids: list[str] = field(default_factory=list)  # run-0..run-3, in creation order
    child_id: str = ""
    model: str = "ui-model"


def tiny_png(width: int = 24, height: int = 16) -> bytes:
    """A real PNG (a blue gradient), written by hand so the tests need no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = bytes(c for x in range(width) for c in (40, 80, min(255, 90 + x * 6)))
    rows = (b"\0" + row) * height  # filter byte 0, then RGB pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _seed(url: str, tmp: Path) -> Seeded:
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(url, url)
    exp_id = client.create_experiment("ui-demo")
    seeded = Seeded(url, exp_id)
    notes = tmp / "notes.txt"
    notes.write_text("learning rate sweep\nall good\n")
    (tmp / "plots").mkdir()
    (tmp / "plots" / "curve.png").write_bytes(tiny_png())
    now = int(time.time() * 1000)
    for i in range(4):
        run = client.create_run(exp_id, run_name=f"run-{i}", tags={"team": "vision" if i % 2 else "nlp"})
        rid = run.info.run_id
        seeded.run_ids.append(rid)
        client.log_param(rid, "lr", str(0.1 * (i + 1)))
        client.log_param(rid, "optimizer", "adam")
        steps = LONG_STEPS if i == 0 else 120
        for start in range(0, steps, 1000):
            batch = [
                Metric("loss", math.exp(-s / 40) * (i + 1), now + s * 10, s)
                for s in range(start, min(start + 1000, steps))
            ]
            batch += [Metric("accuracy", 1 - 0.5 * math.exp(-s / 30) / (i + 1), now + s * 10, s)
                      for s in range(start, min(start + 1000, min(steps, 120)))]  # fmt: skip
            client.log_batch(rid, metrics=batch)
        client.log_artifact(rid, str(notes))
        if i == 0:
            client.log_artifacts(rid, str(tmp / "plots"), "plots")
            churn = Dataset("churn-2024", "d41d8cd9", "local", '{"uri": "/data/churn.parquet"}')
            client.log_inputs(rid, [DatasetInput(churn, [InputTag("mlflow.data.context", "training")])])
        client.set_terminated(rid)
    child = client.create_run(exp_id, run_name="child-of-0", tags={"mlflow.parentRunId": seeded.run_ids[0]})
    seeded.child_id = child.info.run_id
    client.log_metric(child.info.run_id, "val loss", 0.25)  # a key that needs quoting in filters
    client.set_terminated(child.info.run_id)
    client.create_registered_model(seeded.model, description="Sweep winner")
    for rid in seeded.run_ids[:2]:
        client.create_model_version(seeded.model, f"s3://bucket/models/{rid}", run_id=rid)
    import requests

    requests.post(f"{url}/api/3.0/mlflow/workspaces", json={"name": "team-b"}, timeout=30).raise_for_status()
    return seeded


@pytest.fixture(scope="package")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    tmp = tmp_path_factory.mktemp("ui")
    srv = RunyardServer(f"sqlite:///{tmp / 'ui.db'}", tmp / "artifacts")
    srv.start()
    try:
        yield _seed(srv.url, tmp)
    finally:
        srv.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make install-test` installs Debian's chromium package.")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        # --no-sandbox: CI runs the tests as root, where Chromium's sandbox cannot start.
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.errors = errors  # type: ignore[attr-defined]
    try:
        yield pg
    finally:
        context.close()


def shot(page, name: str) -> None:
    """Save a full-page screenshot under tests/ui/screenshots/ (gitignored)."""
    page.evaluate("window.scrollTo(0, 0)")  # the sticky nav bar stays at the top of the picture
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
