"""Event error codes: the ``ErrorCode`` field of access-control events and records.

Source: the vendor's reference table ("Códigos de Erro Eventos"). Beyond the seed, the
main Intelbras portal lists **16 "Unauthorized"** (the CT 3000 portal leaves it out);
the official push capture shows it on a denied fingerprint with no user, so it is the
"credential not registered" outcome.

Resolutions of the seed's oddities (pinned by tests):

* 96 "Wainting remote verification": typo fixed to "Waiting".
* 162 "...door open sequencie is wrong": typo fixed to "sequence".
* Otherwise the English text is the seed's, word for word, awkward as some of it is
  ("No permission of this gate", "Door NC status"); the Portuguese says what it means.

Groupings are data (frozensets), so policy never hides in if-chains. Every known code
is in exactly one of ``{NONE}``, :data:`CREDENTIAL_FAILURES`, :data:`RULE_DENIALS` and
:data:`PENDING`; :data:`CREDENTIAL_TIMEOUTS` and :data:`SCHEDULE_DENIALS` are subsets.
Two codes needed a decision, both counted as credential failures (see the comments in
:data:`CREDENTIAL_FAILURES`): 17 (card lost or cancelled) and 169 (illegal card).
"""

from __future__ import annotations

from typing import Literal

from porteiro.codes._base import IntCode, register_texts

__all__ = [
    "CREDENTIAL_FAILURES",
    "CREDENTIAL_TIMEOUTS",
    "PENDING",
    "RULE_DENIALS",
    "SCHEDULE_DENIALS",
    "EventError",
    "category",
]


class EventError(IntCode):
    """Why an access attempt was refused (0 when it was not)."""

    NONE = 0
    UNAUTHORIZED = 16
    CARD_LOST_OR_CANCELLED = 17
    NO_DOOR_PERMISSION = 18
    WRONG_OPEN_MODE = 19
    VALIDITY_PERIOD = 20
    ANTI_PASSBACK = 21
    DURESS_ALARM_NOT_OPEN = 22
    DOOR_ALWAYS_CLOSED = 23
    INTERLOCK = 24
    PATROL_CARD = 25
    TIME_SECTION = 32
    HOLIDAY = 33
    CARD_OK_PASSWORD_WRONG = 64
    CARD_OK_PASSWORD_TIMEOUT = 65
    CARD_OK_FINGERPRINT_WRONG = 66
    CARD_OK_FINGERPRINT_TIMEOUT = 67
    FINGERPRINT_OK_PASSWORD_WRONG = 68
    FINGERPRINT_OK_PASSWORD_TIMEOUT = 69
    USER_ID_OK_PASSWORD_WRONG = 70
    USER_ID_OK_PASSWORD_TIMEOUT = 71
    MULTI_USER_CONTINUE = 82
    WAITING_REMOTE_VERIFICATION = 96
    CARD_OK_FACE_WRONG = 97
    CARD_OK_FACE_TIMEOUT = 98
    REPEAT_ENTRY = 99
    HIGH_TEMPERATURE = 101
    NO_MASK = 102
    MULTI_USER_SEQUENCE_WRONG = 162
    USER_FROZEN = 164
    GUEST_USES_EXHAUSTED = 165
    ILLEGAL_CARD_OVERTIME = 169


E = EventError
register_texts(
    EventError,
    {
        E.NONE: ("No error", "Sem erro"),
        E.UNAUTHORIZED: ("Unauthorized", "Não autorizado"),
        E.CARD_LOST_OR_CANCELLED: ("Card lost or cancelled", "Cartão perdido ou cancelado"),
        E.NO_DOOR_PERMISSION: ("No permission of this gate", "Sem permissão para esta porta"),
        E.WRONG_OPEN_MODE: ("Open Door mode is wrong", "Modo de abertura da porta incorreto"),
        E.VALIDITY_PERIOD: ("Expiration date error", "Fora do período de validade"),
        E.ANTI_PASSBACK: ("Anti-passback mode", "Antipassback"),
        E.DURESS_ALARM_NOT_OPEN: ("Duress alarm not open", "Alarme de coação não habilitado"),
        E.DOOR_ALWAYS_CLOSED: ("Door NC status", "Porta em estado sempre fechada"),
        E.INTERLOCK: ("AB interlock status", "Intertravamento AB ativo"),
        E.PATROL_CARD: ("Patrol card", "Cartão de ronda"),
        E.TIME_SECTION: ("Time period error", "Fora do horário permitido"),
        E.HOLIDAY: ("Wrong opening time during holidays", "Horário não permitido em feriado"),
        E.CARD_OK_PASSWORD_WRONG: ("The card is correct, the password is incorrect",
                                   "Cartão correto, senha incorreta"),
        E.CARD_OK_PASSWORD_TIMEOUT: ("The card is correct, the password timed out",
                                     "Cartão correto, tempo para a senha esgotado"),
        E.CARD_OK_FINGERPRINT_WRONG: ("The card is correct, the fingerprint is wrong",
                                      "Cartão correto, digital incorreta"),
        E.CARD_OK_FINGERPRINT_TIMEOUT: ("The card is correct, the fingerprint timed out",
                                        "Cartão correto, tempo para a digital esgotado"),
        E.FINGERPRINT_OK_PASSWORD_WRONG: ("The fingerprint is correct, the password is incorrect",
                                          "Digital correta, senha incorreta"),
        E.FINGERPRINT_OK_PASSWORD_TIMEOUT: (
            "The fingerprint is correct, and the password timed out",
            "Digital correta, tempo para a senha esgotado"),
        E.USER_ID_OK_PASSWORD_WRONG: ("UserID is correct, wrong password",
                                      "ID de usuário correto, senha incorreta"),
        E.USER_ID_OK_PASSWORD_TIMEOUT: ("UserID is correct, input password timed out",
                                        "ID de usuário correto, tempo para a senha esgotado"),
        E.MULTI_USER_CONTINUE: (
            "Single user combination to open the door requires continued verification",
            "Abertura por combinação de usuários: continue a verificação"),
        E.WAITING_REMOTE_VERIFICATION: ("Waiting remote verification",
                                        "Aguardando verificação remota"),
        E.CARD_OK_FACE_WRONG: ("The card is correct, the face is wrong",
                               "Cartão correto, face incorreta"),
        E.CARD_OK_FACE_TIMEOUT: ("The card is correct, the face timed out",
                                 "Cartão correto, tempo para a face esgotado"),
        E.REPEAT_ENTRY: ("Repeat entry", "Entrada repetida"),
        E.HIGH_TEMPERATURE: ("High temperature", "Temperatura elevada"),
        E.NO_MASK: ("Not wearing a mask", "Sem máscara"),
        E.MULTI_USER_SEQUENCE_WRONG: (
            "Single user combination door open sequence is wrong",
            "Ordem incorreta na abertura por combinação de usuários"),
        E.USER_FROZEN: ("User status error (frozen)", "Usuário bloqueado (congelado)"),
        E.GUEST_USES_EXHAUSTED: ("Guest usage time is full",
                                 "Limite de usos do visitante atingido"),
        E.ILLEGAL_CARD_OVERTIME: ("Illegal card overtime", "Cartão inválido: limite excedido"),
    },
    unknown_en="Unknown event error ({code})",
    unknown_pt="Erro de evento desconhecido ({code})",
)

CREDENTIAL_FAILURES: frozenset[EventError] = frozenset({
    E.UNAUTHORIZED,
    # 17: the card was reported lost or cancelled (CardStatus 1). The card itself is
    # void, whoever holds it, so no rule about where or when applies: a credential
    # failure. (A *frozen user* is 164, a rule denial: the credential is fine.)
    E.CARD_LOST_OR_CANCELLED,
    E.CARD_OK_PASSWORD_WRONG, E.CARD_OK_PASSWORD_TIMEOUT,
    E.CARD_OK_FINGERPRINT_WRONG, E.CARD_OK_FINGERPRINT_TIMEOUT,
    E.FINGERPRINT_OK_PASSWORD_WRONG, E.FINGERPRINT_OK_PASSWORD_TIMEOUT,
    E.USER_ID_OK_PASSWORD_WRONG, E.USER_ID_OK_PASSWORD_TIMEOUT,
    E.CARD_OK_FACE_WRONG, E.CARD_OK_FACE_TIMEOUT,
    E.MULTI_USER_SEQUENCE_WRONG,
    # 169 "Illegal card overtime": the seed's only words. On Dahua firmware an "illegal"
    # card is one the device does not accept (unregistered or void), and "overtime"
    # reads as "more than the allowed times/time". Either way the card is refused for
    # what it is, not by a rule about a valid card: a credential failure. [GUESS]
    E.ILLEGAL_CARD_OVERTIME,
})
"""The presented credential, or one factor of it, did not verify."""

CREDENTIAL_TIMEOUTS: frozenset[EventError] = frozenset({
    E.CARD_OK_PASSWORD_TIMEOUT, E.CARD_OK_FINGERPRINT_TIMEOUT,
    E.FINGERPRINT_OK_PASSWORD_TIMEOUT, E.USER_ID_OK_PASSWORD_TIMEOUT, E.CARD_OK_FACE_TIMEOUT,
})
"""The first factor verified but the second was not given in time (subset of failures)."""

SCHEDULE_DENIALS: frozenset[EventError] = frozenset({
    E.VALIDITY_PERIOD, E.TIME_SECTION, E.HOLIDAY,
})
"""Refused because of when: validity period, time section, holiday schedule."""

RULE_DENIALS: frozenset[EventError] = SCHEDULE_DENIALS | frozenset({
    E.NO_DOOR_PERMISSION, E.WRONG_OPEN_MODE, E.ANTI_PASSBACK, E.DURESS_ALARM_NOT_OPEN,
    E.DOOR_ALWAYS_CLOSED, E.INTERLOCK, E.PATROL_CARD, E.REPEAT_ENTRY, E.HIGH_TEMPERATURE,
    E.NO_MASK, E.USER_FROZEN, E.GUEST_USES_EXHAUSTED,
})
"""The credential was fine, a rule refused it (door, mode, schedule, state, health)."""

PENDING: frozenset[EventError] = frozenset({
    E.MULTI_USER_CONTINUE, E.WAITING_REMOTE_VERIFICATION,
})
"""Not a final decision: more verification (another user, the remote server) follows."""

del E

Category = Literal["ok", "credential", "rule", "pending", "unknown"]


def category(error: EventError) -> Category:
    """``ok``, ``credential``, ``rule``, ``pending`` or ``unknown`` for an event error."""
    if error == EventError.NONE:
        return "ok"
    if error in CREDENTIAL_FAILURES:
        return "credential"
    if error in RULE_DENIALS:
        return "rule"
    if error in PENDING:
        return "pending"
    return "unknown"
