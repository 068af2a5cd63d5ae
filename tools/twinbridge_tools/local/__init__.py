"""The no-AWS local runtime: the same handlers behind a loopback HTTP server, with moto as the embedded AWS."""
