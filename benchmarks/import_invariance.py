"""How far another lab's file of the same trial lands from the imported source (``miakit import c3d``).

Writes every variant of ``tests/lab_variants.py`` (the shared walk and box lift as other labs would
write them: axes, units, scales, rates, labels and marker sets, EMG names, event clocks, treadmill,
turning, gaps, processed EMG) into a temporary folder, imports it as ``miakit import c3d`` /
``import trc`` do (front and side views), and prints one row per variant: whether it imports (or the
start of its one-line refusal), the mapping detected, the largest deviation from the source's
import in joint centres (mm; legs and arms apart), keypoints after projection (px), keypoints the
source sees and the variant does not (fraction), EMG envelopes (smallest r, largest relative
change of the mean), gait events (ms; events of the source the variant lacks) and the per-unit r
of ``miakit bench real``'s scoring for one fixed checkpoint (a BODY_25 Transformer trained 4 steps
on synthetic data). The tests (tests/unit/importers/test_lab_invariance.py) bound these.

    python benchmarks/import_invariance.py             # about 2 minutes on an idle 2-core machine
    python benchmarks/import_invariance.py gap trc     # only the variants whose name holds a word
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import lab_variants as lv  # noqa: E402
from dataset_builders import body25_checkpoint  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.{digits}f}"
    return str(value)


def main(words: list[str]) -> None:
    from miakit.importers.c3d import read_c3d

    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        checkpoint = body25_checkpoint(folder / "ckpt")
        sources = {t: lv.read_source(DATA / p) for t, p in lv.SOURCES.items()}
        references = {t: lv.imported(DATA / p, read_c3d, lv.BASE_OPTIONS[t], checkpoint) for t, p in lv.SOURCES.items()}
        print(
            "| variant | trial | imports | mapping | joints mm (legs / arms) | "
            "keypoints px | lost | EMG r | EMG mean | events ms (missed) | bench r |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for v in lv.VARIANTS:
            if words and not any(w.lower() in v.name.lower() for w in words):
                continue
            r = lv.run_variant(v, sources[v.trial], folder / "variants", references[v.trial], checkpoint)
            if r["refused"]:
                reason = r["refused"].split(": ", 1)[1][:90]
                print(f"| {v.name} | {v.trial} | refused: {reason} | | | | | | | | |")
                continue
            joints = f"{_fmt(r['joints_mm'])} ({_fmt(r['legs_mm'])} / {_fmt(r['arms_mm'])})"
            print(
                f"| {v.name} | {v.trial} | yes | {r['mapping']} | {joints} "
                f"| {_fmt(r['keypoints_px'])} | {_fmt(r['lost'], 3)} | "
                f"{_fmt(r['emg_r'], 4)} | {_fmt(r['emg_amplitude'], 3)} | "
                f"{_fmt(r['events_ms'], 1)} ({r['events_missed']}) | {_fmt(r.get('bench_r'), 3)} |"
            )
    print(f"\n{time.time() - start:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
