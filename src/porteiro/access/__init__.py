"""The access-decision engine: users, credentials and schedules -> Method/ErrorCode.

Pure (no I/O, no clock): the emulator uses it to behave like a reader, and the hub
will use it to answer Modo Online requests with the same rules.
"""

from porteiro.access.engine import (
    Decision,
    History,
    MemoryHistory,
    decide,
    factors_of,
    method_for,
)
from porteiro.access.messages import display_message
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
from porteiro.access.people import (
    ALL_DEVICES,
    CardState,
    Directory,
    Person,
    PersonStatus,
    PersonType,
    SiteCard,
)

__all__ = [
    "ALL_DEVICES",
    "ALWAYS",
    "ANY",
    "AccessRules",
    "Card",
    "CardState",
    "Decision",
    "Directory",
    "DoorRule",
    "Factor",
    "History",
    "MemoryHistory",
    "OpenRequirement",
    "Person",
    "PersonStatus",
    "PersonType",
    "Presentation",
    "Schedule",
    "SiteCard",
    "User",
    "UserStatus",
    "decide",
    "display_message",
    "factors_of",
    "method_for",
]
