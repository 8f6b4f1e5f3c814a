"""The ``[[sinks]]`` configuration contract."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from porteiro.forward import MqttSinkSettings, WebhookSinkSettings
from porteiro.hub import ConfigError, load_config

if TYPE_CHECKING:
    from pathlib import Path

CONTRACT = '''[[sinks]]
type = "mqtt"
url = "mqtt://127.0.0.1:1883"
topic_prefix = "porteiro"
home_assistant = true

[[sinks]]
type = "webhook"
url = "http://127.0.0.1:9000/hook"
secret = "shared-secret"
kinds = ["access", "alarm"]      # optional filter
'''


def test_the_documented_sinks_load(tmp_path: Path) -> None:
    path = tmp_path / "porteiro.toml"
    path.write_text(CONTRACT, encoding="utf-8")
    mqtt, webhook = load_config(path, env={}).sinks
    assert isinstance(mqtt, MqttSinkSettings)
    assert (mqtt.name, mqtt.topic_prefix, mqtt.home_assistant) == ("mqtt-1", "porteiro", True)
    assert isinstance(webhook, WebhookSinkSettings)
    assert webhook.name == "webhook-2"
    assert webhook.kinds == ["access_control", "alarm"]
    assert (webhook.start, webhook.retention_days) == ("now", 7.0)


@pytest.mark.parametrize(("text", "named"), [
    ('[[sinks]]\ntype = "kafka"\n', "sinks.0"),
    ('[[sinks]]\ntype = "webhook"\nurl = "ftp://x/y"\n', "sinks.0.webhook.url"),
    ('[[sinks]]\ntype = "mqtt"\nurl = "http://broker"\n', "sinks.0.mqtt.url"),
    ('[[sinks]]\ntype = "webhook"\nurl = "http://x/y"\nkinds = ["acess"]\n',
     "sinks.0.webhook.kinds"),
    ('[[sinks]]\ntype = "mqtt"\ntopic_prefix = "a/#"\n', "sinks.0.mqtt.topic_prefix"),
    ('[[sinks]]\ntype = "webhook"\nname = "x"\nurl = "http://x/y"\n' * 2,
     "sink names must be unique"),
])
def test_bad_sinks_name_the_key(tmp_path: Path, text: str, named: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(path, env={})
