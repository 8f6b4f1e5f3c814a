"""``/api/codes``: the device's code tables (methods, errors, event types...) in en/pt."""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from porteiro.api.auth import TokenAuth
from porteiro.codes import TABLES, Lang
from porteiro.codes.catalogue import catalogue, lookup, record, table_of

__all__ = ["codes_router"]


def codes_router(auth: TokenAuth, default_lang: Lang) -> APIRouter:
    """The code-table routes (the same records as ``porteiro codes --json``)."""
    router = APIRouter(prefix="/api", tags=["codes"])
    read = [Depends(auth.require("read"))]
    LangParam = Annotated[Lang | None, Query(  # noqa: N806  # a type alias
        description="Language of the text field (en and pt are always included).")]

    def table_or_404(name: str) -> str:
        table = table_of(name)
        if table is None:
            raise HTTPException(404, f"no table {name!r}; tables: {', '.join(TABLES)}")
        return table

    @router.get("/codes", dependencies=read)
    async def all_codes(lang: LangParam = None) -> dict[str, Any]:
        return {"tables": catalogue(lang or default_lang)}

    @router.get("/codes/{table}", dependencies=read)
    async def one_table(table: str, lang: LangParam = None) -> dict[str, Any]:
        return catalogue(lang or default_lang, table_or_404(table))[0]

    @router.get("/codes/{table}/{code}", dependencies=read)
    async def one_code(table: str, code: str, lang: LangParam = None) -> dict[str, Any]:
        name = table_or_404(table)
        member = lookup(name, code)
        if member is None:
            raise HTTPException(422, f"{name} codes are numbers, not {code!r}")
        if not member.known:
            raise HTTPException(404, f"{name}: code {code} is not in the table")
        return record(name, member, lang or default_lang)

    return router
