"""The production server for real: gunicorn with deploy/gunicorn.conf.py, as a subprocess on a free port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import base_environ, make_app
from tests.servers import free_port
from tests.tokens import add_tenant, module_token

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
SECRET_MARK = "SECRETTOKEN"
BOOT_SECONDS = 60
GRACEFUL_SECONDS = 100  # graceful_timeout in the config


@dataclass
class Gunicorn:
    process: subprocess.Popen[bytes]
    url: str
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=GRACEFUL_SECONDS + 20)


def server_environ(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}}
    environ.update(base_environ(tmp_path, PORT=str(port), WEB_CONCURRENCY="2", GUNICORN_THREADS="4"))
    environ.update(extra)
    return environ


def start(tmp_path: Path, environ: dict[str, str], *args: str) -> Gunicorn:
    stdout, stderr = tmp_path / "gunicorn.out", tmp_path / "gunicorn.err"
    # Output to files, not pipes: a full pipe would block the server.
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [str(GUNICORN), "-c", str(CONFIG), *args], cwd=tmp_path, env=environ, stdout=out, stderr=err
        )
    return Gunicorn(process, f"http://127.0.0.1:{environ['PORT']}", stdout, stderr)


def wait_until_up(server: Gunicorn) -> None:
    ends = time.monotonic() + BOOT_SECONDS
    while time.monotonic() < ends:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.process.returncode}:\n{server.output()[-3000:]}")
        try:
            if requests.get(f"{server.url}/health", timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer /health within {BOOT_SECONDS} s:\n{server.output()[-3000:]}")


@contextmanager
def running(tmp_path: Path, *args: str) -> Iterator[Gunicorn]:
    server = start(tmp_path, server_environ(tmp_path, free_port()), *args)
    try:
        wait_until_up(server)
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=30)


def malformed_request_line(url: str) -> bytes:
    """A request gunicorn refuses itself; it quotes the request line and the client in its error log."""
    host, port = url.rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"GET /dialog/send?jwt={SECRET_MARK} HTTP/1.1 extra\r\nHost: x\r\n\r\n".encode())
        return sock.recv(1024)


def raw_request(url: str, raw: bytes) -> bytes:
    host, port = url.rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


HOSTILE_FORMAT = '%(h)s %(r)s %(q)s "%(f)s" %({authorization}i)s %({x-forwarded-for}e)s'


@pytest.mark.parametrize("access_format", [None, HOSTILE_FORMAT], ids=["configured-format", "hostile-format"])
def test_served_and_logged_without_address_query_or_token(tmp_path: Path, access_format: str | None) -> None:
    app = make_app(tmp_path)  # the same SQLite file and key file the server will use, migrated
    add_tenant(app)
    token = module_token("GET", "/dialog/send", "contentId=1&spaceKey=DOC")
    args = ["--access-logformat", access_format] if access_format else []
    hostile = {"Referer": f"https://evil.example/?jwt={SECRET_MARK}", "Authorization": f"JWT {SECRET_MARK}"}

    with running(tmp_path, *args) as server, requests.Session() as http:
        assert http.get(f"{server.url}/health", timeout=30).json() == {"status": "ok"}
        refused = http.get(f"{server.url}/dialog/send?x=1&jwt={SECRET_MARK}", headers=hostile, timeout=30)
        assert refused.status_code == 401
        dialog = http.get(f"{server.url}/dialog/send?contentId=1&spaceKey=DOC&jwt={token}", timeout=30)
        assert dialog.status_code == 200, dialog.text[:500]
        ready = http.get(f"{server.url}/ready", timeout=30)
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        refused_line = malformed_request_line(server.url)
        assert refused_line.startswith(b"HTTP/1.1 400")
        head, _, body = refused_line.partition(b"\r\n\r\n")
        assert b"Content-Type: application/json" in head and SECRET_MARK.encode() not in refused_line
        assert set(json.loads(body)["error"]) == {"code", "message", "details"}
        for raw in (
            f"GET /{'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n",  # request line over limit_request_line
            "GET /health HTTP/1.1\r\nHost: x\r\n" + "".join(f"X-{n}: v\r\n" for n in range(120)) + "\r\n",
            f"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {'b' * 9000}\r\n\r\n",
        ):
            answer = raw_request(server.url, raw.encode())
            status, _, rest = answer.partition(b" ")
            assert status == b"HTTP/1.1" and rest[:3] in (b"400", b"414", b"431"), answer[:200]
            assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"]
        http.close()  # no idle keep-alive connection left for the shutdown to wait on
        assert server.stop() == 0

    output = server.output()
    access_lines = server.stdout.read_text().splitlines()
    assert len(access_lines) >= 5  # every request was logged, the refused one included
    for leak in (SECRET_MARK, token, token.split(".")[2], "jwt=", "contentId=1", "127.0.0.1"):
        assert leak not in output, f"{leak!r} leaked into the logs"
    if access_format is None:
        access = [json.loads(line) for line in access_lines]
        by_status = {(entry["path"], entry["status"]) for entry in access}
        assert {("/health", 200), ("/dialog/send", 401), ("/dialog/send", 200), ("/ready", 200)} <= by_status
        assert all(
            set(entry)
            == {"time", "level", "logger", "method", "path", "status", "bytes", "duration_ms"}
            | {"route", "tenant_id", "error_code"}
            for entry in access
        )
        # One line per request: the app's fields ride on the access line, and the app writes none of its own.
        served = [entry for entry in access if entry["path"] == "/dialog/send"]
        assert {(e["status"], e["route"], e["error_code"]) for e in served} == {
            (401, "modules.send_dialog", "unauthorized"),
            (200, "modules.send_dialog", None),
        }
        assert [e["tenant_id"] for e in served if e["status"] == 200] == [1]
        assert '"logger":"pagemail.request"' not in output


def test_gunicorn_refuses_to_boot_with_unsafe_production_settings(tmp_path: Path) -> None:
    environ = server_environ(
        tmp_path,
        free_port(),
        APP_ENV="production",
        BASE_URL="http://pagemail.example.com",
        DATABASE_URL="postgresql+psycopg://pagemail@db.invalid/pagemail",
        SECRETS_KMS_KEY_ID="alias/pagemail",
        CONNECT_ALLOWED_HOSTS="*.atlassian.net",
        CONNECT_ALLOW_INSECURE_HOSTS="",
        SMTP_ALLOW_PRIVATE_HOSTS="",
        AWS_DEFAULT_REGION="eu-central-1",
    )
    server = start(tmp_path, environ)
    try:
        code = server.process.wait(timeout=BOOT_SECONDS)
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=30)
    output = server.output()
    assert code != 0
    assert "BASE_URL" in output and "ConfigError" in output
    # Stopped for good, not a respawn loop: the master said why it shut down.
    assert "Worker failed to boot" in output
