"""Pages for workspaces, experiments and the runs table of one experiment.

The runs table asks the run service for one page only (the store's search with paging), so it
costs the same with ten runs or ten thousand.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from runyard.entities import Run
from runyard.errors import InvalidParameter
from runyard.search.errors import SearchSyntaxError
from runyard.ui.web import Ctx

PAGE_SIZES = (25, 50, 100, 200)
_DEFAULT_COLUMNS = 5  # of each kind (metrics, params) when the user has not chosen
# Attributes the API can order by, shown as fixed columns.
_ATTRIBUTE_COLUMNS = (
    ("attributes.run_name", "Run"),
    ("attributes.status", "Status"),
    ("attributes.start_time", "Started"),
    ("attributes.user_id", "User"),
)


def workspaces(ctx: Ctx) -> Response:
    listed = ctx.visible_workspaces()
    return ctx.render("workspaces.html", workspaces=listed, base=ctx.base_url())


def experiments(ctx: Ctx) -> Response:
    view = ctx.param("view", "ACTIVE_ONLY")
    found = ctx.services.experiments.search(
        ctx.ws, None, ["last_update_time DESC"], view, 1000, ctx.param("page_token") or None
    )
    return ctx.render(
        "experiments.html",
        experiments=found.items,
        next_token=found.next_page_token,
        view=view,
        tracking_uri=f"{ctx.base_url()}/w/{ctx.ws.name}",
    )


@dataclass(frozen=True)
class Column:
    """A chosen column: ``kind`` is metrics, params or tags."""

    kind: str
    key: str

    @property
    def id(self) -> str:
        return f"{self.kind}.{self.key}"

    @property
    def order_key(self) -> str:
        return f"{self.kind}.`{self.key}`"

    def value(self, run: Run) -> object:
        if self.kind == "params":
            return run.params.get(self.key)
        if self.kind == "tags":
            return run.tags.get(self.key)
        for key, value, _ts, _step in run.metrics:
            if key == self.key:
                return value
        return None


def parse_column(text: str) -> Column | None:
    kind, _, key = text.partition(".")
    if kind in ("metrics", "params", "tags") and key:
        return Column(kind, key)
    return None


def _available(runs: list[Run]) -> dict[str, list[str]]:
    """Keys seen on this page, per kind; system tags (mlflow.*) are left out."""
    metrics: dict[str, None] = {}
    params: dict[str, None] = {}
    tags: dict[str, None] = {}
    for run in runs:
        metrics.update((k, None) for k, *_ in run.metrics)
        params.update((k, None) for k in run.params)
        tags.update((k, None) for k in run.tags if not k.startswith("mlflow."))
    return {"metrics": sorted(metrics), "params": sorted(params), "tags": sorted(tags)}


def _page_link(back: list[str], token: str | None, offset: int) -> dict[str, object]:
    return {"back": back, "page_token": "" if token in (None, "-") else token, "offset": max(offset, 0) or ""}


def runs_table(ctx: Ctx) -> Response:
    exp = ctx.services.experiments.get(ctx.ws, ctx.request.path_params["experiment_id"])
    filter_string = ctx.param("filter").strip()
    order = ctx.param("order", "attributes.start_time DESC")
    view = ctx.param("view", "ACTIVE_ONLY")
    try:
        size = int(ctx.param("n", "50"))
    except ValueError:
        size = 50
    size = size if size in PAGE_SIZES else 50
    page_token = ctx.param("page_token") or None
    error = None
    runs: list[Run] = []
    next_token = None
    try:
        page = ctx.services.runs.search(
            ctx.ws, [exp.experiment_id], filter_string or None, view, size, [order], page_token
        )
        runs, next_token = page.items, page.next_page_token
    except (InvalidParameter, SearchSyntaxError) as exc:
        error = exc.message
    available = _available(runs)
    if ctx.param("cols_set"):
        columns = [c for c in map(parse_column, ctx.params("col")) if c is not None]
    else:
        columns = [Column("metrics", k) for k in available["metrics"][:_DEFAULT_COLUMNS]]
        columns += [Column("params", k) for k in available["params"][:_DEFAULT_COLUMNS]]
    # Chosen columns stay offered even when this page has no run carrying them.
    for c in columns:
        if c.key not in available[c.kind]:
            available[c.kind].append(c.key)
    order_field, _, direction = order.rpartition(" ")
    if direction.upper() not in ("ASC", "DESC"):
        order_field, direction = order, "ASC"
    offset = int(ctx.param("offset")) if ctx.param("offset").isdigit() else 0
    # Page tokens only lead forward, so the URL keeps the tokens of the pages before this one
    # ("-" for the first page) to make "Previous page" a plain link.
    back = ctx.params("back")
    keep = {
        "filter": filter_string,
        "order": order,
        "view": view if view != "ACTIVE_ONLY" else "",
        "n": size if size != 50 else "",
        "cols_set": ctx.param("cols_set"),
        "col": [c.id for c in columns] if ctx.param("cols_set") else [],
    }
    return ctx.render(
        "runs.html",
        exp=exp,
        runs=runs,
        columns=columns,
        attribute_columns=_ATTRIBUTE_COLUMNS,
        available=available,
        filter=filter_string,
        error=error,
        order=order,
        order_field=order_field.replace("`", ""),
        direction=direction.upper(),
        view=view,
        size=size,
        sizes=PAGE_SIZES,
        keep=keep,
        offset=offset,
        prev_link=_page_link(back[:-1], back[-1], offset - size) if back else None,
        next_link=_page_link([*back, page_token or "-"], next_token, offset + size) if next_token else None,
        next_token=next_token,
        chosen={c.id for c in columns},
    )


__all__ = ["Column", "experiments", "parse_column", "runs_table", "workspaces"]
