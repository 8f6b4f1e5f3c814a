"""The server devices talk to (work in progress, issue [4/8])."""

from porteiro.hub.app import Hub, create_app
from porteiro.hub.config import ConfigError, HubConfig, load_config

__all__ = ["ConfigError", "Hub", "HubConfig", "create_app", "load_config"]
