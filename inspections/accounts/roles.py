"""Who an account is, what it may see and what it may do: pure, over the views' dicts.

A role (``kernel.vocabulary.ROLES``) says which units an account covers and which
authorities it may be: the city's accounts cover every unit as the city safety office,
committee or government; a unit's account covers its one unit as its government, regulator
or safety committee; an authority's (the discipline authorities) covers every unit; an
auditor and an administrator read everything and act on nothing. A publisher is an upstream
system's: it publishes the event types it is given (for the units it is given, or any) over
HTTP, and reads no page. An account acts as its authority: on an escalation that authority
holds now (its current level), and on the obligations that authority owes (``OWED_BY``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel.vocabulary import AUTHORITIES, OWED_BY, ROLE_AUTHORITIES, ROLES

# What an account may do to an escalation, each the contract event it publishes.
ACKNOWLEDGE, RESOLVE, DOCUMENT, MEASURES = "acknowledge", "resolve", "document", "measures"
ACTIONS = {
    ACKNOWLEDGE: "确认 acknowledge",
    RESOLVE: "办结 resolve",
    DOCUMENT: "执法文书 record the enforcement document",
    MEASURES: "立即措施 record the immediate measures",
}
# The actions that answer one kind of escalation only (the others answer any).
ONLY_FOR = {DOCUMENT: "issue_enforcement_document", MEASURES: "take_immediate_measures"}


class AccountError(ValueError):
    """An account that cannot be: its message says what to change."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    authority: str | None = None
    units: tuple[str, ...] = ()  # a unit account's one unit; empty: every unit
    display: str = ""
    password_hash: str = field(default="", repr=False)
    types: tuple[str, ...] = ()  # a publisher's event types

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}; got {self.role!r}")
        allowed = ROLE_AUTHORITIES[self.role]
        if allowed and self.authority not in allowed:
            raise AccountError(f"a {self.role} account acts as one of {', '.join(allowed)}; "
                               f"got {self.authority!r}")
        if not allowed and self.authority is not None:
            raise AccountError(f"a {self.role} account acts as no authority; "
                               f"got {self.authority!r}")
        if self.role == "unit" and len(self.units) != 1:
            raise AccountError("a unit account covers exactly one unit (--unit)")
        if self.role not in ("unit", "publisher") and self.units:
            raise AccountError(f"a {self.role} account covers every unit: give no --unit")
        if self.role == "publisher":
            from schemas.events import INBOUND

            unknown = [t for t in self.types if t not in INBOUND]
            if not self.types or unknown:
                raise AccountError("a publisher publishes event types of the contract (--type, "
                                   f"one or more of {', '.join(INBOUND)}); got "
                                   f"{', '.join(unknown) or 'none'}")
        elif self.types:
            raise AccountError(f"a {self.role} account publishes nothing: give no --type")

    @property
    def reads(self) -> bool:
        """Whether it reads the operator page (a publisher's account does not)."""
        return self.role != "publisher"

    def publishes(self, event_type: str, unit_id: str | None) -> str | None:
        """Why this account may not publish an event of this type (for this unit, where the
        event is about one); None: it may."""
        if self.role != "publisher":
            return f"a {self.role} account publishes nothing over HTTP"
        if event_type not in self.types:
            return f"{self.name} publishes {', '.join(self.types)} only, not {event_type}"
        if unit_id is not None and self.units and unit_id not in self.units:
            return f"{self.name} publishes for {', '.join(self.units)} only, not {unit_id}"
        return None

    @property
    def acts(self) -> bool:
        return self.authority is not None

    def sees(self, unit_id: str | None) -> bool:
        """Whether a unit's views are this account's to read (None: a view of no unit, such
        as the campaign's whole; only accounts covering every unit read it whole)."""
        return not self.units or unit_id in self.units

    @property
    def sees_all(self) -> bool:
        return not self.units

    def label(self) -> str:
        held = AUTHORITIES.get(self.authority or "", ROLES[self.role])
        where = f" · {self.units[0]}" if self.units else ""
        return f"{self.display or self.name} ({held}{where})"

    def owes(self, due: dict) -> bool:
        """Whether an item of what is due (``kernel.due``'s view) is this account's to do."""
        if not self.sees(due["unit_id"]) or not self.acts:
            return False
        owner = due["authority"] or OWED_BY.get(due["kind"])
        return owner == self.authority

    def why_not(self, escalation: dict, action: str) -> str | None:
        """Why this account may not take ``action`` on an escalation (its view); None: it may."""
        if action not in ACTIONS:
            return f"the action must be one of {', '.join(ACTIONS)}; got {action[:40]!r}"
        if not self.sees(escalation["unit_id"]):
            return "not found"  # another unit's escalation does not exist for this account
        if not self.acts:
            return f"a {self.role} account reads and does not act"
        if escalation["status"] in ("closed", "withdrawn"):
            return f"the escalation is {escalation['status']} already: nothing to do"
        if escalation["authority"] != self.authority:
            return (f"the escalation is held by {escalation['authority']} now, "
                    f"not by {self.authority}")
        if action in ONLY_FOR and escalation["action"] != ONLY_FOR[action]:
            return f"{action} answers an escalation to {ONLY_FOR[action]} only"
        return None

    def may(self, escalation: dict) -> list[str]:
        """The actions this account may take on an escalation now."""
        return [a for a in ACTIONS if self.why_not(escalation, a) is None]


@dataclass(frozen=True)
class Machine:
    """A machine client with the deployment's token (Prometheus, a worker, a script): reads
    everything, acts on nothing, and is no account."""

    name: str = "machine"
    role: str = "machine"
    authority: None = None
    units: tuple[str, ...] = ()
    acts = False
    sees_all = True
    reads = True

    def sees(self, unit_id: str | None) -> bool:
        return True

    def label(self) -> str:
        return "the open page (no accounts)" if self.role == "open" else \
            "a machine client (the deployment's token)"

    def owes(self, due: dict) -> bool:
        return False

    def why_not(self, escalation: dict, action: str) -> str | None:
        return "a machine client with the deployment's token reads and does not act"

    def may(self, escalation: dict) -> list[str]:
        return []


EVERYONE = Machine(name="everyone", role="open")  # no accounts and no token: an open page
