"""Performance benchmarks (``miakit bench speed``): loading windows, and the trainer's overhead.

Both are measured in one process on data written for the purpose under a temporary folder:
a copy of the Muscles in Action release in its exact layout (one folder per 3-second clip, every
file a real clip has, ``verts.npy`` full size but sparse on disk) with random values, imported
with :func:`miakit.importers.mia_release.import_mia_release` into a Zarr store. So the clip files
and the store hold the same windows: clip ``k`` is window ``k``.

Loading (windows per second into a PyTorch ``DataLoader``, batches of 32, shuffled, no worker
processes for either):

- *clip files, as the authors' code*: a map-style dataset whose item is one clip folder; it
  ``np.load``\\ s every file of the clip (``emgvalues``, ``joints2d``, ``joints3d``, ``predcam``,
  ``origcam``, ``bboxes``, ``pose``, ``betas``, ``verts``; the release's ``joints2dsmpl`` is not
  in it) and returns them in a dict, as ``MyMuscleDataset.__getitem__`` of
  mchiquier/musclesinaction does; the default collate stacks them;
- *clip files, lean*: the same, reading only ``emgvalues.npy`` and ``joints2d.npy`` (what a model
  needs), so the comparison does not rest on skipping the meshes;
- *Zarr store*: :class:`StoreWindows`, the store opened lazily, its frames materialized once
  (:func:`miakit.learn.windows.load_frames`), whole batches gathered by fancy indexing through a
  ``BatchSampler``. Reported warm (over repeated epochs) and cold (opening the store and reading
  its frames counted within one epoch).

Training (samples per second, same model, same batch size, same device): the full trainer
(:func:`miakit.learn.train.train`: schedule, clipping, one validation and its checkpoints, the
history) against a bare loop of forward, MSE, backward and AdamW step over batches already
gathered in memory. Each is run ``repeats`` times alternately. The ratio is taken on process CPU
time (:func:`time.process_time`, every thread of the process): on a busy machine the wall clock
also counts the time other processes held the cores (the same work took 11 to 71 s there), CPU
time does not, so the ratio means the same on a busy and on an idle machine. Wall-clock figures are
reported beside it, and the spread of the ratio over the interleaved pairs of runs. On a GPU the
work is not the process's CPU time: there the ratio is taken on the wall clock.
"""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from miakit.importers.mia_release import find_clips, import_mia_release
from miakit.learn.config import TrainConfig
from miakit.learn.inference import resolve_device
from miakit.learn.models import build_model
from miakit.learn.train import pinned_threads, train
from miakit.learn.windows import load_frames, split_in_distribution, windows_where
from miakit.progress import step
from miakit.store import open_store

CLIP_FILES = ("emgvalues", "joints2d", "joints3d", "predcam", "origcam", "bboxes", "pose", "betas", "verts")
"""The files of a release clip that the authors' dataset loads per item (their ``joints2dsmpl`` aside)."""
LEAN_FILES = ("emgvalues", "joints2d")
BATCH = 32
FRAMES = 30
GOALS = {"loading_windows_per_s": 20_000.0, "loading_ratio": 20.0, "training_ratio": 0.9}


def run_speed(
    out: str | Path,
    *,
    quick: bool = False,
    progress: bool = True,
    steps: int | None = None,
    repeats: int | None = None,
    threads: int | None = 1,
) -> dict:
    """Run both benchmarks; write ``out/speed.json`` and ``out/speed.md``; return the figures.

    ``quick``: a small release (32 clips) and 3 training steps of the (small) paper CNN, seconds
    in all; the default (1,000 clips, 10 x 40 steps of the paper's Transformer) takes a few
    minutes on a 2-core CPU. ``steps`` and ``repeats`` change the training benchmark's (a short
    check of the ratio: ``steps=10, repeats=3``, about a minute); ``threads``: torch's CPU threads
    for the training benchmark (see :func:`bench_training`).
    """

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    size = dict(subjects=2, exercises=2, clips=8) if quick else dict(subjects=4, exercises=5, clips=50)
    with tempfile.TemporaryDirectory(prefix="miakit-speed-") as tmp:
        release, store = Path(tmp) / "release", Path(tmp) / "ds.zarr"
        with step(f"writing {size['subjects'] * size['exercises'] * size['clips']} release clips", enabled=progress):
            write_release(release, **size)
        with step("importing them into a Zarr store", enabled=progress):
            import_mia_release(release, store)
        with step("loading benchmark", enabled=progress):
            loading = bench_loading(store, release, min_seconds=0.2 if quick else 2.0)
        with step("training benchmark", enabled=progress):
            training = bench_training(
                store,
                steps=steps or (3 if quick else 40),
                repeats=repeats or (1 if quick else 5),
                model="cnn" if quick else "transformer",
                threads=threads,
            )
    results: dict[str, Any] = {
        "quick": quick,
        "machine": machine(),
        "loading": loading,
        "training": training,
        "goals": {
            "loading_windows_per_s": {"goal": GOALS["loading_windows_per_s"], "value": loading["store_windows_per_s"]},
            "loading_ratio": {"goal": GOALS["loading_ratio"], "value": loading["ratio_vs_authors"]},
            "training_ratio": {"goal": GOALS["training_ratio"], "value": training["ratio"]},
        },
    }
    for goal in results["goals"].values():
        goal["met"] = bool(goal["value"] >= goal["goal"])
    (out / "speed.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "speed.md").write_text(markdown(results))
    return results


# -- data ------------------------------------------------------------------------------------------


def write_release(root: Path, *, subjects: int, exercises: int, clips: int, seed: int = 0) -> list[Path]:
    """Write ``subjects x exercises x clips`` clip folders in the release's layout; return them in order.

    Layout and shapes as ``../shared/reference/mia-paper.md`` gives them: ``train/Subject{s}/
    {Exercise}/{clip_id}/`` with consecutive clip ids, ``emgvalues`` (30, 8) float64 integers,
    ``joints2d`` (30, 49, 2) pixels in a 1080 x 1920 frame, the VIBE outputs float32, ``verts``
    (30, 6890, 3) float32 written sparse (all zero but one value) to spare the disk.
    """
    rng = np.random.default_rng(seed)
    f32 = np.float32
    folders = []
    names = ["Squat", "Running", "FrontKick", "JumpingJack", "SideLunges", "HookPunch", "HighKick", "LegBack"]
    for s in range(subjects):
        for e in range(exercises):
            for clip_id in range(clips):
                folder = root / "train" / f"Subject{s}" / names[e % len(names)] / str(100 + clip_id)
                folder.mkdir(parents=True, exist_ok=True)
                xy = rng.uniform([200, 300], [880, 1700], size=(FRAMES, 49, 2)).astype(f32)
                arrays: dict[str, np.ndarray] = {
                    "emgvalues": rng.integers(0, 300, size=(FRAMES, 8)).astype(np.float64),
                    "joints2d": xy,
                    "joints3d": rng.normal(size=(FRAMES, 49, 3)).astype(f32),
                    "predcam": rng.normal(size=(FRAMES, 3)).astype(f32),
                    "origcam": rng.normal(size=(FRAMES, 4)).astype(f32),
                    "bboxes": np.tile(np.array([540, 960, 900, 900], f32), (FRAMES, 1)),
                    "pose": rng.normal(size=(FRAMES, 72)).astype(f32),
                    "betas": rng.normal(size=(FRAMES, 10)).astype(f32),
                }
                for name, value in arrays.items():
                    np.save(folder / f"{name}.npy", value)
                verts = np.lib.format.open_memmap(folder / "verts.npy", mode="w+", dtype=f32, shape=(FRAMES, 6890, 3))
                verts[0, 0] = 1.0
                verts.flush()
                del verts
                folders.append(folder)
    return folders


def clip_folders(release: Path) -> list[Path]:
    """The release's clip folders in the importer's order (so clip ``k`` is the store's window ``k``)."""

    return [clip.path for clip in find_clips(release)]


class ClipFiles:
    """A map-style dataset over clip folders that ``np.load``\\ s ``files`` per item, like the authors' code.

    Item ``i`` is a dict of the loaded arrays (EMG transposed to (8, 30) and joints cut to the 25
    BODY_25 points, as the authors return them) plus the folder's path.
    """

    def __init__(self, folders: list[Path], files: tuple[str, ...] = CLIP_FILES):
        self.folders = [str(f) for f in folders]
        self.files = files

    def __len__(self) -> int:
        return len(self.folders)

    def __getitem__(self, i: int) -> dict:
        path = self.folders[i]
        item = {name: np.load(path + f"/{name}.npy") for name in self.files}
        item["emgvalues"] = item["emgvalues"].transpose(1, 0)
        item["joints2d"] = item["joints2d"][:, :25, :]
        if "joints3d" in item:
            item["joints3d"] = item["joints3d"][:, :25, :]
        item["filepath"] = path
        return item


class StoreWindows:
    """Windows of a Zarr store for a ``DataLoader`` with a batch sampler: item ``[i, j, ...]`` is a batch.

    The store is opened lazily and its frames read once (:func:`miakit.learn.windows.load_frames`);
    a batch is gathered with one fancy index: inputs (B, T, F) normalized as the models take them
    and EMG (B, M, T) on the raw scale, float32 tensors. Windows default to the store's
    non-overlapping windows of ``window`` frames (a release's clips).
    """

    def __init__(self, store: str | Path, *, window: int = FRAMES, stride: int | None = None):

        ds = open_store(store)
        self.frames = load_frames(ds)
        self.index = windows_where(ds, np.zeros(ds.sizes["frame"], np.int64), window=window, stride=stride or window)[0]
        self.offsets = np.arange(window)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, batch):
        import torch

        rows = self.index.start[np.asarray(batch)][:, None] + self.offsets
        x = torch.from_numpy(self.frames.inputs[rows])
        y = torch.from_numpy(self.frames.emg[rows].transpose(0, 2, 1).copy())
        return x, y


def store_loader(dataset: StoreWindows, *, batch_size: int = BATCH, seed: int = 0):
    """A shuffling ``DataLoader`` over ``dataset`` that asks it for whole batches."""
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler

    sampler = BatchSampler(
        RandomSampler(dataset, generator=torch.Generator().manual_seed(seed)), batch_size, drop_last=False
    )
    # a Dataset by duck typing (__getitem__, __len__): torch's stubs want the class
    return DataLoader(dataset, sampler=sampler, batch_size=None, num_workers=0)  # type: ignore[arg-type]


def clip_loader(dataset: ClipFiles, *, batch_size: int = BATCH, seed: int = 0):
    """The authors' ``DataLoader``: shuffled batches of items, default collate (no worker processes here)."""
    import torch
    from torch.utils.data import DataLoader

    generator = torch.Generator().manual_seed(seed)
    # a Dataset by duck typing (__getitem__, __len__): torch's stubs want the class
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator, num_workers=0)  # type: ignore[arg-type]


# -- benchmarks ------------------------------------------------------------------------------------


def bench_loading(store: Path, release: Path, *, min_seconds: float = 2.0) -> dict:
    """Windows per second of the clip-file loaders (one epoch each) and the store loader (cold and warm)."""
    folders = clip_folders(release)
    authors = _epoch_rate(clip_loader(ClipFiles(folders)), epochs=1)
    lean = _epoch_rate(clip_loader(ClipFiles(folders, LEAN_FILES)), epochs=1)
    t0 = time.perf_counter()
    dataset = StoreWindows(store)
    open_s = time.perf_counter() - t0
    if len(dataset) != len(folders):
        raise RuntimeError(f"the store has {len(dataset)} windows for {len(folders)} clips")
    first = _epoch_rate(store_loader(dataset), epochs=1)
    cold = len(dataset) / (open_s + len(dataset) / first)
    epochs = max(1, math.ceil(min_seconds * first / len(dataset)))
    warm = _epoch_rate(store_loader(dataset), epochs=epochs)
    return {
        "windows": len(dataset),
        "batch_size": BATCH,
        "workers": 0,
        "authors_clip_windows_per_s": authors,
        "lean_clip_windows_per_s": lean,
        "store_open_s": open_s,
        "store_windows_per_s": warm,
        "store_cold_windows_per_s": cold,
        "store_epochs": epochs,
        "ratio_vs_authors": warm / authors,
        "ratio_vs_lean": warm / lean,
        "cold_ratio_vs_authors": cold / authors,
    }


def _epoch_rate(loader, *, epochs: int) -> float:
    n = 0
    t0 = time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            n += len(batch["filepath"]) if isinstance(batch, dict) else len(batch[0])
    return n / (time.perf_counter() - t0)


def bench_training(
    store: Path,
    *,
    steps: int = 40,
    repeats: int = 5,
    model: str = "transformer",
    device: str = "auto",
    threads: int | None = 1,
) -> dict:
    """Samples per second of :func:`~miakit.learn.train.train` and of a bare loop, same model and batches.

    The trainer runs ``steps`` steps with one validation at the end (and its checkpoints); the bare
    loop runs the same number of steps over batches gathered beforehand. They take turns, in
    alternating order, ``repeats`` runs each, each run timed on the wall clock and on process CPU
    time. ``ratio`` (trainer / bare loop speed) is the best CPU time of each on a CPU device (the
    best wall time on a GPU); ``pair_ratios`` are the ratios of each interleaved pair, whose spread
    says how far one number can be trusted.

    ``threads``: torch's CPU threads during the benchmark (None: torch's default). One by default:
    with several, a thread waiting for another that the busy machine has descheduled spins, and that
    waiting counts as CPU time (runs of the same 20 steps took 2.9 to 8.0 CPU s on 2 threads of a
    2-core machine at load 12); on one thread the CPU time is the work.
    """

    ds = open_store(store)
    frames = load_frames(ds)
    device = resolve_device(device)
    with pinned_threads(threads):  # exactly these threads: no training picks its own meanwhile
        return _bench_training(ds, frames, steps=steps, repeats=repeats, model=model, device=device)


def _bench_training(ds, frames, *, steps: int, repeats: int, model: str, device: str) -> dict:
    import torch

    config = TrainConfig(
        model=model, batch_size=BATCH, max_steps=steps, eval_every=steps, warmup_steps=min(10, steps), device=device
    )
    splits = split_in_distribution(ds, window=config.window, eval_stride=config.window)
    trainer_s, bare_s, trainer_cpu_s, bare_cpu_s = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="miakit-speed-train-") as tmp:
        for r in range(repeats):
            for which in ("bare", "trainer") if r % 2 == 0 else ("trainer", "bare"):  # neither always goes first
                if which == "bare":
                    wall, cpu = _bare_loop(frames, splits, config, device)
                    bare_s.append(wall)
                    bare_cpu_s.append(cpu)
                else:
                    t0, c0 = time.perf_counter(), time.process_time()
                    train(ds, config, Path(tmp) / f"run{r}", progress=False, splits=splits, frames=frames)
                    trainer_s.append(time.perf_counter() - t0)
                    trainer_cpu_s.append(time.process_time() - c0)
    samples = steps * BATCH
    trainer, bare = samples / min(trainer_s), samples / min(bare_s)
    trainer_cpu, bare_cpu = samples / min(trainer_cpu_s), samples / min(bare_cpu_s)
    basis = "wall" if device.startswith("cuda") else "cpu"
    pairs = [b / t for b, t in zip(*((bare_s, trainer_s) if basis == "wall" else (bare_cpu_s, trainer_cpu_s)))]
    return {
        "model": model,
        "device": device,
        "steps": steps,
        "batch_size": BATCH,
        "window": config.window,
        "repeats": repeats,
        "torch_threads": torch.get_num_threads(),
        "train_windows": len(splits.train),
        "val_windows": len(splits.val),
        "trainer_samples_per_s": trainer,
        "bare_samples_per_s": bare,
        "wall_ratio": trainer / bare,
        "trainer_cpu_samples_per_s": trainer_cpu,
        "bare_cpu_samples_per_s": bare_cpu,
        "cpu_ratio": trainer_cpu / bare_cpu,
        "ratio_basis": basis,
        "ratio": trainer_cpu / bare_cpu if basis == "cpu" else trainer / bare,
        "pair_ratios": pairs,
        "pair_ratio_median": float(np.median(pairs)),
        "pair_ratio_min": min(pairs),
        "pair_ratio_max": max(pairs),
        "trainer_s": trainer_s,
        "bare_s": bare_s,
        "trainer_cpu_s": trainer_cpu_s,
        "bare_cpu_s": bare_cpu_s,
    }


def _bare_loop(frames, splits, config, device: str) -> tuple[float, float]:
    """Wall and process CPU seconds for ``config.max_steps`` plain AdamW steps on batches already in
    memory (on ``device``)."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(config.seed)
    model = build_model(config.model, n_features=frames.n_features, n_muscles=frames.n_muscles).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    rng = np.random.default_rng(config.seed)
    picks = splits.train.start[rng.integers(len(splits.train), size=(config.max_steps, config.batch_size))]
    rows = picks[..., None] + np.arange(config.window)  # (steps, B, T)
    xs = torch.from_numpy(frames.inputs[rows]).to(device)
    ys = torch.from_numpy((frames.emg[rows] / np.float32(config.emg_scale)).transpose(0, 1, 3, 2).copy()).to(device)
    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=config.amp and device.startswith("cuda"))
    model.train()
    _sync(device)
    t0, c0 = time.perf_counter(), time.process_time()
    for x, y in zip(xs, ys):
        with amp:
            loss = F.mse_loss(model(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    _sync(device)
    return time.perf_counter() - t0, time.process_time() - c0


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


# -- report ----------------------------------------------------------------------------------------


def machine() -> dict:
    """Where the numbers come from."""
    import torch

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def markdown(results: dict) -> str:
    """The figures as a Markdown page."""
    lo, tr, m = results["loading"], results["training"], results["machine"]
    check = {True: "met", False: "NOT met"}
    goals = results["goals"]
    lines = [
        "# miakit speed benchmarks" + (" (quick)" if results["quick"] else ""),
        "",
        f"Machine: {m['platform']}, {m['cpus']} CPUs, torch {m['torch']}, CUDA: {m['cuda'] or 'none'}. "
        "One process; a shared machine makes absolute numbers noisy, the ratios less so.",
        "",
        f"## Loading ({lo['windows']} windows of 30 frames, batches "
        f"of {lo['batch_size']}, shuffled, no worker processes)",
        "",
        "| loader | windows/s |",
        "| --- | ---: |",
        f"| clip .npy files, every file per clip (the authors' dataset) | {lo['authors_clip_windows_per_s']:,.0f} |",
        f"| clip .npy files, EMG and 2D joints only | {lo['lean_clip_windows_per_s']:,.0f} |",
        f"| Zarr store, warm ({lo['store_epochs']} epochs) | {lo['store_windows_per_s']:,.0f} |",
        f"| Zarr store, cold (opening and reading the store, {lo['store_open_s']:.2f} "
        f"s, counted) | {lo['store_cold_windows_per_s']:,.0f} |",
        "",
        f"Zarr vs the authors' loader: **{lo['ratio_vs_authors']:,.1f}x** (cold {lo['cold_ratio_vs_authors']:,.1f}x); "
        f"vs the lean clip loader: {lo['ratio_vs_lean']:,.1f}x.",
        "",
        f"## Training ({tr['model']} on {tr['device']}, batch {tr['batch_size']}, window {tr['window']}, "
        f"{tr['steps']} steps, best of {tr['repeats']}, {tr['torch_threads']} torch threads)",
        "",
        "| loop | samples/s, wall clock | samples/s, process CPU time |",
        "| --- | ---: | ---: |",
        "| bare loop (forward, MSE, backward, AdamW; batches in memory) | "
        f"{tr['bare_samples_per_s']:,.1f} | {tr['bare_cpu_samples_per_s']:,.1f} |",
        f"| full trainer (schedule, clipping, 1 validation of {tr['val_windows']} windows, "
        f"checkpoints) | {tr['trainer_samples_per_s']:,.1f} | {tr['trainer_cpu_samples_per_s']:,.1f} |",
        "",
        f"Trainer / bare loop: **{tr['ratio']:.1%}** on "
        + (
            "process CPU time"
            if tr["ratio_basis"] == "cpu"
            else "the wall clock (a GPU: its work is not the process CPU time)"
        )
        + " "
        f"(CPU time {tr['cpu_ratio']:.1%}, wall clock {tr['wall_ratio']:.1%}). "
        "Per interleaved pair of runs, on the same basis: "
        f"median {tr['pair_ratio_median']:.1%}, from {tr['pair_ratio_min']:.1%} to {tr['pair_ratio_max']:.1%}. "
        "CPU time counts only this process's own work, so a busy machine changes it little; the wall clock also counts "
        "the time other processes held the cores.",
        "",
        f"Every run in turn, wall s: bare {', '.join(f'{t:.2f}' for t in tr['bare_s'])}; "
        f"trainer {', '.join(f'{t:.2f}' for t in tr['trainer_s'])}. "
        f"CPU s: bare {', '.join(f'{t:.2f}' for t in tr['bare_cpu_s'])}; "
        f"trainer {', '.join(f'{t:.2f}' for t in tr['trainer_cpu_s'])}.",
        "",
        "## Goals",
        "",
        "| goal | target | measured | |",
        "| --- | ---: | ---: | --- |",
        f"| Zarr loading, windows/s | {goals['loading_windows_per_s']['goal']:,.0f} | "
        f"{goals['loading_windows_per_s']['value']:,.0f} | {check[goals['loading_windows_per_s']['met']]} |",
        f"| Zarr vs clip-file loader | {goals['loading_ratio']['goal']:.0f}x | "
        f"{goals['loading_ratio']['value']:,.1f}x | {check[goals['loading_ratio']['met']]} |",
        f"| trainer vs bare loop | {goals['training_ratio']['goal']:.0%} | "
        f"{goals['training_ratio']['value']:.1%} | {check[goals['training_ratio']['met']]} |",
    ]
    return "\n".join(lines) + "\n"
