"""Ingest: the edge (publisher, HTTP collector), then normalize — validate, correct event
time, deduplicate, build rows — and route refusals to the dead-letter topic."""
