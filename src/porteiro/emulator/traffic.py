"""Generated traffic: a realistic day at a reader, at a chosen rate.

:func:`populate` registers a believable directory (Brazilian names, cards, faces, a
guest, a blocklisted visitor, a lost card...); :func:`run_traffic` then drives the
device at ``rate`` actions per second for ``duration`` seconds: mostly people passing
with cards and faces, some denials (unknown cards, wrong doors, lost cards, blocked
visitors), door contacts opening and closing, exit buttons, and now and then an alarm.
Each action goes through the same paths as a real presentation, so the events, codes
and records are the device's own.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING

from porteiro.access import Card, Presentation, User
from porteiro.codes import CardStatus, CardType, Direction, UserType

if TYPE_CHECKING:
    from porteiro.emulator.device import EmulatedDevice

__all__ = ["populate", "run_fleet_traffic", "run_traffic", "step"]

_FIRST = ["Ana", "João", "Maria", "José", "Francisca", "Antônio", "Beatriz", "Carlos",
          "Fernanda", "Luís", "Juliana", "Paulo", "Camila", "Rafael", "Letícia", "Gustavo"]
_LAST = ["Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Ferreira", "Costa",
         "Rodrigues", "Almeida", "Gonçalves", "Ribeiro"]


def populate(device: EmulatedDevice, people: int = 50, *, seed: int = 1) -> None:
    """Register ``people`` users with cards (and faces for most) if the device is empty."""
    state = device.state
    if state.users:
        return
    rng = random.Random(seed)  # noqa: S311  # simulation, not cryptography
    doors = tuple(range(len(state.config.get("AccessControl") or [None])))
    for number in range(1, people + 1):
        user_id = str(1000 + number)
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        state.users[user_id] = User(user_id, name, doors=doors, face=rng.random() < 0.7,
                                    fingerprint=rng.random() < 0.3)
        card_no = f"{rng.getrandbits(32):08X}"
        state.cards[card_no] = Card(card_no, user_id)
    state.users["9001"] = User("9001", "Visitante", user_type=UserType.GUEST, uses_left=2,
                               doors=doors)
    state.users["9002"] = User("9002", "Bloqueado", user_type=UserType.BLOCKLIST, doors=doors)
    state.cards["DEAD0001"] = Card("DEAD0001", "1001", status=CardStatus.CANCELLED)
    state.cards["B10C0002"] = Card("B10C0002", "9002")
    state.cards["6E570001"] = Card("6E570001", "9001", card_type=CardType.GUEST)


def _present(device: EmulatedDevice, presentation: Presentation) -> None:
    """Someone presents: in Modo Online the reader asks its server (a tracked task, so
    a slow server does not hold the traffic of the other readers; the presentation
    bears the time it happened, not the time the task got to run)."""
    if device.device_mode() == 2 and device.uplink is not None \
            and device.uplink.server() is not None:
        device.track(asyncio.get_running_loop().create_task(
            device.present_async(presentation, presented=device.now())))
    else:
        device.present(presentation)


def step(device: EmulatedDevice, rng: random.Random) -> None:
    """One action of the realistic mix."""
    state = device.state
    doors = max(1, len(state.config.get("AccessControl") or [None]))
    door = rng.randrange(doors)
    direction = rng.choice([Direction.ENTRY, Direction.EXIT])
    roll = rng.random()
    cards = list(state.cards)
    if roll < 0.45 and cards:
        _present(device, Presentation(door=door, direction=direction,
                                      card_no=rng.choice(cards)))
    elif roll < 0.70:
        faced = [u.user_id for u in state.users.values() if u.face] or [""]
        _present(device, Presentation(door=door, direction=direction, face=rng.choice(faced),
                                      mask=rng.random() < 0.2))
    elif roll < 0.78:
        _present(device, Presentation(door=door, card_no=f"{rng.getrandbits(32):08X}"))
    elif roll < 0.81:
        _present(device, Presentation(door=door, face=""))
    elif roll < 0.91:
        is_open = door in device.door_contact_open
        device.set_door_contact(door, is_open=not is_open)
    elif roll < 0.97:
        device.press_exit_button(door)
    elif roll < 0.99:
        device.door_held_open(door, started=rng.random() < 0.5)
    else:
        device.tamper()


async def run_traffic(device: EmulatedDevice, *, rate: float, duration: float | None = None,
                      seed: int | None = None) -> int:
    """Drive the device at ``rate`` actions/s (forever when ``duration`` is None)."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    rng = random.Random(seed)  # noqa: S311  # simulation, not cryptography
    populate(device)
    start = time.monotonic()
    done = 0
    while duration is None or time.monotonic() - start < duration:
        due = int((time.monotonic() - start) * rate) + 1
        while done < due:
            step(device, rng)
            done += 1
        await asyncio.sleep(min(0.05, 1 / rate))
    return done


async def run_fleet_traffic(devices: list[EmulatedDevice], *, rate: float,
                            duration: float | None = None, seed: int | None = None) -> int:
    """``rate`` actions/s on each of ``devices``, from ONE task (cheap for big fleets)."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    if not devices:
        return 0
    rng = random.Random(seed)  # noqa: S311  # simulation, not cryptography
    for device in devices:
        populate(device)
    total_rate = rate * len(devices)
    start = time.monotonic()
    done = 0
    while duration is None or time.monotonic() - start < duration:
        due = int((time.monotonic() - start) * total_rate) + 1
        while done < due:
            step(devices[done % len(devices)], rng)
            done += 1
        await asyncio.sleep(0.02)
    return done
