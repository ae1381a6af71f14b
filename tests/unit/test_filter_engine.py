"""The Connections table's filter/sort engine without Qt (domain/filter_engine.py; issue 13).

``ConnectionsFilterProxy`` is a thin Qt adapter on ``FilterEngine``: these tests drive the engine the way the
adapter does (filters, sorts, pages appended, rows inserted on top, removed, replaced) and compare its view rows
with a brute-force filter and sort of the same rows after every step.
"""

from __future__ import annotations

import random

import pytest

from nango_desktop.domain.connection_filter import accepts
from nango_desktop.domain.connection_rows import COLUMNS, ConnectionRow, row_of_connection
from nango_desktop.domain.filter_engine import FilterEngine
from nango_desktop.domain.models import Connection
from tests.nango_server import make_connections


def rows_of(n: int, seed: int) -> list[ConnectionRow]:
    return [row_of_connection(Connection.model_validate(c)) for c in make_connections(n, seed)]


class Harness:
    """The engine plus its source list, applying results the way the Qt adapter does."""

    def __init__(self, rows: list[ConnectionRow]) -> None:
        self.rows = rows
        self.engine = FilterEngine(lambda: self.rows, len(COLUMNS))
        self.engine.rebuild()

    def apply(self, visible: list[int] | None) -> None:
        if visible is not None:
            self.engine.set_visible(visible)

    def expected(self) -> list[int]:
        e = self.engine
        flt = e.filter_state()
        return [i for i, r in enumerate(self.rows) if accepts(flt, r.haystack, r.key[1], r.status, r.tag_map)]

    def check(self, context: object = None) -> None:
        e = self.engine
        visible = e.visible
        assert len(visible) == len(set(visible)) and sorted(visible) == self.expected(), context
        if e.sort_column >= 0:
            keys = [self.rows[r].sort_key(e.sort_column) for r in visible]
            assert keys == sorted(keys, reverse=e.descending), context
        else:
            assert visible == sorted(visible), context  # the source order
        errored = sum(1 for r in visible if self.rows[r].status != "ok")
        assert e.counts() == (len(visible), errored)
        positions = e.positions()
        assert all(positions[s] == p for p, s in enumerate(visible))
        assert sorted(e.full_order()) == list(range(len(self.rows)))
        some = visible[::17] + [-1]
        assert e.find(some) == {s: visible.index(s) for s in some if s >= 0}


def test_filters_narrow_widen_and_reuse_recent_results():
    h = Harness(rows_of(300, 11))
    e = h.engine
    someone = next(r for r in h.rows if r.customer.email)
    word = someone.customer.email.split("@")[0]
    for n in range(1, len(word) + 1):  # typing on: each filter narrows the previous one
        assert e.set_text(word[:n].upper())
        h.apply(e.refilter())
        h.check(word[:n])
    narrowed = list(e.visible)
    assert e.refilter() is None  # nothing changed
    for n in range(len(word) - 1, 0, -1):  # deleting: recent results come from the cache
        e.set_text(word[:n])
        h.apply(e.refilter())
        h.check(word[:n])
    e.set_text(word)
    h.apply(e.refilter())
    assert e.visible == narrowed
    assert not e.set_text(word.upper())  # the same terms: no refilter needed
    e.set_text("")
    h.apply(e.refilter())
    assert e.visible == list(range(300)) and not e.is_filtering()


def test_tag_status_and_integration_filters():
    h = Harness(rows_of(250, 4))
    e = h.engine
    tagged = next(r for r in h.rows if r.tag_map)
    key, value = next(iter(tagged.tag_map.items()))
    for change in (
        lambda: e.set_tag_filters({f" {key.upper()} ": ""}),  # keys and values trimmed and lowercased
        lambda: e.set_tag_filters({key: value.upper()}),
        lambda: e.set_statuses({"auth_error", "sync_error"}),
        lambda: e.set_integrations({tagged.provider_config_key}),
        lambda: e.set_statuses(None),
        lambda: e.set_tag_filters({}),
        lambda: e.set_integrations(None),
    ):
        assert change()
        h.apply(e.refilter())
        h.check()
    assert tagged.key in {h.rows[r].key for r in e.visible}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_edits_match_a_brute_force_filter_and_sort(seed):
    """Filters, sorts, pages appended (as while loading), rows added on top, removed and replaced, in a random
    order: the view always holds exactly the accepted rows, in sort order, with counts and positions right."""
    rng = random.Random(seed)
    pool = rows_of(500, seed)
    h = Harness(pool[:100])
    e = h.engine
    spare = pool[100:]
    words = ["a", "er", "io", "github", "ok", "=", "z", "user", "co"]
    for step in range(150):
        op = rng.choice(["text", "text", "status", "integ", "tag", "sort", "page", "top", "remove", "update"])
        if op == "text":
            e.set_text(" ".join(rng.sample(words, rng.randrange(3))))
            h.apply(e.refilter())
        elif op == "status":
            e.set_statuses(rng.choice([None, {"ok"}, {"auth_error"}, {"auth_error", "sync_error"}]))
            h.apply(e.refilter())
        elif op == "integ":
            integrations = sorted({r.provider_config_key for r in h.rows})
            e.set_integrations(rng.choice([None, set(rng.sample(integrations, 2)), {integrations[0]}]))
            h.apply(e.refilter())
        elif op == "tag":
            tags = rng.choice([r.tag_map for r in h.rows if r.tag_map])
            key = rng.choice(sorted(tags))
            e.set_tag_filters(rng.choice([{}, {key: ""}, {key: tags[key]}]))
            h.apply(e.refilter())
        elif op == "sort":
            h.apply(e.sort(rng.randrange(-1, len(COLUMNS)), rng.random() < 0.5))
        elif op == "page" and spare:  # a page appended at the end (re-sorted when it does not fit)
            page, spare = spare[:20], spare[20:]
            first = len(h.rows)
            h.rows = h.rows + page
            e.visible.extend(e.append(first, len(h.rows) - 1))
            resorted = e.resort()
            if resorted is not None:
                order, visible = resorted
                e.set_visible(visible, order)
            else:
                e.set_visible(e.visible)
        elif op == "top" and spare:  # one row on top of the source (an unknown connection updated)
            h.rows = [spare.pop()] + h.rows
            moved = e.insert(0, 0)
            assert moved(0) == 1 and moved(5) == 6
            e.set_visible(e.visible)
        elif op == "remove" and len(h.rows) > 10:
            first = rng.randrange(len(h.rows) - 3)
            last = first + rng.randrange(3)
            del h.rows[first : last + 1]
            moved = e.remove(first, last)
            assert moved(first) == -1 and moved(last + 1) == first
            e.set_visible(e.visible)
        elif op == "update":  # a row replaced by another connection's values (it may move or leave the view)
            at = rng.randrange(len(h.rows))
            donor = rng.choice(pool)
            h.rows[at] = row_of_connection(
                donor.connection().model_copy(update={"connection_id": h.rows[at].connection_id})
            )
            repaint, changed = e.update(at, at)
            if changed is not None:
                order, visible = changed
                e.set_visible(visible, order)
            else:
                assert repaint == ([e.positions()[at]] if e.positions()[at] >= 0 else [])
        h.check((step, op))


def test_a_sort_while_filtering_catches_up_when_the_filter_widens():
    h = Harness(rows_of(200, 8))
    e = h.engine
    e.set_statuses({"ok"})
    h.apply(e.refilter())
    h.apply(e.sort(COLUMNS.index("Email"), True))
    h.check()
    h.apply(e.sort(COLUMNS.index("Customer"), False))  # stable: ties keep the email order
    e.set_statuses(None)
    h.apply(e.refilter())
    h.check()
    keys = [(h.rows[r].sort_key(0), h.rows[r].sort_key(1)) for r in e.visible]
    ties = [(a, b) for a, b in zip(keys, keys[1:], strict=False) if a[0] == b[0]]
    assert all(a[1] >= b[1] for a, b in ties)  # within one customer: email descending (the earlier sort)


def test_results_cached_before_a_sort_come_back_in_the_new_order():
    h = Harness(rows_of(200, 6))
    e = h.engine
    for text in ("co", "com", "co"):  # "co" again: from the cache
        e.set_text(text)
        h.apply(e.refilter())
    h.apply(e.sort(COLUMNS.index("Email"), False))
    for text in ("com", "co"):
        e.set_text(text)
        h.apply(e.refilter())
        h.check(text)
