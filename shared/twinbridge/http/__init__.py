"""HTTP glue for the Lambda handlers: Powertools routers, request parsing, the one error->status table."""
