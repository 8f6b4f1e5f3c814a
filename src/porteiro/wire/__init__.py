"""Pure parsers and serializers for every byte format the device speaks. No I/O.

* :mod:`~porteiro.wire.multipart`: the ``eventManager`` attach stream (incremental).
* :mod:`~porteiro.wire.eventtext`: ``Code=X;action=Y;index=N;data={...}`` text.
* :mod:`~porteiro.wire.kv`: ``key=value`` replies, record listings, config tables.
* :mod:`~porteiro.wire.push`: bodies devices POST in push and Modo Online modes.
* :mod:`~porteiro.wire.errors`: error replies (legacy text and JSON envelopes).
* :mod:`~porteiro.wire.detect`: what a captured input is.
"""

from porteiro.wire.detect import InputFormat, sniff
from porteiro.wire.eventtext import (
    format_event_text,
    parse_event_block,
    parse_event_text,
    scan_events,
)
from porteiro.wire.multipart import (
    DEFAULT_BOUNDARY,
    AttachStreamParser,
    StreamItem,
    boundary_from_content_type,
    format_attach_event,
    format_attach_heartbeat,
    format_attach_part,
)
from porteiro.wire.records import MALFORMED_KINDS, MAX_RAW_KEPT, Heartbeat, Malformed, RawEvent

__all__ = [
    "DEFAULT_BOUNDARY",
    "MALFORMED_KINDS",
    "MAX_RAW_KEPT",
    "AttachStreamParser",
    "Heartbeat",
    "InputFormat",
    "Malformed",
    "RawEvent",
    "StreamItem",
    "boundary_from_content_type",
    "format_attach_event",
    "format_attach_heartbeat",
    "format_attach_part",
    "format_event_text",
    "parse_event_block",
    "parse_event_text",
    "scan_events",
    "sniff",
]
