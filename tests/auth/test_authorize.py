"""The per-request decision, for every access level and role (pure, no server)."""

from __future__ import annotations

import pytest

from runyard.api.call import Access
from runyard.auth.authorize import authorize
from runyard.entities import ROLES, Principal
from runyard.errors import NotFound, PermissionDenied

ANA = Principal(7, "ana", "user", False)
ADMIN = Principal(1, "admin", "user", True)
MINIMUM = {Access.READ: "reader", Access.WRITE: "contributor", Access.MANAGE: "owner"}


@pytest.mark.parametrize("access", list(MINIMUM))
@pytest.mark.parametrize("role", ROLES)
def test_roles_are_ordered(access, role):
    allowed = ROLES.index(role) >= ROLES.index(MINIMUM[access])
    if allowed:
        authorize(ANA, access, "team-a", role)
    else:
        with pytest.raises(PermissionDenied) as err:
            authorize(ANA, access, "team-a", role)
        assert MINIMUM[access] in err.value.message
        assert err.value.http_status == 403


@pytest.mark.parametrize("access", list(MINIMUM))
def test_outsider_and_missing_workspace_get_the_same_404(access):
    with pytest.raises(NotFound) as not_member:
        authorize(ANA, access, "team-b", None)
    with pytest.raises(NotFound) as missing:
        authorize(ANA, access, "team-b", None, workspace_exists=False)
    assert not_member.value.to_dict() == missing.value.to_dict()
    assert not_member.value.message == "Workspace 'team-b' does not exist or you do not have access to it."


def test_admin_may_do_anything_in_an_existing_workspace():
    for access in Access:
        authorize(ADMIN, access, "team-a", None)
    with pytest.raises(NotFound):
        authorize(ADMIN, Access.READ, "ghost", None, workspace_exists=False)


def test_admin_routes_need_an_admin_whatever_the_role():
    with pytest.raises(PermissionDenied):
        authorize(ANA, Access.ADMIN, "team-a", "owner")


def test_public_and_authenticated_routes_need_no_role():
    authorize(ANA, Access.PUBLIC, "team-b", None, workspace_exists=False)
    authorize(ANA, Access.AUTHENTICATED, "team-b", None, workspace_exists=False)
