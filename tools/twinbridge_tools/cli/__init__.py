"""The ``twinbridge`` console script: admin commands against a node, and the local runtime launcher."""
