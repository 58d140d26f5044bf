"""Access control: who is calling (authenticate), what they may do (authorize), and the
credentials themselves (tokens, argon2 secrets). The rules for users, roles, tokens and
the audit log live in services/access.py; this package only decides per request.
"""

from __future__ import annotations

from runyard.auth.mode import InsecureConfiguration, auth_enabled, is_loopback

__all__ = ["InsecureConfiguration", "auth_enabled", "is_loopback"]
