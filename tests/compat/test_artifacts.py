"""Artifacts through the stock mlflow client: proxied upload, listing with real sizes,
download, delete, multipart upload, path safety and workspace isolation."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
from pathlib import Path

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

from tests.support.server import RunyardServer

MA = "/api/2.0/mlflow-artifacts"


def store_path(run) -> str:  # noqa: ANN001
    """``mlflow-artifacts:/3/<run>/artifacts`` → ``3/<run>/artifacts``."""
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    return run.info.artifact_uri.split(":", 1)[1].lstrip("/")


@pytest.fixture
def source_tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"alpha")
    (src / "sub" / "b.bin").write_bytes(os.urandom(1234))
    (src / "sub" / "deeper" / "c.csv").write_text("x,y\n1,2\n")
    return src


@pytest.fixture
def logged_run(tracking_uri, unique, source_tree, tmp_path):  # noqa: ANN001, ANN201
    single = tmp_path / "single.json"
    single.write_text('{"one": 1}')
    mlflow.set_experiment(f"artifacts-{unique}")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifacts(str(source_tree), artifact_path="tree")
        mlflow.log_text("hello text", "notes/readme.txt")
        mlflow.log_dict({"k": [1, 2]}, "config/params.json")
    return run


def test_list_artifacts_has_real_sizes_and_nested_dirs(client, logged_run):
    rid = logged_run.info.run_id
    top = {(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(rid)}
    assert top == {
        ("single.json", False, 10),
        ("tree", True, None),
        ("notes", True, None),
        ("config", True, None),
    }
    tree = [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(rid, "tree")]
    assert tree == [("tree/a.txt", False, 5), ("tree/sub", True, None)]
    sub = [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(rid, "tree/sub")]
    assert sub == [("tree/sub/b.bin", False, 1234), ("tree/sub/deeper", True, None)]
    deeper = client.list_artifacts(rid, "tree/sub/deeper")
    assert [(f.path, f.file_size) for f in deeper] == [("tree/sub/deeper/c.csv", 8)]
    # A file is not a folder: listing it is empty, as with MLflow's own server.
    assert client.list_artifacts(rid, "tree/a.txt") == []


def test_download_round_trip(client, logged_run, source_tree, tmp_path):
    rid = logged_run.info.run_id
    dst = tmp_path / "dl"
    dst.mkdir()
    local = Path(client.download_artifacts(rid, "tree", str(dst)))
    for f in source_tree.rglob("*"):
        if f.is_file():
            assert (local / f.relative_to(source_tree)).read_bytes() == f.read_bytes()
    assert mlflow.artifacts.load_text(f"runs:/{rid}/notes/readme.txt") == "hello text"
    assert mlflow.artifacts.load_dict(f"runs:/{rid}/config/params.json") == {"k": [1, 2]}


def test_download_sets_length_type_and_attachment(server, logged_run):
    url = f"{server.url}{MA}/artifacts/{store_path(logged_run)}/tree/sub/b.bin"
    r = requests.get(url, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Length"] == "1234"
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Disposition"] == 'attachment; filename="b.bin"'
    text = requests.get(f"{server.url}{MA}/artifacts/{store_path(logged_run)}/notes/readme.txt", timeout=10)
    assert text.headers["Content-Type"].startswith("text/plain")


def test_download_byte_ranges(server, logged_run, source_tree):
    url = f"{server.url}{MA}/artifacts/{store_path(logged_run)}/tree/sub/b.bin"
    data = (source_tree / "sub" / "b.bin").read_bytes()
    part = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
    assert part.status_code == 206
    assert part.headers["Content-Range"] == "bytes 100-199/1234"
    assert part.content == data[100:200]
    tail = requests.get(url, headers={"Range": "bytes=-34"}, timeout=10)
    assert (tail.status_code, tail.content) == (206, data[-34:])
    beyond = requests.get(url, headers={"Range": "bytes=5000-"}, timeout=10)
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == "bytes */1234"


def test_delete_through_mlflow_artifacts_api(server, client, logged_run):
    rid = logged_run.info.run_id
    repo = get_artifact_repository(logged_run.info.artifact_uri)
    repo.delete_artifacts("tree/sub")
    assert [f.path for f in client.list_artifacts(rid, "tree")] == ["tree/a.txt"]
    assert not (server.artifacts / store_path(logged_run) / "tree" / "sub").exists()
    repo.delete_artifacts("tree/a.txt")
    assert client.list_artifacts(rid, "tree") == []


def test_missing_artifact_is_404(server, logged_run):
    r = requests.get(f"{server.url}{MA}/artifacts/{store_path(logged_run)}/nope.txt", timeout=10)
    assert r.status_code == 404
    assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_run_artifacts_list_endpoint(server, logged_run):
    rid = logged_run.info.run_id
    url = f"{server.url}/api/2.0/mlflow/artifacts/list"
    body = requests.get(url, params={"run_id": rid, "path": "tree"}, timeout=10).json()
    assert body["root_uri"] == logged_run.info.artifact_uri
    assert body["files"] == [
        {"path": "tree/a.txt", "is_dir": False, "file_size": 5},
        {"path": "tree/sub", "is_dir": True},
    ]
    old_style = requests.get(url, params={"run_uuid": rid}, timeout=10).json()
    assert {f["path"] for f in old_style["files"]} == {"single.json", "tree", "notes", "config"}

    missing = requests.get(url, params={"run_id": "0" * 32}, timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    bad = requests.get(url, params={"run_id": rid, "path": "../.."}, timeout=10)
    assert bad.status_code == 400
    assert bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_run_artifacts_list_reads_file_uri_folders(server, client, unique, tmp_path):
    folder = tmp_path / "file-store"
    eid = client.create_experiment(f"file-store-{unique}", artifact_location=folder.as_uri())
    run = client.create_run(eid)
    client.log_text(run.info.run_id, "on disk", "d/x.txt")  # the client writes the folder itself
    url = f"{server.url}/api/2.0/mlflow/artifacts/list"
    body = requests.get(url, params={"run_id": run.info.run_id, "path": "d"}, timeout=10).json()
    assert body["files"] == [{"path": "d/x.txt", "is_dir": False, "file_size": 7}]
    assert body["root_uri"].startswith(folder.as_uri())


# -- path safety ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw_path",
    [
        "0/../../escape-{u}.txt",
        "..%2F..%2Fescape-{u}.txt",
        "%2E%2E/%2E%2E/escape-{u}.txt",
        "%2Ftmp%2Fescape-{u}.txt",
        "a%5C..%5C..%5Cescape-{u}.txt",
    ],
)
def test_path_traversal_is_refused(server, unique, raw_path):
    path = raw_path.format(u=unique)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:  # http.client sends the path as written; requests would normalise the dots away
        conn.request("PUT", f"{MA}/artifacts/{path}", body=b"evil", headers=_auth_headers())
        resp = conn.getresponse()
        status, body = resp.status, json.loads(resp.read())
        conn.request("GET", f"{MA}/artifacts?path={path}", headers=_auth_headers())
        list_status = conn.getresponse()
        list_status.read()
    finally:
        conn.close()
    assert status in (400, 403), body
    assert body["error_code"] in ("INVALID_PARAMETER_VALUE", "PERMISSION_DENIED")
    assert list_status.status in (400, 403)
    # Nothing anywhere in the test session's temp tree (os.walk tolerates concurrent deletes).
    escaped = [
        d for d, _, files in os.walk(server.artifacts.parent.parent) if f"escape-{unique}.txt" in files
    ]
    assert escaped == []
    assert not Path(f"/tmp/escape-{unique}.txt").exists()


# -- multipart ----------------------------------------------------------------------------------
def test_server_info_announces_multipart(server):
    info = requests.get(f"{server.url}/api/3.0/mlflow/server-info", timeout=10).json()
    assert info["multipart_uploads_enabled"] is True


@pytest.fixture
def small_multipart(monkeypatch):  # noqa: ANN201
    """Make the stock client use multipart upload for files from 1 MB, in 2 MB parts."""
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(1_000_000))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(2 * 1024 * 1024))
    outcomes: list[str] = []
    original = MlflowArtifactsRepository._try_multipart_upload

    def spy(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        try:
            result = original(self, *args, **kwargs)
        except Exception as exc:
            outcomes.append(type(exc).__name__)  # e.g. the unsupported fallback
            raise
        outcomes.append("ok")
        return result

    monkeypatch.setattr(MlflowArtifactsRepository, "_try_multipart_upload", spy)
    return outcomes


def test_multipart_upload_with_the_stock_client(server, client, unique, tmp_path, small_multipart):
    big = tmp_path / "weights.bin"
    big.write_bytes(os.urandom(9 * 1024 * 1024 + 123))  # 5 parts, the last one short
    mlflow.set_experiment(f"mpu-{unique}")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(big), artifact_path="model")
    assert small_multipart == ["ok"]
    [info] = client.list_artifacts(run.info.run_id, "model")
    assert (info.path, info.file_size) == ("model/weights.bin", big.stat().st_size)
    dst = tmp_path / "dl"
    dst.mkdir()
    got = Path(client.download_artifacts(run.info.run_id, "model/weights.bin", str(dst)))
    assert hashlib.sha256(got.read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()
    assert list((server.artifacts / ".runyard" / "uploads").iterdir()) == []


def test_multipart_upload_in_a_workspace(server, tracking_uri, unique, tmp_path, small_multipart):
    ws = f"mpu-{unique}"
    requests.post(f"{server.url}/api/3.0/mlflow/workspaces", json={"name": ws}, timeout=10).raise_for_status()
    big = tmp_path / "part.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    mlflow.set_tracking_uri(f"{server.url}/w/{ws}")
    try:
        mlflow.set_experiment("in-workspace")
        with mlflow.start_run() as run:
            mlflow.log_artifact(str(big))
    finally:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_experiment(experiment_id="0")  # not the other workspace's experiment
    assert small_multipart == ["ok"]
    inside = MlflowClient(f"{server.url}/w/{ws}")
    (tmp_path / "d").mkdir()
    inside.download_artifacts(run.info.run_id, "part.bin", str(tmp_path / "d"))
    assert (tmp_path / "d" / "part.bin").read_bytes() == big.read_bytes()


def test_multipart_protocol_edges(server, client, unique):
    eid = client.create_experiment(f"mpu-edges-{unique}")
    base = f"{server.url}{MA}/mpu"
    target = f"{eid}/manual"
    created = requests.post(
        f"{base}/create/{target}", json={"path": "/home/me/data.bin", "num_parts": 2}, timeout=10
    ).json()
    upload_id = created["upload_id"]
    assert [c["part_number"] for c in created["credentials"]] == [1, 2]
    first_url = created["credentials"][0]["url"]
    assert first_url.startswith(f"{server.url}{MA}/mpu/upload/{target}/data.bin?")

    # Parts go to the credential URL with no auth, as the stock client sends them.
    etags = [
        requests.put(c["url"], data=data, headers=c["headers"], timeout=10).headers["ETag"]
        for c, data in zip(created["credentials"], [b"hello ", b"world"], strict=True)
    ]
    bad_id = requests.put(first_url.replace(upload_id, "f" * 32), data=b"x", timeout=10)
    assert bad_id.status_code == 404
    other_ws = requests.put(first_url, data=b"x", headers={"X-MLFLOW-WORKSPACE": "no-such-ws"}, timeout=10)
    assert other_ws.status_code == 404

    wrong = requests.post(
        f"{base}/complete/{target}",
        json={"path": "data.bin", "upload_id": upload_id, "parts": [{"part_number": 1, "etag": "nope"}]},
        timeout=10,
    )
    assert wrong.status_code == 400
    done = requests.post(
        f"{base}/complete/{target}",
        json={
            "path": "/home/me/data.bin",
            "upload_id": upload_id,
            "parts": [{"part_number": n, "etag": e} for n, e in zip((1, 2), etags, strict=True)],
        },
        timeout=10,
    )
    assert done.status_code == 200, done.text
    assert requests.get(f"{server.url}{MA}/artifacts/{target}/data.bin", timeout=10).content == b"hello world"
    again = requests.post(
        f"{base}/complete/{target}",
        json={"path": "data.bin", "upload_id": upload_id, "parts": []},
        timeout=10,
    )
    assert again.status_code == 404

    create = {"path": "gone.bin", "num_parts": 1}
    aborted = requests.post(f"{base}/create/{target}", json=create, timeout=10).json()
    requests.put(aborted["credentials"][0]["url"], data=b"x", timeout=10).raise_for_status()
    r = requests.post(
        f"{base}/abort/{target}", json={"path": "gone.bin", "upload_id": aborted["upload_id"]}, timeout=10
    )
    assert r.status_code == 200
    assert requests.get(f"{server.url}{MA}/artifacts/{target}/gone.bin", timeout=10).status_code == 404


def test_no_serve_artifacts_disables_the_proxy(tmp_path):
    srv = RunyardServer(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "artifacts", "--no-serve-artifacts")
    srv.start()
    try:
        info = requests.get(f"{srv.url}/api/3.0/mlflow/server-info", timeout=10).json()
        assert info["multipart_uploads_enabled"] is False
        r = requests.put(f"{srv.url}{MA}/artifacts/0/x.txt", data=b"x", timeout=10)
        assert r.status_code == 503
        assert "serve-artifacts" in r.json()["message"]
    finally:
        srv.stop()


# -- workspace isolation --------------------------------------------------------------------------
@pytest.fixture
def private_run(server, tracking_uri, unique):  # noqa: ANN001, ANN201
    """A run with a secret artifact in a fresh workspace (and one in its Default experiment)."""
    ws = f"private-{unique}"
    requests.post(f"{server.url}/api/3.0/mlflow/workspaces", json={"name": ws}, timeout=10).raise_for_status()
    mlflow.set_tracking_uri(f"{server.url}/w/{ws}")
    try:
        mlflow.set_experiment("secrets")
        with mlflow.start_run() as run:
            mlflow.log_text("the secret", "secret.txt")
        mlflow.set_experiment(experiment_id="0")
        with mlflow.start_run() as default_run:
            mlflow.log_text("default secret", "secret.txt")
    finally:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_experiment(experiment_id="0")  # not the other workspace's experiment
    return ws, run, default_run


def test_workspace_reads_its_own_artifacts(server, private_run):
    ws, run, default_run = private_run
    inside = MlflowClient(f"{server.url}/w/{ws}")
    for r in (run, default_run):
        assert [f.path for f in inside.list_artifacts(r.info.run_id)] == ["secret.txt"]
    listing = requests.get(f"{server.url}/w/{ws}{MA}/artifacts", timeout=10).json()["files"]
    assert {f["path"] for f in listing} == {store_path(run).split("/")[0], "0"}


@pytest.mark.parametrize("which", ["experiment", "default-experiment"])
def test_default_workspace_cannot_reach_another_workspaces_artifacts(server, private_run, which):
    _ws, run, default_run = private_run
    target = run if which == "experiment" else default_run
    path = store_path(target)
    on_disk = server.artifacts / path / "secret.txt"
    assert on_disk.exists()

    got = requests.get(f"{server.url}{MA}/artifacts/{path}/secret.txt", timeout=10)
    assert got.status_code == 404
    assert got.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert "the secret" not in got.text
    listed = requests.get(f"{server.url}{MA}/artifacts", params={"path": path}, timeout=10)
    assert listed.status_code == 404
    written = requests.put(f"{server.url}{MA}/artifacts/{path}/planted.txt", data=b"evil", timeout=10)
    assert written.status_code == 404
    assert not (server.artifacts / path / "planted.txt").exists()
    deleted = requests.delete(f"{server.url}{MA}/artifacts/{path}", timeout=10)
    assert deleted.status_code == 404
    assert on_disk.read_text() == ("the secret" if which == "experiment" else "default secret")

    # Listings of shared folders leave the other workspace's entries out.
    root = requests.get(f"{server.url}{MA}/artifacts", timeout=10).json().get("files", [])
    assert store_path(run).split("/")[0] not in {f["path"] for f in root}
    zero = requests.get(f"{server.url}{MA}/artifacts", params={"path": "0"}, timeout=10).json()
    zero = zero.get("files", [])
    assert default_run.info.run_id not in {f["path"] for f in zero}

    # And the run itself does not exist for the default workspace.
    with pytest.raises(MlflowException) as err:
        MlflowClient(server.url).list_artifacts(target.info.run_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    via_list = requests.get(
        f"{server.url}/api/2.0/mlflow/artifacts/list", params={"run_id": target.info.run_id}, timeout=10
    )
    assert via_list.status_code == 404


def test_workspace_cannot_write_outside_its_experiments(server, private_run, unique):
    ws, _run, _ = private_run
    loose = requests.put(f"{server.url}/w/{ws}{MA}/artifacts/loose-{unique}.txt", data=b"x", timeout=10)
    assert loose.status_code == 403
    assert loose.json()["error_code"] == "PERMISSION_DENIED"
    assert not (server.artifacts / f"loose-{unique}.txt").exists()
    default_exp = requests.put(f"{server.url}/w/{ws}{MA}/artifacts/0/not-a-run/x.txt", data=b"x", timeout=10)
    assert default_exp.status_code == 403


def test_odd_paths_are_client_errors_not_server_errors(server, private_run):
    ws = private_run[0]
    for prefix in ("", f"/w/{ws}"):
        for path in ("99999999999999999999999/x.txt", f"{'n' * 300}/x.txt", "0/models/" + "m" * 300 + "/x"):
            r = requests.get(f"{server.url}{prefix}{MA}/artifacts/{path}", timeout=10)
            assert 400 <= r.status_code < 500, (prefix, path, r.text)


def _auth_headers() -> dict[str, str]:
    """The admin's token when the suite runs against an auth-on server (RUNYARD_TEST_AUTH=on)."""
    token = os.environ.get("RUNYARD_TEST_ADMIN_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}
