"""Write the three notebooks of this folder (outputs stripped) from the cells below.

Run ``python notebooks/build_notebooks.py`` after editing a cell here; edit the cells here, not in
the .ipynb files, so the two stay the same. Each notebook reads its inputs from environment
variables with defaults to the demo (``miakit demo`` builds it):

- ``MIAKIT_CATALOG``: the catalog file (default the user's, ~/.local/share/miakit/catalog.yaml, where
  ``miakit demo`` registers its dataset);
- ``MIAKIT_NB_DATASET``: the dataset's catalog name or store path (default ``demo``);
- ``MIAKIT_NB_SESSION``: a session folder, or a folder of sessions (the first with a sync event
  is used; default the demo's sessions);
- ``MIAKIT_NB_STEPS``: training steps in 02 (default 300, about 1.5 minutes on a 2-core CPU);
- ``MIAKIT_NB_OUT``: where 02 writes its checkpoint and overlay (default ./notebook-output).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

SETUP = """\
%matplotlib inline
import os
from pathlib import Path

from IPython.display import display

import miakit
from miakit.catalog import default_catalog_path
from miakit.contracts.dataset import provenance_of

CATALOG = default_catalog_path()  # $MIAKIT_CATALOG, else ~/.local/share/miakit/catalog.yaml
DATASET = os.environ.get("MIAKIT_NB_DATASET", "demo")
print(f"catalog: {CATALOG}, dataset: {DATASET}")"""

EXPLORE = [
    (
        "markdown",
        """\
# 1. Explore a dataset

Open the catalog, look at one built dataset (contract 2: a lazy xarray Dataset on the 10 Hz grid)
and plot it. Run `miakit demo` first, or point the environment variables `MIAKIT_CATALOG` and
`MIAKIT_NB_DATASET` at your own catalog and dataset.""",
    ),
    ("code", SETUP),
    ("markdown", "## The catalog\nEvery dataset `miakit build-dataset` or `miakit demo` built, by name."),
    (
        "code",
        """\
catalog = miakit.open_catalog(CATALOG)
for name in catalog:
    entry = catalog[name]
    meta = entry.metadata
    print(f"{name:12s} {entry.urlpath}  {meta.get('frames', '?')} frames, {meta.get('segments', '?')} segments")""",
    ),
    ("markdown", "## The dataset\nOpened lazily: the frames stay on disk until a value is needed."),
    (
        "code",
        """\
ds = miakit.open_dataset(DATASET, catalog=CATALOG)
ds""",
    ),
    ("markdown", "One row per segment (a continuous piece of one session):"),
    (
        "code",
        """\
segments = ds[[name for name in ds.data_vars if name.startswith("segment_")]].to_dataframe()
segments.columns = [c.removeprefix("segment_") for c in segments.columns]
minutes = ds.sizes["frame"] / ds.attrs["rate_hz"] / 60
print(f"{ds.sizes['frame']} frames ({minutes:.1f} min), {ds.sizes['segment']} segments, "
      f"EMG in {ds.attrs['emg_units']}, built by {provenance_of(ds)['pipeline']}")
segments.head(10)""",
    ),
    ("markdown", "## At a glance\nValid minutes per subject and exercise; the EMG of each muscle over valid frames."),
    (
        "code",
        """\
from miakit.viz import plots

display(plots.dataset_summary(ds))""",
    ),
    ("markdown", "## One segment\nHow sure the pose estimator was, keypoint by keypoint, and the measured EMG."),
    (
        "code",
        """\
SEGMENT = str(ds["segment"].values[0])
display(plots.pose_confidence(ds, SEGMENT))
display(plots.segment_emg(ds, SEGMENT))""",
    ),
]

TRAIN = [
    (
        "markdown",
        """\
# 2. Train and evaluate

Train the paper's Transformer briefly on the in-distribution split, measure it on the test windows,
look at its predictions for one test segment, and render them as a muscle overlay video.
`MIAKIT_NB_STEPS` sets the number of training steps.""",
    ),
    (
        "code",
        SETUP
        + """
STEPS = int(os.environ.get("MIAKIT_NB_STEPS", "300"))
OUT = Path(os.environ.get("MIAKIT_NB_OUT", "notebook-output"))
ds = miakit.open_dataset(DATASET, catalog=CATALOG)""",
    ),
    (
        "markdown",
        "## Train\nThe demo's settings (`TrainConfig.demo`), for `STEPS` steps: about 1.5 minutes for 300 "
        "steps on a 2-core CPU. The bar shows the steps done, the time left and the best validation RMSE so far.",
    ),
    (
        "code",
        """\
from miakit.learn.config import TrainConfig
from miakit.learn.train import train

config = TrainConfig.demo(
    max_steps=STEPS, eval_every=max(1, min(50, STEPS)), warmup_steps=max(1, min(50, STEPS // 5)), max_seconds=0.0
)
result = train(ds, config, OUT / "transformer", progress=True)
print(f"{result.steps} steps in {result.wall_s:.0f} s ({result.stopped}); "
      f"best validation RMSE {result.best_val_rmse:.2f}")
result.history.round(3)""",
    ),
    (
        "markdown",
        "## Evaluate on the test windows\nRMSE on the raw EMG scale and "
        "Pearson r, per muscle, beside the noise floor where the data has it.",
    ),
    (
        "code",
        """\
import numpy as np
import pandas as pd

from miakit.learn import metrics
from miakit.learn.predict import load, predict_segment
from miakit.learn.inference import predict
from miakit.learn.windows import load_frames, split_in_distribution

checkpoint = load(result.checkpoint)
frames = load_frames(ds)
splits = split_in_distribution(ds, window=config.window, eval_stride=config.eval_stride or None,
                               test_fraction=config.test_fraction, val_fraction=config.val_fraction)
x_test, y_test, clean = frames.gather(splits.test)
y_pred = predict(checkpoint.model, x_test, emg_scale=config.emg_scale)
table = pd.DataFrame(
    {"RMSE": metrics.rmse_per_muscle(y_pred, y_test), "Pearson r": metrics.pearson_per_muscle(y_pred, y_test)},
    index=list(frames.muscles),
)
if clean is not None:
    table["noise floor"] = metrics.rmse_per_muscle(clean, y_test)
print(f"{len(x_test)} test windows: RMSE {metrics.rmse(y_pred, y_test):.2f}, "
      f"Pearson r {metrics.pearson(y_pred, y_test):.2f}")
table.round(2)""",
    ),
    (
        "markdown",
        "## Predictions for one test segment\nSliding windows of the model's "
        "length over the whole segment, overlaps averaged (the paper's Figure 6).",
    ),
    (
        "code",
        """\
from miakit.viz import plots

SEGMENT = str(ds["segment"].values[int(splits.test.segment[0])])
predicted = predict_segment(checkpoint, ds, SEGMENT)
display(plots.segment_emg(ds, SEGMENT, predicted=predicted))""",
    ),
    (
        "markdown",
        "## The overlay video\nMeasured (left) and predicted (right) "
        "muscles, coloured from relaxed (blue) to flexed (red).",
    ),
    (
        "code",
        """\
import av
from IPython.display import Image, Video

from miakit.viz.render import render_segment

video = render_segment(ds, SEGMENT, OUT / "overlay.mp4", predicted=predicted, panel_height=320, progress=False)
print(f"{video.path}: {video.frames} frames, {video.width}x{video.height}, {video.codec}")
with av.open(str(video.path)) as container:
    frame = next(f for i, f in enumerate(container.decode(video=0)) if i == video.frames // 2)
frame.to_image().save(OUT / "overlay_middle.png")
display(Image(filename=str(OUT / "overlay_middle.png")))
Video(str(video.path))""",
    ),
]

SESSION = [
    (
        "markdown",
        """\
# 3. Inspect a recorded session

A raw session folder (contract 1) as the recorder wrote it: its metadata and events, the EMG of each
sensor with its gaps and markers, and how the pipeline aligned the video to the EMG around the sync
event. `MIAKIT_NB_SESSION` names a session folder (or a folder of sessions).""",
    ),
    (
        "code",
        """\
%matplotlib inline
import os
from pathlib import Path

import pandas as pd
from IPython.display import display

from miakit.contracts.session import find_sessions, validate_session

DEMO_SESSIONS = next((p for p in map(Path, ("miakit-demo/sessions", "../miakit-demo/sessions")) if p.exists()), None)
ROOT = Path(os.environ.get("MIAKIT_NB_SESSION") or DEMO_SESSIONS or "miakit-demo/sessions")
sessions = find_sessions(ROOT)
with_sync = [s for s in sessions if "sync" in pd.read_csv(s / "events.csv")["kind"].tolist()]
SESSION = (with_sync or sessions)[0]
print(f"{len(sessions)} session(s) under {ROOT}; looking at {SESSION}")""",
    ),
    ("markdown", "## What the recorder wrote"),
    (
        "code",
        """\
meta = validate_session(SESSION)
print(meta.model_dump_json(indent=2)[:1500])
events = pd.read_csv(SESSION / "events.csv", keep_default_na=False)
events""",
    ),
    (
        "markdown",
        "## Raw EMG per sensor\nEach sample at its host time; a line "
        "breaks where packets are missing; events as vertical lines.",
    ),
    (
        "code",
        """\
from miakit.viz import plots

display(plots.session_emg(SESSION))""",
    ),
    (
        "markdown",
        "## Sync alignment\nKeypoint motion against EMG activity around the sync "
        "event, on the video's stated clock and after the offset the pipeline found.",
    ),
    (
        "code",
        """\
from miakit.errors import InputError

try:
    display(plots.alignment(SESSION))
except InputError as exc:  # a session without a sync event, or with a pipeline that aligns by clock
    print(exc)""",
    ),
]

NOTEBOOKS = {
    "01_explore_dataset.ipynb": EXPLORE,
    "02_train_and_evaluate.ipynb": TRAIN,
    "03_inspect_session.ipynb": SESSION,
}


def build(folder: Path = HERE) -> list[Path]:
    """Write every notebook into ``folder``, with no outputs; return their paths."""
    import nbformat

    written = []
    for name, cells in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        nb.cells = [
            nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
            for kind, text in cells
        ]
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"  # stable ids: rebuilding changes nothing
        path = folder / name
        nbformat.validate(nb)
        path.write_text(nbformat.writes(nb) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in build():
        print(path)
