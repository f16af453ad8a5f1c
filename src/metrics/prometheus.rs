//! Prometheus HTTP API client (placeholder; being written).
