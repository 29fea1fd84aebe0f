"""pagemail: the application factory. `flask --app app run` serves it; `flask --app app db upgrade` migrates."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from flask_migrate import Migrate
from requests.adapters import HTTPAdapter

from config import check_production, env_with_dotenv, load_config
from connect.auth import authenticate_context_token
from connect.install_keys import InstallKeyStore
from connect.outgoing import UserTokens
from connect.tenant_cache import TenantCache
from connect.token_store import token_cache_from_config
from identity import register_door
from logs import configure_logging, install_request_logging
from models import db
from models.commands import register_commands
from models.secrets import secret_box_from_config

ROOT = Path(__file__).resolve().parent
migrate = Migrate(directory=str(ROOT / "migrations"))


def http_session(pool_size: int = 32) -> requests.Session:
    """One pooled session for all outgoing calls; retries are the Confluence client's job, not urllib3's."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = False
    return session


def create_app(overrides: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    env = env_with_dotenv(os.environ if environ is None else environ, ROOT)
    config = load_config(env, Path(app.instance_path))
    config.update(overrides or {})
    # Before any connection is made: refuse unsafe production settings with a message naming the variable.
    check_production(config)
    app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    configure_logging()
    db.init_app(app)
    migrate.init_app(app, db)
    register_commands(app)

    session = http_session()
    app.extensions["pagemail.http"] = session
    box = secret_box_from_config(app.config)
    app.extensions["pagemail.secrets"] = box
    app.extensions["pagemail.tenants"] = TenantCache()
    app.extensions["pagemail.install_keys"] = InstallKeyStore(app.config["CONNECT_INSTALL_KEYS_URL"], session)
    # Redis (tokens stored encrypted) when REDIS_URL is set, so instances share grants; memory otherwise.
    tokens = token_cache_from_config(app.config, box)
    app.extensions["pagemail.user_tokens"] = UserTokens(app.config["OAUTH_AUTH_SERVER_URL"], session, tokens)
    app.extensions["pagemail.token_cache"] = tokens  # mail-provider tokens share it (keys of their own)

    # The API's doors (DESIGN §11): Connect's context tokens always; Forge's invocation tokens when it is set up.
    register_door(app, "JWT", authenticate_context_token)
    if app.config["FORGE_APP_ID"]:
        from forge.door import open_forge_door

        open_forge_door(app, session)

    from views import register_views

    register_views(app)
    install_request_logging(app)
    from views.modules import ModulePageFastPath

    app.wsgi_app = ModulePageFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
    return app
