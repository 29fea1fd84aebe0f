"""Starting the sandbox: never in production; configuration from the environment; the mail catcher."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from sandbox import SandboxConfig, create_app
from sandbox.config import CLI_STATE_FILE, DEFAULT_DESCRIPTOR_URL
from sandbox.directory import REGULAR_ID
from sandbox.testing import run_sandbox
from tests.sandbox.conftest import TIMEOUT
from tests.servers import free_port

REPO = Path(__file__).resolve().parents[2]


def test_refuses_production_from_config() -> None:
    with pytest.raises(RuntimeError, match="APP_ENV"):
        create_app(SandboxConfig(app_env="production"))


def test_refuses_production_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(RuntimeError, match="APP_ENV"):
        create_app(SandboxConfig(start_smtp=False))


def test_command_line_refuses_production() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox"],
        cwd=REPO,
        env={"APP_ENV": "production", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "APP_ENV" in result.stderr


def test_config_from_environment(tmp_path: Path) -> None:
    config = SandboxConfig.from_env(
        {
            "SANDBOX_URL": "http://localhost:9100/",
            "SANDBOX_SMTP_PORT": "2626",
            "PAGEMAIL_FIXTURES": str(tmp_path),
        }
    )
    assert config.public_url == "http://localhost:9100"
    assert config.tenant_base_url == "http://localhost:9100/wiki"
    assert config.oauth_server_url == "http://localhost:9100/oauth"
    assert (config.smtp_port, config.start_smtp, config.state_file) == (2626, True, CLI_STATE_FILE)
    assert config.app_descriptor_url == DEFAULT_DESCRIPTOR_URL
    assert config.fixtures_dir == tmp_path
    with pytest.raises(ValueError, match="SANDBOX_SMTP_PORT"):
        SandboxConfig.from_env({"SANDBOX_SMTP_PORT": "smtp"})


def test_mail_catcher_is_mounted_and_receives_mail() -> None:
    pytest.importorskip("sandbox.mailcatcher")
    import smtplib

    with run_sandbox(SandboxConfig(start_smtp=True, smtp_port=0)) as running:
        assert running.catcher is not None and running.app.extensions["mailcatcher"] is running.catcher
        with smtplib.SMTP("127.0.0.1", running.catcher.port, timeout=TIMEOUT) as smtp:
            smtp.sendmail("from@example.com", ["to@example.com"], b"Subject: hi\r\n\r\nhello\r\n")
        assert len(running.catcher.wait_for(1, timeout=TIMEOUT)) == 1
        assert requests.get(f"{running.url}/inbox", timeout=TIMEOUT).status_code == 200
        home = requests.get(f"{running.url}/wiki/", timeout=TIMEOUT).text
        assert 'href="/inbox"' in home


def test_without_smtp_there_is_no_inbox() -> None:
    with run_sandbox(SandboxConfig(start_smtp=False)) as running:
        assert running.catcher is None
        assert requests.get(f"{running.url}/inbox", timeout=TIMEOUT).status_code == 404


def test_run_sandbox_keeps_a_public_url_it_was_given() -> None:
    port = free_port()
    with run_sandbox(SandboxConfig(public_url=f"http://localhost:{port}", start_smtp=False)) as running:
        assert running.url == f"http://localhost:{port}"
        assert running.base_url == f"http://localhost:{port}/wiki"
        assert requests.get(f"http://127.0.0.1:{port}/wiki/", timeout=TIMEOUT).status_code == 200
        download = requests.get(
            f"{running.url}/wiki/download/attachments/2000000001/team-offsite.jpg",
            cookies={"sandbox_user": REGULAR_ID},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        assert download.headers["Location"].startswith(f"http://127.0.0.1:{port}/media/file/")
