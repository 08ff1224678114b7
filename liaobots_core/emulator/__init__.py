"""A local server that speaks the Liaobots chat API, for tests, benchmarks and offline demos.

from liaobots_core.emulator import Behavior, Emulator

with Emulator(auth_code="test-code", path_prefix="/liaobots") as emu:
    emu.enqueue(Behavior(status=503))  # the next chat request fails once
    ...  # talk to emu.base_url
"""

from .behavior import Behavior
from .pieces import piece_boundaries
from .server import Emulator
from .state import Guests, RecordedRequest

__all__ = ["Behavior", "Emulator", "Guests", "RecordedRequest", "piece_boundaries"]
