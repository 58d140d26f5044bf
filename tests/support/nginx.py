"""Run Debian's nginx as a round-robin load balancer in front of Runyard replicas, for tests."""

from __future__ import annotations

import os
import shutil
import signal
from collections import Counter
from pathlib import Path

import pytest

from tests.support.pg import IN_CI
from tests.support.process import BackgroundProcess, answers_ok, free_port

# Everything nginx writes (pid, logs, request-body buffers) stays in the test's own directory.
_CONFIG = """\
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    log_format upstreams '$status|$request_method|$uri|$upstream_addr|$upstream_status';
    access_log {tmp}/access.log upstreams;
    upstream runyard {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            proxy_pass http://runyard;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;
            # A replica that refuses the connection or answers 502/503 is skipped. Without
            # "non_idempotent" nginx never re-sends a POST that already reached a replica: that
            # write may have committed, and only the client can decide to repeat it.
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    """The nginx executable; without it fail in CI (make install-test installs it), else skip."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found:
        return found
    if IN_CI:
        pytest.fail("nginx is required in CI (make install-test installs it from Debian)")
    pytest.skip("nginx not installed (apt-get install nginx, or make install-test)")


class Nginx(BackgroundProcess):
    """One foreground nginx process, round-robin over ``upstreams`` (host:port strings)."""

    name = "nginx"
    stop_signal = signal.SIGQUIT  # graceful: finish in-flight requests
    stop_grace_s = 10.0

    def __init__(self, tmp: Path, upstreams: list[str]) -> None:
        self.binary = nginx_binary()
        self.tmp = tmp
        self.port = free_port()
        self.conf = tmp / "nginx.conf"
        # max_fails=1: one failed connection takes a replica out of rotation for fail_timeout.
        servers = "\n".join(f"        server {u} max_fails=1 fail_timeout=10s;" for u in upstreams)
        self.conf.write_text(_CONFIG.format(tmp=tmp, port=self.port, servers=servers))
        self.log_path = tmp / "error.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        cmd = [self.binary, "-p", str(self.tmp), "-c", str(self.conf), "-e", str(self.log_path)]
        self.spawn(cmd, ready=lambda: answers_ok(self.url + "/health"), timeout=timeout)

    def error_log(self) -> str:
        return self.log()

    def requests_per_upstream(self) -> Counter[str]:
        """How many proxied requests each upstream answered (from the access log)."""
        counts: Counter[str] = Counter()
        log = self.tmp / "access.log"
        for line in log.read_text().splitlines() if log.exists() else []:
            parts = line.split("|")
            if len(parts) == 5:
                # "$upstream_addr" lists every replica tried ("a, b"); the last one answered.
                counts[parts[3].split(",")[-1].strip()] += 1
        return counts
