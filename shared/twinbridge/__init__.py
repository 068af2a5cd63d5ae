"""twinbridge: keeps issues in sync between trackers of different organizations."""

__version__ = "0.1.0"
