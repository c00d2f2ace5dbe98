"""The trainer: a dataclass config (:mod:`miakit.learn.config`), one loop that reads top to bottom,
exact resume.

``train(ds, config, out)`` splits ``ds`` (in-distribution unless ``splits`` is given), trains
``config.model`` with AdamW on EMG / ``emg_scale`` with MSE, warmup then cosine decay, evaluates
RMSE on the raw scale on the validation windows every ``eval_every`` steps, keeps the best model
in ``out/checkpoint.pt``, the latest state in ``out/last.pt`` and the curve in
``out/history.csv``, and stops early after ``patience`` evaluations without improvement.

A checkpoint holds the model and optimizer states, the config, the step, the best metric, the
early-stopping counter, the history and every RNG state (torch, CUDA, numpy, python and the batch
sampler), so ``resume=True`` continues exactly where ``last.pt`` left off. Loading a checkpoint to
predict with it, and predicting, are :mod:`miakit.learn.inference`.

Under ``torchrun`` the same call trains data-parallel (:mod:`miakit.learn.distributed`): every rank
draws the same global batch of ``batch_size`` windows and trains on its share, gradients are
averaged (DistributedDataParallel: gloo on CPU, nccl on CUDA), and only rank 0 writes files.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from miakit.errors import InputError
from miakit.layout import MIRROR_MUSCLE
from miakit.learn.config import TrainConfig, model_options
from miakit.learn.distributed import from_environment, is_main_process
from miakit.learn.features import mirror_map, mirror_permutation, parse_features, subject_names
from miakit.learn.inference import load_checkpoint
from miakit.learn.models import build_model
from miakit.learn.windows import FrameArrays, Splits, load_frames, split_in_distribution
from miakit.outputs import run_lock, write_mark
from miakit.progress import progress_bar


@dataclass
class TrainResult:
    """What a run produced: the best checkpoint, its validation RMSE (raw scale), steps done."""

    checkpoint: Path
    last: Path
    best_val_rmse: float
    steps: int
    history: typing.Any  # pandas DataFrame: step, lr, train_loss, val_rmse, elapsed_s, cpu_s (at each evaluation)
    wall_s: float
    cpu_s: float  # this process's CPU time in the training loop (all its threads), as wall_s
    stopped: str  # max_steps, early_stopping, max_seconds, until_step
    model: typing.Any = None  # the trained torch module in its last state (on every rank under torchrun)


def lr_at(step: int, *, lr: float, min_lr: float, warmup_steps: int, max_steps: int) -> float:
    """Learning rate at ``step``: linear warmup to ``lr``, then cosine decay to ``min_lr``."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    progress = min((step - warmup_steps) / max(max_steps - warmup_steps, 1), 1.0)
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def _schedule_step(step: int, elapsed_s: float, config: TrainConfig) -> int:
    """The step the schedule is at: ``step``, or further along when ``max_seconds`` runs out first.

    With a time budget the schedule follows whichever is further, the steps or the seconds, so a
    run cut short by time has still warmed up and decayed (such a run depends on the machine's
    speed, so it is reproducible only where the steps, not the seconds, are the limit).
    """
    if not config.max_seconds:
        return step
    return max(step, min(int(config.max_steps * elapsed_s / config.max_seconds), config.max_steps))


def config_splits(ds, config: TrainConfig) -> Splits:
    """The in-distribution split that a run with ``config`` trains, validates and is tested on
    (:func:`miakit.learn.windows.split_in_distribution` with the config's window, strides and
    fractions)."""
    return split_in_distribution(
        ds,
        window=config.window,
        stride=config.stride,
        eval_stride=config.eval_stride or None,
        test_fraction=config.test_fraction,
        val_fraction=config.val_fraction,
    )


def train(
    ds,
    config: TrainConfig,
    out: str | Path,
    *,
    progress: bool = True,
    resume: bool = False,
    splits: Splits | None = None,
    frames: FrameArrays | None = None,
    until_step: int | None = None,
    init: str | Path | None = None,
) -> TrainResult:
    """Train ``config.model`` on ``ds`` and write ``out/checkpoint.pt``, ``out/last.pt``, ``out/history.csv``.

    ``splits`` defaults to the in-distribution split; ``frames`` to :func:`load_frames` of ``ds``.
    ``until_step`` stops the run at that step as if interrupted (the schedule still runs to
    ``max_steps``); ``resume=True`` continues from ``out/last.pt`` exactly (a run that had finished,
    or stopped early, stays as it was). ``init`` (a checkpoint of
    the same model and data shape) fine-tunes: training starts from its weights.

    ``out`` is locked while training (:func:`miakit.outputs.run_lock`: a second training into it
    is refused) and marked as a run folder (``.miakit-output.json``). Torch's thread count is
    chosen from the cores free now (:func:`choose_threads`) unless set explicitly.
    """

    if os.environ.get("RANK", "0") != "0":  # torchrun: rank 0 holds the folder's lock for the job
        return _train(ds, config, Path(out), progress, resume, splits, frames, until_step, init)
    with run_lock(out):
        return _train(ds, config, Path(out), progress, resume, splits, frames, until_step, init)


def _train(ds, config, out: Path, progress, resume, splits, frames, until_step, init) -> TrainResult:
    import pandas as pd
    import torch
    import torch.nn.functional as F

    if resume and not (out / "last.pt").is_file():
        raise InputError(
            out / "last.pt",
            "nothing to resume: no last.pt",
            expected="the --out folder of an earlier run (drop --resume to start afresh)",
            found="no such file",
        )
    out.mkdir(parents=True, exist_ok=True)
    use_free_cores()
    ctx = from_environment(config.device)  # one process, or this rank of a torchrun job (miakit.learn.distributed)
    if ctx.rank == 0:
        write_mark(out, "run")
    ctx.check_batch(config.batch_size)
    device = ctx.device
    splits = splits or config_splits(ds, config)
    frames = frames or load_frames(ds)
    if config.features != "paper" or config.augment != "none":  # frames: the paper's inputs, as load_frames gives them
        from miakit.learn.features import prepare_inputs

        frames, splits = prepare_inputs(ds, frames, splits, features=config.features, augment=config.augment)
    seed_everything(config.seed)
    model = build_model(
        config.model, n_features=frames.n_features, n_muscles=frames.n_muscles, **model_options(config)
    ).to(device)
    missing = not np.isfinite(frames.emg).all()  # muscles a recording lacks are NaN (lab imports): the loss skips them
    _start_at_the_mean(model, _finite_mean(frames.emg[splits.train.frames()]) / config.emg_scale)
    if config.standardize:
        seen = frames.inputs[np.unique(splits.train.frames())]
        with np.errstate(
            all="ignore"
        ):  # a feature of a missing point is NaN (+mask): its mean is of the points present
            mean, std = np.nanmean(seen, axis=0), np.nanstd(seen, axis=0)
        model.scale_inputs.set(np.nan_to_num(mean), np.nan_to_num(std, nan=1.0))
    if "mirror" in config.augment.split("+") and config.predict_mirrored and hasattr(model, "mirror"):
        _mirror_predictions(model, config, frames)
    if init is not None:  # fine-tuning: start from another run's weights (its input scaling included)
        try:
            model.load_state_dict(check_init(init, config, frames, device=device)["model"])
        except RuntimeError as exc:  # same layout, other sizes (a window the positions do not cover, ...)
            raise InputError(
                init,
                "the checkpoint's weights do not fit this model",
                field="window/size",
                found=str(exc).splitlines()[-1][:160],
            ) from None
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sampler = torch.Generator().manual_seed(config.seed)
    meta = _meta(ds, frames, config)
    state: dict[str, Any] = {
        "step": 0,
        "best_val_rmse": math.inf,
        "bad_evals": 0,
        "history": [],
        "elapsed_s": 0.0,
        "cpu_s": 0.0,
    }
    if resume and (out / "last.pt").exists():
        state = _restore(out / "last.pt", model, opt, sampler, config)

    _set_dropout(model, config.dropout)
    net = ctx.wrap(model)  # DistributedDataParallel under torchrun, else the model
    inputs = torch.from_numpy(frames.inputs).to(device)
    targets = torch.from_numpy(frames.emg / np.float32(config.emg_scale)).to(device)
    starts = torch.from_numpy(splits.train.start)
    offsets = torch.arange(config.window, device=device)  # target frames of a window
    in_offsets = torch.arange(-config.context, config.window + config.context, device=device)  # its input frames
    bounds = (
        None
        if not config.context
        else (torch.from_numpy(frames.run_first).to(device), torch.from_numpy(frames.run_last).to(device))
    )
    x_val, y_val, _ = frames.gather(splits.val, context=config.context)
    amp = torch.autocast("cuda", dtype=torch.bfloat16, enabled=config.amp and device.startswith("cuda"))
    step, losses, t0 = state["step"], [], time.perf_counter() - state["elapsed_s"]
    c0 = time.process_time() - state.get(
        "cpu_s", 0.0
    )  # this process's CPU seconds (all its threads): steadier than wall time on a busy machine
    saved_at = step if resume and (out / "last.pt").exists() else None  # the step ``last.pt`` holds
    stopped = (
        "early_stopping" if state["bad_evals"] >= config.patience else "max_steps"
    )  # a resumed run may have stopped
    clock = (lambda: ctx.agree(time.perf_counter() - t0)) if config.max_seconds else (lambda: time.perf_counter() - t0)

    with _progress(progress and ctx.main, config.max_steps, step) as bar:
        while step < config.max_steps and stopped != "early_stopping":
            lr = lr_at(
                _schedule_step(step, clock(), config),
                lr=config.lr,
                min_lr=config.min_lr,
                warmup_steps=config.warmup_steps,
                max_steps=config.max_steps,
            )
            for group in opt.param_groups:
                group["lr"] = lr
            pick = starts[torch.randint(len(starts), (config.batch_size,), generator=sampler)].to(device)
            first = ctx.shard(pick)[:, None]  # (B / processes, 1): this rank's share
            frame_idx = first + offsets  # (B / processes, T)
            x, y = inputs[_input_frames(first, in_offsets, bounds)], targets[frame_idx].transpose(1, 2)
            model.train()
            with amp:
                loss = _masked_mse(net(x).float(), y) if missing else F.mse_loss(net(x).float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            step += 1
            losses.append(loss.detach())  # no device sync per step
            bar(step, state["best_val_rmse"], losses)

            out_of_time = bool(config.max_seconds) and clock() > config.max_seconds
            if step % config.eval_every == 0 or step == config.max_steps or out_of_time:
                val = ctx.rmse(model, x_val, y_val, emg_scale=config.emg_scale, amp=config.amp)
                elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
                state["history"].append(
                    {
                        "step": step,
                        "lr": lr,
                        "train_loss": ctx.mean(losses),
                        "val_rmse": val,
                        "elapsed_s": elapsed,
                        "cpu_s": cpu,
                    }
                )
                losses = []
                improved = not (val >= state["best_val_rmse"])  # NaN (no validation windows) counts as better
                state.update(
                    step=step, elapsed_s=elapsed, cpu_s=cpu, bad_evals=0 if improved else state["bad_evals"] + 1
                )
                if improved:
                    state["best_val_rmse"] = val
                bar(step, state["best_val_rmse"], None)  # the bar's best is the checkpoint's, to the last evaluation
                # the best model is also the latest: serialized once for both files
                _save(
                    [out / "checkpoint.pt", out / "last.pt"] if improved else [out / "last.pt"],
                    model,
                    opt,
                    sampler,
                    config,
                    state,
                    meta,
                )
                saved_at = step
                if ctx.main:
                    pd.DataFrame(state["history"]).to_csv(out / "history.csv", index=False)
                if state["bad_evals"] >= config.patience:
                    stopped = "early_stopping"
                    break
            if until_step is not None and step >= until_step:
                stopped = "until_step"
                break
            if out_of_time:
                stopped = "max_seconds"
                break

    state.update(step=step, elapsed_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
    if saved_at != step:  # stopped between evaluations (or before the first)
        first_save = not (out / "checkpoint.pt").exists()
        _save(
            [out / "last.pt", out / "checkpoint.pt"] if first_save else [out / "last.pt"],
            model,
            opt,
            sampler,
            config,
            state,
            meta,
        )
    history = pd.DataFrame(state["history"], columns=["step", "lr", "train_loss", "val_rmse", "elapsed_s", "cpu_s"])
    if ctx.main:
        history.to_csv(out / "history.csv", index=False)
    ctx.close()
    return TrainResult(
        out / "checkpoint.pt",
        out / "last.pt",
        state["best_val_rmse"],
        step,
        history,
        state["elapsed_s"],
        state["cpu_s"],
        stopped,
        model,
    )


_THREADS: dict[str, int | None] = {"set": None, "default": None, "pinned": None}


def machine_load(sample_s: float = 0.5) -> float:
    """How many cores other processes keep busy now: the machine's busy time over ``sample_s`` from
    ``/proc/stat`` (this process sleeps meanwhile), else the last minute's load (``os.getloadavg``).
    Not the load average where ``/proc/stat`` is there: it lags a minute, so a command's own earlier
    work (the demo's synthesis and build before its training) would count as another's load."""
    import time

    def ticks() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return sum(values), values[3] + (values[4] if len(values) > 4 else 0)  # all, idle + iowait

    try:
        total0, idle0 = ticks()
        time.sleep(sample_s)
        total1, idle1 = ticks()
        n = os.cpu_count() or 1
        if total1 > total0:
            return n * (1.0 - (idle1 - idle0) / (total1 - total0))
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.getloadavg()[0]
    except OSError:  # not on this platform
        return 0.0


def choose_threads(limit: int, *, cores: int | None = None, load: float | None = None) -> int:
    """Threads for torch: the cores this process may run on (its CPU affinity) less the cores other
    processes keep busy now (:func:`machine_load`), rounded, between 1 and ``limit``. On a busy
    machine a synchronous multi-threaded step waits for its slowest thread, so threads beyond the
    free cores make a training several times slower, not a little."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if load is None:
        load = machine_load()
    return max(1, min(limit, int(cores - load + 0.5)))


def use_free_cores() -> int:
    """Set torch's thread count from the cores free now (:func:`choose_threads`), at most torch's
    own default; leave it where it was set explicitly (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, or
    ``torch.set_num_threads`` by the caller). Returns the count in use."""
    import torch

    now = torch.get_num_threads()
    if _THREADS["pinned"] or os.environ.get("OMP_NUM_THREADS") or os.environ.get("MKL_NUM_THREADS"):
        return now
    if _THREADS["set"] is None:
        _THREADS["default"] = now  # torch's default, or what the caller set before the first run
    elif now != _THREADS["set"]:
        return now  # set by someone since: theirs to choose
    chosen = choose_threads(_THREADS["default"] or now)
    torch.set_num_threads(chosen)
    _THREADS["set"] = chosen
    return chosen


@contextmanager
def pinned_threads(threads: int | None) -> Iterator[None]:
    """Run the block with torch at ``threads`` threads (None or 0: as it is), which no training
    changes meanwhile (``miakit bench speed --threads N`` measures exactly N); restored after."""
    import torch

    before, pinned = torch.get_num_threads(), _THREADS["pinned"]
    if threads:
        torch.set_num_threads(threads)
        _THREADS["pinned"] = threads
    try:
        yield
    finally:
        torch.set_num_threads(before)
        _THREADS["pinned"] = pinned


def check_init(init: str | Path, config: TrainConfig, frames: FrameArrays, *, device: str = "cpu") -> dict:
    """The checkpoint ``init`` (loaded), after checking that its model and input layout are this
    run's: model, features and context of the config; keypoints, muscles and the number of inputs
    of the data. InputError naming the first difference otherwise (a fresh optimizer is the caller's)."""
    import torch

    ckpt = load_checkpoint(init, device=device)  # one line for a missing or foreign file
    theirs, meta = ckpt[1], ckpt[2]
    for name in ("model", "features", "context", "readout"):
        if getattr(theirs, name) != getattr(config, name):
            raise InputError(
                init,
                f"the checkpoint was trained with another {name}; pass --model / --set {name}=... as it was",
                field=name,
                expected=getattr(theirs, name),
                found=getattr(config, name),
            )
    for name, ours in (
        ("keypoints", list(frames.keypoints)),
        ("muscles", list(frames.muscles)),
        ("n_features", frames.n_features),
    ):
        if meta.get(name) is not None and meta[name] != ours:
            hint = (
                " (+subject inputs depend on the dataset's subjects: fine-tune without them)"
                if name == "n_features" and "subject" in str(config.features)
                else ""
            )
            shown = lambda v: v if not isinstance(v, list) else f"{len(v)}: {', '.join(map(str, v[:3]))}, ..."  # noqa: E731
            raise InputError(
                init,
                f"the dataset's model inputs do not fit the checkpoint{hint}",
                field=name,
                expected=shown(meta[name]),
                found=shown(ours),
            )
    state = torch.load(init, map_location=device, weights_only=True)
    bad = [
        k for k, v in state["model"].items() if torch.is_tensor(v) and v.is_floating_point() and not v.isfinite().all()
    ]
    if bad:
        raise InputError(
            init,
            "the checkpoint's weights are not finite (NaN or inf): it cannot start a training",
            field="model",
            found=f"{len(bad)} tensors, e.g. {bad[0]}",
        )
    return state


def _input_frames(first, in_offsets, bounds):
    """Input frame indices (B, T + 2 context) of windows starting at ``first`` (B, 1), as
    :func:`miakit.learn.windows.context_frames` makes them, on the device."""
    import torch

    cols = first + in_offsets
    return cols if bounds is None else torch.clamp(cols, bounds[0][first], bounds[1][first])


def _set_dropout(model, p: float) -> None:
    """Set every dropout probability of ``model`` (dropout layers and attention) to ``p``; -1 leaves them."""
    import torch

    if p == -1.0:
        return
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p
        elif isinstance(module, torch.nn.MultiheadAttention):
            module.dropout = p


def _mirror_predictions(model, config: TrainConfig, frames: FrameArrays) -> None:
    """Turn on the model's test-time mirroring where its features have a mirror map."""

    inputs = mirror_map(config.features, frames.keypoints, frames.n_features)
    if inputs is not None:
        model.mirror.set(*inputs, mirror_permutation(list(frames.muscles), MIRROR_MUSCLE, what="muscle"))


def _finite_mean(emg: np.ndarray) -> np.ndarray:
    """Each muscle's mean over windows and steps, over its finite values (0 where it has none)."""
    ok = np.isfinite(emg)
    return np.where(ok, emg, 0).sum(axis=(0, 1)) / np.maximum(ok.sum(axis=(0, 1)), 1)


def _masked_mse(pred, target):
    """MSE over the finite targets only (a missing muscle is NaN in the data, never a zero to learn)."""
    import torch
    import torch.nn.functional as F

    ok = torch.isfinite(target)
    return F.mse_loss(pred[ok], target[ok]) if bool(ok.any()) else (pred * 0).sum()


def _start_at_the_mean(model, mean: np.ndarray) -> None:
    """Start the model at the best constant guess: output weights 0, bias the training mean (scaled).

    With the default initialization the output starts near zero with a spread of about 0.5,
    and the Transformer's final ReLU leaves some muscles dead (zero gradient) from the first
    step. The architecture is unchanged; only where training starts.
    """
    import torch

    last = (
        getattr(model, "head", None)
        or [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d))][-1]
    )
    bias = last.bias
    assert bias is not None, "the last layer has a bias"
    with torch.no_grad():
        last.weight.zero_()
        bias.copy_(torch.as_tensor(mean, dtype=bias.dtype))
    readout = getattr(model, "readout", None)
    if readout is not None and hasattr(readout, "set"):  # ExpReadout, SoftplusReadout: their m is the same mean
        readout.set(mean)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA)."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _meta(ds, frames: FrameArrays, config: TrainConfig) -> dict:
    """What a checkpoint must know of its training data to make inputs the same way again; with
    ``+subject``, the subjects in the order of their columns (the prediction's data may hold others)."""

    subjects = subject_names(ds) if "subject" in parse_features(config.features)[1] else []
    return {
        "n_features": frames.n_features,
        "n_muscles": frames.n_muscles,
        "muscles": list(frames.muscles),
        "keypoints": list(frames.keypoints),
        "emg_units": str(ds.attrs.get("emg_units", "")),
        "emg_scale": config.emg_scale,
        "window": config.window,
        "subjects": subjects,
    }


def _save(paths: list[Path], model, opt, sampler, config: TrainConfig, state: dict, meta: dict) -> None:
    """Write one checkpoint to each of ``paths`` atomically (rank 0 only; the other ranks hold the
    same state). It is serialized once and copied to the other paths, which costs half as much."""
    if not is_main_process():
        return
    import torch

    numpy_state = np.random.get_state()
    assert isinstance(numpy_state, tuple), "the legacy form: (kind, keys, pos, has_gauss, cached)"
    kind, keys, pos, has_gauss, cached = numpy_state
    rng = {
        "torch": torch.get_rng_state(),
        "sampler": sampler.get_state(),
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    blob = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "config": asdict(config),
        "state": dict(state),
        "meta": meta,
        "rng": rng,
    }
    tmps = [path.with_suffix(".tmp") for path in paths]
    torch.save(blob, tmps[0])
    for tmp in tmps[1:]:
        shutil.copyfile(tmps[0], tmp)  # a copy, not a link: each file stays its own
    for tmp, path in zip(tmps, paths):
        tmp.replace(path)  # atomic: a crash never leaves half a checkpoint


def _restore(path: Path, model, opt, sampler, config: TrainConfig) -> dict:
    try:
        return _restore_checkpoint(path, model, opt, sampler, config)
    except InputError:
        raise
    except Exception as exc:  # a truncated file, another program's pickle, a checkpoint of another model
        detail = " ".join(str(exc).split()).split(". ")[0][:120]  # torch's first sentence says it
        raise InputError(
            path, f"cannot resume: not a miakit checkpoint of this run ({exc.__class__.__name__}: {detail})"
        ) from None


def _restore_checkpoint(path: Path, model, opt, sampler, config: TrainConfig) -> dict:
    import torch

    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if ckpt["config"] != asdict(config):
        now = asdict(config)
        changed = sorted(k for k in set(ckpt["config"]) | set(now) if ckpt["config"].get(k) != now.get(k))
        was = "; ".join(f"{k} {ckpt['config'].get(k)!r:.40} then, {now.get(k)!r:.40} now" for k in changed[:6])
        more = f" and {len(changed) - 6} more" if len(changed) > 6 else ""
        raise InputError(
            path,
            f"cannot resume with a different config: {was}{more} (resume with the run's settings, or drop --resume)",
            field=", ".join(changed[:6]) + more,
        )
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    rng = ckpt["rng"]
    torch.set_rng_state(rng["torch"])
    sampler.set_state(rng["sampler"])
    random.setstate(rng["python"])
    kind, keys, pos, has_gauss, cached = rng["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return dict(ckpt["state"])


class _progress:
    """A progress bar on standard error over steps (or nothing): rich on a terminal, one line every
    30 s in a log (:class:`miakit.progress.LineProgress`: steps, rate, time left, the last batch's
    loss); called as ``bar(step, best_val_rmse, losses)``, ``losses`` the batch losses since the
    last evaluation (read only when a line is written)."""

    def __init__(self, enabled: bool, total: int, completed: int):
        self.enabled, self.total, self.completed = enabled, total, completed

    def __enter__(self):
        if not self.enabled:
            return lambda step, best, losses: None

        self.bar = progress_bar()
        self.bar.__enter__()
        task = self.bar.add_task("train", total=self.total, completed=self.completed)
        return lambda step, best, losses: self.bar.update(
            task,
            completed=step,
            description="train" if math.isinf(best) else f"train (best val RMSE {best:.2f})",
            loss=(lambda: float(losses[-1])) if losses else None,
        )

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)
