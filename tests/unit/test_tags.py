"""Nango's tag rules and the customer shown for a connection."""

from __future__ import annotations

import pytest

from nango_desktop.domain.tags import CustomerInfo, customer_of, is_valid_email, normalize_tags, validate_tags


def test_valid_tags_have_no_problems():
    tags = {
        "end_user_id": "u1",
        "end_user_email": "ada@example.com",
        "end_user_display_name": "Ada",
        "organization_id": "org-1",
        "project/Name.v2-x_y": "x",
    }
    assert validate_tags(tags) == []
    assert validate_tags({}) == []
    assert validate_tags(None) == []


def test_more_than_ten_tags_is_one_problem():
    problems = validate_tags({f"k{i}": "v" for i in range(11)})
    assert problems == ["At most 10 tags are allowed (11 given)."]
    assert validate_tags({f"k{i}": "v" for i in range(10)}) == []


@pytest.mark.parametrize("key", ["1abc", "_abc", "a b", "a:b", "ä", "-x", "a@b"])
def test_bad_keys_are_named(key):
    problems = validate_tags({key: "v"})
    assert len(problems) == 1
    assert key in problems[0] and "must start with a letter" in problems[0]


def test_key_length_limit_is_64():
    assert validate_tags({"a" * 64: "v"}) == []
    (problem,) = validate_tags({"a" * 65: "v"})
    assert "longer than 64 characters" in problem


def test_value_rules():
    assert validate_tags({"k": "x" * 255}) == []
    (too_long,) = validate_tags({"k": "x" * 256})
    assert "longer than 255 characters" in too_long
    (empty,) = validate_tags({"k": ""})
    assert empty == "Tag “k” has an empty value."
    (not_text,) = validate_tags({"k": 3})
    assert "text value" in not_text


def test_keys_that_collide_once_lowercased():
    (problem,) = validate_tags({"Team": "a", "team": "b"})
    assert "same once lowercased" in problem


def test_one_message_per_problem():
    problems = validate_tags({"1bad": "", "end_user_email": "nope"})
    assert len(problems) == 3


@pytest.mark.parametrize(
    "email", ["ada@example.com", "a.b+c@sub.example.co.uk", "x_y@ex-ample.io", "o'neil@example.org"]
)
def test_valid_emails(email):
    assert is_valid_email(email)
    assert validate_tags({"end_user_email": email}) == []


@pytest.mark.parametrize(
    "email",
    ["a@b.c", "plain", "a@b", "@example.com", "a@.com", "a@example.", "a..b@example.com", "a b@x.com"],
)
def test_invalid_emails_are_rejected_like_nango(email):
    assert not is_valid_email(email)
    (problem,) = validate_tags({"END_USER_EMAIL": email})
    assert "must be a valid email" in problem


def test_email_rule_applies_to_end_user_email_only():
    assert validate_tags({"email": "a@b.c"}) == []


def test_not_a_mapping():
    assert validate_tags(["a"]) == ["Tags must be a set of key/value pairs."]  # type: ignore[arg-type]


def test_normalize_lowercases_and_strips():
    assert normalize_tags({" Team ": " core ", "END_USER_ID": "U1", "  ": "x"}) == {
        "team": "core",
        "end_user_id": "U1",
    }
    assert normalize_tags(None) == {}


def test_customer_prefers_display_name_then_email_then_id():
    full = {"end_user_id": "u1", "end_user_email": "ada@example.com", "end_user_display_name": "Ada"}
    assert customer_of({"tags": full}).customer == "Ada"
    assert customer_of(
        {"tags": {k: v for k, v in full.items() if k != "end_user_display_name"}}
    ).customer == ("ada@example.com")
    assert customer_of({"tags": {"end_user_id": "u1"}}).customer == "u1"
    assert customer_of({"tags": {}}).customer == ""
    assert customer_of({}) == CustomerInfo()


def test_customer_from_legacy_end_user_and_organization():
    conn = {
        "tags": {},
        "end_user": {
            "id": "legacy-1",
            "email": "old@example.com",
            "display_name": "Old Name",
            "organization": {"id": "org-9", "display_name": "Acme"},
        },
    }
    info = customer_of(conn)
    assert info == CustomerInfo("legacy-1", "old@example.com", "Old Name", "org-9", "Acme")
    assert info.customer == "Old Name"
    assert info.organization == "Acme"


def test_tags_win_over_legacy_end_user_field_by_field():
    conn = {
        "tags": {"end_user_display_name": "New Name"},
        "end_user": {"id": "legacy-1", "email": "old@example.com", "display_name": "Old Name"},
    }
    info = customer_of(conn)
    assert info.display_name == "New Name"
    assert info.email == "old@example.com"
    assert info.end_user_id == "legacy-1"
    assert info.organization == ""


def test_customer_of_object_with_attributes():
    class Conn:
        tags = {"organization_id": "o1"}
        end_user = None

    info = customer_of(Conn())
    assert info.organization_id == "o1" and info.organization == "o1" and info.customer == ""
