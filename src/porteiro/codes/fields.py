"""Small tables for the fields around the codes: mask, user/card types, door states...

Sources: the reference's parametros page (Mask), the user/card registration pages
(UserType, CardType, CardStatus, Authority), the event formats (Type Entry/Exit,
Status, door Status Open/Close), the door configuration (State Normal/CloseAlways/
OpenAlways) and the push/Modo Online pages (DeviceMode).

Resolution (pinned by a test): **UserType 5.** The registration page calls it
"disabled", but Intelbras support told an integrator that 5 is the *accessibility*
user type and that the blocking type is 1 (blocklist); the later, more specific
statement wins: :attr:`UserType.ACCESSIBILITY`. The reading matters: "disabled" invites
using 5 to switch a user off, which would *not* block anyone; block with 1 (or a
frozen/cancelled status).

Other notes: ``DoorState`` is ``Close`` on the wire (``Closed`` is accepted as an
alias); ``DeviceMode`` 3 is both "Servidor de Envio de Eventos 2.0" and "Modo Online
2.0" (``Intelbras_ModeCfgII.OnlineAuthServer.Enable`` tells them apart).
"""

from __future__ import annotations

from porteiro.codes._base import IntCode, StrCode, register_texts

__all__ = [
    "AccessResult",
    "Authority",
    "CardStatus",
    "CardType",
    "DeviceMode",
    "Direction",
    "DoorMode",
    "DoorState",
    "Mask",
    "UserType",
]


class Mask(IntCode):
    """Whether the person wore a mask (face readers)."""

    UNKNOWN = 0
    WITHOUT_MASK = 1
    WITH_MASK = 2


register_texts(Mask, {
    Mask.UNKNOWN: ("Unknown", "Desconhecido"),
    Mask.WITHOUT_MASK: ("Without mask", "Sem máscara"),
    Mask.WITH_MASK: ("With mask", "Com máscara"),
}, unknown_en="Unknown mask state ({code})", unknown_pt="Estado de máscara desconhecido ({code})")


class UserType(IntCode):
    """The kind of user (``UserType`` in users and events)."""

    GENERAL = 0
    BLOCKLIST = 1
    GUEST = 2
    PATROL = 3
    VIP = 4
    ACCESSIBILITY = 5


register_texts(UserType, {
    UserType.GENERAL: ("General user", "Usuário comum"),
    UserType.BLOCKLIST: ("Blocklisted user", "Usuário bloqueado (lista de bloqueio)"),
    UserType.GUEST: ("Guest", "Visitante"),
    UserType.PATROL: ("Patrol", "Ronda"),
    UserType.VIP: ("VIP", "VIP"),
    UserType.ACCESSIBILITY: ("Accessibility user", "Usuário com acessibilidade"),
}, unknown_en="Unknown user type ({code})", unknown_pt="Tipo de usuário desconhecido ({code})")


class CardType(IntCode):
    """The kind of card (``CardType``)."""

    ORDINARY = 0
    VIP = 1
    GUEST = 2
    PATROL = 3
    BLOCKLIST = 4
    DURESS = 5


register_texts(CardType, {
    CardType.ORDINARY: ("Ordinary card", "Cartão comum"),
    CardType.VIP: ("VIP card", "Cartão VIP"),
    CardType.GUEST: ("Guest card", "Cartão de visitante"),
    CardType.PATROL: ("Patrol card", "Cartão de ronda"),
    CardType.BLOCKLIST: ("Blocklisted card", "Cartão bloqueado (lista de bloqueio)"),
    CardType.DURESS: ("Duress card", "Cartão de coação"),
}, unknown_en="Unknown card type ({code})", unknown_pt="Tipo de cartão desconhecido ({code})")


class CardStatus(IntCode):
    """A card's state (``CardStatus``)."""

    NORMAL = 0
    CANCELLED = 1
    FROZEN = 2


register_texts(CardStatus, {
    CardStatus.NORMAL: ("Normal", "Normal"),
    CardStatus.CANCELLED: ("Lost or cancelled", "Perdido ou cancelado"),
    CardStatus.FROZEN: ("Frozen", "Congelado"),
}, unknown_en="Unknown card status ({code})",
   unknown_pt="Situação de cartão desconhecida ({code})")


class Authority(IntCode):
    """A user's authority on the device."""

    ADMIN = 1
    NORMAL = 2


register_texts(Authority, {
    Authority.ADMIN: ("Administrator", "Administrador"),
    Authority.NORMAL: ("Normal user", "Usuário comum"),
}, unknown_en="Unknown authority ({code})", unknown_pt="Autoridade desconhecida ({code})")


class AccessResult(IntCode):
    """The ``Status`` field of access events and records."""

    DENIED = 0
    GRANTED = 1


register_texts(AccessResult, {
    AccessResult.DENIED: ("Denied", "Negado"),
    AccessResult.GRANTED: ("Granted", "Liberado"),
}, unknown_en="Unknown access result ({code})",
   unknown_pt="Resultado de acesso desconhecido ({code})")


class DeviceMode(IntCode):
    """``Intelbras_ModeCfg.DeviceMode``: how the device reports and decides."""

    STAND_ALONE = 0
    EVENT_PUSH = 1
    ONLINE = 2
    PUSH_V2 = 3


register_texts(DeviceMode, {
    DeviceMode.STAND_ALONE: ("Stand-alone", "Autônomo (StandAlone)"),
    DeviceMode.EVENT_PUSH: ("Event push server", "Servidor de Envio de Eventos"),
    DeviceMode.ONLINE: ("Modo Online (server decides access)",
                        "Modo Online (o servidor decide o acesso)"),
    DeviceMode.PUSH_V2: ("Event push / Modo Online 2.0", "Envio de Eventos / Modo Online 2.0"),
}, unknown_en="Unknown device mode ({code})",
   unknown_pt="Modo de dispositivo desconhecido ({code})")


class Direction(StrCode):
    """``Type`` of an access event: entering or leaving."""

    ENTRY = "Entry"
    EXIT = "Exit"


register_texts(Direction, {
    Direction.ENTRY: ("Entry", "Entrada"),
    Direction.EXIT: ("Exit", "Saída"),
}, unknown_en="Unknown direction {code}", unknown_pt="Sentido desconhecido {code}")


class DoorState(StrCode):
    """A door contact's state (DoorStatus events, ``getDoorStatus``)."""

    OPEN = "Open"
    CLOSED = "Close"


register_texts(DoorState, {
    DoorState.OPEN: ("Open", "Aberta"),
    DoorState.CLOSED: ("Closed", "Fechada"),
}, unknown_en="Unknown door state {code}", unknown_pt="Estado de porta desconhecido {code}",
   # Devices send "Close"; "Closed" is the spelling people (and some docs) use.
   aliases={"Closed": DoorState.CLOSED})


class DoorMode(StrCode):
    """``AccessControl[n].State``: normal operation or held closed/open."""

    NORMAL = "Normal"
    ALWAYS_CLOSED = "CloseAlways"
    ALWAYS_OPEN = "OpenAlways"


register_texts(DoorMode, {
    DoorMode.NORMAL: ("Normal", "Normal"),
    DoorMode.ALWAYS_CLOSED: ("Always closed", "Sempre fechada"),
    DoorMode.ALWAYS_OPEN: ("Always open", "Sempre aberta"),
}, unknown_en="Unknown door mode {code}", unknown_pt="Modo de porta desconhecido {code}")
