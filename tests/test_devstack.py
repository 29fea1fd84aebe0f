"""`make run`'s launcher (sandbox/devstack.py): it comes up from the repository alone, and says why and exits
non-zero when a part does not."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sandbox.devstack import _stop

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _launch(tmp_path: Path, **extra: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {key: value for key, value in os.environ.items() if key not in ("PAGEMAIL_FIXTURES", "APP_ENV")}
    env.update(
        {
            "APP_PORT": str(_free_port()),
            "SANDBOX_PORT": str(_free_port()),
            "SANDBOX_SMTP_PORT": str(_free_port()),
            "SANDBOX_TLS_PORT": str(_free_port()),
            "SANDBOX_PROVIDER_SMTP_PORT": str(_free_port()),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'devstack.db'}",
            "SECRETS_KEY_FILE": str(tmp_path / "secrets.key"),
            **extra,
        }
    )
    # Output to a file, not a pipe: the test reads it while the launcher runs (a full pipe would block it).
    log = (tmp_path / "devstack.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.devstack"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    env["LOG_FILE"] = log.name
    return process, env


def _output(env: dict[str, str]) -> str:
    return Path(env["LOG_FILE"]).read_text(errors="replace")


def _wait_until_running(process: subprocess.Popen[str], env: dict[str, str]) -> None:
    ends = time.monotonic() + 90
    while time.monotonic() < ends and process.poll() is None and "pagemail is running" not in _output(env):
        time.sleep(0.5)
    assert process.poll() is None, _output(env)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def test_make_run_brings_up_the_app_and_the_sandbox_and_stops_cleanly(tmp_path: Path) -> None:
    process, env = _launch(tmp_path)
    try:
        _wait_until_running(process, env)
        assert _answers(f"http://localhost:{env['APP_PORT']}/health")
        assert _answers(f"http://localhost:{env['SANDBOX_PORT']}/wiki/spaces/DLX/pages/1153105921")
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
    output = _output(env)
    assert process.returncode == 0, output
    assert "pagemail is running" in output


def test_make_run_stopped_by_sigterm_leaves_nothing_running(tmp_path: Path) -> None:
    # A launcher ended by `kill` or a closed terminal (not Ctrl-C to the whole group) takes the app and sandbox along.
    process, env = _launch(tmp_path)
    try:
        _wait_until_running(process, env)
        process.send_signal(signal.SIGTERM)  # the launcher only, not its process group
        process.wait(timeout=60)
        assert process.returncode == 0, _output(env)
        ends = time.monotonic() + 20
        while time.monotonic() < ends and (
            _answers(f"http://localhost:{env['APP_PORT']}/health")
            or _answers(f"http://localhost:{env['SANDBOX_PORT']}/wiki/")
        ):
            time.sleep(0.5)
        assert not _answers(f"http://localhost:{env['APP_PORT']}/health")
        assert not _answers(f"http://localhost:{env['SANDBOX_PORT']}/wiki/")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param({"PAGEMAIL_FIXTURES": "/nonexistent/fixtures"}, id="sandbox-cannot-read-its-pages"),
        pytest.param({"DATABASE_URL": "sqlite:////nonexistent/folder/db.sqlite"}, id="database-unreachable"),
    ],
)
def test_make_run_fails_with_the_reason_when_a_part_does_not_come_up(tmp_path: Path, broken: dict[str, str]) -> None:
    process, env = _launch(tmp_path, **broken)
    try:
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    output = _output(env)
    assert process.returncode == 1, output
    assert "make run:" in output
    assert "pagemail is running" not in output


def test_children_that_ignore_ctrl_c_are_stopped_with_sigterm_not_killed() -> None:
    code = (
        "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    )
    children = {
        name: subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) for name in ("app", "sandbox")
    }
    try:
        for child in children.values():
            assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        _stop(children)
        assert [child.returncode for child in children.values()] == [-signal.SIGTERM, -signal.SIGTERM]
    finally:
        for child in children.values():
            if child.poll() is None:
                child.kill()
