"""Keeps secrets and card numbers out of the access log.

Card numbers are shown in full by the (authenticated) API, but a log line is read by
whoever reads the logs: ``card=`` and ``access_token=`` query values are masked in
uvicorn's access log.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactQuery", "install_access_log_filter"]

_SECRET_QUERY = re.compile(r"([?&](?:card|access_token)=)[^&#\s]*", re.IGNORECASE)


class RedactQuery(logging.Filter):
    """Masks ``card`` and ``access_token`` query values in a record's arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the arguments in place; never drops a record."""
        if isinstance(record.args, tuple):
            record.args = tuple(_SECRET_QUERY.sub(r"\1***", a) if isinstance(a, str) else a
                                for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = _SECRET_QUERY.sub(r"\1***", record.msg)
        return True


def install_access_log_filter(logger_name: str = "uvicorn.access") -> None:
    """Add :class:`RedactQuery` to ``logger_name`` once."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactQuery) for f in logger.filters):
        logger.addFilter(RedactQuery())
