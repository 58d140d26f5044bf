"""ServingMetrics: snapshot figures and Prometheus text that a real Prometheus parser accepts."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from runyard.serving.metrics import BUCKETS, ServingMetrics

# One sample line of the text exposition format: name{label="value",...} number
SAMPLE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\} [-+0-9.eInf]+$'
)


def filled() -> ServingMetrics:
    m = ServingMetrics()
    for latency in (0.0004, 0.002, 0.002, 0.03, 7.0):
        m.record("churn", "blue", 200, latency, workspace="1")
    m.record("churn", "blue", 400, 0.001, workspace="1")
    m.record("churn", "green", 200, 0.2, workspace="1", mirror=True)
    m.record("churn", None, 503, 0.0001, workspace="1")
    m.record('odd "name"\\', "b\nx", 500, 0.01)
    return m


def test_snapshot() -> None:
    snap = filled().snapshot(workspace="1", endpoint="churn")["deployments"]
    blue = next(s for s in snap if s["deployment"] == "blue")
    assert blue["request_count"] == 6
    assert blue["requests_by_status"] == {"2xx": 5, "3xx": 0, "4xx": 1, "5xx": 0}
    assert blue["latency_ms_p50"] == 2.5 and blue["latency_ms_p99"] == 10000.0
    assert abs(blue["latency_ms_mean"] - 1000 * 7.0354 / 6) < 0.01
    assert [(s["deployment"], s["mirror"]) for s in snap] == [("", False), ("blue", False), ("green", True)]
    assert filled().snapshot(endpoint="other") == {"deployments": []}


def test_prometheus_text_format() -> None:
    m = filled()
    text = m.render_prometheus()
    assert text.endswith("\n")
    for line in text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or SAMPLE.match(line), line

    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests = families["runyard_endpoint_requests"]
    assert requests.type == "counter"
    got = {(s.labels["deployment"], s.labels["code"], s.labels["mirror"]): s.value for s in requests.samples}
    assert got[("blue", "2xx", "false")] == 5 and got[("blue", "4xx", "false")] == 1
    assert got[("green", "2xx", "true")] == 1 and got[("", "5xx", "false")] == 1
    assert got[("b\nx", "5xx", "false")] == 1  # escaped label values round-trip

    duration = families["runyard_endpoint_request_duration_seconds"]
    assert duration.type == "histogram"
    blue = [s for s in duration.samples if s.labels.get("deployment") == "blue"]
    buckets = [s for s in blue if s.name.endswith("_bucket")]
    assert [s.labels["le"] for s in buckets][-1] == "+Inf" and len(buckets) == len(BUCKETS) + 1
    values = [s.value for s in buckets]
    assert values == sorted(values) and values[-1] == 6  # cumulative
    count = next(s for s in blue if s.name.endswith("_count"))
    total = next(s for s in blue if s.name.endswith("_sum"))
    assert count.value == 6 and abs(total.value - 7.0354) < 1e-9


def test_forget_drops_an_endpoint() -> None:
    m = filled()
    m.forget(workspace="1", endpoint="churn", deployment="green")
    assert {s["deployment"] for s in m.snapshot()["deployments"]} == {"", "blue", "b\nx"}
    m.forget(workspace="1", endpoint="churn")
    assert [s["endpoint"] for s in m.snapshot()["deployments"]] == ['odd "name"\\']
    assert ServingMetrics().render_prometheus().count("# TYPE") == 2
