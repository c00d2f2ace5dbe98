"""The EMG channel table: labels of gait labs, EMG makers and several languages to miakit's muscles."""

from __future__ import annotations

import pytest

from miakit.importers.emg_channels import match_channel

CASES = {
    # Vicon / Helen Hayes style, with the device's prefix (the shared walk names its channels so)
    "Voltage.RVL": "RightQuad",
    "Voltage.LRF": "LeftQuad",
    "RVAS": "RightQuad",
    "RREC": "RightQuad",
    "LISC": "LeftHamstring",
    "RBIC": "RightHamstring",
    "Voltage.RST": "RightHamstring",
    "LBF": "LeftHamstring",
    # full names, any case and spacing, side words in several languages
    "R Vastus Medialis": "RightQuad",
    "Rectus femoris left": "LeftQuad",
    "RightVastusLateralis": "RightQuad",
    "Semitendinosus_R": "RightHamstring",
    "L_Biceps_Femoris": "LeftHamstring",
    "Biceps brachii right": "RightBicep",
    "Triceps Brachii L": "LeftTricep",
    "Left Biceps": "LeftBicep",
    "M. biceps femoris links": "LeftHamstring",
    "Quadrizeps rechts": "RightQuad",  # de
    "droit fémoral gauche": "LeftQuad",
    "ischio-jambiers droit": "RightHamstring",  # fr (droit: rectus, and right)
    "Bíceps braquial derecho": "RightBicep",
    "Vasto lateral izquierdo": "LeftQuad",  # es
    "Tricipite brachiale destro": "RightTricep",
    "retto femorale sx": "LeftQuad",  # it
    # EMG software defaults: Noraxon ("RT VASTUS LAT."), Delsys EMGworks ("R Vastus Lateralis: EMG 1")
    "RT VASTUS LAT.": "RightQuad",
    "LT RECTUS FEM.": "LeftQuad",
    "RT BICEPS FEM.": "RightHamstring",
    "LT SEMITEND.": "LeftHamstring",
    "RT BICEPS BR.": "RightBicep",
    "LT TRICEPS BR.": "LeftTricep",
    "R Vastus Lateralis: EMG 1": "RightQuad",
    "EMG 3 (L BICEPS FEMORIS)": "LeftHamstring",
    # Noraxon MR3 more; BTS and Cometa (Italian names, Dx / Sx); Motion Lab Systems
    "RT VASTUS MED.": "RightQuad",
    "LT SEMIMEMB.": "LeftHamstring",
    "Vastus Lateralis Dx": "RightQuad",
    "RF DX": "RightQuad",
    "Bicipite Femorale Sx": "LeftHamstring",
    "Semitendinoso Dx": "RightHamstring",
    "R MED HAMS": "RightHamstring",
    "L LAT HAMS": "LeftHamstring",
    "L VAST LAT": "LeftQuad",
    "R_MH": "RightHamstring",
    # Vicon Clinical Manager's muscle codes, glued to a side letter
    "RRECFEM": "RightQuad",
    "LVASLAT": "LeftQuad",
    "RVASMEDOBL": "RightQuad",
    "LVASINT": "LeftQuad",
    "RSEMITE": "RightHamstring",
    "LSEMIME": "LeftHamstring",
    "RBICFEM": "RightHamstring",
    "LHAMSTR": "LeftHamstring",
    "RMEDHAM": "RightHamstring",
    "LLATHAM": "LeftHamstring",
    # OpenSim muscle names (gait2392 and Rajagopal 2016; arm26), as .sto / .mot columns
    "vas_lat_r": "RightQuad",
    "rect_fem_l": "LeftQuad",
    "vas_med_r": "RightQuad",
    "vas_int_l": "LeftQuad",
    "recfem_r": "RightQuad",
    "vasmed_l": "LeftQuad",
    "vaslat_r": "RightQuad",
    "bifemlh_r": "RightHamstring",
    "bifemsh_l": "LeftHamstring",
    "bflh_r": "RightHamstring",
    "bfsh_l": "LeftHamstring",
    "semiten_r": "RightHamstring",
    "semimem_l": "LeftHamstring",
    "BIClong_r": "RightBicep",
    "TRIlong_l": "LeftTricep",
    "TRIlat_r": "RightTricep",
}


@pytest.mark.parametrize("label, muscle", CASES.items())
def test_known_labels(label, muscle):
    assert match_channel(label).muscle == muscle


def test_a_label_without_a_side_takes_the_given_side_or_says_why():
    assert match_channel("Biceps.EMG4").muscle is None
    assert "--side" in match_channel("Biceps.EMG4").reason
    assert match_channel("Biceps.EMG4", side="right").muscle == "RightBicep"
    assert match_channel("Triceps.EMG5", side="left").muscle == "LeftTricep"
    assert match_channel("Vastus Medialis", side="left").muscle == "LeftQuad"


@pytest.mark.parametrize(
    "label", ["Trigno sensor 3: EMG 3", "Avanti 2.EMG 2", "Cometa EMG 4", "Voltage.EMG7", "Sensor 12.EMG12"]
)
def test_hardware_only_labels_name_no_muscle(label):
    assert "hardware" in match_channel(label, side="right").reason  # listed for --channel when nothing maps


@pytest.mark.parametrize(
    "label",
    [
        "Voltage.RTA",
        "Voltage.RGAS",
        "Voltage.15",
        "Sensor 12.EMG12",
        "Triceps surae R",
        "Rectus abdominis L",
        "Delt_ant.EMG1",
        "Force.Fx1",
    ],
)
def test_other_channels_map_to_no_muscle(label):
    m = match_channel(label, side="right")
    assert m.muscle is None and m.reason


def test_both_sides_is_refused():
    assert match_channel("RVL left").muscle is None


@pytest.mark.parametrize(
    ("label", "muscle"),
    [
        ("vasmed_r", "RightQuad"),
        ("vaslat_l", "LeftQuad"),
        ("recfem_r", "RightQuad"),
        ("vas_int_l", "LeftQuad"),
        ("rect_fem_r", "RightQuad"),
        ("bflh_r", "RightHamstring"),
        ("bfsh_l", "LeftHamstring"),
        ("bifemlh_r", "RightHamstring"),
        ("semiten_r", "RightHamstring"),
        ("semimem_l", "LeftHamstring"),
        ("bicep_r", "RightBicep"),
        ("tricep_l", "LeftTricep"),
        ("BIClong_r", "RightBicep"),
        ("TRIlat_l", "LeftTricep"),
    ],
)
def test_opensim_channel_names(label, muscle):
    assert match_channel(label).muscle == muscle


@pytest.mark.parametrize("label", ["TA", "RTA", "soleus_r", "gasmed_l", "tib_ant_r", "glmax1_r", "quad_fem_r", "BRA"])
def test_other_muscles_as_opensim_names_them_are_named_as_such(label):
    m = match_channel(label, side="right")
    assert m.muscle is None and "is not one of the 8 muscles" in m.reason, m


def test_every_muscle_of_the_shared_opensim_models(shared_data):
    """Each muscle of gait2392, Rajagopal 2016 and arm26 is ours on the side its name says, or is
    named as another muscle: none is unknown, none is taken for the wrong one."""
    import re

    ours = {
        "quad": re.compile(r"^(vas|rect_?fem|recfem)", re.I),
        "hamstring": re.compile(r"^(bf|bifem|semi)", re.I),
        "bicep": re.compile(r"^bic", re.I),
        "tricep": re.compile(r"^tri", re.I),
    }
    n = 0
    for model in sorted((shared_data / "models").glob("*.osim")):
        for name in re.findall(r'<\w*Muscle\w* name="([^"]+)"', model.read_text()):
            n += 1
            side = {"_r": "Right", "_l": "Left"}.get(name[-2:])
            m = match_channel(name, side=None if side else "right")
            group = next((g for g, pattern in ours.items() if pattern.match(name)), None)
            if group is None:
                assert m.muscle is None and "is not one of the 8 muscles" in m.reason, (model.name, name, m)
            else:
                assert m.muscle == f"{side or 'Right'}{group.capitalize()}", (model.name, name, m)
    assert n == 6 + 92 + 80
