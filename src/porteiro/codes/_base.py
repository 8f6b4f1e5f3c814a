"""Machinery shared by every code table: bilingual text and unknown-code handling.

Every table is an ``IntEnum`` (numeric codes) or ``StrEnum`` (event names). Looking
up a code the table does not know never raises: ``_missing_`` returns a
*pseudo-member* that keeps the raw value, reports ``known is False`` and describes
itself as unknown in both languages. Pseudo-members compare equal to their raw
value (they are ints/strs), so storing ``int(member)`` always stores what the
device sent.

Texts live in a per-table mapping ``member -> (english, portuguese)`` registered
with :func:`register_texts`, so the tables stay plain data.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, ClassVar, Literal, Self, cast

if TYPE_CHECKING:
    from collections.abc import Mapping

Lang = Literal["en", "pt"]
"""Languages every human-facing text exists in: English and Brazilian Portuguese."""

LANGS: tuple[Lang, ...] = ("en", "pt")


def normalize_lang(value: str) -> Lang:
    """Map ``en``, ``pt``, ``pt-BR``, ``pt_br``, ``EN-us``... to a :data:`Lang`."""
    low = value.strip().lower().replace("_", "-")
    if low.startswith("pt"):
        return "pt"
    if low.startswith("en"):
        return "en"
    raise ValueError(f"unsupported language {value!r}: use 'en' or 'pt'")


class _Texts:
    """Per-table texts and the wording used for unknown codes."""

    __slots__ = ("by_value", "folded", "unknown_en", "unknown_pt")

    def __init__(
        self,
        by_value: dict[int | str, tuple[str, str]],
        unknown_en: str,
        unknown_pt: str,
        folded: dict[str, object],
    ) -> None:
        self.by_value = by_value
        self.unknown_en = unknown_en
        self.unknown_pt = unknown_pt
        self.folded = folded


class _CodeMixin:
    """Behaviour shared by :class:`IntCode` and :class:`StrCode`."""

    _texts_: ClassVar[_Texts]
    _name_: str

    def _raw(self) -> int | str:  # pragma: no cover - always overridden
        raise NotImplementedError

    @property
    def code(self) -> int | str:
        """The raw code as the device sends it."""
        return self._raw()

    @property
    def known(self) -> bool:
        """False for a pseudo-member made up for a code the table does not know."""
        return self._raw() in self._texts_.by_value

    @property
    def en(self) -> str:
        """English text."""
        return self.text("en")

    @property
    def pt(self) -> str:
        """Brazilian Portuguese text."""
        return self.text("pt")

    def text(self, lang: Lang = "en") -> str:
        """The member's description in ``lang``; unknown codes say so and show the code."""
        raw = self._raw()
        pair = self._texts_.by_value.get(raw)
        if pair is None:
            template = self._texts_.unknown_pt if lang == "pt" else self._texts_.unknown_en
            return template.format(code=raw)
        return pair[1] if lang == "pt" else pair[0]

    def describe(self, lang: Lang = "en") -> dict[str, int | str]:
        """``{"code", "name", "text"}``: the shape used in JSON output everywhere."""
        return {"code": self._raw(), "name": self._name_, "text": self.text(lang)}


class IntCode(_CodeMixin, enum.IntEnum):
    """A numeric code table whose unknown values decode to raw pseudo-members."""

    def _raw(self) -> int:
        return self._value_

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str):
                stripped = value.strip()
                digits = stripped.removeprefix("-")
                # ASCII decimal digits only: "²" passes str.isdigit() but int() refuses
                # it, "--5" passed lstrip("-"), and "١٢" is not what a device sends.
                if digits.isascii() and digits.isdecimal():
                    return cls(int(stripped))  # known or pseudo-member, never raises
            return None
        pseudo = int.__new__(cls, value)
        pseudo._name_ = f"UNKNOWN_{value}"
        pseudo._value_ = value
        return pseudo

    @classmethod
    def get(cls, value: object) -> Self | None:
        """Lenient lookup: a member for an ``int`` or a digit string, else None.

        None, booleans, floats and other garbage give None (a float such as ``15.0``
        would otherwise hit the member 15 through its hash while ``999.0`` failed).
        The hot path (a known ``int``) is one dict probe; decoding calls this per field.
        """
        if type(value) is int:
            hit = cls._value2member_map_.get(value)
            if hit is not None:
                return cast("Self", hit)
        elif isinstance(value, bool) or not isinstance(value, int | str):
            return None
        try:
            # Enum's call machinery routes non-int values to _missing_, which accepts
            # digit strings and refuses everything else with ValueError.
            return cls(cast("int", value))
        except ValueError:
            return None


def _fold(value: str) -> str:
    return value.strip().strip("_").replace("_", "").lower()


class StrCode(_CodeMixin, enum.StrEnum):
    """A textual code table (event names) matched leniently.

    Lookup ignores case, surrounding whitespace and underscores (``_Button_`` and
    ``button`` find the same member) and honours the aliases given to
    :func:`register_texts`.
    """

    def _raw(self) -> str:
        return self._value_

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, str):
            return None
        hit = cls._texts_.folded.get(_fold(value))
        if isinstance(hit, cls):
            return hit
        pseudo = str.__new__(cls, value)
        pseudo._name_ = "UNKNOWN"
        pseudo._value_ = value
        return pseudo


def register_texts(
    table: type[IntCode] | type[StrCode],
    texts: Mapping[object, tuple[str, str]],
    *,
    unknown_en: str,
    unknown_pt: str,
    aliases: Mapping[str, object] | None = None,
) -> None:
    """Attach ``member -> (en, pt)`` texts to ``table``; every member must have one.

    ``unknown_en``/``unknown_pt`` are templates with a ``{code}`` field, used for
    codes the table does not know. ``aliases`` (textual tables only) maps other
    spellings a device sends to a member.
    """
    missing = [m.name for m in table if m not in texts]
    if missing:
        raise ValueError(f"{table.__name__}: no text for {missing}")
    foreign = [key for key in texts if not isinstance(key, table)]
    if foreign:
        raise ValueError(f"{table.__name__}: texts given for non-members {foreign}")
    by_value: dict[int | str, tuple[str, str]] = {}
    for member, pair in texts.items():
        by_value[member.value] = pair  # type: ignore[attr-defined]  # keys are members
    folded: dict[str, object] = {}
    if issubclass(table, StrCode):
        for member in table:
            folded[_fold(member.value)] = member
        for alias, target in (aliases or {}).items():
            folded[_fold(alias)] = target
    elif aliases:
        raise ValueError(f"{table.__name__}: aliases are for textual tables only")
    table._texts_ = _Texts(by_value, unknown_en, unknown_pt, folded)
