"""The ``runyard`` command: one click group, one module per command family."""

from __future__ import annotations

import click

from runyard import __version__
from runyard.cli.audit import audit
from runyard.cli.batch import batch
from runyard.cli.db import db
from runyard.cli.endpoints import deployment, endpoint
from runyard.cli.gc import gc
from runyard.cli.login import login, logout, whoami
from runyard.cli.roles import role
from runyard.cli.server import server
from runyard.cli.service_principals import service_principal
from runyard.cli.tokens import token
from runyard.cli.transfer import export, import_
from runyard.cli.users import user
from runyard.cli.workspace import workspace


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="runyard")
def main() -> None:
    """Runyard: a self-hosted ML workspace that speaks MLflow.

    Start a server with `runyard server`, then point any mlflow client at it:
    mlflow.set_tracking_uri("http://127.0.0.1:5000").
    """


main.add_command(server)
main.add_command(db)
main.add_command(batch)
main.add_command(gc)
main.add_command(export)
main.add_command(import_)
for _command in (login, logout, whoami, workspace, user, role, service_principal, token, audit):
    main.add_command(_command)
main.add_command(endpoint)
main.add_command(deployment)

__all__ = ["main"]
