"""MediaPipe started quietly: its start-up log lines kept off the terminal (:class:`quiet_mediapipe`)."""

from __future__ import annotations

import os

_QUIET_ENV = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "3", "ABSL_MIN_LOG_LEVEL": "2"}


class quiet_mediapipe:
    """Keep MediaPipe's start-up lines (TFLite's XNNPACK note, absl warnings, protobuf's
    deprecation warning) off the terminal: log levels set in the environment, and the C-level
    standard error (file descriptor 2) sent to /dev/null inside the block. Use it around importing
    mediapipe, building a graph and its first call; real errors still raise as exceptions."""

    def __enter__(self):
        import sys
        import warnings

        for key, value in _QUIET_ENV.items():
            os.environ.setdefault(key, value)
        # protobuf warns on every results conversion, long after the block: ignored for good
        warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
        sys.stderr.flush()
        self._saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        return self

    def __exit__(self, *exc) -> None:
        import sys

        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
