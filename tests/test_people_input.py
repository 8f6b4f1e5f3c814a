"""The people edge schema and file formats, without a hub."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from porteiro.access import CardState
from porteiro.hub.people import PersonInput, parse_people_file, people_csv


def test_reserved_ids_are_refused() -> None:
    with pytest.raises(ValidationError, match="reserved"):
        PersonInput(user_id="export")


def test_csv_cards_carry_type_and_state_both_ways() -> None:
    person = PersonInput.model_validate(
        {"user_id": "1", "cards": "AB12;CD34:lost;EF56:vip:frozen"}).to_person(
        keep_device_password=True)
    assert [(c.card_no, c.card_type.name, c.status) for c in person.cards] == [
        ("AB12", "ORDINARY", CardState.NORMAL), ("CD34", "ORDINARY", CardState.LOST),
        ("EF56", "VIP", CardState.FROZEN)]
    (row,) = parse_people_file(people_csv([person]).encode(), "csv")
    assert row["cards"] == "AB12;CD34:lost;EF56:vip:frozen"
    again = PersonInput.model_validate(row).to_person(keep_device_password=True)
    assert again.cards == person.cards


def test_a_bad_list_cell_fails_its_row_only() -> None:
    rows = parse_people_file(b"user_id,doors\n1,0;1\n2,x\n", "csv")
    assert rows[0]["doors"] == [0, 1]
    with pytest.raises(ValidationError) as caught:
        PersonInput.model_validate(rows[1])
    assert caught.value.errors()[0]["loc"][0] == "doors"


def test_validation_messages_come_in_portuguese_too() -> None:
    from porteiro.hub.people import validation_problems  # noqa: PLC0415

    with pytest.raises(ValidationError) as caught:
        PersonInput.model_validate({"user_id": "a b", "doors": [9], "cards": ["12-EA"],
                                    "name": "x" * 70, "guest_uses": -1, "zz": 1})
    found = {p["field"]: p["message_pt"] for p in validation_problems(caught.value)}
    assert found["user_id"] == "use de 1 a 30 letras, dígitos, _ ou -"
    assert found["doors"] == "as portas são de 0 a 7 (0 é a primeira porta)"
    assert found["cards.0.card_no"].startswith("um número de cartão")
    assert found["name"] == "texto longo demais (no máximo 64 caracteres)"
    assert found["guest_uses"] == "deve ser maior ou igual a 0"
    assert found["zz"] == "campo desconhecido"
