"""The parts notebook 04's agent is run with: the course's, not the student's earlier answers

Part of :mod:`course_lib.exercises.ddpg`. While ``select_action``, ``step`` and
``update_model`` are checked or probed, the names below hold the course's parts
(:func:`course_lib.exercises.parts.course_parts`), so that a wrong ``soft_update``,
``ReplayBuffer``, ``OUNoise`` or network costs its own question only.
"""

from __future__ import annotations

from course_lib.buffers import ReplayBuffer
from course_lib.exercises.ddpg.soft_update import course_soft_update
from course_lib.exercises.parts import Parts, PlaceholderNetwork
from course_lib.noise import OUNoise

AGENT_PARTS: Parts = {
    "soft_update": course_soft_update,
    "ReplayBuffer": ReplayBuffer,
    "OUNoise": OUNoise,
    "DDPGActor": PlaceholderNetwork,
    "DDPGCritic": PlaceholderNetwork,
}
"""The earlier exercises ``DDPGAgent`` calls, by the names notebook 04 gives them."""
