"""The two contracts of miakit, each declared once with its validator.

- :mod:`miakit.contracts.session`: a raw session folder, written once by a recorder.
- :mod:`miakit.contracts.dataset`: a built dataset, a Zarr store opened with xarray.
"""
