"""``runyard gc``: permanently remove deleted runs, experiments and logged models (as ``mlflow gc``)."""

from __future__ import annotations

import datetime as dt
import logging

import click

from runyard.cli.options import setting_options
from runyard.config import Settings

_SHOWN = 50  # ids listed per kind in the dry-run report; the rest are counted


def _ids(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()] or None


def _experiment_ids(text: str | None) -> list[int] | None:
    ids = _ids(text)
    if ids is None:
        return None
    bad = [i for i in ids if not i.isdigit()]
    if bad:
        raise click.BadParameter(
            f"experiment ids are integers; got {', '.join(bad)}", param_hint="--experiment-ids"
        )
    return [int(i) for i in ids]


def _listing(label: str, ids: list[str]) -> str:
    shown = ", ".join(ids[:_SHOWN])
    more = f" … and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else ""
    return f"  {len(ids)} {label}" + (f": {shown}{more}" if ids else "")


@click.command()
@setting_options(
    "backend_store_uri",
    "artifacts_destination",
    "s3_endpoint_url",
    "azure_storage_connection_string",
    "log_level",
)
@click.option(
    "--older-than",
    default="30d",
    show_default=True,
    help="Retention: only what was deleted at least this long ago goes (s, m, h, d or w; 0 = any age).",
)
@click.option("--workspace", "-w", default=None, help="Only this workspace (default: every workspace).")
@click.option("--run-ids", default=None, help="Comma-separated ids of deleted runs: only these runs.")
@click.option(
    "--experiment-ids",
    default=None,
    help="Comma-separated ids of deleted experiments: only these experiments, with all their runs.",
)
@click.option(
    "--dry-run", is_flag=True, help="Print what would be removed (counts and ids) and change nothing."
)
def gc(
    older_than: str,
    workspace: str | None,
    run_ids: str | None,
    experiment_ids: str | None,
    dry_run: bool,
    **flags: object,
) -> None:
    """Permanently remove deleted runs and experiments older than the retention period.

    Works on the database and artifact store directly, like `mlflow gc`: runs in the
    deleted stage (deleted at least --older-than ago), deleted experiments with all their
    runs, and deleted logged models go with their metrics, params, tags, inputs and
    artifact files. Nothing that is not deleted is touched.

    Registered model versions are never removed, and a run or logged model that a live
    version still uses (its source) is kept, files included, so the version keeps working;
    a deleted experiment holding one is kept too. Delete the version first to let gc take it.

    Deletion runs in batches, artifacts first and then the rows in one transaction per
    batch: if gc is interrupted, run it again and it finishes the job. Try --dry-run first.
    """
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from runyard.artifacts.base import artifact_backend
    from runyard.errors import RunyardError
    from runyard.maintenance import gc as rules
    from runyard.maintenance.common import open_database, resolve_workspace
    from runyard.services.clock import now_ms

    settings = Settings.load(flags)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        retention = rules.parse_duration(older_than)
        exp_ids = _experiment_ids(experiment_ids)
        db = open_database(settings)
    except RunyardError as exc:
        raise click.ClickException(exc.message) from None
    try:
        cutoff = None if retention == 0 else now_ms() - retention
        ws = resolve_workspace(db, workspace) if workspace else None
        p = rules.plan(
            db,
            cutoff=cutoff,
            workspace_id=ws.id if ws else None,
            run_ids=_ids(run_ids),
            experiment_ids=exp_ids,
        )
        when = (
            "any time"
            if cutoff is None
            else dt.datetime.fromtimestamp(cutoff / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC or earlier")
        )
        scope = f", workspace {workspace}" if ws else ""
        click.echo(f"{'Would remove' if dry_run else 'Removing'} (deleted {when}{scope}):")
        click.echo(_listing("runs", [r.run_id for r in p.runs]))
        click.echo(_listing("logged models", [m.model_id for m in p.models]))
        click.echo(_listing("experiments", [f"{e.experiment_id} ({e.name})" for e in p.experiments]))
        if p.kept_runs or p.kept_models:
            click.echo("Kept because live registered model versions use them:")
            click.echo(_listing("runs", p.kept_runs))
            click.echo(_listing("logged models", p.kept_models))
            click.echo(_listing("experiments", [f"{e.experiment_id} ({e.name})" for e in p.kept_experiments]))
        if dry_run or p.empty:
            if p.empty:
                click.echo("Nothing to remove.")
            return
        backend = artifact_backend(settings.artifacts_destination)
        with logging_redirect_tqdm(), tqdm(total=p.total, unit="item", desc="gc", disable=None) as bar:
            result = rules.execute(db, backend, p, bar.update)
    except RunyardError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        db.close()
    click.echo(
        f"Removed {result.runs} runs, {result.models} logged models and {result.experiments} experiments"
        + (f"; skipped {result.skipped} restored meanwhile" if result.skipped else "")
        + "."
    )
    if result.failed:
        for what, why in result.failed:
            click.echo(f"  not removed: {what}: {why}", err=True)
        raise click.ClickException(
            f"{len(result.failed)} items kept because their artifacts could not be deleted; "
            "fix that and run gc again."
        )
