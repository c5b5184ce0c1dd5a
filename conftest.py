"""Tests (and doctests) never reach a model hub: loaders must work from what is on disk or fail clearly."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
