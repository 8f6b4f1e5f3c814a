"""Pin the public surface: a change here is a change to what users import."""

from __future__ import annotations

import importlib

import pytest

import porteiro.exceptions as exc

PUBLIC = {
    "porteiro.wire": {
        "DEFAULT_BOUNDARY", "MAX_RAW_KEPT", "AttachStreamParser", "Heartbeat", "InputFormat",
        "Malformed", "RawEvent", "StreamItem", "boundary_from_content_type",
        "format_attach_event", "format_attach_heartbeat", "format_attach_part",
        "format_event_text", "parse_event_block", "parse_event_text", "scan_events", "sniff",
    },
    "porteiro.events": {
        "AccessControlEvent", "AlarmEvent", "DoorStatusEvent", "Event", "ExitButtonEvent",
        "SystemEvent", "UnknownEvent", "build_event", "event_from_record",
    },
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_exported_names(module: str) -> None:
    mod = importlib.import_module(module)
    assert set(mod.__all__) == PUBLIC[module]
    for name in mod.__all__:
        assert hasattr(mod, name), name


def test_exception_tree() -> None:
    assert issubclass(exc.ProtocolError, exc.PorteiroError)
    assert issubclass(exc.MalformedInputError, exc.ProtocolError)
    assert issubclass(exc.MalformedInputError, ValueError)
    assert issubclass(exc.DeviceConnectionError, exc.PorteiroError)
    assert issubclass(exc.DeviceTimeoutError, exc.DeviceConnectionError)
    assert issubclass(exc.AuthenticationError, exc.PorteiroError)
    assert issubclass(exc.DeviceError, exc.PorteiroError)
    assert issubclass(exc.BatchError, exc.DeviceError)
    for name in ("PorteiroError", "ProtocolError", "MalformedInputError",
                 "DeviceConnectionError", "DeviceTimeoutError", "AuthenticationError",
                 "DeviceError", "BatchError"):
        assert name in (exc.__doc__ or ""), f"{name} missing from the documented tree"


def test_version_is_exposed() -> None:
    import porteiro  # noqa: PLC0415

    assert porteiro.__version__
