"""miakit's version, in one place: the package facade re-exports it, every module that records it
(provenance, output markers, session metadata, NWB files) imports it from here, and pyproject.toml
reads it for the package metadata (``[tool.setuptools.dynamic]``)."""

__version__ = "0.1.0"
