"""The live page's server: starlette + uvicorn (the ``live`` extra), in a thread of its own.

- ``GET /``: the page (``index.html`` beside this module) and ``GET /static/live.js``,
  ``/static/live.css`` its script and style: package data, no build step;
- ``GET /stats``: the session's counts and latencies as JSON (what the page shows; the benchmark reads it);
- ``WS /ws``: a ``hello`` message (muscles, units, checkpoint, source), then one ``step`` message
  per 10 Hz step; the page answers ``{"shown": seq, "page_ms": ms}`` once it has drawn a step (the
  latency's end; ``page_ms``: the page's own time from receiving the step to having drawn it).

starlette and uvicorn are imported inside :func:`serve`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from miakit.errors import InputError

if TYPE_CHECKING:
    import uvicorn


STATIC = Path(__file__).resolve().parent
PAGE_FILES = {"index.html": "text/html", "live.js": "text/javascript", "live.css": "text/css"}


def require_web() -> None:
    """Refuse in one line where the ``live`` extra is not installed."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise InputError(
            "miakit live", "the live page needs starlette and uvicorn", expected="pip install 'miakit[live]'"
        ) from None


def make_app(session):
    """The ASGI app of one :class:`miakit.live.session.LiveSession` (or anything with ``hub``,
    ``summary()`` and ``shown(seq, page_ms)``; ``sent(seq)`` where it has one)."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse, JSONResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def page_file(request):
        name = request.path_params.get("name", "index.html")
        if name not in PAGE_FILES:
            return JSONResponse({"error": "not found"}, status_code=404)
        return FileResponse(STATIC / name, media_type=PAGE_FILES[name], headers={"Cache-Control": "no-store"})

    async def stats(request):
        return JSONResponse(session.summary())

    async def ws(websocket: WebSocket):
        await websocket.accept()
        hub = session.hub
        sent = getattr(session, "sent", None)
        q = hub.subscribe(asyncio.get_running_loop())

        async def answers():
            while True:
                message = await websocket.receive_json()
                if isinstance(message, dict) and isinstance(message.get("shown"), int):
                    page_ms = message.get("page_ms")
                    session.shown(message["shown"], page_ms if isinstance(page_ms, (int, float)) else None)

        reader = asyncio.create_task(answers())
        try:
            while not hub.hello:  # the session is still starting (opening the source, the pose)
                await asyncio.sleep(0.05)
            await websocket.send_json(hub.hello)
            while not reader.done():
                get = asyncio.create_task(q.get())
                done, _ = await asyncio.wait({get, reader}, return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    get.cancel()
                    break
                message = get.result()
                await websocket.send_json(message)
                if sent is not None and message.get("type") == "step":
                    sent(message["seq"])
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            reader.cancel()
            hub.unsubscribe(q)

    return Starlette(
        routes=[
            Route("/", page_file),
            Route("/static/{name}", page_file),
            Route("/stats", stats),
            WebSocketRoute("/ws", ws),
        ]
    )


@dataclass
class Server:
    """A running page server: ``url``; :meth:`stop` ends it."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(session, *, host: str = "127.0.0.1", port: int = 8765) -> Server:
    """Serve ``session``'s page on ``host``:``port`` (0: any free port) in a background thread.
    Raises InputError (one line) where the port is taken or the address is not this machine's."""
    require_web()
    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"{host}:{port}", f"cannot serve the page there ({exc.strerror or exc})") from None
    bound = sock.getsockname()[1]
    config = uvicorn.Config(make_app(session), log_level="warning", lifespan="off", ws="websockets-sansio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="miakit-live-page", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return Server(url=f"http://{shown}:{bound}/", server=server, thread=thread)
