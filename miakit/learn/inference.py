"""Inference with a trained model: the device, predictions over windows, their RMSE, checkpoints.

The trainer (:mod:`miakit.learn.train`), data-parallel training (:mod:`miakit.learn.distributed`),
prediction over a dataset or a video (:mod:`miakit.learn.predict`) and the benchmarks all use these;
torch is imported inside each function.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

from miakit.errors import InputError
from miakit.files import check_file
from miakit.learn.config import TrainConfig, model_options
from miakit.learn.metrics import rmse
from miakit.learn.models import build_model


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` where available, else ``cpu``."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(
            "train config", "CUDA is not available on this machine", field="device", expected="auto or cpu", found=name
        )
    return name


def predict(
    model,
    x: np.ndarray,
    *,
    emg_scale: float = 100.0,
    device: str | None = None,
    batch_size: int = 256,
    amp: bool = True,
) -> np.ndarray:
    """EMG (N, M, T) on the raw scale for inputs ``x`` (N, T, F), or (N, T + 2 context, F) for a
    model with context frames, in eval mode without gradients."""
    import torch

    device = device or next(model.parameters()).device.type
    enabled = amp and str(device).startswith("cuda")
    model.eval()
    parts = []
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=enabled):
        for i in range(0, len(x), batch_size):
            xb = torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size], dtype=np.float32)).to(device)
            parts.append(model(xb).float().cpu().numpy())
    n_out = model.head.out_features if hasattr(model, "head") else None
    steps = (
        x.shape[1] - 2 * getattr(model, "context", 0) if x.ndim == 3 else 0
    )  # a model with context predicts the window alone
    empty = np.zeros((0, n_out or 0, steps), np.float32)
    return np.concatenate(parts) * np.float32(emg_scale) if parts else empty


def rmse_of(model, x: np.ndarray, y: np.ndarray, *, emg_scale: float, device: str, amp: bool = True) -> float:
    """Validation RMSE on the raw scale; NaN when there are no windows."""

    if len(x) == 0:
        return float("nan")
    return rmse(predict(model, x, emg_scale=emg_scale, device=device, amp=amp), y)


MAX_CHECKPOINT_BYTES = 4 << 30
"""Cap on a checkpoint's size, 4 GiB (miakit's are a few MB)."""


def load_checkpoint(path: str | Path, *, device: str = "cpu"):
    """Load a checkpoint: ``(model in eval mode, TrainConfig, meta)``.

    ``meta`` holds the data's sizes and layouts (``n_features``, ``n_muscles``, ``muscles``,
    ``keypoints``, ``emg_units``, ``emg_scale``, ``window``, ``subjects``: those of ``+subject``, in
    column order), ``step`` and ``best_val_rmse``.
    """
    import torch

    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such checkpoint")
    check_file(path, max_bytes=MAX_CHECKPOINT_BYTES)
    with path.open("rb") as fh:
        head = fh.read(512)
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):  # torch's zip, or a legacy pickle
        raise InputError(
            path,
            "not a checkpoint file",
            expected="a .pt file written by miakit train",
            found=_kind_of(head),
        )
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
        newer = sorted(set(ckpt["config"]) - {f.name for f in fields(TrainConfig)})
        if newer:
            raise InputError(
                path,
                "written by a newer miakit: this one does not know its settings; upgrade miakit to use it",
                field=", ".join(newer),
            )
        config = TrainConfig(**ckpt["config"])
        meta = dict(ckpt["meta"], step=ckpt["state"]["step"], best_val_rmse=ckpt["state"]["best_val_rmse"])
        model = build_model(
            config.model, n_features=meta["n_features"], n_muscles=meta["n_muscles"], **model_options(config)
        ).to(device)
        keys = model.load_state_dict(ckpt["model"], strict=False)
        if keys.unexpected_keys or any(
            not key.startswith("mirror.") for key in keys.missing_keys
        ):  # checkpoints from before test-time mirroring lack only these
            model.load_state_dict(ckpt["model"])  # raises, naming what is missing
    except InputError:
        raise
    except Exception as exc:  # a truncated file, another program's pickle, an old config
        detail = " ".join(str(exc).split()).split(". ")[0][:120]  # torch's first sentence says it
        raise InputError(path, f"not a miakit checkpoint ({exc.__class__.__name__}: {detail})") from None
    model.eval()
    return model, config, meta


def _kind_of(head: bytes) -> str:
    """What a file that is not a checkpoint looks like from its first bytes."""
    if not head:
        return "an empty file"
    text = head.decode("utf-8", errors="replace")[:-1]  # the last character may be cut
    return "a text file" if all(c.isprintable() or c in "\r\n\t" for c in text) else "another kind of binary file"
