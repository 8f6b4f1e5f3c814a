"""MQTT sink against the machine's Mosquitto (127.0.0.1:1883): topics, payloads, QoS 1,
retained state, Home Assistant discovery, the last will on an abrupt drop, reconnects,
door commands, and the hub end to end.

Every test uses topic and discovery prefixes of its own and clears the retained topics
it created. Without a broker the tests skip with the reason; under ``CI=true`` they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiomqtt
import httpx
import pytest

from porteiro.api import create_app
from porteiro.forward import Delivered, MqttSinkSettings, SinkUnavailableError
from porteiro.forward.mqtt import MqttSink
from porteiro.hub import load_config
from porteiro.store.serialize import encode, event_json
from porteiro.wire import RawEvent
from porteiro.wire.push import format_push_body

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from pathlib import Path

HOST, PORT = "127.0.0.1", 1883
DEVICE = "portaria/1+#"  # a device name with every character topics cannot carry
LEVEL = "portaria_1__"


def _broker_up() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _broker() -> None:
    if not _broker_up():
        if os.environ.get("CI") == "true":
            pytest.fail(f"an MQTT broker is required in CI but none listens on {HOST}:{PORT}")
        pytest.skip(f"no MQTT broker on {HOST}:{PORT} (run mosquitto)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- helpers -----------------------------------------------------------------------------


@dataclass
class Prefixes:
    topic: str
    discovery: str


@dataclass
class Watcher:
    """A subscriber to everything under the test's prefixes, recording what arrives."""

    prefixes: Prefixes
    got: list[aiomqtt.Message] = field(default_factory=list)

    def of(self, topic: str) -> list[aiomqtt.Message]:
        return [m for m in self.got if m.topic.value == topic]

    def payloads(self, topic: str) -> list[bytes]:
        return [bytes(m.payload) for m in self.of(topic)]

    async def until(self, check: Callable[[], bool], timeout: float = 5) -> None:
        async def loop() -> None:
            while not check():
                await asyncio.sleep(0.02)

        await asyncio.wait_for(loop(), timeout)


@pytest.fixture
async def prefixes() -> AsyncIterator[Prefixes]:
    tag = uuid.uuid4().hex[:10]
    p = Prefixes(f"test-porteiro-{tag}", f"test-ha-{tag}")
    yield p
    # Clear every retained message the test left under its prefixes.
    async with aiomqtt.Client(HOST, PORT) as client:
        await client.subscribe(f"{p.topic}/#")
        await client.subscribe(f"{p.discovery}/#")
        retained: set[str] = set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.3):
                async for message in client.messages:
                    if message.retain and message.payload:
                        retained.add(message.topic.value)
        for topic in retained:
            await client.publish(topic, b"", qos=1, retain=True)


@pytest.fixture
async def watcher(prefixes: Prefixes) -> AsyncIterator[Watcher]:
    w = Watcher(prefixes)
    async with aiomqtt.Client(HOST, PORT) as client:
        await client.subscribe(f"{prefixes.topic}/#", qos=1)
        await client.subscribe(f"{prefixes.discovery}/#", qos=1)

        async def read() -> None:
            async for message in client.messages:
                w.got.append(message)

        task = asyncio.create_task(read())
        yield w
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _retained(topic_filter: str, timeout: float = 0.3) -> dict[str, bytes]:
    """What a new subscriber gets at once: the retained messages."""
    out: dict[str, bytes] = {}
    async with aiomqtt.Client(HOST, PORT) as client:
        await client.subscribe(topic_filter, qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                async for message in client.messages:
                    assert message.retain
                    out[message.topic.value] = bytes(message.payload)
    return out


def _settings(prefixes: Prefixes, **extra: Any) -> MqttSinkSettings:
    values: dict[str, Any] = {"type": "mqtt", "name": "ha", "url": f"mqtt://{HOST}:{PORT}",
                              "topic_prefix": prefixes.topic,
                              "discovery_prefix": prefixes.discovery, "backoff_cap": 0.2}
    values.update(extra)
    return MqttSinkSettings(**values)


@contextlib.asynccontextmanager
async def _sink(settings: MqttSinkSettings, **kwargs: Any) -> AsyncIterator[MqttSink]:
    sink = MqttSink(settings, **kwargs)
    await asyncio.wait_for(sink.open(), 10)
    try:
        yield sink
    finally:
        await asyncio.wait_for(sink.close(), 10)


def _event(event_id: int, code: str, data: dict[str, Any], device: str = DEVICE
           ) -> dict[str, Any]:
    """The JSON of a stored event row, exactly as the worker hands it to sinks."""
    row = {"id": event_id, "device": device, "code": code, "action": "Pulse", "idx": 0,
           "data": encode(data), "ts": data.get("UTC"), "source": "push",
           "received_at": 1790715000.0, "rec_no": None, "utc_offset_s": 0,
           "has_snapshot": False}
    return event_json(row, "en")


def _access(event_id: int, user: str, *, door: int = 0, device: str = DEVICE
            ) -> dict[str, Any]:
    return _event(event_id, "AccessControl", {
        "UTC": 1790715000 + event_id, "Door": door, "CardNo": f"12EA{event_id:04d}",
        "Method": 1, "Status": 1, "ErrorCode": 0, "Type": "Entry", "UserID": user},
        device)


def _door(event_id: int, state: str, *, door: int = 0, device: str = DEVICE
          ) -> dict[str, Any]:
    return _event(event_id, "DoorStatus", {"UTC": 1790715000 + event_id, "Door": door,
                                           "Status": state}, device)


# -- the sink ----------------------------------------------------------------------------


async def test_events_in_order_qos1_with_retained_state(prefixes: Prefixes,
                                                        watcher: Watcher) -> None:
    events = [_access(1, "1021"), _door(2, "Open"), _access(3, "1022", door=1),
              _door(4, "Close"), _event(5, "ButtonExit", {"UTC": 1790715005, "Door": 0}),
              _door(6, "Open", door=1)]
    p = prefixes.topic
    async with _sink(_settings(prefixes)) as sink:
        outcomes = await asyncio.wait_for(sink.deliver(events), 10)
        assert outcomes == {e["id"]: Delivered() for e in events}
        event_topic = f"{p}/{LEVEL}/event/"
        await watcher.until(lambda: sum(m.topic.value.startswith(event_topic)
                                        for m in watcher.got) == 6)
        retained = await _retained(f"{p}/#")

    published = [m for m in watcher.got if m.topic.value.startswith(event_topic)]
    assert [json.loads(bytes(m.payload)) for m in published] == events
    assert [m.topic.value.rsplit("/", 1)[1] for m in published] == [
        "access_control", "door_status", "access_control", "door_status", "exit_button",
        "door_status"]
    assert all(m.qos == 1 and not m.retain for m in published)
    assert bytes(published[0].payload) == json.dumps(  # compact
        events[0], separators=(",", ":"), ensure_ascii=False).encode()

    # The door states went out in order (open, closed) and the last one is retained.
    assert watcher.payloads(f"{p}/{LEVEL}/door/1/state") == [b"open", b"closed"]
    assert retained[f"{p}/{LEVEL}/door/1/state"] == b"closed"
    assert retained[f"{p}/{LEVEL}/door/2/state"] == b"open"
    last = json.loads(retained[f"{p}/{LEVEL}/last_access"])
    assert last == {"id": 3, "time": events[2]["time"], "summary": events[2]["summary"],
                    "granted": True, "user_id": "1022", "user_name": None,
                    "card_no": "12EA0003", "door": 2}
    assert retained[f"{p}/hub/status"] == b"online"
    assert not any("/event/" in topic for topic in retained)
    # Closing cleanly says so (retained), instead of leaving it to the last will.
    assert (await _retained(f"{p}/hub/status"))[f"{p}/hub/status"] == b"offline"


async def test_a_large_batch_is_acknowledged_in_order(prefixes: Prefixes,
                                                      watcher: Watcher) -> None:
    # Three chunks; not more, or Mosquitto's queue for the watcher (1,000) overflows.
    events = [_access(i, str(i), device="garagem" if i % 3 else "portaria")
              for i in range(1, 601)]
    async with _sink(_settings(prefixes)) as sink:
        outcomes = await asyncio.wait_for(sink.deliver(events), 10)
        assert len(outcomes) == 600
        assert all(isinstance(o, Delivered) for o in outcomes.values())
        await watcher.until(lambda: sum("/event/" in m.topic.value
                                        for m in watcher.got) == 600)
    ids = [json.loads(bytes(m.payload))["id"]
           for m in watcher.got if "/event/" in m.topic.value]
    assert ids == list(range(1, 601))


async def test_device_status_remembered_until_connected(prefixes: Prefixes,
                                                        watcher: Watcher) -> None:
    p = prefixes.topic
    sink = MqttSink(_settings(prefixes))
    sink.device_status("garagem", online=True)  # before open: published on connect
    await asyncio.wait_for(sink.open(), 10)
    try:
        await watcher.until(lambda: watcher.payloads(f"{p}/garagem/status") == [b"online"])
        sink.device_status(DEVICE, online=True)
        sink.device_status(DEVICE, online=False)
        await watcher.until(lambda: len(watcher.payloads(f"{p}/{LEVEL}/status")) == 2)
    finally:
        await asyncio.wait_for(sink.close(), 10)
    assert watcher.payloads(f"{p}/{LEVEL}/status") == [b"online", b"offline"]
    assert all(m.qos == 1 for m in watcher.of(f"{p}/{LEVEL}/status"))
    retained = await _retained(f"{p}/+/status")
    assert retained == {f"{p}/hub/status": b"offline", f"{p}/garagem/status": b"online",
                        f"{p}/{LEVEL}/status": b"offline"}
    # No discovery without home_assistant.
    assert not [m for m in watcher.got if m.topic.value.startswith(prefixes.discovery)]


async def test_home_assistant_discovery(prefixes: Prefixes, watcher: Watcher) -> None:
    p, ha = prefixes.topic, prefixes.discovery
    async with _sink(_settings(prefixes, home_assistant=True)) as sink:
        sink.device_status("garagem", online=True)
        await asyncio.wait_for(sink.deliver([_door(1, "Open", door=1)]), 10)
        await watcher.until(lambda: len(watcher.of(f"{p}/{LEVEL}/door/2/state")) == 1)
        configs = await _retained(f"{ha}/#")

    node = "porteiro_portaria_1__"
    assert set(configs) == {
        f"{ha}/sensor/porteiro_garagem/last_access/config",
        f"{ha}/binary_sensor/porteiro_garagem/door_1/config",
        f"{ha}/button/porteiro_garagem/open_door_1/config",
        f"{ha}/sensor/{node}/last_access/config",
        f"{ha}/binary_sensor/{node}/door_1/config",
        f"{ha}/button/{node}/open_door_1/config",
        f"{ha}/binary_sensor/{node}/door_2/config",
        f"{ha}/button/{node}/open_door_2/config",
    }
    parsed = {topic: json.loads(payload) for topic, payload in configs.items()}
    unique_ids = [c["unique_id"] for c in parsed.values()]
    assert len(set(unique_ids)) == len(unique_ids)
    assert all(u.startswith(("porteiro_garagem_", f"{node}_")) for u in unique_ids)
    door = parsed[f"{ha}/binary_sensor/{node}/door_2/config"]
    assert door["device_class"] == "door"
    assert door["state_topic"] == f"{p}/{LEVEL}/door/2/state"
    assert (door["payload_on"], door["payload_off"]) == ("open", "closed")
    assert door["device"] == {"identifiers": [node], "name": DEVICE, "manufacturer": "Intelbras",
                              "model": "Access controller"}
    assert door["availability"] == [{"topic": f"{p}/hub/status"},
                                    {"topic": f"{p}/{LEVEL}/status"}]
    assert door["availability_mode"] == "all"
    assert door["payload_available"] == "online"
    sensor = parsed[f"{ha}/sensor/{node}/last_access/config"]
    assert sensor["state_topic"] == sensor["json_attributes_topic"] == f"{p}/{LEVEL}/last_access"
    assert sensor["value_template"] == "{{ value_json.summary }}"
    button = parsed[f"{ha}/button/porteiro_garagem/open_door_1/config"]
    assert button["command_topic"] == f"{p}/garagem/door/1/open"
    # Each config went out once (first sight), retained.
    for topic in configs:
        assert len(watcher.of(topic)) == 1
        assert watcher.of(topic)[0].qos == 1


async def test_open_door_command(prefixes: Prefixes, watcher: Watcher) -> None:
    p = prefixes.topic
    calls: list[tuple[str, int, str]] = []

    async def open_door(device: str, door: int, who: str) -> str:
        calls.append((device, door, who))
        return "opened"

    async with aiomqtt.Client(HOST, PORT) as ha:
        # A retained command is ignored: it would open the door on every reconnect.
        await ha.publish(f"{p}/{LEVEL}/door/1/open", b"PRESS", qos=1, retain=True)
        async with _sink(_settings(prefixes, home_assistant=True),
                         open_door=open_door) as sink:
            sink.device_status(DEVICE, online=True)
            await watcher.until(lambda: bool(watcher.of(f"{p}/{LEVEL}/status")))
            await ha.publish(f"{p}/{LEVEL}/door/1/open", b"", qos=1, retain=True)  # cleared
            await ha.publish(f"{p}/{LEVEL}/door/x/open", b"PRESS", qos=1)  # not a door
            await ha.publish(f"{p}/{LEVEL}/door/0/open", b"PRESS", qos=1)  # not a door
            await ha.publish(f"{p}/{LEVEL}/door/2/open", b"PRESS", qos=1)
            await watcher.until(lambda: bool(watcher.of(f"{p}/{LEVEL}/door/2/open/result")))
            await asyncio.sleep(0.2)  # a wrong call would have been made by now
    assert calls == [(DEVICE, 1, "mqtt")]
    (result,) = watcher.of(f"{p}/{LEVEL}/door/2/open/result")
    assert bytes(result.payload) == b"opened"
    assert not result.retain


async def test_open_door_without_an_opener_answers_so(prefixes: Prefixes, watcher: Watcher,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    p = prefixes.topic
    async with _sink(_settings(prefixes, home_assistant=True)):
        async with aiomqtt.Client(HOST, PORT) as ha:
            await ha.publish(f"{p}/garagem/door/1/open", b"PRESS", qos=1)
        await watcher.until(lambda: bool(watcher.of(f"{p}/garagem/door/1/open/result")))
    assert watcher.payloads(f"{p}/garagem/door/1/open/result") == [
        b"opening doors is not available"]
    assert "not available" in caplog.text


# -- connection failures -------------------------------------------------------------------


class Proxy:
    """A TCP relay to the broker that can cut its connections abruptly (like a network
    failure: no DISCONNECT packet) and refuse new ones."""

    def __init__(self) -> None:
        self.port = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Cut every connection abruptly and refuse new ones (connection refused)."""
        if self.server is not None:
            self.server.close()
            self.server = None
        self.cut()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(HOST, PORT)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        for writer in self.writers:
            writer.transport.abort()  # RST both ways
        self.writers.clear()

    async def stop(self) -> None:
        await self.down()


@pytest.fixture
async def proxy() -> AsyncIterator[Proxy]:
    relay = Proxy()
    await relay.start()
    yield relay
    await relay.stop()


async def test_last_will_on_abrupt_drop_then_reconnect(prefixes: Prefixes, watcher: Watcher,
                                                       proxy: Proxy) -> None:
    p = prefixes.topic
    hub = f"{p}/hub/status"
    settings = _settings(prefixes, url=f"mqtt://127.0.0.1:{proxy.port}")
    async with _sink(settings) as sink:
        await watcher.until(lambda: watcher.payloads(hub) == [b"online"])
        await proxy.down()  # the hub "dies" for the broker: it publishes the last will
        await watcher.until(lambda: watcher.payloads(hub) == [b"online", b"offline"])
        (will,) = watcher.of(hub)[1:]
        assert will.qos == 1
        assert (await _retained(hub))[hub] == b"offline"

        sink.device_status("garagem", online=True)  # not connected: remembered
        with pytest.raises(SinkUnavailableError):
            await asyncio.wait_for(sink.deliver([_access(1, "7")]), 10)

        await proxy.start()  # back: the sink reconnects by itself (or on the next delivery)
        await watcher.until(lambda: watcher.payloads(hub)[-1:] == [b"online"])
        # The broker relays the hub's "online" before the reconnect has its PUBACKs; a
        # delivery meanwhile is refused ("reconnecting") rather than queued behind it.
        await watcher.until(lambda: sink.connected)
        outcomes = await asyncio.wait_for(sink.deliver([_access(1, "7"), _access(2, "8")]), 10)
        assert outcomes == {1: Delivered(), 2: Delivered()}
        await watcher.until(lambda: watcher.payloads(hub)[-1:] == [b"online"])
        await watcher.until(lambda: watcher.payloads(f"{p}/garagem/status") == [b"online"])

        # Dropped again while idle: the supervisor reconnects without any delivery.
        proxy.cut()
        await watcher.until(lambda: watcher.payloads(hub).count(b"offline") == 2)
        await watcher.until(lambda: watcher.payloads(hub)[-1:] == [b"online"], timeout=8)
    await watcher.until(lambda: watcher.payloads(hub)[-1:] == [b"offline"])  # close() says so


async def test_status_changed_during_a_connect_is_published_once(prefixes: Prefixes,
                                                                   watcher: Watcher) -> None:
    """A status noted while a connect is under way reaches subscribers once, whether the
    connect's own announcement carried it or a follow-up publish did."""
    sink = MqttSink(_settings(prefixes))
    opening = asyncio.create_task(sink.open())
    await asyncio.sleep(0)  # the connect holds the lock, its messages not yet built
    sink.device_status("garagem", online=True)
    try:
        await asyncio.wait_for(opening, 10)
        await watcher.until(lambda: watcher.payloads(f"{prefixes.topic}/garagem/status") != [])
        await asyncio.sleep(0.3)  # room for a duplicate to arrive
        assert watcher.payloads(f"{prefixes.topic}/garagem/status") == [b"online"]
        sink.device_status("garagem", online=False)  # connected: published at once
        await watcher.until(lambda: watcher.payloads(f"{prefixes.topic}/garagem/status")
                            == [b"online", b"offline"])
    finally:
        await asyncio.wait_for(sink.close(), 10)


async def test_drop_during_a_batch_raises_unavailable(prefixes: Prefixes,
                                                      proxy: Proxy) -> None:
    settings = _settings(prefixes, url=f"mqtt://127.0.0.1:{proxy.port}")
    events = [_access(i, str(i)) for i in range(1, 3001)]
    async with _sink(settings) as sink:
        delivery = asyncio.create_task(sink.deliver(events))
        await asyncio.sleep(0)
        await proxy.down()
        try:
            outcomes = await asyncio.wait_for(delivery, 10)
        except SinkUnavailableError:
            pass  # nothing acknowledged: the whole batch is retried
        else:  # some chunks made it: those are Delivered, the rest retried, in order
            delivered = [i for i, o in outcomes.items() if isinstance(o, Delivered)]
            assert delivered == list(range(1, len(delivered) + 1))
            assert len(delivered) < 3000


async def test_unreachable_broker_raises_unavailable(prefixes: Prefixes,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = _free_port()
    sink = MqttSink(_settings(prefixes, url=f"mqtt://hub:s3cr3t-pw@127.0.0.1:{port}"))
    with pytest.raises(SinkUnavailableError) as raised:
        await asyncio.wait_for(sink.open(), 10)
    with pytest.raises(SinkUnavailableError):
        await asyncio.wait_for(sink.deliver([_access(1, "1")]), 10)
    await sink.close()
    assert f"127.0.0.1:{port}" in str(raised.value)
    assert "s3cr3t-pw" not in str(raised.value)
    assert "s3cr3t-pw" not in caplog.text


async def test_credentials_from_the_url_and_client_id(prefixes: Prefixes,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = _settings(prefixes, url=f"mqtt://user:p%40ss-word@{HOST}:{PORT}")
    sink = MqttSink(settings)
    assert (sink._username, sink._password) == ("user", "p@ss-word")
    assert sink._client_id.startswith("porteiro-ha-")
    async with _sink(settings):  # the broker is anonymous: any credentials will do
        pass
    assert "p@ss-word" not in caplog.text
    assert MqttSink(_settings(prefixes, client_id="fixed"))._client_id == "fixed"


# -- the hub end to end --------------------------------------------------------------------


def _config(tmp_path: Path, prefixes: Prefixes) -> Path:
    path = tmp_path / "porteiro.toml"
    path.write_text(f'''[hub]
data_dir = "{tmp_path / 'data'}"

[[devices]]
name = "portaria"
host = "10.0.0.1"

[[sinks]]
type = "mqtt"
name = "ha"
url = "mqtt://{HOST}:{PORT}"
topic_prefix = "{prefixes.topic}"
discovery_prefix = "{prefixes.discovery}"
home_assistant = true
start = "beginning"
backoff_cap = 0.3
''', encoding="utf-8")
    return path


async def test_hub_forwards_pushed_events_once_in_order(tmp_path: Path, prefixes: Prefixes,
                                                        watcher: Watcher) -> None:
    p = prefixes.topic
    app = create_app(load_config(_config(tmp_path, prefixes), env={}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
            for i in range(20):
                code = "DoorStatus" if i % 4 == 3 else "AccessControl"
                data: dict[str, Any] = {"UTC": 1790715000 + i, "Door": 0}
                if code == "AccessControl":
                    data.update(CardNo=f"C{i:05d}", Method=1, Status=1, ErrorCode=0,
                                Type="Entry", UserID=str(i))
                else:
                    data.update(Status="Open" if i % 8 == 3 else "Close")
                body, ctype = format_push_body([RawEvent(code, "Pulse", 0, data)],
                                               time="01-01-2026 00:00:00")
                reply = await http.post("/notification/portaria", content=body,
                                        headers={"Content-Type": ctype})
                assert reply.text == "OK"
            await watcher.until(lambda: sum("/event/" in m.topic.value
                                            for m in watcher.got) >= 20, timeout=10)
            await asyncio.sleep(0.3)  # anything extra (a duplicate) would show up now
            # (Published on connect, and again if it came online while connecting.)
            await watcher.until(lambda: watcher.payloads(f"{p}/portaria/status")[-1:] == [
                b"online"])
    events = [json.loads(bytes(m.payload))
              for m in watcher.got if "/event/" in m.topic.value]
    assert [e["id"] for e in events] == list(range(1, 21))
    assert [e["user_id"] for e in events if e["kind"] == "access_control"] == [
        str(i) for i in range(20) if i % 4 != 3]
    assert watcher.payloads(f"{p}/portaria/door/1/state") == [b"open", b"closed"] * 2 + [
        b"open"]
    assert watcher.of(f"{prefixes.discovery}/binary_sensor/porteiro_portaria/door_1/config")
    await watcher.until(lambda: watcher.payloads(f"{p}/hub/status") == [b"online", b"offline"])


# -- TLS (a private Mosquitto with a certificate from a throwaway CA) ----------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True,  # noqa: S603, S607  # test tool
                   capture_output=True, timeout=30)


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """``(port, ca_file)`` of a Mosquitto listening with TLS only."""
    if not (shutil.which("mosquitto") and shutil.which("openssl")):
        pytest.skip("the TLS test runs its own broker: it needs mosquitto and openssl")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-out", "ca.pem", "-days", "1", "-subj", "/CN=porteiro test CA", cwd=tmp_path)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
             "server.csr", "-subj", "/CN=127.0.0.1", cwd=tmp_path)
    (tmp_path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n", encoding="utf-8")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "san.ext",
             cwd=tmp_path)
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"""listener {port} 127.0.0.1
allow_anonymous true
persistence false
user root
cafile {tmp_path / 'ca.pem'}
certfile {tmp_path / 'server.pem'}
keyfile {tmp_path / 'server.key'}
""", encoding="utf-8")
    process = subprocess.Popen(["mosquitto", "-c", str(conf)],  # noqa: S603, S607
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mosquitto with TLS did not start: {process.stderr.read()!r}"
                                if process.stderr else "mosquitto with TLS did not start")
                time.sleep(0.05)
        yield port, tmp_path / "ca.pem"
    finally:
        process.terminate()
        process.communicate(timeout=5)


async def test_tls_verifies_the_broker(prefixes: Prefixes, tls_broker: tuple[int, Path]) -> None:
    port, ca_file = tls_broker
    url = f"mqtts://127.0.0.1:{port}"
    async with _sink(_settings(prefixes, url=url, ca_file=ca_file)) as sink:
        assert await asyncio.wait_for(sink.deliver([_access(1, "1")]), 10) == {1: Delivered()}
    # Not signed by a CA the sink trusts: refused, unless told not to verify.
    with pytest.raises(SinkUnavailableError, match="certificate verify failed"):
        await asyncio.wait_for(MqttSink(_settings(prefixes, url=url)).open(), 10)
    async with _sink(_settings(prefixes, url=url, tls_insecure=True)) as sink:
        assert await asyncio.wait_for(sink.deliver([_access(2, "2")]), 10) == {2: Delivered()}


def test_a_batch_publishes_only_the_newest_last_access_per_device() -> None:
    from porteiro.forward.mqtt import newest_states  # noqa: PLC0415

    messages = [("p/a/event/access_control", b"1", False), ("p/a/last_access", b"1", True),
                ("p/b/event/access_control", b"2", False), ("p/b/last_access", b"2", True),
                ("p/a/door/1/state", b"open", True),
                ("p/a/event/access_control", b"3", False), ("p/a/last_access", b"3", True),
                ("p/a/door/1/state", b"closed", True)]
    assert newest_states(messages) == [
        ("p/a/event/access_control", b"1", False), ("p/b/event/access_control", b"2", False),
        ("p/b/last_access", b"2", True), ("p/a/door/1/state", b"open", True),
        ("p/a/event/access_control", b"3", False), ("p/a/last_access", b"3", True),
        ("p/a/door/1/state", b"closed", True)]
