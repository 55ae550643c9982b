//! Every way a Stratum request can be refused, one-to-one with its wire code (protocol.md §2.11).

/// A refusal and its wire code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum StratumError {
    #[error("Invalid params")]
    InvalidParams,
    /// A job id this connection was never sent.
    #[error("Job not found")]
    JobNotFound,
    /// A job that is no longer current (the chain moved on).
    #[error("Stale job")]
    StaleJob,
    /// No node has confirmed the work for too long: the pool refuses to credit a dead template.
    #[error("Stale job: the pool has lost contact with its TOS nodes")]
    NoLiveNode,
    /// The share was valid but could not be recorded; it is not credited.
    #[error("Share not recorded (pool storage unavailable); it is not credited")]
    NotRecorded,
    #[error("Duplicate share")]
    Duplicate,
    /// The hash does not meet the connection's share target.
    #[error("Low difficulty share")]
    LowDifficulty,
    #[error("Unauthorized")]
    Unauthorized,
    #[error("Not subscribed")]
    NotSubscribed,
    #[error("Method not found")]
    MethodNotFound,
    #[error("Parse error")]
    ParseError,
    #[error("Invalid request")]
    InvalidRequest,
    #[error("Request too large")]
    TooLarge,
    #[error("Invalid TOS address")]
    InvalidAddress,
    #[error("Invalid worker name (use 1-32 of A-Z a-z 0-9 _ -)")]
    InvalidWorker,
    /// The submit rate limit was exceeded.
    #[error("Too many submissions")]
    RateLimited,
    /// Too many authorize attempts on one connection.
    #[error("Too many authorize attempts")]
    AuthorizeLimited,
}

impl StratumError {
    pub fn code(self) -> i32 {
        match self {
            Self::InvalidParams | Self::NotRecorded => 20,
            Self::JobNotFound | Self::StaleJob | Self::NoLiveNode => 21,
            Self::Duplicate => 22,
            Self::LowDifficulty => 23,
            Self::Unauthorized => 24,
            Self::NotSubscribed => 25,
            Self::MethodNotFound => -32601,
            Self::ParseError => -32700,
            Self::InvalidRequest | Self::TooLarge => -32600,
            Self::InvalidAddress | Self::InvalidWorker | Self::RateLimited | Self::AuthorizeLimited => -1,
        }
    }

    pub fn message(self) -> String {
        self.to_string()
    }
}
