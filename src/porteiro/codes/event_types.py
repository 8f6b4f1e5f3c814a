"""Event types: the ``Code`` of every event (attach stream, push bodies).

Source: the vendor's reference table ("Tipos de eventos retornados"). Resolutions
(pinned by tests):

* ``Button / ButtonExit`` share one row: they are one event (the exit button) that
  firmware generations spell differently, and the official attach example sends
  ``_Button_``. One member, :attr:`EventCode.EXIT_BUTTON` (``ButtonExit``, the name the
  attach ``codes=`` filter uses), with ``Button`` and ``_Button_`` as aliases. Events
  keep the code exactly as sent.
* ``KeepLightOn / KeepLightOff`` share one row but are two states of the night light:
  two members.
* Beyond the seed: ``_FingerPrintCollect_``, seen in the official push capture (a
  fingerprint being enrolled at the device, with the user's data).

Texts: the seed describes each event in Portuguese only; the ``pt`` texts are those
descriptions cut down to log-line labels ("Evento de arrombamento de porta" ->
"Arrombamento de porta"), and the ``en`` texts are translations of them.

Lookup ignores case, surrounding spaces and underscores; unknown codes become
pseudo-members that keep the code as sent.
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import TYPE_CHECKING

from porteiro.codes._base import StrCode, register_texts

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ATTACH_FILTER_NAMES", "KIND_OF", "EventCode", "EventKind", "kind_of"]


class EventCode(StrCode):
    """An event type as the device names it."""

    UPGRADE = "Upgrade"
    REBOOT = "Reboot"
    BREAK_IN = "BreakIn"
    DOOR_STATUS = "DoorStatus"
    ALARM_LOCAL = "AlarmLocal"
    NEW_FILE = "NewFile"
    UPDATE_FILE = "UpdateFile"
    DOOR_NOT_CLOSED = "DoorNotClosed"
    NETWORK_CHANGE = "NetworkChange"
    ACCESS_CONTROL = "AccessControl"
    KEEP_LIGHT_ON = "KeepLightOn"
    KEEP_LIGHT_OFF = "KeepLightOff"
    SCREEN_SAVER = "ScreenSaver"
    TIME_CHANGE = "TimeChange"
    MANAGER_LOG = "ManagerLog"
    EXIT_BUTTON = "ButtonExit"
    DURESS = "Duress"
    CHASSIS_INTRUDED = "ChassisIntruded"
    FINGERPRINT_COLLECT = "_FingerPrintCollect_"


C = EventCode
register_texts(
    EventCode,
    {
        C.UPGRADE: ("Firmware upgrade started", "Atualização de firmware iniciada"),
        C.REBOOT: ("Device rebooted", "Dispositivo reiniciado"),
        C.BREAK_IN: ("Door forced open (break-in)", "Arrombamento de porta"),
        C.DOOR_STATUS: ("Door status", "Status da porta"),
        C.ALARM_LOCAL: ("Local alarm triggered", "Alarme local disparado"),
        C.NEW_FILE: ("File registered on the device", "Arquivo cadastrado no dispositivo"),
        C.UPDATE_FILE: ("File updated on the device", "Arquivo atualizado no dispositivo"),
        C.DOOR_NOT_CLOSED: ("Door not closed", "Porta não fechada"),
        C.NETWORK_CHANGE: ("Network settings changed", "Configurações de rede alteradas"),
        C.ACCESS_CONTROL: ("Access control", "Controle de acesso"),
        C.KEEP_LIGHT_ON: ("Night light switched on", "Luz noturna ligada"),
        C.KEEP_LIGHT_OFF: ("Night light switched off", "Luz noturna desligada"),
        C.SCREEN_SAVER: ("Screen saver state changed", "Estado da proteção de tela alterado"),
        C.TIME_CHANGE: ("Device time changed", "Hora do dispositivo alterada"),
        C.MANAGER_LOG: ("Change made in the web interface", "Alteração feita pela interface web"),
        C.EXIT_BUTTON: ("Exit button pressed", "Botão de saída acionado"),
        C.DURESS: ("Duress credential used", "Credencial de coação utilizada"),
        C.CHASSIS_INTRUDED: ("Device tamper attempt (removal from the wall)",
                             "Tentativa de violação do dispositivo (remoção da parede)"),
        C.FINGERPRINT_COLLECT: ("Fingerprint collection", "Coleta de digital"),
    },
    unknown_en="Unknown event {code}",
    unknown_pt="Evento desconhecido {code}",
    aliases={"Button": C.EXIT_BUTTON, "_Button_": C.EXIT_BUTTON},
)


class EventKind(enum.StrEnum):
    """Which typed event record an event code becomes."""

    ACCESS_CONTROL = "access_control"
    DOOR_STATUS = "door_status"
    ALARM = "alarm"
    EXIT_BUTTON = "exit_button"
    SYSTEM = "system"
    UNKNOWN = "unknown"


K = EventKind
KIND_OF: Mapping[EventCode, EventKind] = MappingProxyType({
    C.ACCESS_CONTROL: K.ACCESS_CONTROL,
    C.DOOR_STATUS: K.DOOR_STATUS,
    C.BREAK_IN: K.ALARM,
    C.DOOR_NOT_CLOSED: K.ALARM,
    C.DURESS: K.ALARM,
    C.CHASSIS_INTRUDED: K.ALARM,
    C.ALARM_LOCAL: K.ALARM,
    C.EXIT_BUTTON: K.EXIT_BUTTON,
    C.UPGRADE: K.SYSTEM,
    C.REBOOT: K.SYSTEM,
    C.NEW_FILE: K.SYSTEM,
    C.UPDATE_FILE: K.SYSTEM,
    C.NETWORK_CHANGE: K.SYSTEM,
    C.KEEP_LIGHT_ON: K.SYSTEM,
    C.KEEP_LIGHT_OFF: K.SYSTEM,
    C.SCREEN_SAVER: K.SYSTEM,
    C.TIME_CHANGE: K.SYSTEM,
    C.MANAGER_LOG: K.SYSTEM,
    C.FINGERPRINT_COLLECT: K.SYSTEM,
})
"""Event code -> the kind of typed record it becomes."""
del C, K

_KIND_BY_VALUE: dict[str, EventKind] = {code.value: kind for code, kind in KIND_OF.items()}


def kind_of(code: EventCode) -> EventKind:
    """The kind of a (possibly unknown) event code; unknown codes are ``UNKNOWN``."""
    return _KIND_BY_VALUE.get(code._value_, EventKind.UNKNOWN)


ATTACH_FILTER_NAMES: tuple[str, ...] = (
    "All", "AccessControl", "DoorStatus", "DoorNotClosed", "BreakIn", "Duress", "AlarmLocal",
    "ChassisIntruded", "ButtonExit",
)
"""Names the ``eventManager.cgi?action=attach&codes=[...]`` filter accepts (official page
lists All, DoorNotClosed, BreakIn, Duress, AlarmLocal, ChassisIntruded, ButtonExit,
AccessControl; DoorStatus is accepted by Dahua firmware)."""
