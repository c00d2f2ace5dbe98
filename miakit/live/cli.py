"""``miakit live --checkpoint CKPT [--source ...]``: predicted muscles while a camera films, on a web page.

Thin: parses, starts a :class:`miakit.live.session.LiveSession` and its page
(:func:`miakit.live.server.serve`), waits, and prints a summary to standard error (the ``--out``
folder, where given, as the last line on standard output). Only typer is imported at start-up.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import typer

from miakit.stages.pose_cli import PERSON_HELP, Person


def live(
    checkpoint: Path = typer.Option(
        ..., "--checkpoint", help="A trained model (checkpoint.pt from miakit train or miakit demo)."
    ),
    source: str = typer.Option(
        "0",
        "--source",
        help="A camera number (0) or /dev/videoN, a stream (rtsp://..., http://... such as a phone's "
        "IP-camera app, MJPEG or anything FFmpeg reads), or a video file, played at its own pace.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Also write what was seen here: video.mp4 (the 10 Hz frames), and as miakit predict does "
        "activation.csv, activation.zarr (keypoints and predictions), activation.png and overlay.mp4.",
    ),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to serve the page on; 0.0.0.0 shares it with the lab's network."
    ),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port of the page (0: any free one)."),
    person: Person = typer.Option(Person.start, "--person", help=PERSON_HELP),
    loop: bool = typer.Option(False, "--loop", help="A video file: play it again from the start at its end."),
    speed: float = typer.Option(
        1.0, "--speed", min=0.01, help="A video file: play it this many times faster than its own pace (0.5: half)."
    ),
    duration: float | None = typer.Option(
        None, "--duration", min=0.1, help="Stop after this many seconds (else at a file's end, or Ctrl-C)."
    ),
    reconnect: float = typer.Option(
        30.0, "--reconnect", min=0.0, help="Seconds to keep reopening a stream that dropped before giving up."
    ),
    pipeline: bool = typer.Option(
        False,
        "--pipeline",
        help="Run the next step's pose beside this step's model, not one step after the other: a higher rate "
        "where cores are to spare; on 2 busy cores it made each step slower (higher latency).",
    ),
) -> None:
    """Watch predicted muscle activation live: frames from a camera, a stream or a file, pose on
    each 10 Hz step (the same MediaPipe back end and person following as miakit predict), the
    model on the latest window (causal: each prediction uses only frames already seen). One pose
    run a step, on the frame itself, for latency: unlike miakit predict's default (--symmetric), the
    frame's mirror image is not read, so a mirrored video need not give exactly the muscles swapped.

    The page (http://127.0.0.1:8765/ by default) shows the video with the skeleton and the
    muscles coloured by activation, a scrolling plot of the muscles, the latency (frame capture to
    the page) and rate, who is followed, and the steps dropped: a step the pipeline cannot keep up
    with is dropped and counted, never queued. A stream that drops is reopened and the gap marked.

    Examples:

    \b
        miakit live --checkpoint miakit-demo/bench/transformer/checkpoint.pt
        miakit live --checkpoint ckpt.pt --source http://192.168.1.20:8080/video --host 0.0.0.0
        miakit live --checkpoint ckpt.pt --source squat.mp4 --out squat-live
    """
    from miakit.live.server import require_web, serve
    from miakit.live.session import LiveSession
    from miakit.live.source import parse_source

    require_web()
    spec = parse_source(source)
    session = LiveSession(  # a checkpoint that does not fit: one line, before the camera opens
        checkpoint,
        spec,
        person=person.value,
        out=out,
        loop=loop,
        speed=speed,
        reconnect_s=reconnect,
        pipeline=pipeline,
    )
    page = serve(session, host=host, port=port)
    typer.echo(f"page: {page.url}", err=True)
    try:
        session.start()  # the camera or stream opens here: no camera, no answer: one line
    except BaseException:
        page.stop()
        raise
    typer.echo(f"live: {spec.text} ({spec.kind}, {session.size[0]}x{session.size[1]}); stop with Ctrl-C", err=True)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    began = time.monotonic()
    try:
        while not stop.wait(0.2):
            if session.finished or (duration is not None and time.monotonic() - began >= duration):
                break
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        session.hub.publish({"type": "end", "message": "ended"})
        session.stop()
        page.stop()
    s = session.summary()
    typer.echo(
        f"steps: {s['steps']} at {s['rate_hz']} Hz, dropped {s['dropped']}; latency (capture to page) "
        f"median {s['latency_ms_median']} ms, 95th percentile {s['latency_ms_p95']} ms "
        f"over {s['latencies']} steps shown; "
        f"gaps: {s['gaps'] or 'none'}",
        err=True,
    )
    if session.source is not None and session.source.error is not None:
        raise session.source.error
    if out is not None:
        typer.echo(str(out))
