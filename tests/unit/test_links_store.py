"""services/links.py, store/links.py and store/tokens.py without Qt: history, link URLs, matching, bulk logic."""

from __future__ import annotations

import csv
import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from pydantic import SecretStr

from nango_desktop.domain.links import LinkRecord, LinkStatus, strip_token, token_of, with_token
from nango_desktop.domain.webhooks import summarize
from nango_desktop.services.errors import BadRequestError, RateLimitedError
from nango_desktop.services.links import (
    CSV_HEADER,
    BulkItem,
    LinkRequest,
    build_connect_link,
    bulk_items,
    generate_reconnect_links,
    match_event,
    message_template,
    outcome_of,
    write_csv,
)
from nango_desktop.settings import Profile
from nango_desktop.store.links import LinkStore
from nango_desktop.store.tokens import SERVICE, SessionTokens, account_name

TOKEN = "nango_connect_session_" + "ab12" * 16
LINK = f"https://connect.nango.dev/?session_token={TOKEN}"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_home, clock) -> LinkStore:
    s = LinkStore(clock=clock)
    yield s
    s.close()


def add(store: LinkStore, clock: Clock, **kw) -> LinkRecord:
    fields = dict(profile="dev", kind="new", link=LINK, expires_at=clock() + 1800, end_user_id="u1")
    fields.update(kw)
    return store.add(**fields)


def auth_summary(**body):
    payload = {"type": "auth", "from": "nango", "operation": "creation", "success": True}
    payload.update(body)
    return summarize(payload)


# -- history ----------------------------------------------------------------------------------------


def test_store_lives_in_data_dir_and_never_keeps_the_token(store, clock, tmp_home):
    record = add(store, clock, email="jane@acme.com", integration_ids=["github", "slack"])
    assert store.path == tmp_home / "data" / "links.sqlite3"
    assert record.link == "https://connect.nango.dev/"
    assert token_of(record.link) is None
    assert record.status is LinkStatus.PENDING and record.created_by
    assert record.integration_ids == ["github", "slack"]
    store.close()
    for path in (tmp_home / "data").iterdir():
        assert TOKEN.encode() not in path.read_bytes()


def test_store_keeps_other_query_parameters(store, clock):
    record = add(store, clock, link=LINK + "&apiURL=https%3A%2F%2Fnango.acme.com")
    assert record.link == "https://connect.nango.dev/?apiURL=https%3A%2F%2Fnango.acme.com"
    assert with_token(record.link, TOKEN) == LINK + "&apiURL=https%3A%2F%2Fnango.acme.com"


def test_store_lists_newest_first_per_profile_with_filters(store, clock):
    a = add(store, clock, end_user_id="alice", email="alice@acme.com")
    clock.now += 1
    b = add(
        store, clock, kind="reconnect", end_user_id="bob", connection_id="conn-7", integration_ids=["jira"]
    )
    clock.now += 1
    add(store, clock, profile="prod", end_user_id="carol")
    assert [r.id for r in store.list("dev")] == [b.id, a.id]
    assert [r.id for r in store.list("dev", text="ALICE@")] == [a.id]
    assert [r.id for r in store.list("dev", text="jira")] == [b.id]
    assert [r.id for r in store.list("dev", text="conn-7")] == [b.id]
    store.set_status(a.id, LinkStatus.COMPLETED, "done")
    assert [r.id for r in store.list("dev", status=LinkStatus.PENDING)] == [b.id]
    assert [r.id for r in store.list("dev", status="completed")] == [a.id]
    assert [r.id for r in store.pending("dev")] == [b.id]
    assert {r.profile for r in store.pending()} == {"dev", "prod"}


def test_final_status_is_never_overwritten(store, clock):
    record = add(store, clock)
    done = store.set_status(record.id, LinkStatus.COMPLETED, "Connected", connection_id="c-1")
    assert (
        done.status is LinkStatus.COMPLETED
        and done.connection_id == "c-1"
        and done.status_detail == "Connected"
    )
    assert store.set_status(record.id, LinkStatus.EXPIRED) is None
    assert store.get(record.id).status is LinkStatus.COMPLETED


def test_expire_due(store, clock):
    soon = add(store, clock, expires_at=clock() + 10)
    later = add(store, clock, expires_at=clock() + 100)
    assert store.expire_due() == []
    clock.now += 10
    expired = store.expire_due()
    assert [r.id for r in expired] == [soon.id] and expired[0].status is LinkStatus.EXPIRED
    assert store.get(later.id).status is LinkStatus.PENDING
    assert not soon.is_alive(clock()) and later.is_alive(clock()) and later.remaining(clock()) == 90


# -- link URLs --------------------------------------------------------------------------------------


def session(link: str | None = LINK):
    return SimpleNamespace(token=SecretStr(TOKEN), connect_link=link, expires_at=datetime.now(UTC))


def test_cloud_link_is_nangos_link():
    assert build_connect_link(session(), Profile(name="cloud")) == LINK


def test_self_hosted_link_gets_api_url():
    profile = Profile(name="self", api_url="https://nango.acme.com/")
    link = build_connect_link(session("https://connect.acme.com/?session_token=" + TOKEN), profile)
    assert link == f"https://connect.acme.com/?session_token={TOKEN}&apiURL=https%3A%2F%2Fnango.acme.com"
    assert token_of(link) == TOKEN


def test_link_is_built_when_the_server_sends_none():
    profile = Profile(name="self", api_url="http://127.0.0.1:3003", connect_ui_url="http://127.0.0.1:3009")
    link = build_connect_link(session(None), profile)
    assert link == f"http://127.0.0.1:3009/?session_token={TOKEN}&apiURL=http%3A%2F%2F127.0.0.1%3A3003"


def test_strip_token_removes_only_the_token():
    assert strip_token(LINK) == "https://connect.nango.dev/"
    assert strip_token("https://x.test/?a=1&session_token=s&b=2") == "https://x.test/?a=1&b=2"


# -- matching auth webhooks -------------------------------------------------------------------------


def test_reconnect_link_matches_its_connection_and_integration(store, clock):
    link = add(store, clock, kind="reconnect", connection_id="c-1", integration_ids=["github"])
    override = auth_summary(operation="override", connectionId="c-1", providerConfigKey="github")
    assert match_event(override, [link]) == [link]
    assert match_event(auth_summary(connectionId="c-1", providerConfigKey="slack"), [link]) == []
    assert match_event(auth_summary(connectionId="c-2", providerConfigKey="github"), [link]) == []
    refresh = auth_summary(operation="refresh", connectionId="c-1", providerConfigKey="github")
    assert match_event(refresh, [link]) == []


def test_new_link_matches_end_user_tag_or_legacy_end_user(store, clock):
    link = add(store, clock, end_user_id="u7", integration_ids=["sendgrid"])
    by_tag = auth_summary(connectionId="x", providerConfigKey="sendgrid", tags={"end_user_id": "u7"})
    legacy = auth_summary(connectionId="x", providerConfigKey="sendgrid", endUser={"endUserId": "u7"})
    assert match_event(by_tag, [link]) == [link]
    assert match_event(legacy, [link]) == [link]
    other_integration = auth_summary(connectionId="x", providerConfigKey="github", tags={"end_user_id": "u7"})
    assert match_event(other_integration, [link]) == []
    assert (
        match_event(
            auth_summary(connectionId="x", providerConfigKey="sendgrid", tags={"end_user_id": "u8"}), [link]
        )
        == []
    )


def test_matching_skips_final_links_and_prefers_the_newest(store, clock):
    old = add(store, clock, end_user_id="u1")
    clock.now += 5
    new = add(store, clock, end_user_id="u1")
    summary = auth_summary(connectionId="x", providerConfigKey="github", tags={"end_user_id": "u1"})
    assert [r.id for r in match_event(summary, [old, new])] == [new.id, old.id]
    completed = store.set_status(new.id, LinkStatus.COMPLETED)
    assert [r.id for r in match_event(summary, [old, completed])] == [old.id]
    assert match_event(summarize({"type": "sync", "connectionId": "x"}), [old]) == []


def test_outcome_of_success_and_failure():
    ok = outcome_of(auth_summary(connectionId="c-9", providerConfigKey="github"))
    assert ok == (LinkStatus.COMPLETED, "Connected github as c-9")
    failed = outcome_of(
        auth_summary(
            success=False,
            connectionId="c-9",
            providerConfigKey="github",
            error={"type": "auth_error", "description": "aborted"},
        )  # fmt: skip
    )
    assert failed[0] is LinkStatus.FAILED and "aborted" in failed[1]


# -- requests ---------------------------------------------------------------------------------------


def test_link_request_sends_customer_as_tags_and_only_what_is_set():
    request = LinkRequest(
        end_user_id=" u1 ", email="jane@acme.com", organization_name="Acme", extra_tags={"Plan": "pro"}
    )
    assert request.session_kwargs() == {
        "tags": {"plan": "pro", "end_user_id": "u1", "end_user_email": "jane@acme.com",
                 "organization_display_name": "Acme"},
    }  # fmt: skip
    full = LinkRequest(
        end_user_id="u1",
        allowed_integrations=["zendesk"],
        connection_config={"zendesk": {"subdomain": "acme"}},
        docs_overrides={"zendesk": "https://docs.acme.com/zendesk"},
        webhook_url_override="https://hooks.acme.com/nango",
    ).session_kwargs()
    assert full["allowed_integrations"] == ["zendesk"]
    assert full["integrations_config_defaults"] == {"zendesk": {"connection_config": {"subdomain": "acme"}}}
    assert full["overrides"] == {"zendesk": {"docs_connect": "https://docs.acme.com/zendesk"}}
    assert full["webhook_url_override"] == "https://hooks.acme.com/nango"


def test_message_template_names_the_link_and_expiry(store, clock):
    record = add(
        store, clock, kind="reconnect", display_name="Jane", integration_ids=["github"], connection_id="c"
    )
    text = message_template(record, LINK)
    assert text.startswith("Hi Jane,") and LINK in text and "reconnect your github account" in text
    named = message_template(record, LINK, {"github": "GitHub"})
    assert "reconnect your GitHub account" in named
    new = add(store, clock, kind="new", display_name="Jo", integration_ids=["slack-prod", "github"])
    assert "connect your account (Slack, github)" in message_template(new, LINK, {"slack-prod": "Slack"})


# -- session tokens ---------------------------------------------------------------------------------


def test_session_tokens_memory_only():
    tokens = SessionTokens()
    tokens.put(1, TOKEN, profile="dev")
    assert tokens.get(1).get_secret_value() == TOKEN and 1 in tokens and len(tokens) == 1
    assert TOKEN not in repr(tokens) and TOKEN not in repr(tokens.get(1))
    tokens.drop(1)
    assert tokens.get(1) is None and len(tokens) == 0


def test_session_tokens_mirror_in_keyring_until_dropped(memory_keyring):
    tokens = SessionTokens(memory_keyring)
    tokens.put(5, TOKEN, profile="dev")
    assert memory_keyring.store == {(SERVICE, account_name("dev", 5)): TOKEN}
    restarted = SessionTokens(memory_keyring)  # a new run of the app
    assert restarted.get(5, profile="dev").get_secret_value() == TOKEN
    restarted.drop(5)
    assert memory_keyring.store == {}
    restarted.drop(5, profile="dev")  # dropping twice is harmless


# -- bulk -------------------------------------------------------------------------------------------


def conn(i: int, **kw):
    return SimpleNamespace(connection_id=f"c-{i}", provider_config_key="github", tags={"end_user_id": f"u{i}"},
                           end_user=None, **kw)  # fmt: skip


class FakeIssuer:
    """Answers reconnect_link with a fake IssuedLink; raises the queued errors first."""

    def __init__(self, errors=None):
        self.errors = errors or {}  # connection id -> errors to raise first
        self.calls: list[str] = []

    def reconnect_link(self, connection, *, refresh_tags):
        self.calls.append(connection.connection_id)
        if self.errors.get(connection.connection_id):
            raise self.errors[connection.connection_id].pop(0)
        record = SimpleNamespace(id=len(self.calls), expires_at=1.0)
        return SimpleNamespace(
            url=f"https://c.test/?session_token=t-{connection.connection_id}", record=record
        )


def test_bulk_retries_the_same_connection_after_a_rate_limit():
    connections = [conn(i) for i in range(3)]
    items = bulk_items(connections)
    assert (items[1].end_user_id, items[1].integration_id) == ("u1", "github")
    issuer = FakeIssuer(
        {"c-0": [RateLimitedError(retry_after=30.0)], "c-1": [BadRequestError(detail="nope")]}
    )
    waited: list[float] = []
    reported: list[int] = []
    result = generate_reconnect_links(
        issuer,
        connections,
        items,
        wait=lambda _e, s: waited.append(s),
        on_item=lambda i, _item: reported.append(i),
    )
    assert waited == [30.0]
    assert issuer.calls == ["c-0", "c-0", "c-1", "c-2"]
    assert [i.state for i in result] == ["ok", "failed", "ok"]
    assert reported == [0, 1, 2]
    # a second run only retries what is missing
    again = generate_reconnect_links(FakeIssuer(), connections, result)
    assert [i.state for i in again] == ["ok", "ok", "ok"]


def test_bulk_cancel_keeps_the_rest_not_generated():
    cancel = threading.Event()
    connections = [conn(i) for i in range(5)]

    def progress(done, _total, _message):
        if done == 2:
            cancel.set()

    result = generate_reconnect_links(
        FakeIssuer(), connections, bulk_items(connections), cancel=cancel, progress=progress
    )
    assert [i.state for i in result] == ["ok", "ok", "not generated", "not generated", "not generated"]


def test_csv_export(tmp_path):
    items = [
        BulkItem(
            "c-1",
            "github",
            "u1",
            "u1@acme.com",
            link="https://c.test/?session_token=t1",
            expires_at=1_800_000_000,
        ),
        BulkItem("c-2", "slack", "u2", None),  # not generated: not exported
    ]
    assert "session_token" not in repr(items[0])
    path = tmp_path / "links.csv"
    assert write_csv(items, path) == 1
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    assert (
        rows[0]
        == list(CSV_HEADER)
        == ["end_user", "email", "integration", "connection_id", "link", "expires_at"]
    )
    assert rows[1] == [
        "u1",
        "u1@acme.com",
        "github",
        "c-1",
        "https://c.test/?session_token=t1",
        "2027-01-15T08:00:00Z",
    ]
