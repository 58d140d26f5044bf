"""``runyard export`` / ``runyard import``: move a workspace (metadata and artifacts) between
servers, e.g. from SQLite to PostgreSQL, through a documented folder format."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from runyard.cli.options import setting_options
from runyard.config import Settings

_STORE = (
    "backend_store_uri",
    "artifacts_destination",
    "s3_endpoint_url",
    "azure_storage_connection_string",
    "log_level",
)


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))


@click.command("export")
@setting_options(*_STORE)
@click.option("--workspace", "-w", default="default", show_default=True, help="The workspace to export.")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A new or empty folder to write the export to.",
)
def export(workspace: str, output: Path, **flags: object) -> None:
    """Export a workspace: experiments, runs, metric histories, params, tags, datasets,
    logged models, registered models (versions, aliases, tags, stages) and artifact files.

    Reads the database and artifact store directly (the server may keep running: the export
    is one consistent snapshot). The folder holds manifest.json (written last), one
    JSON-lines file per table under tables/ and the artifact files under artifacts/; the
    format is described in the README. Members, tokens and the audit log are not exported.
    """
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from runyard.artifacts.base import artifact_backend
    from runyard.errors import RunyardError
    from runyard.maintenance.common import open_database, resolve_workspace
    from runyard.maintenance.export import export_workspace

    settings = Settings.load(flags)
    _logging(settings)
    started = time.perf_counter()
    try:
        db = open_database(settings)
    except RunyardError as exc:
        raise click.ClickException(exc.message) from None
    try:
        ws = resolve_workspace(db, workspace)
        backend = artifact_backend(settings.artifacts_destination)
        with (
            logging_redirect_tqdm(),
            tqdm(unit="row", desc="rows", disable=None) as rows,
            tqdm(unit="B", unit_scale=True, desc="artifacts", disable=None) as files,
        ):

            def set_total(n: int) -> None:
                rows.total = n
                rows.refresh()

            summary = export_workspace(
                db, backend, ws, output, on_rows=rows.update, on_file=files.update, set_total=set_total
            )
    except RunyardError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        db.close()
    runs = summary.rows.get("runs", 0)
    click.echo(
        f"Exported workspace '{workspace}' to {output}: {sum(summary.rows.values())} rows "
        f"({runs} runs, {summary.rows.get('metrics', 0)} metric points), {summary.files} artifact files "
        f"({summary.bytes} bytes) in {time.perf_counter() - started:.1f} s."
    )
    if summary.outside:
        click.echo(
            f"Note: {summary.outside} runs or logged models keep artifacts outside this server's artifact "
            "store (their own URIs); those files were not copied.",
            err=True,
        )


@click.command("import")
@setting_options(*_STORE, "default_artifact_root")
@click.option(
    "--input",
    "-i",
    "input_",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder written by `runyard export`.",
)
@click.option("--workspace", "-w", required=True, help="The workspace to import into (must be empty).")
@click.option("--create", is_flag=True, help="Create the workspace if it does not exist.")
def import_(input_: Path, workspace: str, create: bool, **flags: object) -> None:
    """Import an export folder into an empty workspace of this server's database and
    artifact store (e.g. one on PostgreSQL).

    Run ids, logged model ids, model names and versions are kept; experiment ids too, unless
    this server already uses one, in which case the experiment (and its artifact paths) get
    a new id. Refused, with nothing written, if the workspace holds anything but its empty
    Default experiment or if a run or logged model of the export already exists here.

    All rows go in one transaction after the artifact files are copied: on any failure the
    rows roll back, the copied files are removed and a workspace made by --create is dropped,
    so the target is as before and the import can be run again.
    """
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from runyard.artifacts.base import artifact_backend
    from runyard.errors import RunyardError
    from runyard.maintenance import format as fmt
    from runyard.maintenance.common import open_database, workspaces
    from runyard.maintenance.import_ import import_workspace

    settings = Settings.load(flags)
    _logging(settings)
    started = time.perf_counter()
    try:
        manifest = fmt.read_manifest(input_)
        db = open_database(settings, create=True)
    except RunyardError as exc:
        raise click.ClickException(exc.message) from None
    try:
        backend = artifact_backend(settings.artifacts_destination)
        total_rows = sum(t["rows"] for t in manifest["tables"].values())
        with (
            logging_redirect_tqdm(),
            tqdm(
                total=manifest["artifacts"]["bytes"],
                unit="B",
                unit_scale=True,
                desc="artifacts",
                disable=None,
            ) as files,
            tqdm(total=total_rows, unit="row", desc="rows", disable=None) as rows,
        ):
            summary = import_workspace(
                db,
                backend,
                workspaces(db, settings),
                input_,
                workspace,
                create=create,
                on_rows=rows.update,
                on_file=files.update,
            )
    except RunyardError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        db.close()
    click.echo(
        f"Imported into workspace '{summary.workspace}': {sum(summary.rows.values())} rows "
        f"({summary.rows.get('runs', 0)} runs), {summary.files} artifact files in "
        f"{time.perf_counter() - started:.1f} s."
    )
    if summary.renumbered:
        moved = ", ".join(f"{old} -> {new}" for old, new in summary.renumbered.items())
        click.echo(f"Experiment ids already used on this server were renumbered: {moved}.")
