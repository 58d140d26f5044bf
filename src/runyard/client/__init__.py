"""The Runyard client: the mlflow auth plugin, the credential cache and the admin API client.

Nothing here imports the server (no starlette, sqlalchemy, msgspec): ``pip install runyard``
on a Spark cluster gets only this package, and mlflow already brings ``requests``.
"""

from __future__ import annotations

__all__: list[str] = []
