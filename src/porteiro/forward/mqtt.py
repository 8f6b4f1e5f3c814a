"""MQTT sink: every event published (QoS 1) to a broker, plus retained state topics and,
optionally, Home Assistant discovery with a button per door.

Topics (``P`` is ``topic_prefix``, ``D`` a device name with ``+ # /`` replaced by
``_``, ``N`` a door counted from 1 like the device's screens):

* ``P/hub/status``: ``online`` / ``offline``, retained; ``offline`` is also the
  connection's last will, so it turns ``offline`` when the hub dies;
* ``P/D/event/<kind>``: each event as the API serves it (compact UTF-8 JSON), QoS 1, in
  id order, at least once (a retried batch repeats events with the same ``id``);
* ``P/D/status``: ``online`` / ``offline``, retained;
* ``P/D/door/N/state``: ``open`` / ``closed``, retained, from door_status events;
* ``P/D/last_access``: ``{"id", "time", "summary", "granted", "user_id", "user_name",
  "card_no", "door"}`` (``door`` from 1), retained, from access_control events;
* ``P/D/door/N/open``: publish anything (not retained) to open door N through the hub,
  which audits it; the result text goes to ``P/D/door/N/open/result``. Only with
  ``home_assistant = true``; retained commands are ignored.

With ``home_assistant = true``, retained discovery configs under ``discovery_prefix``
describe each device the first time it is seen (a device status or an event) and again
on every connect: a door binary_sensor per door, a "Last access" sensor and an
"Open door N" button, available while both the hub and the device are online.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import ssl
import uuid
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit

import aiomqtt

from porteiro.forward.base import Delivered, Outcome, Retry, SinkUnavailableError
from porteiro.store.serialize import encode

if TYPE_CHECKING:
    from collections.abc import Coroutine, Iterable, Iterator, Sequence

    from porteiro.forward.base import DoorOpener
    from porteiro.forward.settings import MqttSinkSettings

__all__ = ["MqttSink", "topic_name"]

_LOG = logging.getLogger(__name__)
_PAHO_LOG = logging.getLogger(f"{__name__}.client")
"""The MQTT client library's own messages (they never contain the password)."""

CHUNK = 1000
"""Messages published before awaiting their PUBACKs together (the in-flight window: a
wide one keeps the broker busy while acknowledgements come back)."""
TIMEOUT = 15.0
"""Seconds for a chunk's acknowledgements before giving up on the connection."""
CONNECT_TIMEOUT = 5.0
"""Seconds for the broker's CONNACK (the TCP connect and the TLS handshake have their own
5 s). A connection reset before the CONNACK (e.g. plain MQTT to a TLS port) is only
noticed this way."""
_UNSAFE = re.compile(r"[+#/\x00]")
_NOT_ID = re.compile(r"[^A-Za-z0-9_-]")
_COMMAND = re.compile(r"^door/([1-9][0-9]{0,2})/open$")

Message = tuple[str, bytes, bool]
"""``(topic, payload, retain)``: published QoS 1."""


def topic_name(device: str) -> str:
    """A device name as one topic level: no wildcards, no level separator."""
    return _UNSAFE.sub("_", device) or "_"


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _object_id(device: str) -> str:
    return _NOT_ID.sub("_", device) or "_"


class _ClosingSSLSocket(ssl.SSLSocket):
    """Closes itself when the handshake fails (the MQTT client would drop it unclosed)."""

    def do_handshake(self, block: bool = False) -> None:  # noqa: FBT001, FBT002  # ssl's
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


T = TypeVar("T")


class _Client(aiomqtt.Client):
    """aiomqtt's client without its scan of every pending call on each publish.

    aiomqtt checks a new message id against, and counts, all pending calls by walking
    them: O(n) per publish, so O(n^2) per window of n messages in flight. With the
    window this sink keeps, that walk was a fifth of the hub's CPU while draining at
    5,000 events/s. Same checks and warning, in O(1).
    """

    @contextlib.contextmanager
    def _pending_call(self, mid: int, value: T, pending_dict: dict[int, T]) -> Iterator[None]:
        if mid in self._pending_publishes or mid in self._pending_subscribes \
                or mid in self._pending_unsubscribes:
            msg = f'There already exists a pending call for message ID "{mid}"'
            raise RuntimeError(msg)
        pending_dict[mid] = value
        try:
            pending = (len(self._pending_publishes) + len(self._pending_subscribes)
                       + len(self._pending_unsubscribes))
            if pending > self.pending_calls_threshold:
                self._logger.warning("There are %d pending publish calls.", pending)
            yield
        finally:
            with contextlib.suppress(KeyError):
                del pending_dict[mid]


def newest_states(messages: list[Message]) -> list[Message]:
    """Keep, of a batch's ``last_access`` messages, only the last per device, where it
    stood: it is a retained state and only its newest value matters, while every access
    still has its own event message (door states are all kept: each is a transition an
    automation may wait for). Halves what a batch of accesses publishes."""
    last: dict[str, int] = {}
    for index, (topic, _payload, _retain) in enumerate(messages):
        if topic.endswith("/last_access"):
            last[topic] = index
    return [m for index, m in enumerate(messages)
            if not m[0].endswith("/last_access") or last[m[0]] == index]


class MqttSink:
    """Publishes events to one MQTT broker over one connection (reconnecting)."""

    def __init__(self, settings: MqttSinkSettings, *,
                 open_door: DoorOpener | None = None) -> None:
        self.settings = settings
        self.name = settings.name or "mqtt"
        self.open_door = open_door
        parts = urlsplit(settings.url)
        self._tls = parts.scheme == "mqtts"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (8883 if self._tls else 1883)
        self._username = settings.username or (unquote(parts.username) if parts.username
                                               else None)
        self._password = settings.password or (unquote(parts.password) if parts.password
                                               else None)
        self._where = f"{parts.scheme}://{self._host}:{self._port}"  # never the password
        self._client_id = settings.client_id or (
            f"porteiro-{_object_id(self.name)}-{uuid.uuid4().hex[:8]}")
        self._prefix = settings.topic_prefix
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._status: dict[str, bool] = {}
        self._announced: dict[str, bool] = {}
        """The statuses the current connection published when it connected."""
        self._doors: dict[str, set[int]] = {}
        """Devices seen (discovery published on connect), with their doors (0-based)."""
        self._topics: dict[str, str] = {}
        """Topic level -> device name, for door commands."""

    # -- topics ---------------------------------------------------------------------------

    def _device_topic(self, device: str, *rest: str) -> str:
        level = topic_name(device)
        self._topics.setdefault(level, device)
        return "/".join((self._prefix, level, *rest))

    @property
    def connected(self) -> bool:
        """Whether a connection is up and has announced the hub and device statuses."""
        return self._client is not None

    @property
    def hub_status_topic(self) -> str:
        """``<prefix>/hub/status``."""
        return f"{self._prefix}/hub/status"

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect; raises :class:`SinkUnavailableError` when the broker cannot be
        reached. A dropped connection is re-established in the background."""
        self._closing = False
        await self._connect()
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = asyncio.create_task(self._supervise(),
                                                   name=f"mqtt-{self.name}-supervisor")

    async def close(self) -> None:
        """Publish the hub offline and disconnect cleanly."""
        self._closing = True
        tasks = [t for t in (self._supervisor, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._supervisor = None
        client = self._client
        if client is None:
            return
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.publish(self.hub_status_topic, b"offline", qos=1, retain=True,
                                 timeout=5.0)
        await self._drop(client)
        _LOG.info("mqtt sink %s: disconnected from %s", self.name, self._where)

    def _client_for(self) -> aiomqtt.Client:
        tls_context = None
        if self._tls:
            ca = str(self.settings.ca_file) if self.settings.ca_file else None
            tls_context = ssl.create_default_context(cafile=ca)
            tls_context.sslsocket_class = _ClosingSSLSocket
            if self.settings.tls_insecure:
                tls_context.check_hostname = False
                tls_context.verify_mode = ssl.CERT_NONE
        client = _Client(
            self._host, self._port, username=self._username, password=self._password,
            identifier=self._client_id, tls_context=tls_context, timeout=CONNECT_TIMEOUT,
            logger=_PAHO_LOG,
            will=aiomqtt.Will(self.hub_status_topic, b"offline", qos=1, retain=True),
            max_inflight_messages=CHUNK, keepalive=30)
        client.pending_calls_threshold = 10 * CHUNK  # a batch in flight is not a concern
        return client

    async def _connect(self) -> aiomqtt.Client:
        async with self._lock:
            if self._client is not None:
                return self._client
            try:
                client = self._client_for()
            except (OSError, ValueError) as exc:  # e.g. an unreadable ca_file
                raise SinkUnavailableError(f"{self._where}: {exc}") from None
            try:
                # aiomqtt bounds the TCP connect and the CONNACK wait itself; this is a
                # safety net.
                await asyncio.wait_for(client.__aenter__(), CONNECT_TIMEOUT + 15)
            except (aiomqtt.MqttError, TimeoutError) as exc:
                raise SinkUnavailableError(
                    f"cannot connect to {self._where}: {_why(exc)}") from None
            try:
                await self._publish(client, self._on_connect_messages())
                if self.settings.home_assistant:
                    await client.subscribe(f"{self._prefix}/+/door/+/open", qos=1)
            except (aiomqtt.MqttError, TimeoutError) as exc:
                await self._drop(client)
                raise SinkUnavailableError(f"{self._where}: {_why(exc)}") from None
            self._client = client
            self._reader = asyncio.create_task(self._read(client),
                                               name=f"mqtt-{self.name}-reader")
            _LOG.info("mqtt sink %s: connected to %s as %s", self.name, self._where,
                      self._client_id)
            return client

    async def _drop(self, client: aiomqtt.Client) -> None:
        """Forget ``client`` and disconnect it (quietly: it may be dead already)."""
        if self._client is client:
            self._client = None
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError, OSError, RuntimeError):
            await asyncio.wait_for(client.__aexit__(None, None, None), 5.0)

    async def _supervise(self) -> None:
        """Reconnect in the background after a drop (so statuses and door commands keep
        working while no events come), with capped backoff and jitter."""
        delay = 0.5
        last = ""
        while True:
            reader = self._reader
            if self._client is not None and reader is not None:
                await asyncio.wait({reader})  # never raises: it only waits for the end
                delay, last = 0.5, ""
                continue
            await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311  # jitter
            try:
                await self._connect()
            except SinkUnavailableError as exc:
                if str(exc) != last:  # once per kind of failure, not once per attempt
                    _LOG.warning("mqtt sink %s: %s; retrying", self.name, exc)
                    last = str(exc)
                delay = min(delay * 2, self.settings.backoff_cap)

    async def _read(self, client: aiomqtt.Client) -> None:
        """Door commands; ends (and drops the connection) when the connection is lost."""
        try:
            async for message in client.messages:
                self._command(message)
        except aiomqtt.MqttError as exc:
            if not self._closing:
                _LOG.warning("mqtt sink %s: connection to %s lost: %s", self.name,
                             self._where, exc)
        if self._client is client:
            self._client = None
            self._reader = None
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError, OSError, RuntimeError):
                await asyncio.wait_for(client.__aexit__(None, None, None), 5.0)

    async def _lost(self, client: aiomqtt.Client, why: str) -> SinkUnavailableError:
        _LOG.warning("mqtt sink %s: %s; reconnecting", self.name, why)
        await self._drop(client)
        return SinkUnavailableError(f"{self._where}: {why}")

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- publishing -----------------------------------------------------------------------

    async def _publish(self, client: aiomqtt.Client, messages: Iterable[Message]) -> None:
        """Publish in order, awaiting the PUBACKs a chunk at a time; raises MqttError or
        TimeoutError (also when the connection drops meanwhile)."""
        batch = list(messages)
        for start in range(0, len(batch), CHUNK):
            await self._publish_chunk(client, batch[start:start + CHUNK])

    async def _publish_chunk(self, client: aiomqtt.Client, chunk: list[Message]) -> None:
        # The tasks start in creation order, so paho queues the messages in order.
        acks = asyncio.gather(*(client.publish(topic, payload, qos=1, retain=retain,
                                               timeout=TIMEOUT)
                                for topic, payload, retain in chunk))
        watch: set[asyncio.Future[Any]] = {acks}
        if self._reader is not None and self._client is client:
            watch.add(self._reader)
        try:
            done, _ = await asyncio.wait(watch, timeout=TIMEOUT,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not acks.done():
                acks.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await acks
        if acks in done:
            acks.result()  # raises the first failure
            return
        if done:
            raise aiomqtt.MqttError("connection lost")
        raise TimeoutError

    def _on_connect_messages(self) -> list[Message]:
        messages: list[Message] = [(self.hub_status_topic, b"online", True)]
        announced: dict[str, bool] = {}
        for device, doors in self._doors.items():
            if self.settings.home_assistant:
                messages.extend(self._discovery(device, doors))
            if device in self._status:
                messages.append(self._status_message(device))
                announced[device] = self._status[device]
        self._announced = announced
        return messages

    def _status_message(self, device: str) -> Message:
        payload = b"online" if self._status[device] else b"offline"
        return self._device_topic(device, "status"), payload, True

    def _seen(self, device: str, door: int | None) -> list[Message]:
        """Note a device (and door); the discovery configs it newly needs."""
        doors = self._doors.get(device)
        new: set[int] = set()
        if doors is None:
            doors = self._doors[device] = set()
            new.add(0)  # every reader has a first door
        if door is not None and 0 <= door < 1000:
            new.add(door)
        new -= doors
        doors |= new
        if not new or not self.settings.home_assistant:
            return []
        return self._discovery(device, new, whole=len(doors) == len(new))

    def device_status(self, device: str, *, online: bool) -> None:
        """Publish the device's status (retained); remembered for the next connect."""
        self._status[device] = online
        messages = [*self._seen(device, None), self._status_message(device)]
        if self._closing:
            return
        client = self._client
        if client is not None:
            self._spawn(self._publish_status(client, device, messages),
                        f"mqtt-{self.name}-status")
        elif self._lock.locked():
            # A connect is under way and may have built its messages already.
            self._spawn(self._after_connect(device), f"mqtt-{self.name}-status")
        # Otherwise the next connect publishes it.

    async def _after_connect(self, device: str) -> None:
        async with self._lock:
            client = self._client
        if client is None:
            return
        if self._announced.get(device) == self._status.get(device):
            # The connect built its messages after the change: it published this status
            # already (a second retained copy would reach subscribers twice).
            return
        messages = (self._discovery(device, self._doors.get(device, {0}))
                    if self.settings.home_assistant else [])
        messages.append(self._status_message(device))  # the status now, not then
        await self._publish_status(client, device, messages)

    async def _publish_status(self, client: aiomqtt.Client, device: str,
                              messages: list[Message]) -> None:
        try:
            await self._publish(client, messages)
        except (aiomqtt.MqttError, TimeoutError) as exc:
            _LOG.warning("mqtt sink %s: status of %s not published (%s); sent again on "
                         "reconnect", self.name, device, _why(exc))

    async def deliver(self, events: Sequence[dict[str, Any]]) -> dict[int, Outcome]:
        """Publish ``events`` in order, QoS 1; Delivered once the broker acknowledged."""
        client = self._client
        if client is None:
            if self._lock.locked():  # the supervisor is at it: do not queue behind it
                raise SinkUnavailableError(f"{self._where}: not connected (reconnecting)")
            client = await self._connect()
        outcomes: dict[int, Outcome] = {}
        pending = list(events)
        for start in range(0, len(pending), CHUNK):
            chunk = pending[start:start + CHUNK]
            messages: list[Message] = []
            for event in chunk:
                messages.extend(self._event_messages(event))
            messages = newest_states(messages)
            try:
                await self._publish(client, messages)
            except (aiomqtt.MqttError, TimeoutError) as exc:
                error = await self._lost(client, f"publish failed: {_why(exc)}")
                if not outcomes:
                    raise error from None
                retry = Retry(str(error))
                outcomes.update((int(e["id"]), retry) for e in pending[start:])
                return outcomes
            outcomes.update((int(e["id"]), Delivered()) for e in chunk)
        return outcomes

    def _event_messages(self, event: dict[str, Any]) -> list[Message]:
        device = str(event.get("device") or "")
        kind = str(event.get("kind") or "unknown")
        door = event.get("door")
        door = door if isinstance(door, int) and not isinstance(door, bool) else None
        messages = self._seen(device, door)
        messages.append((self._device_topic(device, "event", topic_name(kind)),
                         encode(event), False))
        if kind == "door_status" and door is not None:
            state = event.get("state")
            code = str(state.get("code", "")) if isinstance(state, dict) else ""
            value = {"open": b"open", "close": b"closed", "closed": b"closed"}.get(code.lower())
            if value is not None:
                messages.append((self._device_topic(device, "door", str(door + 1), "state"),
                                 value, True))
        elif kind == "access_control":
            last = {key: event.get(key) for key in
                    ("id", "time", "summary", "granted", "user_id", "user_name", "card_no")}
            last["door"] = None if door is None else door + 1
            messages.append((self._device_topic(device, "last_access"), encode(last), True))
        return messages

    # -- Home Assistant -------------------------------------------------------------------

    def _discovery(self, device: str, doors: Iterable[int], *,
                   whole: bool = True) -> list[Message]:
        """Retained discovery configs: the device's sensor (when ``whole``) and, per door,
        a door binary_sensor and an open button."""
        node = f"porteiro_{_object_id(device)}"
        root = self.settings.discovery_prefix
        common: dict[str, Any] = {
            "availability": [
                {"topic": self.hub_status_topic},
                {"topic": self._device_topic(device, "status")},
            ],
            "availability_mode": "all",
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": {"identifiers": [node], "name": device, "manufacturer": "Intelbras",
                       "model": "Access controller"},
            "origin": {"name": "porteiro"},
        }
        messages: list[Message] = []
        if whole:
            last = self._device_topic(device, "last_access")
            messages.append((f"{root}/sensor/{node}/last_access/config", encode({
                **common, "name": "Last access", "unique_id": f"{node}_last_access",
                "state_topic": last, "value_template": "{{ value_json.summary }}",
                "json_attributes_topic": last, "icon": "mdi:card-account-details"}), True))
        for door in sorted(doors):
            number = door + 1
            messages.append((f"{root}/binary_sensor/{node}/door_{number}/config", encode({
                **common, "name": f"Door {number}", "unique_id": f"{node}_door_{number}",
                "device_class": "door",
                "state_topic": self._device_topic(device, "door", str(number), "state"),
                "payload_on": "open", "payload_off": "closed"}), True))
            messages.append((f"{root}/button/{node}/open_door_{number}/config", encode({
                **common, "name": f"Open door {number}",
                "unique_id": f"{node}_open_door_{number}", "icon": "mdi:door-open",
                "command_topic": self._device_topic(device, "door", str(number), "open")}),
                True))
        return messages

    def _command(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        if message.retain or not message.payload or not topic.startswith(self._prefix + "/"):
            # A retained command would open the door on every reconnect; an empty one is
            # someone clearing a retained message.
            return
        level, _, rest = topic[len(self._prefix) + 1:].partition("/")
        match = _COMMAND.match(rest)
        if match is None:
            return
        device = self._topics.get(level, level)
        number = int(match.group(1))
        self._spawn(self._open_door(device, number, f"{topic}/result"),
                    f"mqtt-{self.name}-open-door")

    async def _open_door(self, device: str, number: int, result_topic: str) -> None:
        if self.open_door is None:
            _LOG.warning("mqtt sink %s: open door %d of %s asked over MQTT, but opening "
                         "doors is not available here", self.name, number, device)
            result = "opening doors is not available"
        else:
            try:
                result = str(await self.open_door(device, number - 1, "mqtt"))
            except Exception as exc:  # noqa: BLE001  # the answer goes back to the asker
                _LOG.exception("mqtt sink %s: open door %d of %s failed", self.name, number,
                               device)
                result = f"failed: {exc}"
        client = self._client
        if client is None:
            return
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.publish(result_topic, result.encode("utf-8"), qos=1, timeout=TIMEOUT)
