"""``miakit live``: predicted muscle activation while a camera films, on a local web page.

- :mod:`miakit.live.source`: frames from a camera, a network stream or a file played at its own
  pace, stamped on capture, put on the 10 Hz grid; a stream that drops is reopened and the gap marked.
- :mod:`miakit.live.predictor`: one 10 Hz step: pose (the same MediaPipe back end and person
  following as ``miakit predict``) and the model on the latest window (causal: the newest frame's
  prediction uses only frames already seen).
- :mod:`miakit.live.session`: the loop between them (bounded queues; steps the pipeline cannot keep
  up with are dropped and counted), latency and rate, and ``--out``'s files.
- :mod:`miakit.live.server`: the page (starlette + uvicorn, a websocket); ``index.html``,
  ``live.js`` and ``live.css`` beside it are the page.
- :mod:`miakit.live.record_view`: the same page during ``miakit record --live-predict``, the
  sensors' measured EMG beside the prediction.
- :mod:`miakit.live.cli`: the ``miakit live`` command.

Heavy libraries (cv2, mediapipe, torch, starlette, uvicorn) are imported inside the functions that
use them.
"""
