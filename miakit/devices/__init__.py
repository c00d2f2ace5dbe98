"""Devices: what miakit knows of EMG sensors, below the recorder and the pipeline stages.

- :mod:`miakit.devices.profiles`: device profiles (``recorders/NAME.yaml``): how to find a sensor,
  talk to it and decode what it sends;
- :mod:`miakit.devices.decoders`: payload decoders (bytes of one notification -> samples), their
  registry and plugins, and the encoders emulated sensors speak.

What emulated sensors stream (:mod:`miakit.record.signals`) and the UCI EMG file reader
(:mod:`miakit.record.uci_file`) belong to the recorder.

``miakit.record`` (recording) and ``miakit.stages`` (decoding a session when building) import this
package; it imports neither (ARCHITECTURE.md).
"""
