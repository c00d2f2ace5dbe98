"""Lab trials (motion capture with EMG) to contract-2 segments: the part the C3D and OpenSim importers share.

The steps are told in :mod:`miakit.importers.lab.trial`; the names other modules use are exported here.
"""

from miakit.importers.lab.trial import *  # noqa: F403
