//! Exposition-format parser (placeholder; being written).
