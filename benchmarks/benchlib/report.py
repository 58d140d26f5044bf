"""Side-by-side table and JSON output."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from benchlib.runner import WorkloadResult

BASELINE = "runyard"
PEERS = ("mlflow", "fml")
Results = dict[str, dict[str, WorkloadResult]]  # server -> workload -> result


# A median shown with "!" comes from repeats that all had errors.
Median = tuple[float, bool] | None  # (seconds, clean)


def _ms(median: Median) -> str:
    if median is None:
        return "-"
    return f"{median[0] * 1000:.1f}" + ("" if median[1] else "!")


def _ratio(peer: Median, base: Median) -> str:
    if peer is None or base is None or base[0] <= 0:
        return "-"
    return f"{peer[0] / base[0]:.2f}x" + ("" if peer[1] and base[1] else "!")


def _median(results: Results, server: str, workload: str) -> Median:
    res = results.get(server, {}).get(workload)
    if res is None or res.median_all is None:
        return None
    if res.median is not None:
        return res.median, True
    return res.median_all, False


def _partial(results: Results, server: str, workload: str) -> str:
    """' (k/n)' when only k of n repeats were error-free, else ''."""
    res = results.get(server, {}).get(workload)
    if res is None or not any(res.clean) or all(res.clean):
        return ""
    return f" ({sum(res.clean)}/{len(res.samples)})"


def _errors(results: Results, servers: list[str], workload: str) -> str:
    parts = []
    for server in servers:
        res = results.get(server, {}).get(workload)
        if res is None:
            continue
        text = f"{server}:{res.http_errors + res.transport_errors}"
        if res.check_failures:
            text += f"(+{res.check_failures} chk)"
        parts.append(text)
    return " ".join(parts) or "-"


def table(results: Results, servers: list[str], workloads: list[str]) -> str:
    """Medians in milliseconds; ratio = peer / runyard, so >1 means Runyard is faster."""
    header = ["workload", *[f"{s} ms" for s in servers]]
    header += [f"{p}/{BASELINE}" for p in PEERS if p in servers and BASELINE in servers]
    header.append("errors")
    rows = [header]
    for wl in workloads:
        medians = {s: _median(results, s, wl) for s in servers}
        row = [wl, *[_ms(medians[s]) + _partial(results, s, wl) for s in servers]]
        row += [_ratio(medians[p], medians[BASELINE]) for p in PEERS if p in servers and BASELINE in servers]
        row.append(_errors(results, servers, wl))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(directory: Path, meta: dict[str, Any], results: Results) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = directory / f"{stamp}.json"
    payload = {
        "meta": dict(
            meta, cpus=os.cpu_count(), platform=platform.platform(), python=platform.python_version()
        ),
        "results": {s: {w: r.to_json() for w, r in wl.items()} for s, wl in results.items()},
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
