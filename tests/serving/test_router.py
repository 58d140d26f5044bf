"""EndpointRouter against real scoring processes: split, pinning, mirroring, 413, 504, 503."""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeVar

from runyard.serving.metrics import ServingMetrics
from runyard.serving.router import EndpointRouter, Route, RouterResponse, pinned_from
from tests.serving.conftest import IRIS_COLUMNS, SLOW_SLEEP_S, Fleet
from tests.support.server import free_port

T = TypeVar("T")
ROW = {"dataframe_split": {"columns": IRIS_COLUMNS, "data": [[5.1, 3.5, 1.4, 0.2]]}}
BODY = json.dumps(ROW).encode()
JSON = "application/json"


def run(test: Callable[[EndpointRouter], Awaitable[T]], **kwargs: object) -> tuple[T, ServingMetrics]:
    """Run ``test`` with a fresh router on a fresh event loop, closing the router after."""
    metrics = ServingMetrics()
    options = {"max_body_bytes": 1 << 20, "timeout_s": 10.0, "rng": random.Random(20261128), **kwargs}

    async def main() -> T:
        router = EndpointRouter(metrics, **options)  # type: ignore[arg-type]
        try:
            return await test(router)
        finally:
            await router.aclose()

    return asyncio.run(main()), metrics


def binomial_bounds(n: int, p: float, sigmas: float = 5.0) -> tuple[float, float]:
    sd = math.sqrt(n * p * (1 - p))
    return n * p - sigmas * sd, n * p + sigmas * sd


def error(r: RouterResponse) -> tuple[int, str, str]:
    body = json.loads(r.body)
    return r.status, body["error_code"], body["message"]


def test_ninety_ten_split_over_a_thousand_requests(fleet: Fleet) -> None:
    route = Route(
        "churn",
        traffic={"blue": 90, "green": 10},
        mirror={},
        upstreams={"blue": fleet.url("blue"), "green": fleet.url("green")},
    )

    async def go(router: EndpointRouter) -> list[RouterResponse]:
        gate = asyncio.Semaphore(16)

        async def one() -> RouterResponse:
            async with gate:
                return await router.invoke(route, BODY, JSON)

        return await asyncio.gather(*(one() for _ in range(1000)))

    answers, metrics = run(go)
    assert {(r.status, r.body) for r in answers} == {(200, b'{"predictions": [0]}')}
    counts = Counter(r.deployment for r in answers)
    low, high = binomial_bounds(1000, 0.10)  # 5 sigma: 53..147; the seeded rng makes it exact anyway
    assert set(counts) == {"blue", "green"} and low <= counts["green"] <= high, counts
    by_deployment = {s["deployment"]: s["request_count"] for s in metrics.snapshot()["deployments"]}
    assert by_deployment == dict(counts)
    assert all(r.headers() == {"X-Runyard-Deployment": r.deployment} for r in answers)


def test_split_is_random_not_round_robin(fleet: Fleet) -> None:
    """Two routers with different seeds choose differently; the 10% share is not every 10th request."""
    route = Route(
        "churn", traffic={"blue": 90, "green": 10}, mirror={}, upstreams={"blue": "x", "green": "y"}
    )
    picks = [
        EndpointRouter(ServingMetrics(), max_body_bytes=1, timeout_s=1, rng=random.Random(s)) for s in (1, 2)
    ]
    sequences = [[r.choose(route) for _ in range(200)] for r in picks]
    assert sequences[0] != sequences[1]
    assert {i % 10 for i, name in enumerate(sequences[0]) if name == "green"} != {0}


def test_pinning_bypasses_the_split(fleet: Fleet) -> None:
    route = Route(
        "churn",
        traffic={"blue": 100, "slow": 0},
        mirror={},
        upstreams={"blue": fleet.url("blue"), "slow": fleet.url("slow")},
        deployments=frozenset({"blue", "slow", "cold"}),
    )

    async def go(router: EndpointRouter) -> list[RouterResponse]:
        return [
            await router.invoke(route, BODY, JSON, pinned=pinned_from({"x-runyard-deployment": "slow"})),
            await router.invoke(route, BODY, JSON, pinned=pinned_from({"azureml-model-deployment": "slow"})),
            await router.invoke(route, BODY, JSON, pinned="nope"),
            await router.invoke(route, BODY, JSON, pinned="cold"),
        ]

    (to_slow, azure_style, unknown, cold), _ = run(go)
    for r in (to_slow, azure_style):
        assert (r.status, r.deployment, json.loads(r.body)) == (200, "slow", {"predictions": ["counted"]})
    status, code, message = error(unknown)
    assert (status, code, unknown.deployment) == (404, "RESOURCE_DOES_NOT_EXIST", None)
    assert "'nope'" in message and "blue, cold, slow" in message
    assert error(cold)[:2] == (503, "TEMPORARILY_UNAVAILABLE") and "'cold' is not ready" in error(cold)[2]
    assert pinned_from({"content-type": JSON}) is None


def test_mirror_gets_its_share_and_never_delays_or_changes_the_answer(fleet: Fleet) -> None:
    """Half the live requests are copied to a deployment that takes 0.5 s and answers differently."""
    before = _lines(fleet)
    dead = f"http://127.0.0.1:{free_port()}"
    route = Route(
        "churn",
        traffic={"blue": 100},
        mirror={"slow": 50, "dead": 100},
        upstreams={"blue": fleet.url("blue"), "slow": fleet.url("slow"), "dead": dead},
    )
    n = 30

    async def go(router: EndpointRouter) -> list[tuple[RouterResponse, float]]:
        out = []
        for _ in range(n):
            started = time.perf_counter()
            out.append((await router.invoke(route, BODY, JSON), time.perf_counter() - started))
        await router.drain_mirrors(timeout_s=30)
        return out

    answers, metrics = run(go)
    assert {(r.status, r.deployment, r.body) for r, _ in answers} == {(200, "blue", b'{"predictions": [0]}')}
    # Had the router waited for its copies, every other answer would take SLOW_SLEEP_S or more.
    times = sorted(t for _, t in answers)
    assert times[int(0.8 * n)] < SLOW_SLEEP_S, times
    series = {(s["deployment"], s["mirror"]): s for s in metrics.snapshot()["deployments"]}
    mirrored = series[("slow", True)]["request_count"]
    low, high = binomial_bounds(n, 0.5)
    assert low <= mirrored <= high
    assert series[("slow", True)]["requests_by_status"]["2xx"] == mirrored
    assert _lines(fleet) - before == mirrored  # the slow process really got each copy
    assert series[("dead", True)]["requests_by_status"]["5xx"] == n  # the broken mirror only shows here
    assert series[("blue", False)]["request_count"] == n


def test_body_over_the_limit_is_413(fleet: Fleet) -> None:
    route = Route("churn", traffic={"blue": 100}, mirror={}, upstreams={"blue": fleet.url("blue")})
    (r, fits), metrics = run(
        lambda router: _both(router.invoke(route, BODY + b" " * 100, JSON), router.invoke(route, BODY, JSON)),
        max_body_bytes=len(BODY),
    )
    status, code, message = error(r)
    assert (status, code, r.deployment) == (413, "REQUEST_LIMIT_EXCEEDED", None)
    assert f"at most {len(BODY)} bytes" in message
    assert fits.status == 200
    assert 'code="4xx"' in metrics.render_prometheus()


def test_slow_deployment_is_504(fleet: Fleet) -> None:
    route = Route("churn", traffic={"slow": 100}, mirror={}, upstreams={"slow": fleet.url("slow")})
    started = time.perf_counter()
    (r,), _ = run(lambda router: _both(router.invoke(route, BODY, JSON)), timeout_s=0.1)
    assert time.perf_counter() - started < SLOW_SLEEP_S + 5
    status, code, message = error(r)
    assert (status, code, r.deployment) == (504, "DEADLINE_EXCEEDED", "slow")
    assert "within 0.1 s" in message


def test_no_ready_deployment_is_503_and_shares_move_to_ready_ones(fleet: Fleet) -> None:
    nothing_ready = Route("churn", traffic={"blue": 90, "green": 10}, mirror={}, upstreams={})
    no_traffic = Route("churn", traffic={"blue": 0}, mirror={}, upstreams={"blue": fleet.url("blue")})
    half_ready = Route(
        "churn", traffic={"blue": 50, "green": 50}, mirror={}, upstreams={"blue": fleet.url("blue")}
    )
    closed_port = f"http://127.0.0.1:{free_port()}"
    dead = Route("churn", traffic={"blue": 100}, mirror={}, upstreams={"blue": closed_port})
    # A deployment that died since the caller looked: its share fails over, nothing fails.
    half_dead = Route(
        "churn",
        traffic={"blue": 50, "green": 50},
        mirror={},
        upstreams={"blue": fleet.url("blue"), "green": closed_port},
    )

    async def go(router: EndpointRouter) -> list[RouterResponse]:
        first = [await router.invoke(r, BODY, JSON) for r in (nothing_ready, no_traffic, dead)]
        first.append(await router.invoke(half_dead, BODY, JSON, pinned="green"))
        return first + [await router.invoke(r, BODY, JSON) for r in [half_ready, half_dead] * 10]

    answers, _ = run(go)
    for r in answers[:2]:
        status, code, message = error(r)
        assert (status, code) == (503, "TEMPORARILY_UNAVAILABLE") and "no ready deployment" in message
    for r, name in ((answers[2], "blue"), (answers[3], "green")):  # nowhere else to go; pinned stays put
        assert error(r)[:2] == (503, "TEMPORARILY_UNAVAILABLE") and "unreachable" in error(r)[2]
        assert r.deployment == name
    assert {(r.status, r.deployment) for r in answers[4:]} == {(200, "blue")}


def test_deployment_errors_pass_through_unchanged(fleet: Fleet) -> None:
    route = Route("churn", traffic={"blue": 100}, mirror={}, upstreams={"blue": fleet.url("blue")})
    (r,), _ = run(lambda router: _both(router.invoke(route, b'{"rows": []}', JSON)))
    assert (r.status, r.deployment, r.content_type) == (400, "blue", JSON)
    assert json.loads(r.body)["error_code"] == "BAD_REQUEST"


async def _both(*calls: Awaitable[RouterResponse]) -> list[RouterResponse]:
    return [await c for c in calls]


def _lines(fleet: Fleet) -> int:
    return len(fleet.slow_count_file.read_text().splitlines()) if fleet.slow_count_file.exists() else 0
