"""The connections filter/sort engine without Qt (domain/connection_filter.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nango_desktop.domain.connection_filter import (
    NO_FILTER,
    accepts,
    is_filtering,
    make_filter,
    narrows,
    remember,
    select,
    sort_rows,
    split_terms,
)

WORDS = ["acme", "ac", "me", "globex", "github", "slack", "plan=pro", "plan=free", "eu"]
INTEGRATIONS = ["github", "slack", "hubspot"]
STATUSES = ["ok", "auth_error", "sync_error"]
TAGS = [{}, {"plan": "pro"}, {"plan": "free"}, {"region": "eu"}, {"plan": "pro", "region": "eu"}]

rows_st = st.lists(
    st.tuples(
        st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join),
        st.sampled_from(INTEGRATIONS),
        st.sampled_from(STATUSES),
        st.sampled_from(TAGS),
    ),
    max_size=30,
)
filter_st = st.builds(
    make_filter,
    st.lists(st.sampled_from(["ac", "acme", "me", "glob", "plan=pro", "e"]), max_size=3),
    st.none() | st.frozensets(st.sampled_from(INTEGRATIONS), min_size=1),
    st.none() | st.frozensets(st.sampled_from(STATUSES), min_size=1),
    st.sampled_from([{}, {"plan": ""}, {"plan": "pro"}, {"region": "eu"}]),
)


def columns(rows):
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]


def brute(rows, flt):
    return [i for i, r in enumerate(rows) if accepts(flt, *r)]


def test_accepts_each_filter_kind():
    row = ("acme corp github plan=pro", "github", "auth_error", {"plan": "pro"})
    assert accepts(NO_FILTER, *row)
    assert accepts(make_filter(["acme", "github"], None, None, {}), *row)
    assert not accepts(make_filter(["acme", "slack"], None, None, {}), *row)
    assert not accepts(make_filter([], frozenset({"slack"}), None, {}), *row)
    assert accepts(make_filter([], None, frozenset({"auth_error", "sync_error"}), {}), *row)
    assert not accepts(make_filter([], None, frozenset({"ok"}), {}), *row)
    assert accepts(make_filter([], None, None, {"plan": ""}), *row)
    assert not accepts(make_filter([], None, None, {"plan": "free"}), *row)
    assert not accepts(make_filter([], None, None, {"region": ""}), *row)


def test_filter_identity_and_terms():
    assert make_filter(["b", "a", "a"], None, None, {}) == make_filter(["a", "b"], None, None, {})
    assert split_terms("  Acme   GitHub ") == ("acme", "github")
    assert not is_filtering(NO_FILTER) and is_filtering(make_filter(["x"], None, None, {}))


@settings(max_examples=300, deadline=None)
@given(rows_st, filter_st)
def test_select_matches_row_by_row(rows, flt):
    assert select(*columns(rows), list(range(len(rows))), flt) == brute(rows, flt)


@settings(max_examples=300, deadline=None)
@given(rows_st, filter_st, filter_st)
def test_narrowing_only_looks_at_the_rows_shown(rows, old, new):
    everything = list(range(len(rows)))
    shown = select(*columns(rows), everything, old)
    if narrows(old, new):
        assert select(*columns(rows), shown, new, skip=old) == brute(rows, new)


def test_narrows_typing_on_and_widening():
    a = make_filter(["ac"], None, None, {})
    assert narrows(a, make_filter(["acme"], None, None, {}))
    assert not narrows(make_filter(["acme"], None, None, {}), a)
    gh = make_filter([], frozenset({"github"}), None, {})
    assert not narrows(gh, NO_FILTER) and narrows(NO_FILTER, gh)
    assert narrows(make_filter([], None, None, {"plan": ""}), make_filter([], None, None, {"plan": "pro"}))
    assert not narrows(
        make_filter([], None, None, {"plan": "pro"}), make_filter([], None, None, {"plan": ""})
    )


def test_sort_is_stable_and_by_keys():
    keys = ["b", "a", "b", "a"]
    assert sort_rows([0, 1, 2, 3], keys) == [1, 3, 0, 2]
    assert sort_rows([0, 1, 2, 3], keys, descending=True) == [0, 2, 1, 3]
    assert sort_rows([3, 1, 2], None) == [1, 2, 3]


def test_remember_keeps_the_most_recent_filters():
    cache: dict = {}
    filters = [make_filter([f"t{i}"], None, None, {}) for i in range(10)]
    for i, flt in enumerate(filters):
        remember(cache, flt, [i], size=3)
    remember(cache, NO_FILTER, [0, 1], size=3)  # no filter: nothing to remember
    assert list(cache) == filters[-3:] and cache[filters[-1]] == [9]
    remember(cache, filters[7], [7], size=3)  # used again: most recent
    assert list(cache) == [filters[8], filters[9], filters[7]]
