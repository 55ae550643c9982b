//! The share pipeline: connections hand in shares one at a time; this task batches them (by count,
//! or after `max_wait`), verifies the batch on the engine off the async threads, and answers each
//! share's waiter. The queue is bounded: when verification falls behind, `verify` waits (backpressure)
//! instead of memory growing.

use pool_core::{ShareCheck, Verdict, VerifyEngine};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

type Pending = (ShareCheck, oneshot::Sender<Verdict>);

/// Handle to the pipeline task; cheap to clone.
#[derive(Clone)]
pub struct SharePipeline {
    tx: mpsc::Sender<Pending>,
}

/// The pipeline task has stopped (shutdown).
#[derive(Debug, thiserror::Error)]
#[error("the share pipeline has stopped")]
pub struct PipelineClosed;

impl SharePipeline {
    pub fn spawn(engine: Arc<VerifyEngine>, max_batch: usize, max_wait: Duration, queue: usize) -> Self {
        let (tx, mut rx) = mpsc::channel::<Pending>(queue.max(1));
        tokio::spawn(async move {
            let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
            while let Some(first) = rx.recv().await {
                batch.push(first);
                let deadline = tokio::time::Instant::now() + max_wait;
                while batch.len() < max_batch {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(p)) => batch.push(p),
                        _ => break,
                    }
                }
                let (shares, waiters): (Vec<ShareCheck>, Vec<oneshot::Sender<Verdict>>) =
                    batch.drain(..).unzip();
                let engine = engine.clone();
                let verdicts = tokio::task::spawn_blocking(move || engine.verify(&shares)).await;
                match verdicts {
                    Ok(verdicts) => {
                        for (w, v) in waiters.into_iter().zip(verdicts) {
                            let _ = w.send(v); // the connection may have gone; its share is moot
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "share verification panicked; the batch's miners get no verdict")
                    }
                }
            }
        });
        SharePipeline { tx }
    }

    /// The verdict on one share, once its batch has been verified.
    pub async fn verify(&self, share: ShareCheck) -> Result<Verdict, PipelineClosed> {
        let (tx, rx) = oneshot::channel();
        self.tx.send((share, tx)).await.map_err(|_| PipelineClosed)?;
        rx.await.map_err(|_| PipelineClosed)
    }
}
