"""An RTSP camera on 127.0.0.1 for the live tests: GStreamer's RTSP server (Debian's
gir1.2-gst-rtsp-server-1.0, python3-gi, gstreamer1.0-plugins-good) streaming an MJPEG AVI file as
RTP/JPEG at its own pace, as ``rtsp://127.0.0.1:PORT/live`` (RTP over TCP or UDP, as the client asks).

    /usr/bin/python3 rtsp_server.py CLIP.avi PORT

Run by Debian's own Python (where python3-gi is), not the project's: it prints ``ready`` once it
listens and serves until it is killed. Not part of miakit: the tests start it (conftest.py).
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
clip, port = sys.argv[1], sys.argv[2]
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
# Re-encoded by GStreamer's jpegenc: RTP/JPEG (RFC 2435) carries only some kinds of JPEG, and
# OpenCV's MJPG frames sent as they are arrive broken.
factory.set_launch(f'( filesrc location="{clip}" ! avidemux ! jpegdec ! jpegenc ! rtpjpegpay name=pay0 pt=26 )')
factory.set_shared(True)
server.get_mount_points().add_factory("/live", factory)
if server.attach(None) == 0:
    sys.exit(f"cannot listen on 127.0.0.1:{port}")
print("ready", flush=True)
GLib.MainLoop().run()
