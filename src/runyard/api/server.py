"""Server capabilities: what the stock client asks before it uses a feature."""

from __future__ import annotations

from runyard.api.call import Call


def server_info(call: Call, _req: None) -> dict[str, object]:
    settings = call.services.settings
    proxied = settings.serve_artifacts
    return {
        "store_type": "SqlStore",
        "workspaces_enabled": True,
        "trace_archival_enabled": False,
        "multipart_uploads_enabled": proxied,
        # True only when presigned download URLs will really be handed out (see api/presigned.py).
        "multipart_downloads_enabled": proxied
        and settings.artifacts_presigned_downloads
        and call.services.artifacts.presigns,
        "presigned_upload_run_id_supported": False,
        "presigned_upload_model_id_supported": False,
        "features_enabled": {"gateway": False},
    }
