//! The worker pool: runs a job's workers on dedicated threads (never the
//! async runtime's), each on a shared `Snapshot`, with panics caught, a time
//! limit per job, cancellation and progress events.
//!
//! A worker is a closure that turns its snapshot into atomic groups of
//! hunks. It cannot be stopped from outside, so the pool stops waiting for
//! it instead: at the deadline or on cancellation the job returns, the late
//! workers are reported as timed out or cancelled, and whatever they return
//! later is discarded. Workers should poll `WorkerContext::should_stop` in
//! long loops so they give their thread back early.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;

use crate::merge::{EditSet, Group, WorkerId};

/// A handle that cancels a running job from another thread or task.
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    cancelled: Arc<AtomicBool>,
}

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every worker of the job to stop; the job returns without
    /// waiting for them.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

/// A worker's view of its job while it runs.
#[derive(Clone, Debug)]
pub struct WorkerContext {
    pub worker: WorkerId,
    deadline: Instant,
    cancel: CancelToken,
}

impl WorkerContext {
    /// Returns true once the job was cancelled or its time is up. A worker
    /// should then return at once, because its result is discarded.
    pub fn should_stop(&self) -> bool {
        self.cancel.is_cancelled() || Instant::now() >= self.deadline
    }
}

/// The function a worker runs: groups on success, a message on failure.
pub type WorkerFn = Box<dyn FnOnce(&WorkerContext) -> Result<Vec<Group>, String> + Send>;

/// One unit of a job: a rule on a document, or one proposal.
pub struct WorkerTask {
    pub worker: WorkerId,
    pub label: String,
    pub priority: i64,
    pub run: WorkerFn,
}

/// Reason a worker contributed no edits.
#[derive(Clone, Debug, Error, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum WorkerFailure {
    #[error("panicked: {0}")]
    Panicked(String),
    #[error("did not finish within the job's time limit of {0:?}")]
    TimedOut(Duration),
    #[error("cancelled before it finished")]
    Cancelled,
    #[error("failed: {0}")]
    Failed(String),
}

/// The result of one worker.
#[derive(Clone, Debug)]
pub struct WorkerResult {
    pub worker: WorkerId,
    pub label: String,
    pub priority: i64,
    pub elapsed: Duration,
    pub outcome: Result<Vec<Group>, WorkerFailure>,
}

impl WorkerResult {
    /// Returns the worker's groups as an `EditSet`, empty when it failed.
    pub fn edit_set(&self) -> EditSet {
        EditSet {
            worker: self.worker,
            priority: self.priority,
            label: self.label.clone(),
            groups: self.outcome.clone().unwrap_or_default(),
        }
    }
}

/// Workers finished so far out of the job's total.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// Errors of setting up the pool.
#[derive(Debug, Error)]
#[error("failed to start {threads} worker threads: {source}")]
pub struct PoolError {
    threads: usize,
    #[source]
    source: rayon::ThreadPoolBuildError,
}

/// Dedicated worker threads shared by all jobs.
pub struct Pool {
    threads: rayon::ThreadPool,
}

impl Pool {
    /// Starts `threads` worker threads (at least one).
    ///
    /// # Errors
    /// `PoolError` when the operating system refuses the threads.
    pub fn new(threads: usize) -> Result<Self, PoolError> {
        let threads = threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|index| format!("concur-worker-{index}"))
            .build()
            .map_err(|source| PoolError { threads, source })?;
        Ok(Self { threads: pool })
    }

    /// Starts one thread per available core.
    ///
    /// # Errors
    /// As `new`.
    pub fn with_default_threads() -> Result<Self, PoolError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(cores)
    }

    pub fn thread_count(&self) -> usize {
        self.threads.current_num_threads()
    }

    /// Applies `f` to every item on the pool's threads and returns the
    /// results in the items' order. Unlike `run`, there is no time limit and
    /// a panic in `f` propagates to the caller, so use it only for the
    /// engine's own work, such as matching parts of one document.
    pub fn map<T, R, F>(&self, items: Vec<T>, f: F) -> Vec<R>
    where
        T: Send,
        R: Send,
        F: Fn(T) -> R + Sync + Send,
    {
        use rayon::iter::{IntoParallelIterator, ParallelIterator};
        self.threads
            .install(|| items.into_par_iter().map(f).collect())
    }

    /// Runs `tasks` and returns their results sorted by worker id, after all
    /// finished, the `limit` passed, or `cancel` fired. `progress` is called
    /// on the calling thread after each worker finishes.
    pub fn run(
        &self,
        tasks: Vec<WorkerTask>,
        limit: Duration,
        cancel: &CancelToken,
        mut progress: impl FnMut(Progress),
    ) -> Vec<WorkerResult> {
        let started = Instant::now();
        let deadline = started + limit;
        let total = tasks.len();
        let (sender, receiver) = mpsc::channel();
        let mut pending: Vec<(WorkerId, String, i64)> = Vec::with_capacity(total);

        for task in tasks {
            pending.push((task.worker, task.label.clone(), task.priority));
            let sender = sender.clone();
            let context = WorkerContext {
                worker: task.worker,
                deadline,
                cancel: cancel.clone(),
            };
            self.threads.spawn(move || {
                let begun = Instant::now();
                let outcome = match panic::catch_unwind(AssertUnwindSafe(|| (task.run)(&context))) {
                    Ok(Ok(groups)) => Ok(groups),
                    Ok(Err(message)) => Err(WorkerFailure::Failed(message)),
                    Err(payload) => Err(WorkerFailure::Panicked(panic_message(payload.as_ref()))),
                };
                // The job may have stopped listening; a closed channel is
                // exactly the case of a result that is discarded.
                let _ = sender.send(WorkerResult {
                    worker: task.worker,
                    label: task.label,
                    priority: task.priority,
                    elapsed: begun.elapsed(),
                    outcome,
                });
            });
        }
        drop(sender);

        let mut results = Vec::with_capacity(total);
        let poll = Duration::from_millis(20);
        while results.len() < total {
            if cancel.is_cancelled() {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match receiver.recv_timeout(poll.min(deadline - now)) {
                Ok(mut result) => {
                    if let Err(failure) = &result.outcome {
                        tracing::warn!(worker = result.worker.0, label = %result.label, %failure, "worker contributed no edits");
                    }
                    if Instant::now() > deadline && result.outcome.is_ok() {
                        result.outcome = Err(WorkerFailure::TimedOut(limit));
                    }
                    results.push(result);
                    progress(Progress {
                        done: results.len(),
                        total,
                    });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }

        // Workers that never reported are the late or cancelled ones.
        let finished: std::collections::HashSet<WorkerId> =
            results.iter().map(|result| result.worker).collect();
        let failure = if cancel.is_cancelled() {
            WorkerFailure::Cancelled
        } else {
            WorkerFailure::TimedOut(limit)
        };
        for (worker, label, priority) in pending {
            if !finished.contains(&worker) {
                tracing::warn!(worker = worker.0, %label, %failure, "worker contributed no edits");
                results.push(WorkerResult {
                    worker,
                    label,
                    priority,
                    elapsed: started.elapsed(),
                    outcome: Err(failure.clone()),
                });
            }
        }
        results.sort_by_key(|result| result.worker);
        results
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::Hunk;

    fn task(
        id: u32,
        run: impl FnOnce(&WorkerContext) -> Result<Vec<Group>, String> + Send + 'static,
    ) -> WorkerTask {
        WorkerTask {
            worker: WorkerId(id),
            label: format!("rule-{id}"),
            priority: i64::from(id),
            run: Box::new(run),
        }
    }

    fn one_group(start: usize) -> Vec<Group> {
        vec![Group::single(Hunk::new(start..start + 1, "x")).unwrap()]
    }

    #[test]
    fn results_sorted_and_progress_reported() {
        let pool = Pool::new(2).unwrap();
        let tasks = (0..10)
            .rev()
            .map(|id| task(id, move |_| Ok(one_group(id as usize))))
            .collect();
        let mut seen = Vec::new();
        let results = pool.run(
            tasks,
            Duration::from_secs(30),
            &CancelToken::new(),
            |progress| {
                seen.push(progress);
            },
        );
        let ids: Vec<u32> = results.iter().map(|result| result.worker.0).collect();
        assert_eq!(ids, (0..10).collect::<Vec<_>>());
        assert!(results.iter().all(|result| result.outcome.is_ok()));
        assert_eq!(seen.len(), 10);
        assert_eq!(
            seen.last(),
            Some(&Progress {
                done: 10,
                total: 10
            })
        );
    }

    #[test]
    fn panic_loses_only_its_edits() {
        let pool = Pool::new(2).unwrap();
        let tasks = vec![
            task(0, |_| Ok(one_group(0))),
            task(1, |_| panic!("rule exploded")),
            task(2, |_| Err("template failed".to_owned())),
        ];
        let results = pool.run(tasks, Duration::from_secs(30), &CancelToken::new(), |_| {});
        assert!(results[0].outcome.is_ok());
        assert_eq!(
            results[1].outcome,
            Err(WorkerFailure::Panicked("rule exploded".to_owned()))
        );
        assert_eq!(
            results[2].outcome,
            Err(WorkerFailure::Failed("template failed".to_owned()))
        );
        assert!(results[1].edit_set().groups.is_empty());
        assert_eq!(results[0].edit_set().groups.len(), 1);
    }

    #[test]
    fn slow_worker_times_out() {
        let pool = Pool::new(2).unwrap();
        let tasks = vec![
            task(0, |_| Ok(one_group(0))),
            task(1, |context| {
                while !context.should_stop() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(one_group(1))
            }),
        ];
        let results = pool.run(
            tasks,
            Duration::from_millis(200),
            &CancelToken::new(),
            |_| {},
        );
        assert!(results[0].outcome.is_ok());
        assert_eq!(
            results[1].outcome,
            Err(WorkerFailure::TimedOut(Duration::from_millis(200)))
        );
    }

    #[test]
    fn cancel_stops_waiting() {
        let pool = Pool::new(1).unwrap();
        let cancel = CancelToken::new();
        let trigger = cancel.clone();
        let tasks = vec![
            task(0, move |_| {
                trigger.cancel();
                Ok(one_group(0))
            }),
            task(1, |context| {
                assert!(context.should_stop());
                Ok(one_group(1))
            }),
        ];
        let results = pool.run(tasks, Duration::from_secs(30), &cancel, |_| {});
        assert_eq!(results.len(), 2);
        assert_eq!(results[1].outcome, Err(WorkerFailure::Cancelled));
    }
}
