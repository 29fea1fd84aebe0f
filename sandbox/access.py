"""Who may see and administer what.

Every licensed user may read every space; a page with read restrictions is readable only by the
users and groups it names. The app's own account (calls signed with the app's JWT) is treated like any
other account: it is in no group, so it can't read restricted pages. That is Confluence's default
(restrictions apply to app users until someone adds them), and it matches the product rule that page
content is always fetched as the user.
"""

from __future__ import annotations

from sandbox.content import Catalog, Page, Space
from sandbox.directory import Directory


def can_read(directory: Directory, page: Page, account_id: str) -> bool:
    if directory.user(account_id) is None:
        return False
    if not page.restricted:
        return True
    if account_id in page.read_users:
        return True
    return any(directory.in_group(account_id, group) for group in page.read_groups)


def group_can_read(directory: Directory, page: Page, group_name: str) -> bool:
    if directory.group_named(group_name) is None:
        return False
    return not page.restricted or any(group.casefold() == group_name.casefold() for group in page.read_groups)


def readable_pages(directory: Directory, catalog: Catalog, account_id: str, space_key: str | None = None) -> list[Page]:
    pages = catalog.pages_in(space_key) if space_key else sorted(catalog.pages.values(), key=lambda p: p.position)
    return [page for page in pages if can_read(directory, page, account_id)]


def is_space_admin(space: Space, account_id: str) -> bool:
    return account_id in space.admins
