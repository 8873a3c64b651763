"""The public event contract (``docs/contract.md``) as code, and the one gate that holds
records to it."""

from schemas.envelope import rejection_event
from schemas.derived import DERIVED
from schemas.events import INBOUND, Envelope
from schemas.gate import MAX_RECORD_BYTES, Rejection, decode

__all__ = [
    "DERIVED", "INBOUND", "Envelope", "MAX_RECORD_BYTES", "Rejection", "decode",
    "rejection_event",
]
