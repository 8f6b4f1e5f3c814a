"""A faithful virtual Intelbras reader: state / service / scenarios (see docs).

* :mod:`~porteiro.emulator.state`: identity, config, users, cards, faces, records;
* :mod:`~porteiro.emulator.device`: behaviour and scenarios (present a credential,
  door contact, exit button, tamper, reboot, clock drift, faults);
* :mod:`~porteiro.emulator.service`: the HTTP CGI API with Digest auth, and ``/sim/``;
* :mod:`~porteiro.emulator.runner`: many devices on loopback ports in one process.
"""

from porteiro.emulator.device import EmulatedDevice, Faults, Subscription
from porteiro.emulator.runner import EmulatorHost, make_state
from porteiro.emulator.service import build_app
from porteiro.emulator.state import DeviceIdentity, Limits, State

__all__ = [
    "DeviceIdentity",
    "EmulatedDevice",
    "EmulatorHost",
    "Faults",
    "Limits",
    "State",
    "Subscription",
    "build_app",
    "make_state",
]
