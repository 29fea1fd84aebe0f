"""The container image without a Docker engine: the files deploy/Dockerfile copies are assembled into a
folder, and the app must migrate and serve from that folder alone, with the image's command."""

from __future__ import annotations

import fnmatch
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import base_environ
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / "deploy" / "Dockerfile.dockerignore"
NEVER_SHIPPED = ("sandbox", "tests", "bench", ".env", "instance", ".git", ".venv")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    pairs = [[*line.split(None, 1), ""][:2] for line in joined]
    return [(name.upper(), args) for name, args in pairs]


def copy_sources() -> list[tuple[list[str], str]]:
    copies = []
    for name, args in instructions():
        if name == "COPY":
            words = [w for w in shlex.split(args) if not w.startswith("--")]
            copies.append((words[:-1], words[-1]))
    return copies


def covers(pattern: str, relative: str) -> bool:
    """A pattern covers a path when it matches the path or one of its parent folders; `**/` is any depth."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    if pattern.startswith("**/"):
        tail = pattern[3:]
        return any(fnmatch.fnmatchcase(prefix.rsplit("/", 1)[-1], tail) for prefix in prefixes)
    return any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes)


def ignored_by_dockerignore(relative: str) -> bool:
    """As Docker reads the file: the last pattern that covers the path decides, `!` re-includes."""
    excluded = False
    for raw in DOCKERIGNORE.read_text().splitlines():
        pattern = raw.strip()
        if pattern and not pattern.startswith("#") and covers(pattern.lstrip("!").rstrip("/"), relative):
            excluded = not pattern.startswith("!")
    return excluded


def assemble_image(target: Path) -> None:
    """What `COPY` puts under WORKDIR /app, from a context filtered by the .dockerignore."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for sources, destination in copy_sources():
        for source in sources:
            path = ROOT / source
            assert path.exists(), f"the Dockerfile copies {source}, which does not exist"
            assert not ignored_by_dockerignore(source.rstrip("/")), f"{source} is not in the build context"
            into = target / destination.removeprefix("./").removeprefix("/app/")
            if path.is_dir():
                shutil.copytree(path, into, ignore=skip, dirs_exist_ok=True)
            else:
                into.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, into / path.name)


def test_dockerfile_basics() -> None:
    steps = instructions()
    names = [name for name, _ in steps]
    image, tag = steps[0][1].split(":")
    assert steps[0][0] == "FROM" and image == "python" and tag.endswith("-slim")
    version = tuple(int(part) for part in tag.removesuffix("-slim").split("."))
    assert len(version) == 3, "the Python version must be pinned exactly"
    # CVE-2024-6923 (email header injection through encoded words) is fixed from 3.11.10 and 3.12.5.
    assert version >= ((3, 12, 5) if version[:2] >= (3, 12) else (3, 11, 10))
    install = "pip install --no-cache-dir -r requirements.txt"
    assert any(name == "RUN" and install in args for name, args in steps)
    user = [args for name, args in steps if name == "USER"]
    assert user and not user[-1].startswith(("root", "0")), "the app must not run as root"
    assert names.index("USER") > max(i for i, n in enumerate(names) if n in {"RUN", "COPY"})
    healthcheck = next(args for name, args in steps if name == "HEALTHCHECK")
    assert "/health" in healthcheck
    command = next(args for name, args in steps if name == "CMD")
    assert command == '["gunicorn", "-c", "deploy/gunicorn.conf.py"]'
    copied = {source.rstrip("/").split("/")[0] for sources, _ in copy_sources() for source in sources}
    assert not copied & set(NEVER_SHIPPED)


def test_image_contents_migrate_and_serve(tmp_path: Path) -> None:
    image = tmp_path / "app"
    assemble_image(image)
    assert not any((image / name).exists() for name in NEVER_SHIPPED)
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    environ = base_environ(data, PORT=str(port), WEB_CONCURRENCY="1", GUNICORN_THREADS="2")
    environ["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"

    migrate = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=image,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr[-3000:]

    log = (tmp_path / "server.log").open("wb")
    command = ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    server = subprocess.Popen(command, cwd=image, env=environ, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        ends = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                if requests.get(f"{url}/health", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < ends, "the image's app did not come up"
            time.sleep(0.2)
        assert requests.get(f"{url}/atlassian-connect.json", timeout=30).json()["key"] == "pagemail"
        assert requests.get(f"{url}/ready", timeout=30).status_code == 200
        assert requests.get(f"{url}/static/dialog.js", timeout=30).status_code == 200
        assert requests.get(f"{url}/i18n/dialog.json", timeout=30).status_code == 200
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=120) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
        log.close()


@pytest.mark.parametrize(
    "path",
    [
        "sandbox/__init__.py",
        "tests/conftest.py",
        "bench/load_bench.py",
        ".env",
        "views/.env",
        "instance/secrets.key",
        "models/__pycache__/x.pyc",
        ".git/config",
        ".venv/bin/python",
        "deploy/cloudformation.yaml",
    ],
)
def test_dev_only_and_secret_files_stay_out_of_the_context(path: str) -> None:
    assert ignored_by_dockerignore(path)


SHIPPED = ["app.py", "views/health.py", "migrations/env.py", "deploy/gunicorn.conf.py"]


@pytest.mark.parametrize("path", SHIPPED)
def test_app_files_are_in_the_context(path: str) -> None:
    assert not ignored_by_dockerignore(path)
