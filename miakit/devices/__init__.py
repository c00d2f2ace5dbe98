"""Devices: what miakit knows of EMG sensors, below the recorder and the pipeline stages.

- :mod:`miakit.devices.profiles`: device profiles (``recorders/NAME.yaml``): how to find a sensor,
  talk to it and decode what it sends;
- :mod:`miakit.devices.decoders`: payload decoders (bytes of one notification -> samples), their
  registry and plugins, and the encoders emulated sensors speak;
- :mod:`miakit.devices.signals`: what emulated sensors stream (miakit's synthetic EMG, a UCI EMG
  file, raw sEMG for an emulated Lab Streaming Layer device);
- :mod:`miakit.devices.uci_file`: the UCI EMG file layout and its one reader (the UCI importer,
  :mod:`miakit.importers.uci`, reads files with it too).

``miakit.record`` (recording) and ``miakit.stages`` (decoding a session when building) import this
package; it imports neither (ARCHITECTURE.md).
"""
