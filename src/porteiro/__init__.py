"""Porteiro: the server side for Intelbras access-control readers.

Layers, lowest first (a layer never imports a higher one):
``codes`` -> ``wire`` -> ``events`` -> ``device``/``access``/``emulator`` -> ``hub``,
``store``, ``forward`` -> ``api`` -> ``cli``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("porteiro")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
