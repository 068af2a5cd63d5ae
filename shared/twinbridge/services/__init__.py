"""Use cases: what the handlers call. No AWS event plumbing and no HTTP status codes in here."""
