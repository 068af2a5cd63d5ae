"""The sync engine's pure rules: tracker items to replicas and replicas to plans of tracker writes."""
