//! What a verb said, kept apart from printing it, so the cockpit's palette
//! can carry out a verb (`:lock`, `:freeze`, `:export`) and show its answer
//! as a toast where the CLI prints it.

/// What a verb said: lines for stdout, or (with an exit code) problems for
/// stderr. The CLI prints it; the cockpit's palette shows it as a toast.
pub struct Said {
    pub code: i32,
    pub out: Vec<String>,
    pub err: Vec<String>,
}

impl Said {
    pub fn ok(out: Vec<String>) -> Said {
        Said {
            code: 0,
            out,
            err: Vec::new(),
        }
    }

    pub fn fail(code: i32, err: impl Into<String>) -> Said {
        Said {
            code,
            out: Vec::new(),
            err: vec![err.into()],
        }
    }

    /// Prints it as the CLI does; the exit code.
    pub fn print(self) -> i32 {
        for l in &self.out {
            crate::say!("{l}");
        }
        for l in &self.err {
            crate::warn_user!("slate: {l}");
        }
        self.code
    }

    /// The first line, for a toast: (text, whether it is a problem).
    pub fn first(&self) -> (String, bool) {
        match (self.out.first(), self.err.first()) {
            (_, Some(e)) => (e.clone(), true),
            (Some(o), None) => (o.clone(), false),
            (None, None) => (String::new(), self.code != 0),
        }
    }
}
