//! `--outcome` on the command line: the run outcomes as clap values
//! ("released", "rolled-back"…), without teaching `runs` about clap.

use clap::builder::PossibleValue;

use crate::runs::Outcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeArg(pub Outcome);

const ALL: [OutcomeArg; 8] = [
    OutcomeArg(Outcome::Released),
    OutcomeArg(Outcome::RolledBack),
    OutcomeArg(Outcome::Rejected),
    OutcomeArg(Outcome::Aborted),
    OutcomeArg(Outcome::Held),
    OutcomeArg(Outcome::Failed),
    OutcomeArg(Outcome::Running),
    OutcomeArg(Outcome::Interrupted),
];

impl clap::ValueEnum for OutcomeArg {
    fn value_variants<'a>() -> &'a [Self] {
        &ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        // `Outcome::word` with dashes; the JSON spelling ("rolled_back") works too.
        Some(match self.0 {
            Outcome::RolledBack => PossibleValue::new("rolled-back").alias("rolled_back"),
            o => PossibleValue::new(o.word()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn every_outcome_has_a_value() {
        assert_eq!(ALL.len(), Outcome::ALL.len());
        for (a, o) in ALL.iter().zip(Outcome::ALL) {
            assert_eq!(a.0, o);
            let typed = o.word().replace(' ', "-");
            assert_eq!(OutcomeArg::from_str(&typed, false), Ok(*a), "{typed}");
        }
        assert_eq!(
            OutcomeArg::from_str("rolled-back", false),
            Ok(OutcomeArg(Outcome::RolledBack))
        );
        assert_eq!(
            OutcomeArg::from_str("rolled_back", false),
            Ok(OutcomeArg(Outcome::RolledBack))
        );
        assert!(OutcomeArg::from_str("fine", false).is_err());
    }
}
