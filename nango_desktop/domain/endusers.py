"""End users and organizations, derived from connections (Qt-free).

Nango has no endpoint listing end users: who a connection belongs to lives in its tags (``end_user_id``,
``end_user_email``, ``end_user_display_name``, ``organization_id``, ``organization_display_name``) or, for
older connections, in the deprecated ``end_user`` object. ``Connection.customer`` merges both (tags win);
this module groups connections by that information.

An end user is keyed by ``end_user_id``, or by the lowercased email when only an email is known.
Connections with neither are kept apart in ``Directory.unassigned``. Display name, email and organization
of a user come from the newest connection that has them (GET /connections lists newest first).

"Broken" means an auth error: the customer has to reconnect, which a reconnect link fixes. Sync errors
are counted separately (``errored``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol


class _CustomerLike(Protocol):
    end_user_id: str | None
    email: str | None
    display_name: str | None
    organization_id: str | None
    organization_name: str | None


class ConnectionLike(Protocol):
    @property
    def customer(self) -> _CustomerLike: ...
    @property
    def has_auth_error(self) -> bool: ...
    @property
    def status(self) -> str: ...


@dataclass(slots=True, eq=False)
class EndUser:
    key: str
    end_user_id: str | None = None
    email: str | None = None
    display_name: str | None = None
    organization_id: str | None = None
    organization_name: str | None = None
    connections: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.display_name or self.email or self.end_user_id or ""

    @property
    def organization(self) -> str:
        return self.organization_name or self.organization_id or ""

    @property
    def organization_key(self) -> str:
        return organization_key(self.organization_id, self.organization_name)

    @property
    def broken(self) -> list:
        """Connections with an auth error (they need a reconnect link)."""
        return [c for c in self.connections if c.has_auth_error]

    @property
    def errored(self) -> list:
        return [c for c in self.connections if c.status != "ok"]

    def haystack(self) -> str:
        """Lowercased text the search field matches against."""
        parts = (
            self.display_name,
            self.email,
            self.end_user_id,
            self.organization_name,
            self.organization_id,
        )
        return "\x1f".join(p for p in parts if p).lower()

    def _absorb(self, info: _CustomerLike) -> None:
        """Fill fields still unknown from another connection's customer info."""
        if not self.end_user_id:
            self.end_user_id = info.end_user_id
        if not self.email:
            self.email = info.email
        if not self.display_name:
            self.display_name = info.display_name
        if not self.organization_id and not self.organization_name:
            self.organization_id, self.organization_name = info.organization_id, info.organization_name


@dataclass(slots=True, eq=False)
class Organization:
    key: str  # "" for end users without an organization
    organization_id: str | None = None
    name: str | None = None
    users: list[EndUser] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name or self.organization_id or ""

    @property
    def connections(self) -> list:
        return [c for u in self.users for c in u.connections]

    @property
    def broken(self) -> list:
        return [c for u in self.users for c in u.broken]


@dataclass(slots=True)
class Directory:
    users: list[EndUser] = field(default_factory=list)
    organizations: list[Organization] = field(default_factory=list)
    unassigned: list = field(default_factory=list)  # connections with no end user id or email

    def user(self, key: str) -> EndUser | None:
        return next((u for u in self.users if u.key == key), None)

    def organization(self, key: str) -> Organization | None:
        return next((o for o in self.organizations if o.key == key), None)


def user_key(end_user_id: str | None, email: str | None) -> str | None:
    if end_user_id:
        return f"id:{end_user_id}"
    if email:
        return f"email:{email.strip().lower()}"
    return None


def organization_key(organization_id: str | None, name: str | None) -> str:
    if organization_id:
        return f"id:{organization_id}"
    if name:
        return f"name:{name.strip().lower()}"
    return ""


def build_directory(connections: Iterable[ConnectionLike]) -> Directory:
    """Group connections into end users, and end users into organizations (order of first appearance)."""
    users: dict[str, EndUser] = {}
    unassigned: list = []
    for conn in connections:
        info = conn.customer
        key = user_key(info.end_user_id, info.email)
        if key is None:
            unassigned.append(conn)
            continue
        user = users.get(key)
        if user is None:
            user = users[key] = EndUser(key)
        user._absorb(info)
        user.connections.append(conn)

    organizations: dict[str, Organization] = {}
    for user in users.values():
        okey = user.organization_key
        org = organizations.get(okey)
        if org is None:
            org = organizations[okey] = Organization(okey, user.organization_id, user.organization_name)
        org.users.append(user)
    return Directory(list(users.values()), list(organizations.values()), unassigned)
