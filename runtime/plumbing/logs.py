"""structlog configuration shared by every command and worker.

JSON lines by default (one object per line, for log shippers); readable console output when
stderr is a terminal. Standard-library loggers (faust, aiokafka, kafka-python) go through the
same processors, so a worker's log is one format.
"""

from __future__ import annotations

import logging
import logging.config
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import structlog

# What a worker binds for the record it applies: one context variable holding a dict, set once
# a batch (structlog's own binding sets a variable per key, and a record has seven).
_RECORD: ContextVar[dict | None] = ContextVar("inspections_record", default=None)


class PerRecord:
    """What ``per_record`` yields: ``record(...)`` makes ``values`` the fields of the record
    now applied (the last record's gone)."""

    __slots__ = ("fields", "outer")

    def __init__(self, fields: dict, outer: dict | None) -> None:
        self.fields, self.outer = fields, outer

    def record(self, **values) -> None:
        fields = self.fields
        fields.clear()
        if self.outer:
            fields.update(self.outer)
        fields.update(values)


@contextmanager
def per_record() -> Iterator[PerRecord]:
    """One binding for a batch's records, set record by record (cheaper than ``bound``
    around each record): what ``record`` and ``add`` put in it is on every log line written
    inside."""
    outer = _RECORD.get()
    fields = dict(outer) if outer else {}
    token = _RECORD.set(fields)
    try:
        yield PerRecord(fields, outer)
    finally:
        _RECORD.reset(token)


def add(**values) -> None:
    """``values`` added to what is bound here (in ``per_record``: to this record's, until
    the next record)."""
    fields = _RECORD.get()
    if fields is not None:
        fields.update(values)


def bound_fields() -> dict:
    """What ``bound`` has bound here."""
    return dict(_RECORD.get() or {})


def _merge_bound(logger, method: str, event_dict: dict) -> dict:
    for key, value in (_RECORD.get() or {}).items():
        event_dict.setdefault(key, value)
    return event_dict


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    _merge_bound,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]


def _renderer(fmt: str) -> Any:
    console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    if console:
        return structlog.dev.ConsoleRenderer()
    return structlog.processors.JSONRenderer(ensure_ascii=False)


def logging_config(level: str, fmt: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict; faust's worker takes it as is."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structlog": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    _renderer(fmt),
                ],
                "foreign_pre_chain": _SHARED,
            }
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "structlog",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        # Chatty at INFO, and nothing an operator acts on.
        "loggers": {
            "kafka": {"level": "WARNING"},
            "aiokafka": {"level": "WARNING"},
        },
    }


def configure(service: str, level: str = "INFO", fmt: str = "auto") -> dict[str, Any]:
    config = logging_config(level, fmt)
    logging.config.dictConfig(config)
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    return config


def get(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
