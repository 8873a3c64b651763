"""Every id format, written once: derived event ids (from their cause, so that a re-emission
carries the same id), escalation ids, deadline ids, and where a duplicate is looked for."""

from __future__ import annotations

import hashlib
import uuid

from kernel import vocabulary

# The longest id the contract takes (an event's, a unit's, a finding's, ...): ids are keys of
# state and of Kafka records, so their length bounds what one record can make a service keep.
ID_MAX = 128
# An escalation id is ``<finding_id>:<action>``.
ESCALATION_ID_MAX = ID_MAX + 1 + max(len(a) for a in vocabulary.ACTIONS)
# A deadline id is built from one or two of those and a rule (``campaign_deadline``).
DEADLINE_ID_MAX = 2 * ID_MAX + 64

# Namespace of every id the project derives (UUIDv5 of the cause); fixed forever.
NAMESPACE = uuid.UUID("6f2d8a4e-3b7c-5e91-a0d4-9c1b2e7f4a53")
_PREFIX = NAMESPACE.bytes


def derived_id(*cause: str) -> str:
    """The id of a derived event, from what caused it: the same cause, the same id.
    ``uuid.uuid5(NAMESPACE, "\\x1f".join(cause))``, written out (it is a third of a derived
    event's cost in a replay)."""
    h = bytearray(hashlib.sha1(_PREFIX + "\x1f".join(cause).encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50  # version 5
    h[8] = (h[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


# -- derived events ------------------------------------------------------------------------
def breach_event_id(deadline_id: str) -> str:
    return derived_id(vocabulary.DEADLINE_BREACHED, deadline_id)


def notice_event_id(notice_type: str, escalation_id: str, level: int, round_: int = 1) -> str:
    if round_ != 1:
        return derived_id(notice_type, escalation_id, str(level), f"R{round_}")
    return derived_id(notice_type, escalation_id, str(level))


def rejection_event_id(topic: str, partition: int, offset: int,
                       failed_in: str | None = None) -> str:
    """A record refused at the gate (once, whoever reads it), or one that passed the gate
    and failed in a service (``failed_in``: once per service it failed in)."""
    if failed_in is not None:
        return derived_id(vocabulary.RECORD_REJECTED, topic, str(partition), str(offset),
                          failed_in)
    return derived_id(vocabulary.RECORD_REJECTED, topic, str(partition), str(offset))


def tick_event_id(when: str, partition: int) -> str:
    return derived_id(vocabulary.CLOCK_TICKED, when, str(partition))


def policy_event_id(digest: str, when: str) -> str:
    """One adoption of a policy (its content's digest) at a time: the same on every
    partition, so that a partition's history names it as the others do."""
    return derived_id(vocabulary.POLICY_ADOPTED, digest, when)


# -- escalations (contract: ``<finding_id>:<action>``; a level-up keeps the id) -----------------
def escalation_id(finding_id: str, action: str) -> str:
    return f"{finding_id}:{action}"


def finding_of(escalation_id_: str) -> str | None:
    """The finding an escalation id names, or None when it is not one."""
    finding_id, _, action = escalation_id_.rpartition(":")
    return finding_id if finding_id and action in vocabulary.ACTIONS else None


def escalation_deadline(escalation_id_: str, level: int, round_: int = 1) -> str:
    """An escalation's deadline at a level; an escalation raised again after a withdrawal
    (its ``round`` 2, 3, ...) has deadlines of their own, so their breaches are new ones."""
    return f"{escalation_id_}:L{level}" if round_ == 1 else f"{escalation_id_}:R{round_}:L{level}"


def escalation_of_deadline(deadline_id: str) -> str:
    head = deadline_id.rsplit(":L", 1)[0]
    before, _, tail = head.rpartition(":R")
    return before if before and tail.isdigit() else head


def level_of_deadline(deadline_id: str) -> int | None:
    """The level an escalation's deadline belongs to; None for any other deadline."""
    tail = deadline_id.rsplit(":L", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None


# -- the other rules' deadlines and breaches ----------------------------------------------------
def rule_deadline(subject_id: str, rule: str) -> str:
    """A rule judged once for its subject: a visit's coverage, a finding's evidence, a visit's
    rectification report."""
    return f"{subject_id}:{rule}"


def subject_of_rule_deadline(deadline_id: str) -> str:
    return deadline_id.rsplit(":", 1)[0]


def follow_up_deadline(finding_id: str, n: int) -> str:
    """The ``n``-th follow-up a finding owes (a report or check left it pending or reopened):
    ``<finding_id>:rectification_follow_up:<n>``."""
    return f"{finding_id}:rectification_follow_up:{n}"


def finding_of_follow_up(deadline_id: str) -> str:
    return deadline_id.rsplit(":", 2)[0]


def campaign_deadline(campaign_id: str, unit_id: str, kind: str) -> str:
    return f"{campaign_id}:{unit_id}:{kind}"


# -- duplicates --------------------------------------------------------------------------------
def seen_key(record_key: bytes | None, partition: int) -> str:
    """Where a duplicate is looked for: among the ids of its record's key (a unit), or of its
    partition for records without a key (the services and the replay alike)."""
    if record_key:
        return "key:" + record_key.decode("utf-8", "replace")  # subject_of_seen_key reads it
    return f"partition:{partition}"


def subject_of_seen_key(place: str) -> str | None:
    """The unit a ``seen_key`` is of (None: a partition's)."""
    return place[4:] if place.startswith("key:") else None


def digest(event_id: str) -> int:
    """A 64-bit digest of an event id: what is kept of the ids already seen (two ids of one
    unit share one with a chance of about n²/2⁶⁵)."""
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big")
