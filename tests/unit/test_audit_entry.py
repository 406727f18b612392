"""Canonical audit entries (RFC 8785) and owner pseudonyms."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
import rfc8785
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vault.audit import AuditAction, AuditError, InvalidEvent, Outcome, derive_pseudonym_key, owner_pseudonym
from vault.audit.entry import AuditEvent, canonical_entry, format_time, parse_time, queued_body, sequenced_entry

DOC = UUID("00000000-0000-4000-8000-000000000001")
MOMENT = datetime(2026, 11, 28, 11, 45, 0, 123, tzinfo=UTC)


def test_canonical_entry_bytes_are_exactly_rfc8785() -> None:
    event = AuditEvent(
        action=AuditAction.DOCUMENT_DOWNLOAD,
        outcome=Outcome.SUCCESS,
        actor_ref="f00d",
        actor_role="citizen",
        client_id="portal",
        owner_ref="ab12",
        document_id=DOC,
        purpose="own access",
        details={"range": True, "bytes": 10, "note": None},
    )
    assert canonical_entry(7, MOMENT, event) == (
        b'{"action":"document.download","actor":{"agency":null,"client_id":"portal","ref":"f00d",'
        b'"role":"citizen"},"details":{"bytes":10,"note":null,"range":true},"objects":{"document":'
        b'"00000000-0000-4000-8000-000000000001","grant":null,"link":null,"request":null,"version":null},'
        b'"outcome":"success","owner":"ab12","purpose":"own access","seq":7,"time":"2026-11-28T11:45:00.000123Z"}'
    )


def test_a_queued_body_sequenced_later_gives_the_same_leaf_bytes() -> None:
    event = AuditEvent(AuditAction.LINK_USE, Outcome.DENIED, actor_ref="f00d", details={"reason": "expired"})
    body = queued_body(event)
    assert b'"seq"' not in body
    assert b'"time"' not in body
    leaf, record = sequenced_entry(3, MOMENT, body)
    assert leaf == canonical_entry(3, MOMENT, event)
    assert (record["seq"], record["actor"]["ref"], record["outcome"]) == (3, "f00d", "denied")


def test_actions_and_outcomes_given_as_their_names_become_the_enums() -> None:
    event = AuditEvent("auth.token", "denied")  # type: ignore[arg-type]
    assert (event.action, event.outcome) == (AuditAction.AUTH_TOKEN, Outcome.DENIED)


def test_times_are_utc_with_microseconds_whatever_the_input_zone() -> None:
    local = MOMENT.astimezone(timezone(timedelta(hours=2)))
    assert format_time(local) == "2026-11-28T11:45:00.000123Z"
    assert parse_time("2026-11-28T11:45:00.000123Z") == MOMENT


@pytest.mark.parametrize("text", ["2026-11-28T11:45:00Z", "2026-11-28T11:45:00.000123+00:00", "yesterday"])
def test_non_canonical_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        format_time(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"action": ""}, "action"),
        ({"action": "document.view"}, "action"),
        ({"details": {"title": "Passport scan"}}, "content or a secret"),
        ({"details": {"FileName": "x.pdf"}}, "content or a secret"),
        ({"details": {"access_token": "eyJ"}}, "content or a secret"),
        ({"details": {"nested": {"a": 1}}}, "string, integer"),
        ({"details": {"big": 2**60}}, "number range"),
        ({"details": {f"k{i}": i for i in range(17)}}, "at most 16"),
        ({"purpose": "x" * 300}, "at most"),
    ],
)
def test_events_the_log_must_not_hold_are_refused(fields: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"action": AuditAction.DOCUMENT_READ, "outcome": Outcome.SUCCESS}
    with pytest.raises(InvalidEvent, match=message) as refused:
        AuditEvent(**(base | fields))  # type: ignore[arg-type]
    assert isinstance(refused.value, AuditError)


def test_pseudonyms_are_stable_per_key_and_unlinkable_across_keys() -> None:
    key_a = derive_pseudonym_key(b"\x01" * 32)
    key_b = derive_pseudonym_key(b"\x02" * 32)
    owner = UUID("00000000-0000-4000-8000-0000000000aa")
    assert owner_pseudonym(key_a, owner) == owner_pseudonym(key_a, owner)
    assert owner_pseudonym(key_a, owner) != owner_pseudonym(key_b, owner)
    assert owner_pseudonym(key_a, owner) != owner_pseudonym(key_a, DOC)
    assert len(owner_pseudonym(key_a, owner)) == 64
    assert str(owner) not in owner_pseudonym(key_a, owner)


def test_a_short_subject_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        derive_pseudonym_key(b"short")


@settings(max_examples=200, deadline=None)
@given(
    details=st.dictionaries(
        st.text(max_size=8), st.one_of(st.none(), st.booleans(), st.integers(), st.text()), max_size=4
    ),
    purpose=st.one_of(st.none(), st.text(max_size=20)),
    seq=st.integers(min_value=0, max_value=2**53 - 1),
    micros=st.integers(min_value=0, max_value=10**15),
)
def test_sequencing_a_queued_body_gives_exactly_the_rfc8785_entry(
    details: dict[str, object], purpose: str | None, seq: int, micros: int
) -> None:
    """The integrator appends "seq" and "time" to the queued bytes instead of encoding the record again: the
    result must be the bytes RFC 8785 gives for the whole entry, whatever the details hold."""
    try:
        event = AuditEvent(
            AuditAction.DOCUMENT_READ, Outcome.SUCCESS, actor_ref="f00d", purpose=purpose, details=details
        )
    except InvalidEvent:
        assume(False)  # refused before it is queued
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    try:
        expected = rfc8785.dumps({**json.loads(queued_body(event)), "seq": seq, "time": format_time(moment)})
    except rfc8785.CanonicalizationError:
        return  # what RFC 8785 cannot encode is refused when queued (tests of canonical_json)
    canonical, record = sequenced_entry(seq, moment, queued_body(event))
    assert canonical == expected
    assert record["seq"] == seq


def test_a_body_whose_keys_sort_after_seq_is_encoded_again() -> None:
    body = b'{"action":"x","zeta":1}'  # not what the queue holds today; the slow path keeps the bytes canonical
    canonical, _ = sequenced_entry(3, MOMENT, body)
    assert canonical == b'{"action":"x","seq":3,"time":"2026-11-28T11:45:00.000123Z","zeta":1}'
