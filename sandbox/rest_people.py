"""REST: users, groups, memberships, email addresses and spaces (Confluence Cloud v1 shapes)."""

from __future__ import annotations

import re

from flask import Blueprint, Response, jsonify, request

from sandbox.access import is_space_admin
from sandbox.directory import User
from sandbox.rest_auth import authenticate
from sandbox.rest_content import paging, shapes
from sandbox.rest_errors import RestError, install_error_handlers
from sandbox.state import SandboxState, current_state

MEMBERS_PAGE_CAP = 50  # Cloud's fixed system limit for group members, whatever `limit` asks for
_CQL_CLAUSE = re.compile(
    r"""\s*(?:
        (?P<type>type\s*=\s*"?user"?)
      | user\.fullname\s*~\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^\s"]+))
      | user\.accountid\s*=\s*"?(?P<account>[^\s"]+)"?
    )\s*""",
    re.IGNORECASE | re.VERBOSE,
)
_CQL_AND = re.compile(r"and\s+", re.IGNORECASE)

bp = Blueprint("rest_people", __name__, url_prefix="/wiki/rest/api")
install_error_handlers(bp)


def _operations(state: SandboxState, user: User) -> list[dict[str, str]]:
    operations = [
        {"operation": "use", "targetType": "application"},
        {"operation": "create", "targetType": "page"},
        {"operation": "create", "targetType": "blogpost"},
    ]
    if user.account_type == "atlassian" and state.directory.is_site_admin(user.account_id):
        operations[:0] = [
            {"operation": "administer", "targetType": "application"},
            {"operation": "create_space", "targetType": "application"},
        ]
    return operations


def _wants_operations() -> bool:
    return any("operations" in value.split(",") for value in request.args.getlist("expand"))


def parse_user_cql(cql: str) -> tuple[str, str | None]:
    """(name text, account id) from the CQL `search/user` understands; RestError(400) otherwise."""
    text, account, position, clauses = "", None, 0, 0
    while position < len(cql):
        if clauses:
            joiner = _CQL_AND.match(cql, position)
            if joiner is None:
                break
            position = joiner.end()
        match = _CQL_CLAUSE.match(cql, position)
        if match is None:
            break
        if match.group("quoted") is not None or match.group("bare") is not None:
            text = (match.group("quoted") or match.group("bare") or "").replace('\\"', '"')
        if match.group("account"):
            account = match.group("account")
        position, clauses = match.end(), clauses + 1
    if not clauses or position < len(cql):
        raise RestError(400, f"Could not parse cql : {cql}")
    return text, account


@bp.get("/search/user")
def search_users() -> Response:
    state = current_state()
    authenticate(state)
    cql = request.args.get("cql", "")
    if not cql.strip():
        raise RestError(400, "cql query parameter is required")
    text, account_id = parse_user_cql(cql)
    start, limit = paging(25, 200)
    found = state.directory.search(text)
    if account_id is not None:
        found = [user for user in found if user.account_id == account_id]
    window = found[start : start + limit]
    results = [
        {
            "user": shapes(state).user(user),
            "title": user.display_name,
            "excerpt": "",
            "url": f"/people/{user.account_id}",
            "breadcrumbs": [],
            "entityType": "user",
            "iconCssClass": "aui-iconfont-user",
            "lastModified": "2024-06-01T09:00:00.000Z",
            "score": 0.0,
        }
        for user in window
    ]
    extra = {"totalSize": len(found), "cqlQuery": cql, "searchDuration": 12}
    return jsonify(shapes(state).paged(results, start, limit, len(found), "/rest/api/search/user", {"cql": cql}, extra))


@bp.get("/group/picker")
def pick_groups() -> Response:
    state = current_state()
    authenticate(state)
    query = request.args.get("query", "").casefold()
    start, limit = paging(200, 200)
    found = [group for group in state.directory.all_groups() if query in group.name.casefold()]
    window = [shapes(state).group(group) for group in found[start : start + limit]]
    return jsonify(
        shapes(state).paged(
            window,
            start,
            limit,
            len(found),
            "/rest/api/group/picker",
            {"query": request.args.get("query", "")},
            {"totalSize": len(found)},
        )
    )


@bp.get("/group")
def list_groups() -> Response:
    state = current_state()
    authenticate(state)
    start, limit = paging(200, 200)
    groups = state.directory.all_groups()
    window = [shapes(state).group(group) for group in groups[start : start + limit]]
    return jsonify(shapes(state).paged(window, start, limit, len(groups), "/rest/api/group", {}))


@bp.get("/group/by-id")
def group_by_id() -> Response:
    state = current_state()
    authenticate(state)
    group = state.directory.group(request.args.get("id", ""))
    if group is None:
        raise RestError(404, "Group not found")
    return jsonify(shapes(state).group(group))


@bp.get("/group/by-name")
def group_by_name() -> Response:
    state = current_state()
    authenticate(state)
    group = state.directory.group_named(request.args.get("name", ""))
    if group is None:
        raise RestError(404, "Group not found")
    return jsonify(shapes(state).group(group))


@bp.get("/group/<group_id>/membersByGroupId")
def group_members(group_id: str) -> Response:
    state = current_state()
    authenticate(state)
    try:
        requested = int(request.args.get("limit", 200))
    except ValueError:
        raise RestError(400, "limit must be an integer")
    if requested > 200:
        raise RestError(400, "Limit must be less than or equal to 200")
    start, limit = paging(200, MEMBERS_PAGE_CAP)
    group = state.directory.group(group_id)
    if group is None:
        raise RestError(404, f"Group with id {group_id} not found")
    members = state.directory.members_of(group.id)
    window = [shapes(state).user(user) for user in members[start : start + limit]]
    return jsonify(
        shapes(state).paged(window, start, limit, len(members), f"/rest/api/group/{group.id}/membersByGroupId", {})
    )


@bp.get("/user/memberof")
def member_of() -> Response:
    state = current_state()
    authenticate(state)
    account_id = request.args.get("accountId", "")
    if not account_id:
        raise RestError(400, "accountId is required")
    user = state.directory.user(account_id)
    if user is None:
        raise RestError(404, f"No user found with accountId: {account_id}")
    start, limit = paging(200, 200)
    groups = state.directory.groups_of(user.account_id)
    window = [shapes(state).group(group) for group in groups[start : start + limit]]
    return jsonify(
        shapes(state).paged(window, start, limit, len(groups), "/rest/api/user/memberof", {"accountId": account_id})
    )


@bp.get("/user/current")
def current_user() -> Response:
    state = current_state()
    caller = authenticate(state)
    user = state.directory.users[caller.account_id]
    return jsonify(shapes(state).user(user, _operations(state, user) if _wants_operations() else None))


@bp.get("/user")
def user_by_account() -> Response:
    state = current_state()
    authenticate(state)
    user = state.directory.user(request.args.get("accountId", ""))
    if user is None:
        raise RestError(404, "No user found with the given accountId")
    return jsonify(shapes(state).user(user, _operations(state, user) if _wants_operations() else None))


@bp.get("/user/bulk")
def users_in_bulk() -> Response:
    """Several users by account id, as the caller sees them (hidden addresses blank); unknown ids are left out."""
    state = current_state()
    authenticate(state)
    account_ids = request.args.getlist("accountId")
    if not account_ids:
        raise RestError(400, "accountId is required")
    _, limit = paging(200, 200)
    found = [user for account_id in account_ids[:limit] if (user := state.directory.user(account_id)) is not None]
    results = [shapes(state).user(user) for user in found]
    return jsonify(shapes(state).paged(results, 0, limit, len(results), "/rest/api/user/bulk", {}))


@bp.get("/space/<space_key>")
def get_space(space_key: str) -> Response:
    state = current_state()
    caller = authenticate(state)
    space = state.catalog.space(space_key)
    if space is None:
        raise RestError(404, f"No space with key : {space_key}")
    operations = None
    if _wants_operations():
        operations = [
            {"operation": "read", "targetType": "space"},
            {"operation": "create", "targetType": "page"},
            {"operation": "create", "targetType": "blogpost"},
        ]
        if is_space_admin(space, caller.account_id):
            operations.append({"operation": "administer", "targetType": "space"})
    return jsonify(shapes(state).space(space, operations))


def _email_caller(state: SandboxState) -> None:
    caller = authenticate(state, scope=None)
    if not caller.is_app:
        raise RestError(403, "Email addresses are only available to apps (JWT), not to user impersonation")
    if "ACCESS_EMAIL_ADDRESSES" not in caller.scopes:
        raise RestError(403, "The app's descriptor does not ask for ACCESS_EMAIL_ADDRESSES")


@bp.get("/user/email")
def user_email() -> Response:
    state = current_state()
    _email_caller(state)
    account_id = request.args.get("accountId", "")
    user = state.directory.user(account_id)
    if user is None or user.account_type != "atlassian":
        raise RestError(404, "No user found with the given accountId")
    return jsonify({"accountId": user.account_id, "email": user.email})


@bp.get("/user/email/bulk")
def user_emails() -> Response:
    state = current_state()
    _email_caller(state)
    records = []
    for account_id in request.args.getlist("accountId"):
        user = state.directory.user(account_id)
        if user is not None and user.account_type == "atlassian":
            records.append({"accountId": user.account_id, "email": user.email})
    return jsonify(records)
