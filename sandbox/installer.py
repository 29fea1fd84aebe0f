"""Install, uninstall, enable and disable the app: the site-side flows behind *Manage apps* and the control API.

Install fetches the descriptor, makes a fresh shared secret, sends `installed` and, only when the app
answers 2xx, records the installation and sends `enabled`. Uninstall sends `disabled` (when enabled) and
`uninstalled`, and forgets the app whatever it answers, as Confluence does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sandbox.installation import LifecycleAnswer
from sandbox.lifecycle import (
    DescriptorError,
    Tenant,
    fetch_descriptor,
    fetch_translations,
    now_iso,
    send_lifecycle,
    succeeded,
)
from sandbox.signing_key import new_shared_secret
from sandbox.state import SandboxState


def _answer_json(answer: LifecycleAnswer | None) -> dict[str, Any] | None:
    if answer is None:
        return None
    return {"event": answer.event, "status": answer.status, "body": answer.body[:200], "error": answer.error}


def _summary(state: SandboxState, answer: LifecycleAnswer | None, **extra: Any) -> dict[str, Any]:
    installation = state.installation
    return {
        "status": answer.status if answer else None,
        "installed": installation.installed,
        "enabled": installation.enabled,
        "clientKey": installation.client_key,
        "appKey": installation.app_key,
        "baseUrl": state.config.tenant_base_url,
        "answer": _answer_json(answer),
        **extra,
    }


def install(state: SandboxState, descriptor_url: str | None = None) -> dict[str, Any]:
    with state.lifecycle_lock:
        current = state.installation
        url = descriptor_url or current.descriptor_url or state.config.app_descriptor_url
        try:
            descriptor = fetch_descriptor(url)
        except DescriptorError as exc:
            failure = LifecycleAnswer("installed", None, "", now_iso(), error=str(exc))
            state.record_answer(failure)
            return _summary(state, failure, error=str(exc))
        candidate = replace(
            current,
            descriptor=descriptor,
            descriptor_url=url,
            shared_secret=new_shared_secret(),
            translations=fetch_translations(descriptor),
        )
        tenant = Tenant(state.config.tenant_base_url)
        answer = send_lifecycle("installed", candidate, tenant, state.signing_key)
        if not succeeded(answer):
            state.record_answer(answer)
            return _summary(state, answer, error="the app did not accept the installation")
        candidate.installed, candidate.enabled, candidate.installed_at = True, True, now_iso()
        candidate.last_answer = answer
        state.save_installation(candidate)
        enabled = send_lifecycle("enabled", candidate, tenant, state.signing_key)
        state.record_answer(enabled)
        return _summary(state, answer, enabledAnswer=_answer_json(enabled))


def uninstall(state: SandboxState) -> dict[str, Any]:
    with state.lifecycle_lock:
        current = state.installation
        if not current.installed:
            return _summary(state, None, error="the app is not installed")
        tenant = Tenant(state.config.tenant_base_url)
        disabled = send_lifecycle("disabled", current, tenant, state.signing_key) if current.enabled else None
        answer = send_lifecycle("uninstalled", current, tenant, state.signing_key)
        removed = replace(
            current, descriptor=None, shared_secret="", installed=False, enabled=False, last_answer=answer
        )
        state.save_installation(removed)
        return _summary(state, answer, disabledAnswer=_answer_json(disabled))


def set_enabled(state: SandboxState, enabled: bool) -> dict[str, Any]:
    with state.lifecycle_lock:
        current = state.installation
        if not current.installed:
            return _summary(state, None, error="the app is not installed")
        event = "enabled" if enabled else "disabled"
        answer = send_lifecycle(event, current, Tenant(state.config.tenant_base_url), state.signing_key)
        # Disabling happens whatever the app says; enabling needs the app's consent.
        if succeeded(answer) or not enabled:
            state.save_installation(replace(current, enabled=enabled, last_answer=answer or current.last_answer))
        else:
            state.record_answer(answer)
        return _summary(state, answer)
