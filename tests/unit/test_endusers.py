"""Grouping connections into end users and organizations (tags and the legacy end_user)."""

from __future__ import annotations

from nango_desktop.domain.endusers import build_directory, organization_key, user_key
from nango_desktop.domain.models import Connection

_ids = iter(range(1, 10_000))


def conn(connection_id: str, *, tags=None, end_user=None, errors=(), integration="github") -> Connection:
    return Connection.model_validate(
        {
            "id": next(_ids),
            "connection_id": connection_id,
            "provider": integration,
            "provider_config_key": integration,
            "created": "2026-01-01T00:00:00.000Z",
            "tags": tags or {},
            "end_user": end_user,
            "errors": [{"type": e, "log_id": f"log-{connection_id}"} for e in errors],
        }
    )


def test_groups_by_end_user_id_from_tags_and_legacy_end_user():
    connections = [
        conn(
            "c1",
            tags={
                "end_user_id": "u1",
                "end_user_email": "ann@example.com",
                "organization_id": "o1",
                "organization_display_name": "Acme",
            },
            errors=["auth"],
        ),
        conn(
            "c2",
            end_user={
                "id": "u1",
                "email": "ann@example.com",
                "display_name": "Ann",
                "organization": {"id": "o1", "display_name": "Acme"},
            },
            errors=["sync"],
        ),
        conn("c3", end_user={"id": "u2", "display_name": "Bob"}),
        conn("c4", tags={"project": "x"}),
    ]
    directory = build_directory(connections)
    assert [u.key for u in directory.users] == ["id:u1", "id:u2"]
    ann = directory.user("id:u1")
    assert [c.connection_id for c in ann.connections] == ["c1", "c2"]
    # The tag-based connection lacks a display name; the legacy one supplies it.
    assert (ann.display_name, ann.email, ann.organization) == ("Ann", "ann@example.com", "Acme")
    assert [c.connection_id for c in ann.broken] == ["c1"]
    assert [c.connection_id for c in ann.errored] == ["c1", "c2"]
    assert directory.user("id:u2").label == "Bob" and directory.user("id:u2").organization == ""
    assert [c.connection_id for c in directory.unassigned] == ["c4"]


def test_tags_win_over_legacy_end_user_and_newest_values_win():
    connections = [
        conn(
            "new",
            tags={"end_user_id": "u1", "end_user_display_name": "Ann New"},
            end_user={"id": "u1", "display_name": "Ann Old"},
        ),
        conn("old", tags={"end_user_id": "u1", "end_user_display_name": "Ann Older"}),
    ]
    (user,) = build_directory(connections).users
    assert user.display_name == "Ann New" and len(user.connections) == 2


def test_email_only_users_are_keyed_case_insensitively():
    connections = [
        conn("c1", tags={"end_user_email": "Zoe@Example.com"}),
        conn("c2", end_user={"email": "zoe@example.com"}),
    ]
    (user,) = build_directory(connections).users
    assert user.key == "email:zoe@example.com" and user.label == "Zoe@Example.com"
    assert len(user.connections) == 2


def test_organizations_group_users_and_collect_broken_connections():
    connections = [
        conn("a1", tags={"end_user_id": "a", "organization_id": "o1"}, errors=["auth"]),
        conn("b1", tags={"end_user_id": "b", "organization_id": "o1"}, errors=["auth", "sync"]),
        conn("b2", tags={"end_user_id": "b", "organization_id": "o1"}),
        conn("c1", tags={"end_user_id": "c", "organization_display_name": "Named Only"}),
        conn("d1", tags={"end_user_id": "d"}, errors=["auth"]),
    ]
    directory = build_directory(connections)
    orgs = {o.key: o for o in directory.organizations}
    assert set(orgs) == {"id:o1", "name:named only", ""}
    o1 = orgs["id:o1"]
    assert [u.key for u in o1.users] == ["id:a", "id:b"]
    assert sorted(c.connection_id for c in o1.broken) == ["a1", "b1"]
    assert len(o1.connections) == 3
    assert orgs["name:named only"].label == "Named Only"
    assert [u.key for u in orgs[""].users] == ["id:d"]
    assert directory.organization("id:o1") is o1


def test_keys_and_haystack():
    assert user_key("u1", "x@example.com") == "id:u1"
    assert user_key(None, " X@Example.com ") == "email:x@example.com"
    assert user_key(None, None) is None
    assert organization_key(None, None) == ""
    (user,) = build_directory(
        [conn("c", tags={"end_user_id": "U9", "end_user_email": "Q@example.com"})]
    ).users
    assert "u9" in user.haystack() and "q@example.com" in user.haystack()


def test_empty_input():
    directory = build_directory([])
    assert directory.users == [] and directory.organizations == [] and directory.unassigned == []
