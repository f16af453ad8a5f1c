//! Exposition-format parser (placeholder; being written).

pub struct Exposition;

#[derive(Debug)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.col, self.message
        )
    }
}

pub fn parse(_text: &str) -> Result<Exposition, ParseError> {
    Ok(Exposition)
}
