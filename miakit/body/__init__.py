"""The body and muscle model: pure numpy, used to synthesize sessions (:mod:`miakit.synth`) and run
on real motion capture (:mod:`miakit.bench.real`).

- :mod:`miakit.body.subjects`: people who differ in body proportions, tempo, range of motion,
  framing and sensor placement;
- :mod:`miakit.body.motion`: 3D kinematics of the paper's 20 exercises and of walking, stairs
  and sit-to-stand (their keyframes and gait curves are data, ``exercises.yaml``, read by
  :mod:`miakit.body.exercises`), projected into BODY_25 pixels of a portrait 1080x1920 camera
  (the subject's own in front, or others: ``views``); measured 3D motion as kinematics for the
  muscle model;
- :mod:`miakit.body.activation`: the muscle model (inverse dynamics, force-velocity, holds,
  electromechanical delay, sensor gain and noise), documented in its docstring;
- :mod:`miakit.body.physics`: physics-grounded labels, the muscle model's joint moments shared among
  an OpenSim model's muscles (static optimization; OpenSim imported inside its functions, the
  ``physics`` extra);
- :mod:`miakit.body.render`: a skeleton preview video (cv2 imported when one is rendered);
- :mod:`miakit.body.signal`: :func:`~miakit.body.signal.emg_signal` gives synthetic EMG to stream
  without writing anything (what emulated sensors send), and the random streams every synthetic
  session draws from.

Importing this package imports nothing; its modules import numpy (and scipy, for the gait
curves); cv2 is imported when a video is rendered, OpenSim when physics labels are computed.
"""
