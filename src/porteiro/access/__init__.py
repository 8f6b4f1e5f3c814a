"""The access-decision engine: users, credentials and schedules -> Method/ErrorCode.

Pure (no I/O, no clock): the emulator uses it to behave like a reader, and the hub
will use it to answer Modo Online requests with the same rules.
"""

from porteiro.access.engine import Decision, History, MemoryHistory, decide, method_for
from porteiro.access.model import (
    ALWAYS,
    ANY,
    AccessRules,
    Card,
    DoorRule,
    Factor,
    OpenRequirement,
    Presentation,
    Schedule,
    User,
    UserStatus,
)

__all__ = [
    "ALWAYS",
    "ANY",
    "AccessRules",
    "Card",
    "Decision",
    "DoorRule",
    "Factor",
    "History",
    "MemoryHistory",
    "OpenRequirement",
    "Presentation",
    "Schedule",
    "User",
    "UserStatus",
    "decide",
    "method_for",
]
