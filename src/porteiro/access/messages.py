"""What a reader's display shows for a Modo Online answer, in English and pt-BR.

Short texts that tell the person why ("Fora do horário permitido"), one per outcome of
the access engine. Readers show the ``message`` of the reply [OFFICIAL-EX]; how many
characters fit is not documented, so the texts stay under about 32 characters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from porteiro.codes import Direction, EventError

if TYPE_CHECKING:
    from porteiro.codes import Lang

__all__ = ["display_message"]

E = EventError

_MESSAGES: dict[EventError, tuple[str, str]] = {
    E.NONE: ("Access granted", "Acesso liberado"),
    E.UNAUTHORIZED: ("Not registered", "Não cadastrado"),
    E.CARD_LOST_OR_CANCELLED: ("Card lost or cancelled", "Cartão perdido ou cancelado"),
    E.NO_DOOR_PERMISSION: ("No permission for this door", "Sem permissão nesta porta"),
    E.WRONG_OPEN_MODE: ("Method not allowed here", "Método não permitido aqui"),
    E.VALIDITY_PERIOD: ("Outside the validity period", "Fora do período de validade"),
    E.ANTI_PASSBACK: ("Anti-passback: already inside", "Antipassback: já está dentro"),
    E.DOOR_ALWAYS_CLOSED: ("Door locked", "Porta bloqueada"),
    E.INTERLOCK: ("Wait: another door is open", "Aguarde: outra porta aberta"),
    E.PATROL_CARD: ("Patrol recorded", "Ronda registrada"),
    E.TIME_SECTION: ("Outside the allowed hours", "Fora do horário permitido"),
    E.HOLIDAY: ("Not allowed on holidays", "Não permitido em feriado"),
    E.REPEAT_ENTRY: ("Already passed: please wait", "Acesso repetido: aguarde"),
    E.NO_MASK: ("Please wear a mask", "Use máscara"),
    E.HIGH_TEMPERATURE: ("High temperature", "Temperatura alta"),
    E.USER_FROZEN: ("Access suspended", "Cadastro suspenso"),
    E.GUEST_USES_EXHAUSTED: ("No passages left", "Limite de acessos atingido"),
}
_WRONG_PASSWORD = ("Wrong password", "Senha incorreta")
_BLOCKED = ("Access blocked", "Acesso bloqueado")
_DENIED = ("Access denied", "Acesso negado")


def display_message(error: EventError, lang: Lang, *, direction: Direction | None = None,
                    blocklisted: bool = False) -> str:
    """The display text for an engine outcome (``EventError.NONE``: granted)."""
    pt = lang == "pt"
    if blocklisted:
        return _BLOCKED[pt]
    if error == E.ANTI_PASSBACK and direction == Direction.EXIT:
        return "Antipassback: já saiu" if pt else "Anti-passback: already out"
    texts = _MESSAGES.get(error)
    if texts is None:
        texts = _WRONG_PASSWORD if "PASSWORD_WRONG" in str(error.name) else _DENIED
    return texts[pt]
