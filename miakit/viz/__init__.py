"""Pictures of every stage: plots (:mod:`miakit.viz.plots`) and the muscle overlay video
(:mod:`miakit.viz.render`); ``miakit plot KIND`` and ``miakit render`` (:mod:`miakit.viz.cli`); and
``miakit predict``'s job, a video's predicted muscles as a table, a store, a plot and an overlay
(:mod:`miakit.viz.predict_video`, :mod:`miakit.viz.predict_cli`; the prediction itself is
:mod:`miakit.learn.predict`).

Each plot is one function returning a :class:`matplotlib.figure.Figure` (drawn with the Agg
canvas, never shown); :func:`miakit.viz.plots.save_figure` writes it. Nothing is imported here:
matplotlib, cv2 and PyAV load only when a figure or a video is made.
"""
