"""The first admin: on the first start with authentication on, create user ``admin`` and a
personal access token, and print it once. Later starts find an admin and print nothing."""

from __future__ import annotations

import logging
import socket
import sys
from typing import TextIO

from runyard.services.access import BOOTSTRAP_TOKEN_DAYS, AccessService

log = logging.getLogger("runyard.auth")


def server_url(host: str, port: int) -> str:
    """The address to show people: a wildcard bind address becomes this machine's name."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = socket.getfqdn()
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def bootstrap_first_admin(access: AccessService, base_url: str, out: TextIO | None = None) -> bool:
    """Create the first admin if there is none; True when a credential was printed."""
    created = access.bootstrap_admin()
    if created is None:
        return False
    name, token = created
    out = out or sys.stderr
    rule = "=" * 78
    out.write(
        f"\n{rule}\n"
        f"Authentication is on and this is the first start: Runyard created the admin user "
        f"'{name}'.\nIts personal access token (valid {BOOTSTRAP_TOKEN_DAYS} days) is shown this once "
        f"and never again:\n\n    {token}\n\n"
        f"Use it with the stock mlflow client:\n"
        f"    export MLFLOW_TRACKING_TOKEN={token}\n"
        f"or with the runyard CLI:\n"
        f"    runyard login --server {base_url} --token {token}\n"
        f"Then create your own users and tokens (`runyard user add`, `runyard token create`) "
        f"and revoke this one.\n{rule}\n\n"
    )
    out.flush()
    log.warning("Created the first admin user '%s'; its token was printed once above.", name)
    return True


__all__ = ["bootstrap_first_admin", "server_url"]
