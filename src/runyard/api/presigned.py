"""Presigned downloads (/api/2.0/mlflow-artifacts/presigned/<path>): bytes that skip the server.

With ``--artifacts-presigned-downloads`` on an S3 or Azure store, server-info announces
multipart downloads and the stock client asks here first: it gets a short-lived URL and reads
the file from the store itself in parallel ranges. Access is checked exactly as for a proxied
download; the URL reads that one file only, for ``_EXPIRES_S``.
"""

from __future__ import annotations

from runyard.api.call import Call
from runyard.errors import EndpointNotFound

_EXPIRES_S = 900  # as MLflow: long enough for a large file's parallel ranges, short to leak


def download_url(call: Call, _req: None) -> dict[str, object]:
    artifacts = call.services.artifacts
    if not (call.services.settings.artifacts_presigned_downloads and artifacts.presigns):
        # The stock client falls back to a proxied download on 404 when it was told to try.
        raise EndpointNotFound(
            "Presigned downloads are off: start the server with --artifacts-presigned-downloads "
            "and an s3:// or wasbs:// / abfss:// --artifacts-destination to use them."
        )
    url, size = artifacts.presigned_download(call.workspace, call.path_param("path"), _EXPIRES_S)
    return {"url": url, "headers": {}, "file_size": size}
