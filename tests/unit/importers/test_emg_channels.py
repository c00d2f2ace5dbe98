"""The EMG channel table: labels of gait labs, EMG makers and several languages to miakit's muscles."""

from __future__ import annotations

import pytest

from miakit.importers.emg_channels import match_channel

CASES = {
    # Vicon / Helen Hayes style, with the device's prefix (the shared walk names its channels so)
    "Voltage.RVL": "RightQuad", "Voltage.LRF": "LeftQuad", "RVAS": "RightQuad", "RREC": "RightQuad",
    "LISC": "LeftHamstring", "RBIC": "RightHamstring", "Voltage.RST": "RightHamstring", "LBF": "LeftHamstring",
    # full names, any case and spacing, side words in several languages
    "R Vastus Medialis": "RightQuad", "Rectus femoris left": "LeftQuad", "RightVastusLateralis": "RightQuad",
    "Semitendinosus_R": "RightHamstring", "L_Biceps_Femoris": "LeftHamstring",
    "Biceps brachii right": "RightBicep", "Triceps Brachii L": "LeftTricep", "Left Biceps": "LeftBicep",
    "M. biceps femoris links": "LeftHamstring", "Quadrizeps rechts": "RightQuad",  # de
    "droit fémoral gauche": "LeftQuad", "ischio-jambiers droit": "RightHamstring",  # fr (droit: rectus, and right)
    "Bíceps braquial derecho": "RightBicep", "Vasto lateral izquierdo": "LeftQuad",  # es
    "Tricipite brachiale destro": "RightTricep", "retto femorale sx": "LeftQuad",  # it
    # EMG software defaults: Noraxon ("RT VASTUS LAT."), Delsys EMGworks ("R Vastus Lateralis: EMG 1")
    "RT VASTUS LAT.": "RightQuad", "LT RECTUS FEM.": "LeftQuad", "RT BICEPS FEM.": "RightHamstring",
    "LT SEMITEND.": "LeftHamstring", "RT BICEPS BR.": "RightBicep", "LT TRICEPS BR.": "LeftTricep",
    "R Vastus Lateralis: EMG 1": "RightQuad", "EMG 3 (L BICEPS FEMORIS)": "LeftHamstring",
}  # fmt: skip


@pytest.mark.parametrize("label, muscle", CASES.items())
def test_known_labels(label, muscle):
    assert match_channel(label).muscle == muscle


def test_a_label_without_a_side_takes_the_given_side_or_says_why():
    assert match_channel("Biceps.EMG4").muscle is None
    assert "--side" in match_channel("Biceps.EMG4").reason
    assert match_channel("Biceps.EMG4", side="right").muscle == "RightBicep"
    assert match_channel("Triceps.EMG5", side="left").muscle == "LeftTricep"
    assert match_channel("Vastus Medialis", side="left").muscle == "LeftQuad"


@pytest.mark.parametrize("label", ["Voltage.RTA", "Voltage.RGAS", "Voltage.15", "Sensor 12.EMG12", "Triceps surae R", "Rectus abdominis L", "Delt_ant.EMG1", "Force.Fx1"])
def test_other_channels_map_to_no_muscle(label):
    m = match_channel(label, side="right")
    assert m.muscle is None and m.reason


def test_both_sides_is_refused():
    assert match_channel("RVL left").muscle is None
