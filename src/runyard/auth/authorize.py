"""The decision for one request: principal + the route's declared access + workspace role.

Pure: no I/O. Outsiders of a workspace get exactly the answer a missing workspace gets, so
an error never tells whether a workspace (or anything in it) exists.
"""

from __future__ import annotations

from runyard.api.call import Access
from runyard.entities import ROLES, Principal
from runyard.errors import NotFound, PermissionDenied

# The routes whose check involves a workspace role.
WORKSPACE_SCOPED = frozenset({Access.READ, Access.WRITE, Access.MANAGE})
NEEDED_ROLE = {Access.READ: "reader", Access.WRITE: "contributor", Access.MANAGE: "owner"}
_RANK = {role: i for i, role in enumerate(ROLES)}


def workspace_not_found(name: str) -> NotFound:
    return NotFound(f"Workspace '{name}' does not exist or you do not have access to it.")


def authorize(
    principal: Principal, access: Access, workspace: str, role: str | None, workspace_exists: bool = True
) -> None:
    """Return when allowed; raise NotFound (404) or PermissionDenied (403) otherwise.

    ``role`` is the principal's role in ``workspace`` (None when not a member).
    Authentication (401) has already happened.
    """
    if access in (Access.PUBLIC, Access.AUTHENTICATED):
        return
    if access is Access.ADMIN:
        if not principal.is_admin:
            raise PermissionDenied(
                f"This needs a Runyard admin, and '{principal.name}' is not one. Ask an admin to do it."
            )
        return
    if not workspace_exists or (role is None and not principal.is_admin):
        raise workspace_not_found(workspace)
    if principal.is_admin:
        return
    needed = NEEDED_ROLE[access]
    if _RANK.get(role, -1) < _RANK[needed]:  # type: ignore[arg-type]
        raise PermissionDenied(
            f"'{principal.name}' is {role} in workspace '{workspace}'; this needs the {needed} role "
            f"or higher. An owner can grant it: `runyard role grant {principal.name} {needed} "
            f"--workspace {workspace}`."
        )


__all__ = ["NEEDED_ROLE", "WORKSPACE_SCOPED", "authorize", "workspace_not_found"]
