//! PromQL over direct scrapes (placeholder; being written).
