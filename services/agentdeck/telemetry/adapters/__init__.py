"""I/O of telemetry: the archive writer and the metrics reader."""
