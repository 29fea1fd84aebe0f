"""The two unauthenticated routes: the Connect descriptor and the health check."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, send_from_directory

bp = Blueprint("descriptor", __name__)

ROOT = Path(__file__).resolve().parent.parent


@cache
def _template() -> dict[str, Any]:
    return json.loads((ROOT / "atlassian-connect.json").read_text(encoding="utf-8"))


def build_descriptor(base_url: str, app_key: str) -> dict[str, Any]:
    descriptor = copy.deepcopy(_template())
    descriptor["baseUrl"] = base_url
    descriptor["key"] = app_key
    return descriptor


@bp.get("/atlassian-connect.json")
def descriptor() -> Response:
    response = jsonify(build_descriptor(current_app.config["BASE_URL"], current_app.config["APP_KEY"]))
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/i18n/<name>.json")
def translations(name: str) -> Response:
    return send_from_directory(ROOT / "static" / "i18n", f"{name}.json")


@bp.get("/health")
def health() -> Response:
    return jsonify({"status": "ok"})
