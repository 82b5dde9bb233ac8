"""I/O of the approval service behind small ports: SQL cases, Kafka, HTTP, webhooks."""
