"""Fetching package tarballs: verified concurrent downloads, and a peek at a tarball's head."""

from jupyter_spackcache.install.fetch.download import (
    DownloadJob,
    download_all,
    download_blocking,
)
from jupyter_spackcache.install.fetch.head import peek_build_prefix

__all__ = ["DownloadJob", "download_all", "download_blocking", "peek_build_prefix"]
