"""Opening the Forge door: the signing keys, the lifecycle route and the `Bearer` credential of the API.

Called by create_app() only when FORGE_APP_ID is set; without it no FIT is accepted anywhere.
"""

from __future__ import annotations

import requests
from flask import Flask

from forge.auth import KEYS, authenticate_invocation
from forge.jwks import JwksKeyStore
from forge.lifecycle import bp as lifecycle_bp
from identity import register_door


def open_forge_door(app: Flask, session: requests.Session) -> None:
    app.extensions[KEYS] = JwksKeyStore(app.config["FORGE_JWKS_URL"], session)
    app.register_blueprint(lifecycle_bp)
    register_door(app, "Bearer", authenticate_invocation)
