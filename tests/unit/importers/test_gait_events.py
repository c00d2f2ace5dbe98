"""The gait event table: labels and contexts of several systems to foot_strike / foot_off and a side."""

from __future__ import annotations

import pytest

from miakit.importers.gait_events import event_kind

CASES = [
    (("Foot Strike", "Right"), ("foot_strike", "right")),  # Vicon Nexus
    (("Foot Off", "Left"), ("foot_off", "left")),
    (("Heel Strike", "Right"), ("foot_strike", "right")),
    (("Toe Off", "Left"), ("foot_off", "left")),
    (("RHS", "General"), ("foot_strike", "right")),  # Cortex / Visual3D short forms, side glued on
    (("LTO", ""), ("foot_off", "left")),
    (("RON", ""), ("foot_strike", "right")),
    (("LOFF", ""), ("foot_off", "left")),
    (("Right Foot Strike", ""), ("foot_strike", "right")),  # QTM
    (("Initial Contact", "Left"), ("foot_strike", "left")),
    (("Left-IC", ""), ("foot_strike", "left")),
    (("Foot Contact", "Right"), ("foot_strike", "right")),  # BTS
    (("R_TOE_OFF", "Left"), ("foot_off", "right")),  # the label's side wins over the context
    (("Event", "General"), ("event", "")),  # other events keep their label
    (("Tonic", ""), ("tonic", "")),
]


@pytest.mark.parametrize("given, expected", CASES)
def test_event_labels(given, expected):
    assert event_kind(*given) == expected
