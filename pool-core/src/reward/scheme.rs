//! The reward schemes a miner can choose (by port or login form; the server decides which are
//! offered). The names are the ones operators know from Miningcore.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheme {
    /// Pay per last N shares: a block is split by work in a window of `factor ×` network
    /// difficulty of the most recent shares, across rounds.
    Pplns,
    /// Pay per share: a fixed expected value credited at once for every accepted share; the pool
    /// takes the luck (and the block's PPS portion).
    Pps,
    /// Proportional: a block is split by work in its round (since the previous shared block).
    Prop,
    /// The finder alone is paid for its block; solo shares never join a shared round.
    Solo,
}

impl Scheme {
    pub const ALL: [Scheme; 4] = [Scheme::Pplns, Scheme::Pps, Scheme::Prop, Scheme::Solo];

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Pplns => "pplns",
            Scheme::Pps => "pps",
            Scheme::Prop => "prop",
            Scheme::Solo => "solo",
        }
    }
}

/// A scheme name that is none of `pplns`, `pps`, `prop`, `solo`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown reward scheme {0:?} (expected pplns, pps, prop or solo)")]
pub struct UnknownScheme(pub String);

impl FromStr for Scheme {
    type Err = UnknownScheme;
    /// Case-insensitive (`PPLNS` in a login is what a miner would type).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scheme::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or(UnknownScheme(s.to_owned()))
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in Scheme::ALL {
            assert_eq!(k.to_string().parse::<Scheme>(), Ok(k));
            assert_eq!(k.to_string().to_uppercase().parse::<Scheme>(), Ok(k));
        }
        assert_eq!("pplns".parse(), Ok(Scheme::Pplns));
        assert_eq!("Solo".parse(), Ok(Scheme::Solo));
        for bad in ["", "pplns ", "pps+", "proportional"] {
            assert_eq!(bad.parse::<Scheme>(), Err(UnknownScheme(bad.into())));
        }
    }
}
