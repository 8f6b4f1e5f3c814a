"""Pin the public surface: a change here is a change to what users import."""

from __future__ import annotations

import importlib

import pytest

import porteiro.exceptions as exc

PUBLIC = {
    "porteiro.wire": {
        "DEFAULT_BOUNDARY", "MALFORMED_KINDS", "MAX_RAW_KEPT", "AttachStreamParser",
        "Heartbeat", "InputFormat",
        "Malformed", "RawEvent", "StreamItem", "boundary_from_content_type",
        "format_attach_event", "format_attach_heartbeat", "format_attach_part",
        "format_event_text", "parse_event_block", "parse_event_text", "scan_events", "sniff",
    },
    "porteiro.codes": {
        "ALREADY_EXISTS", "ATTACH_FILTER_NAMES", "AUTHENTICATION", "CAPACITY",
        "CREDENTIAL_FAILURES", "CREDENTIAL_TIMEOUTS", "KIND_OF", "LANGS", "NOT_FOUND",
        "PENDING", "RETRYABLE", "RULE_DENIALS", "SCHEDULE_DENIALS", "TABLES", "AccessResult",
        "Authority", "CardStatus", "CardType", "DeviceMode", "Direction", "DoorMode",
        "DoorState", "EventCode", "EventError", "EventKind", "IntCode", "Lang", "Mask",
        "OpenMethod", "RequestError", "StrCode", "UserType", "category", "from_vendor_name",
        "kind_of", "normalize_lang", "search",
    },
    "porteiro.wire.kv": {
        "OK_BODY", "RecordPage", "format_kv", "format_records", "format_table", "get_path",
        "is_ok", "parse_kv", "parse_records", "parse_table", "set_path",
    },
    "porteiro.wire.push": {
        "DEFAULT_MAX_DECOMPRESSED", "KEEPALIVE_REPLY", "OnlineReply", "PushBody",
        "format_online_reply", "format_push_body", "parse_online_reply", "parse_push_body",
    },
    "porteiro.wire.errors": {
        "BATCH_ENVELOPE_CODE", "ErrorReply", "error_for_reply", "format_batch_error",
        "format_json_error", "format_legacy_error", "parse_error_reply",
    },
    "porteiro.access": {
        "ALL_DEVICES", "ALWAYS", "ANY", "AccessRules", "Card", "CardState", "Decision",
        "Directory", "DoorRule", "Factor", "History", "MemoryHistory", "OpenRequirement",
        "Person", "PersonStatus", "PersonType", "Presentation", "Schedule", "SiteCard", "User",
        "UserStatus", "decide", "display_message", "factors_of", "method_for",
    },
    "porteiro.emulator": {
        "DeviceIdentity", "EmulatedDevice", "EmulatorHost", "Faults", "Limits", "State",
        "Subscription", "build_app", "make_state",
    },
    "porteiro.device": {
        "BatchItemResult", "Connected", "Device", "DeviceInfo", "Disconnected", "DoorConfig",
        "EventStream", "NetworkConfig",
        "StreamItem", "StreamState", "SyncDevice", "redact",
    },
    "porteiro.hub": {
        "ConfigError", "DeviceRuntime", "DeviceSettings", "Hub", "HubConfig", "PolicyRequest",
        "PolicyVerdict", "device_router", "load_config",
    },
    "porteiro.store": {
        "EventQuery", "Occurrences", "Store", "StoredBatch", "Writer", "event_key", "event_row",
    },
    "porteiro.api": {"create_app"},
    "porteiro.forward": {
        "Dead", "Delivered", "DoorOpener", "DoorResult", "Forwarder", "MqttSinkSettings",
        "Outcome", "Retry", "Sink", "SinkSettings", "SinkStatus", "SinkUnavailableError",
        "SinkWorker", "WebhookSinkSettings", "build_sink",
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
    assert issubclass(exc.ConfigError, exc.PorteiroError)
    assert issubclass(exc.PeopleError, exc.PorteiroError)
    for name in ("PorteiroError", "ProtocolError", "MalformedInputError",
                 "DeviceConnectionError", "DeviceTimeoutError", "AuthenticationError",
                 "DeviceError", "BatchError", "ConfigError", "PeopleError"):
        assert name in (exc.__doc__ or ""), f"{name} missing from the documented tree"


def test_version_is_exposed() -> None:
    import porteiro  # noqa: PLC0415

    assert porteiro.__version__
