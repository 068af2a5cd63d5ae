"""Sync rules as Starlark scripts: ``engine`` compiles, checks and calls them in the calling process; ``runner`` runs
them in a guarded worker process (memory limit, soft deadline, hard kill), which is how the sync engine uses them."""
