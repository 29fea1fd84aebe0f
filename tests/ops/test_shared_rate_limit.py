"""Two app processes on one PostgreSQL and one Redis share their rate limits (several instances, DESIGN §6)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests
from flask_migrate import upgrade

from app import create_app
from tests.servers import free_port
from tests.stack import base_environ
from tests.tokens import add_tenant, context_token
from views.ratelimit import POLICIES

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_available() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379")


@pytest.fixture
def two_instances(postgres_url: str, tmp_path: Path, redis_available: None) -> Iterator[list[str]]:
    environ = base_environ(tmp_path, DATABASE_URL=postgres_url, REDIS_URL=REDIS_URL)
    app = create_app(environ=environ)
    with app.app_context():
        upgrade()
    add_tenant(app)
    processes, urls = [], []
    try:
        for _ in range(2):
            port = free_port()
            env = dict(os.environ, **environ)
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port), "--no-reload"],
                    cwd=REPO,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.3)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)


def test_the_limit_is_shared_between_two_processes(two_instances: list[str]) -> None:
    user = f"user-{uuid.uuid4().hex}"  # a fresh key in Redis for every run
    limit = POLICIES["admin"].per_user.amount
    headers = {"Authorization": f"JWT {context_token(sub=user)}", "Content-Type": "application/json"}
    statuses = []
    with requests.Session() as http:
        # Each call is counted, then refused cheaply (an invalid space key), alternating between the instances.
        for index in range(limit + 1):
            url = two_instances[index % 2]
            statuses.append(http.put(f"{url}/api/spaces/bad key!/settings", json={}, headers=headers, timeout=30))
    codes = [response.status_code for response in statuses]
    assert codes[:limit] == [400] * limit
    assert codes[limit] == 429, "each instance alone would still allow this call"
    assert statuses[limit].json()["error"]["code"] == "rate_limited"
