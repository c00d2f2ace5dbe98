"""How well the mia pipeline's sync stage recovers a video clock error, over every exercise.

For each of the 20 exercises and two synthetic subjects, a session is simulated with a known error
in the video's stated start (-0.9 to +0.9 s), run through the pipeline, and the recovered offset
compared with the truth. Prints each miss and a summary line; a session whose match is not
confident keeps the clock (counted as declined, not as an error).

    python benchmarks/sync_accuracy.py [--seed 5] [--duration 10]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from miakit.body.subjects import make_subject
from miakit.layout import EXERCISES
from miakit.pipeline import load_pipeline, process_session
from miakit.synth.sessions import simulate, write_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args()
    spec = load_pipeline("mia")
    errors, declined = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, exercise in enumerate(EXERCISES):
            for subject in (0, 2):
                injected = ((i * 7 + subject * 3) % 19) / 10 - 0.9
                sim = simulate(
                    make_subject(subject, seed=args.seed),
                    exercise,
                    seed=args.seed,
                    duration_s=args.duration,
                    clock_error_s=injected,
                )
                folder = write_session(Path(tmp) / f"{exercise}-{subject}", sim, seed=args.seed)
                report = process_session(folder, spec).report
                if report.sync_offset_s is None:
                    declined += 1
                    print(
                        f"declined  {exercise:13s} subject {subject} injected "
                        f"{injected:+.2f} s (confidence {report.sync_confidence})"
                    )
                    continue
                error = report.sync_offset_s + injected
                errors.append(abs(error))
                if abs(error) > 0.05:
                    print(
                        f"miss      {exercise:13s} subject {subject} injected "
                        f"{injected:+.2f} s, error {error * 1000:+.0f} ms"
                    )
    errors = np.array(errors)
    print(
        f"{len(errors)} recovered, {declined} declined; |error| mean {errors.mean() * 1000:.0f} ms, "
        f"max {errors.max() * 1000:.0f} ms; within 50 ms: {(errors <= 0.05).mean():.0%}"
    )


if __name__ == "__main__":
    main()
