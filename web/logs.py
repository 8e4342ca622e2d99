"""Log set-up for every process (the parent and each worker): text lines, or one JSON object per line.

The same dictConfig goes to uvicorn (its `log_config`), so its own records (start-up, errors,
the worker supervisor's) share the format; its access logger is off, because the access line
is ours (web/middleware.py: request id, no query string).
"""

import logging
from datetime import UTC, datetime
from typing import Any

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Set by RequestIdMiddleware on its access record (`extra={ACCESS_FIELDS: {...}}`): the JSON fields.
ACCESS_FIELDS = "access_fields"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the access fields, a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        entry.update(getattr(record, ACCESS_FIELDS, None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: a message argument orjson cannot encode must not lose the record.
        return orjson.dumps(entry, default=str).decode()


def log_config(level: str, log_format: str) -> dict[str, Any]:
    """A logging.config.dictConfig for `level` and `log_format` (text or json), uvicorn's loggers included."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # uvicorn writes its colour setting into formatters named "default" and "access", if present.
        "formatters": {"default": formatter, "access": formatter},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            # Through the root handler, in the one format; no handlers of their own (no line twice).
            "uvicorn": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            # uvicorn's access line would repeat ours, with the query string: never written.
            "uvicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }
