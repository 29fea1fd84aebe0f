"""The site's people: users (Cloud account shapes), groups with UUID ids, and who belongs where.

Everything is deterministic (ids derive from names) so that an app which stored group ids or account ids
keeps finding them after the sandbox restarts. All names and addresses are invented.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field

EMAIL_DOMAIN = "example.com"
_ID_NAMESPACE = uuid.UUID("6f1c2a0e-3d4b-4c8e-9a1f-5b7d9e2c4a60")

# Well-known accounts, for tests that need a particular kind of user.
ADMIN_ID = "557058:4c1f0c7e-8a3b-4d6e-9f21-6b0d2a7c9e15"
REGULAR_ID = "5f8a3c2e1b7d4e6f9a0b1c2d"
HIDDEN_EMAIL_ID = "60b4d1e7a2c94f3b8e5d6a71"
GERMAN_ID = "712020:9b2e7c41-5d3a-4f8e-b1c6-2a9d8e7f6c05"
OUTSIDER_ID = "62c9e0f4b3a1d7e5c8f2a6b4"
APP_ACCOUNT_ID = "63a1f0c2e4b5d6978a0b1c2d"

SITE_ADMINS = "site-admins"
CONFLUENCE_USERS = "confluence-users"
ENGINEERING = "engineering"
MARKETING = "marketing"
DESIGN = "design"
GENERATED_MARKETING_MEMBERS = 60

_FIRST_NAMES = (
    "Aaliyah",
    "Bruno",
    "Carmen",
    "Dmitri",
    "Elif",
    "Farid",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kamala",
    "Lorenzo",
    "Maren",
    "Nikhil",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
)
_LAST_NAMES = ("Abara", "Brandt", "Castillo", "Dubois", "Eriksen", "Fontaine", "Gallo", "Haddad")


@dataclass(frozen=True)
class User:
    account_id: str
    display_name: str
    email: str
    email_visible: bool = True
    locale: str = "en_US"
    time_zone: str = "Europe/Berlin"
    account_type: str = "atlassian"
    roles: tuple[str, ...] = ()

    @property
    def public_name(self) -> str:
        return self.display_name

    @property
    def visible_email(self) -> str:
        """What user objects show: Cloud blanks the address when the profile hides it."""
        return self.email if self.email_visible else ""


@dataclass(frozen=True)
class Group:
    id: str
    name: str


@dataclass
class Directory:
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)

    def user(self, account_id: str) -> User | None:
        return self.users.get(account_id)

    def people(self) -> list[User]:
        """Human accounts (no app bots), sorted by name as Confluence lists them."""
        humans = [user for user in self.users.values() if user.account_type == "atlassian"]
        return sorted(humans, key=lambda user: (user.display_name.casefold(), user.account_id))

    def group(self, group_id: str) -> Group | None:
        return self.groups.get(group_id)

    def group_named(self, name: str) -> Group | None:
        wanted = name.casefold()
        return next((group for group in self.groups.values() if group.name.casefold() == wanted), None)

    def all_groups(self) -> list[Group]:
        return sorted(self.groups.values(), key=lambda group: group.name)

    def members_of(self, group_id: str) -> list[User]:
        return [self.users[account_id] for account_id in self.members.get(group_id, [])]

    def groups_of(self, account_id: str) -> list[Group]:
        return [group for group in self.all_groups() if account_id in self.members.get(group.id, [])]

    def in_group(self, account_id: str, group_name: str) -> bool:
        group = self.group_named(group_name)
        return group is not None and account_id in self.members.get(group.id, [])

    def is_site_admin(self, account_id: str) -> bool:
        return self.in_group(account_id, SITE_ADMINS)

    def search(self, text: str) -> list[User]:
        """People whose name has a word starting with every word of `text` (Confluence's fullname match)."""
        wanted = [word.casefold() for word in text.split() if word]
        found = []
        for user in self.people():
            words = user.display_name.casefold().replace("-", " ").split()
            if all(any(word.startswith(part) for word in words) for part in wanted):
                found.append(user)
        return found

    def rename_app(self, display_name: str) -> None:
        """The app's bot account carries the app's name once it is installed."""
        app = self.users[APP_ACCOUNT_ID]
        self.users[APP_ACCOUNT_ID] = User(
            app.account_id, display_name, app.email, False, app.locale, app.time_zone, "app", app.roles
        )


def group_id_for(name: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"group:{name}"))


def _hex_id(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:24]


def _email(display_name: str) -> str:
    return display_name.casefold().replace(" ", ".") + "@" + EMAIL_DOMAIN


def _named_users() -> list[User]:
    return [
        User(ADMIN_ID, "Ada Lindqvist", _email("Ada Lindqvist"), roles=("site-admin",)),
        User(REGULAR_ID, "Ben Okafor", _email("Ben Okafor"), time_zone="Europe/London", roles=("regular",)),
        User(
            HIDDEN_EMAIL_ID,
            "Chiara Rossi",
            "chiara.rossi@example.org",
            email_visible=False,
            locale="en_GB",
            time_zone="Europe/Rome",
            roles=("hidden-email",),
        ),
        User(GERMAN_ID, "Dieter Krause", _email("Dieter Krause"), locale="de_DE", roles=("german",)),
        User(
            OUTSIDER_ID,
            "Emma Novak",
            _email("Emma Novak"),
            time_zone="America/New_York",
            roles=("no-restricted-access", "space-admin-MKT"),
        ),
    ]


def _generated_users(count: int) -> list[User]:
    users = []
    for index in range(count):
        first = _FIRST_NAMES[index % len(_FIRST_NAMES)]
        last = _LAST_NAMES[(index // len(_FIRST_NAMES) + index) % len(_LAST_NAMES)]
        name = f"{first} {last}"
        if any(user.display_name == name for user in users):
            name = f"{first} {last}-{index}"
        # Every seventh profile hides its address, as real sites have a mix.
        users.append(User(_hex_id(f"user:{index}"), name, _email(name), email_visible=index % 7 != 3))
    return users


def build_directory() -> Directory:
    named = _named_users()
    generated = _generated_users(GENERATED_MARKETING_MEMBERS)
    app = User(APP_ACCOUNT_ID, "pagemail", "", email_visible=False, account_type="app", roles=("app",))
    directory = Directory()
    for user in [*named, *generated, app]:
        directory.users[user.account_id] = user
    membership = {
        CONFLUENCE_USERS: [user.account_id for user in [*named, *generated]],
        SITE_ADMINS: [ADMIN_ID],
        ENGINEERING: [ADMIN_ID, REGULAR_ID, HIDDEN_EMAIL_ID, GERMAN_ID],
        MARKETING: [OUTSIDER_ID, *(user.account_id for user in generated)],
        DESIGN: [REGULAR_ID, OUTSIDER_ID],
    }
    for name, account_ids in membership.items():
        group = Group(group_id_for(name), name)
        directory.groups[group.id] = group
        directory.members[group.id] = list(account_ids)
    return directory
