"""Training recipes by name: the fields of a :class:`~miakit.learn.config.TrainConfig` that make a
model what it is, as one preset each.

:data:`MIAKIT` is the miakit model's recipe (``miakit train --model miakit``, the demo, ``miakit bench
ablation``, whose rows each change one of its fields, and ``benchmarks/``); :data:`RECIPES` names
every recipe and :func:`recipe_config` makes its config. The demo's schedule for short runs is
:meth:`TrainConfig.demo <miakit.learn.config.TrainConfig.demo>`. How the recipe came to be, with the
measurements that chose each idea and the ideas tried and left out, is in ``docs/recipe-history.md``.
"""

from __future__ import annotations

from typing import Any, TypedDict

from miakit.errors import InputError
from miakit.learn.config import TrainConfig


class Recipe(TypedDict):
    """A recipe: the fields of a :class:`TrainConfig` it sets, with their types."""

    model: str
    features: str
    augment: str
    batch_size: int
    lr: float
    warmup_steps: int
    context: int
    readout: str


MIAKIT = Recipe(
    model="miakit",
    features="body+angles+depth+vel+hold+mask",
    augment="mirror+pose+limbs",
    batch_size=32,
    lr=3e-3,
    warmup_steps=10,
    context=2,
    readout="softplus",
)
"""The miakit model with every idea on (the fields of its :class:`TrainConfig`).

Batch 32 with a peak learning rate of 3e-3 after 10 warm-up steps: a step costs about a third of
the paper's Transformer's, so the model trains :data:`MIAKIT_STEPS` times the Transformer's steps
in about its time; the higher peak and the short warm-up take back most of the extra steps a
smaller batch needs (``benchmarks/time_to_quality.py`` has the numbers). Context 2: it also reads
2 frames (0.2 s) before and after each window, since the EMG leads the motion by 50 to 100 ms.
``+hold``: how long each hinge has held still (capped), since a held pose tires its muscles over
more time than a window shows.
``+depth``: how far each limb points towards or away from the camera, from its foreshortening.

Why each setting, with the numbers that chose it (the softplus read-out, the missing-point mask,
pose augmentation and limb mixing, the earlier ideas, what was tried and left out): the research
log in ``docs/recipe-history.md``."""

MIAKIT_STEPS = 3.0
"""The miakit model trains 3 times the profile's steps: at batch 32 a step costs about a third of
the Transformer's, so on a 2-core CPU that takes about as long as the paper's Transformer takes for
the profile's steps (``train_s`` in the table): the two are compared at the same training time."""

RECIPES: dict[str, Recipe] = {"miakit": MIAKIT}
"""Every recipe by name."""


def recipe_config(name: str, **changes: Any) -> TrainConfig:
    """The :class:`TrainConfig` of the recipe ``name`` (a key of :data:`RECIPES`), with ``changes``
    on top; an unknown name is an :class:`~miakit.errors.InputError`."""
    if name not in RECIPES:
        raise InputError("train config", "unknown recipe", field="recipe", expected=list(RECIPES), found=name)
    return TrainConfig(**{**RECIPES[name], **changes})
