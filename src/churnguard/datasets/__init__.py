"""Loaders for real public datasets (read by path; nothing is downloaded)."""

from churnguard.datasets.cdnow import load_cdnow, read_cdnow
from churnguard.datasets.paths import shared_data_dir

__all__ = ["load_cdnow", "read_cdnow", "shared_data_dir"]
