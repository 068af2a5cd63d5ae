"""DynamoDB repositories over the node's single table (the only package that touches DynamoDB)."""
