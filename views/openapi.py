"""The iframe API (DESIGN §7) described as OpenAPI 3.1, served at `/api/openapi.json`.

tests/test_openapi.py keeps it true: every `/api` route is described here and nothing else is, every answer is
checked against its schema, every described status is reached by a test, and a property-based run fuzzes it.
It describes the API only, no tenant's data, so it is served without a token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

bp = Blueprint("openapi", __name__, url_prefix="/api")

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _string(max_length: int | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", **extra}
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


def _object(properties: dict[str, Any], required: tuple[str, ...] = (), *, closed: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


_ERROR_TEXT = {
    400: "The request is not valid (the error names the field); nothing was changed.",
    401: "No valid token (Connect context JWT or Forge Invocation Token); nothing was changed.",
    403: "Not allowed for this user (not an admin, pagemail off in the space, a group rule, a blocked send).",
    404: "The page or space does not exist, or this user may not see it.",
    409: "The send needs the sender's confirmation first (above the admin's recipient threshold).",
    413: "The request body is larger than 1 MB.",
    429: "Too many requests from this user or site; `details.retryAt` says when to try again.",
    502: "Confluence or the mail server failed; the message says which and how.",
    503: "The service's database is unavailable; try again shortly (Retry-After).",
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {"description": _ERROR_TEXT[status], "content": {JSON: {"schema": _ref("Error")}}}
        for status in statuses
    }


def _ok(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"200": {"description": description, "content": {JSON: {"schema": schema}}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": schema}}}


# Every authenticated call can meet these: no token, too many requests, the database down.
_ALWAYS = (401, 429, 503)
_SEND_ERRORS = (400, 403, 404, 413, 502, *_ALWAYS)
_ADMIN_ERRORS = (403, 502, *_ALWAYS)

_RECIPIENT = {
    "oneOf": [
        _object({"accountId": _string(320)}, ("accountId",), closed=True),
        _object({"groupId": _string(320, format="uuid")}, ("groupId",), closed=True),
        _object({"email": _string(320, format="email")}, ("email",), closed=True),
    ]
}
_RECIPIENTS = {"type": "array", "maxItems": 500, "items": _ref("Recipient")}
_GROUP_REF = _object({"groupId": _string(), "name": _string()}, ("groupId", "name"))
_GROUP_COUNT = _object(
    {
        "groupId": _string(),
        "name": _string(),
        "field": {"enum": ["to", "cc", "bcc"]},
        "members": {"type": "integer", "minimum": 0},
    },
    ("groupId", "name", "field", "members"),
)
_WHO = {
    "recipients": {"type": "integer", "minimum": 0, "description": "people who get the mail, each once"},
    "byField": _object({f: {"type": "integer", "minimum": 0} for f in ("to", "cc", "bcc")}, ("to", "cc", "bcc")),
    "groups": {"type": "array", "items": _GROUP_COUNT},
    "unlisted": {"type": "integer", "minimum": 0, "description": "picked by hand, address hidden: in no header"},
    "externals": {"type": "integer", "minimum": 0},
    "skipped": {
        "type": "array",
        "items": _object(
            {"accountId": _string(), "displayName": _string(), "reason": {"enum": ["no_email"]}},
            ("accountId", "displayName", "reason"),
        ),
    },
}

SCHEMAS: dict[str, Any] = {
    "Error": _object(
        {
            "error": _object(
                {"code": _string(pattern="^[a-z_]+$"), "message": _string(), "details": {"type": "object"}},
                ("code", "message", "details"),
            )
        },
        ("error",),
        closed=True,
    ),
    "Recipient": _RECIPIENT,
    "SendBody": _object(
        {
            "contentId": _string(20, pattern="^[0-9]+$"),
            "to": _RECIPIENTS,
            "cc": _RECIPIENTS,
            "bcc": _RECIPIENTS,
            "subject": _string(255),
            "message": _string(5000),
            "attachments": {
                "oneOf": [
                    {"enum": ["none", "all"]},
                    {"type": "array", "maxItems": 500, "items": _string(23, pattern="^(att)?[0-9]+$")},
                ]
            },
            "excerptOnly": {"type": "boolean"},
            "copyToSelf": {"type": "boolean"},
            "confirmed": {"type": "boolean", "description": "the sender confirmed a send above the threshold"},
            "retry": _string(
                200_000, description="the `retry` of a partly delivered send: only the addresses it missed"
            ),
        },
        ("contentId",),
    ),
    "Summary": _object(
        {
            **_WHO,
            "cannotView": {"type": "integer", "minimum": 0},
            "notChecked": {"type": "integer", "minimum": 0},
            "confirmAbove": {"type": "integer", "minimum": 1},
            "needsConfirmation": {"type": "boolean"},
            "withoutAccess": {"enum": ["warn", "block"]},
        },
        ("recipients", "byField", "groups", "cannotView", "confirmAbove", "needsConfirmation", "withoutAccess"),
    ),
    "SendResult": _object(
        {
            **_WHO,
            "sent": {"type": "boolean"},
            "mails": {"type": "integer", "minimum": 1},
            "copyToSelf": {"type": "boolean"},
            "cannotView": {"type": "integer", "minimum": 0},
            "refused": {"type": "integer", "minimum": 1},
            "partial": {"type": "boolean", "description": "some mails of a split send were not delivered"},
            "notDelivered": {"type": "integer", "minimum": 1},
            "batches": {
                "type": "array",
                "items": _object(
                    {
                        "status": {"enum": ["delivered", "failed", "not_tried"]},
                        "recipients": {"type": "integer"},
                        "error": _object({"code": _string(), "message": _string()}),
                    },
                    ("status", "recipients"),
                ),
            },
            "retry": _string(description="send the same body with this `retry` to reach only the missed"),
        },
        ("sent", "recipients", "mails", "byField", "groups"),
    ),
    "Preview": _object(
        {
            "subject": _string(),
            "html": _string(),
            "text": _string(),
            "htmlBytes": {"type": "integer"},
            "gmailClipBytes": {"type": "integer"},
            "clipped": {"type": "boolean"},
            "truncated": {"type": "boolean", "description": "the page was ended at a block boundary, with a link"},
            "mailBytes": {"type": "integer"},
            "attachments": {"type": "array", "items": _object({"title": _string(), "size": {"type": "integer"}})},
            "images": {"type": "integer"},
        },
        ("subject", "html", "text"),
    ),
    "Settings": _object(
        {
            "mail": {"type": "object"},
            "layout": {"type": "object"},
            "permissions": {"type": "object"},
            "smtp": _object(
                {
                    "mode": {"enum": ["default", "custom", "microsoft365", "google"]},
                    "host": _string(),
                    "port": {"type": "integer"},
                    "security": _string(),
                    "username": _string(),
                    "passwordSet": {"type": "boolean"},
                    "microsoft365": _object(
                        {
                            "tenantId": _string(description="directory (tenant) ID or a verified domain"),
                            "clientId": _string(description="application (client) ID"),
                            "mailbox": _string(description="sends as this mailbox (From and envelope sender)"),
                            "clientSecretSet": {"type": "boolean"},
                            "certificateSet": {"type": "boolean"},
                        },
                        ("tenantId", "clientId", "mailbox", "clientSecretSet"),
                    ),
                    "google": _object(
                        {
                            "mailbox": _string(description="sends as this mailbox (From and envelope sender)"),
                            "serviceAccountKeySet": {"type": "boolean"},
                            "serviceAccountEmail": _string(description="the saved key's client_email"),
                        },
                        ("mailbox", "serviceAccountKeySet"),
                    ),
                },
                ("mode", "passwordSet", "microsoft365", "google"),
            ),
            "debugLoggingUntil": {"type": ["string", "null"]},
        },
        ("mail", "layout", "permissions", "smtp"),
    ),
    "SettingsChange": _object(
        {
            "mail": {"type": "object"},
            "layout": {"type": "object"},
            "permissions": {"type": "object"},
            "smtp": {
                "type": "object",
                "description": "`password`, `microsoft365.clientSecret` or `microsoft365.certificate` (PEM private key "
                "and certificate) and `google.serviceAccountKey` (the JSON key file's text) are accepted here and "
                "never returned; a changed `microsoft365.tenantId` or `clientId` needs the secret again, a changed "
                "`google.mailbox` the key again. `clearPassword: true`, `microsoft365.clearCredential: true` (the "
                "client secret or certificate) and `google.clearServiceAccountKey: true` remove a saved secret; a "
                "provider's is refused (field error) while `mode` is that provider",
            },
            "debugLoggingHours": {"type": "integer"},
        }
    ),
    "ServerCheck": _object(
        {
            "ok": {"type": "boolean"},
            "stage": _string(),
            "message": _string(),
            "code": _string(),
            "providerError": _string(description="the provider's own code: AADSTS…, unauthorized_client, 535 5.7.139"),
            "hint": _string(description="a one-line fix, in the page's language"),
            "encrypted": {"type": "boolean"},
            "authenticated": {"type": "boolean"},
        },
        ("ok", "stage", "message"),
    ),
    "SpaceSettings": _object(
        {
            "enabled": {"type": "boolean"},
            "groups": {"type": "array", "items": _GROUP_REF},
            "globalEnforced": {"type": "boolean"},
        },
        ("enabled", "groups"),
    ),
}

_CONTENT_ID = {"name": "contentId", "in": "path", "required": True, "schema": _string(20, pattern="^[0-9]+$")}
_SPACE_KEY = {"name": "spaceKey", "in": "path", "required": True, "schema": _string(255)}
_QUERY = {"name": "query", "in": "query", "required": True, "schema": _string(100, minLength=2)}

PATHS: dict[str, Any] = {
    "/api/recipients": {
        "get": {
            "operationId": "searchRecipients",
            "summary": "Users and groups whose name matches, as the user may see them",
            "parameters": [_QUERY],
            "responses": {
                **_ok(
                    _object(
                        {
                            "users": {
                                "type": "array",
                                "items": _object(
                                    {
                                        "accountId": _string(),
                                        "displayName": _string(),
                                        "avatarUrl": _string(),
                                        "email": _string(description="as Confluence shows it; empty when hidden"),
                                    },
                                    ("accountId", "displayName"),
                                ),
                            },
                            "groups": {"type": "array", "items": _GROUP_REF},
                        },
                        ("users", "groups"),
                    ),
                    "Matches",
                ),
                **_errors(400, 502, *_ALWAYS),
            },
        }
    },
    "/api/recipients/summary": {
        "post": {
            "operationId": "summariseRecipients",
            "summary": "Who a send would reach (counts, groups), and its guard-rails; sends nothing",
            "requestBody": _body(_ref("SendBody")),
            "responses": {**_ok(_ref("Summary"), "The recipients as counts"), **_errors(*_SEND_ERRORS)},
        }
    },
    "/api/pages/{contentId}/attachments": {
        "get": {
            "operationId": "pageAttachments",
            "summary": "The page's attachments and what the dialog needs to set itself up",
            "parameters": [_CONTENT_ID],
            "responses": {
                **_ok(
                    _object(
                        {
                            "attachments": {
                                "type": "array",
                                "items": _object(
                                    {
                                        "id": _string(),
                                        "title": _string(),
                                        "mediaType": _string(),
                                        "size": {"type": "integer"},
                                    }
                                ),
                            },
                            "limit": {"type": "integer"},
                            "hasExcerpt": {"type": "boolean"},
                            "title": _string(),
                            "canSend": {"type": "boolean"},
                            "reason": _string(),
                        },
                        ("attachments", "canSend"),
                    ),
                    "The page's attachments",
                ),
                **_errors(400, 404, 502, *_ALWAYS),
            },
        }
    },
    "/api/preview": {
        "post": {
            "operationId": "preview",
            "summary": "The mail exactly as it would be sent (images inlined for display); sends nothing",
            "requestBody": _body(_ref("SendBody")),
            "responses": {**_ok(_ref("Preview"), "The rendered mail"), **_errors(*_SEND_ERRORS)},
        }
    },
    "/api/send": {
        "post": {
            "operationId": "send",
            "summary": "Send the page as mail",
            "requestBody": _body(_ref("SendBody")),
            "responses": {**_ok(_ref("SendResult"), "Sent"), **_errors(409, *_SEND_ERRORS)},
        }
    },
    "/api/admin/settings": {
        "get": {
            "operationId": "getSettings",
            "summary": "The site's settings (site admins only); never a password",
            "responses": {**_ok(_ref("Settings"), "The settings"), **_errors(*_ADMIN_ERRORS)},
        },
        "put": {
            "operationId": "putSettings",
            "summary": "Change some settings, all or nothing (site admins only)",
            "requestBody": _body(_ref("SettingsChange")),
            "responses": {**_ok(_ref("Settings"), "The saved settings"), **_errors(400, 413, *_ADMIN_ERRORS)},
        },
    },
    "/api/admin/smtp/test": {
        "post": {
            "operationId": "testMailServer",
            "summary": "Connect, secure and sign in to the saved or an unsaved mail server; sends nothing",
            "requestBody": _body(_object({"smtp": {"type": "object"}})),
            "responses": {**_ok(_ref("ServerCheck"), "What the test found"), **_errors(400, 413, *_ADMIN_ERRORS)},
        }
    },
    "/api/admin/smtp/test-mail": {
        "post": {
            "operationId": "sendTestMail",
            "summary": "Send a short test mail to the admin through the saved or an unsaved mail server",
            "requestBody": _body(_object({"smtp": {"type": "object"}})),
            "responses": {**_ok(_ref("ServerCheck"), "What happened"), **_errors(400, 413, *_ADMIN_ERRORS)},
        }
    },
    "/api/admin/preview": {
        "post": {
            "operationId": "layoutPreview",
            "summary": "A sample page through the renderer with the (unsaved) layout",
            "requestBody": _body(_object({"layout": {"type": "object"}, "mail": {"type": "object"}})),
            "responses": {**_ok(_ref("Preview"), "The sample mail"), **_errors(400, 413, *_ADMIN_ERRORS)},
        }
    },
    "/api/spaces/{spaceKey}/settings": {
        "get": {
            "operationId": "getSpaceSettings",
            "summary": "The space's pagemail settings",
            "parameters": [_SPACE_KEY],
            "responses": {**_ok(_ref("SpaceSettings"), "The space's settings"), **_errors(400, 404, 502, *_ALWAYS)},
        },
        "put": {
            "operationId": "putSpaceSettings",
            "summary": "Change the space's settings (space admins only)",
            "parameters": [_SPACE_KEY],
            "requestBody": _body(
                _object(
                    {"enabled": {"type": "boolean"}, "groups": {"type": "array", "items": _ref("Recipient")}},
                )
            ),
            "responses": {
                **_ok(_ref("SpaceSettings"), "The saved settings"),
                **_errors(400, 403, 404, 413, 502, *_ALWAYS),
            },
        },
    },
}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "pagemail iframe API",
        "version": "1",
        "description": "The JSON API of the send dialog and the admin and space pages. Every call carries "
        "`Authorization: JWT <Connect context token>` or `Authorization: Bearer <Forge Invocation Token>`. "
        "Pages in German send `X-Pagemail-Locale: de` and get German error messages.",
    },
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "connect": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "JWT <token>"},
            "forge": {"type": "http", "scheme": "bearer", "bearerFormat": "Forge Invocation Token"},
        },
    },
    "security": [{"connect": []}, {"forge": []}],
}


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(SPEC)
