//! The worker thread: a current-thread tokio runtime driving sockets, timers and the control
//! channel, inside a panic boundary.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::{mark_worker_thread, Command, ResourceUsage, WorkerSettings, WorkerState};
use crate::error::Result;
use crate::events::{CloseReason, EventBus, EventKind, ObjectKind};

/// How often periodic work (RTCP, stats windows, timeouts) runs.
const TICK: Duration = Duration::from_millis(100);

pub(super) fn spawn(
    id: String,
    settings: WorkerSettings,
    mut rx: mpsc::UnboundedReceiver<Command>,
    bus: EventBus,
    closed: Arc<AtomicBool>,
    died: Arc<Mutex<Option<String>>>,
) -> Result<std::thread::JoinHandle<()>> {
    let handle = std::thread::Builder::new().name(format!("sfu-worker-{}", &id[..8])).spawn(move || {
        mark_worker_thread();
        let (die_tx, mut die_rx) = mpsc::unbounded_channel::<String>();
        let state = Rc::new(RefCell::new(WorkerState::new(id.clone(), settings, bus.clone(), die_tx)));
        let st = state.clone();
        let outcome = catch_unwind(AssertUnwindSafe(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build().expect("tokio runtime");
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, async move {
                let ticker_state = st.clone();
                tokio::task::spawn_local(async move {
                    let mut iv = tokio::time::interval(TICK);
                    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        iv.tick().await;
                        ticker_state.borrow_mut().on_tick();
                    }
                });
                WorkerState::set_self_ref(&st);
                loop {
                    tokio::select! {
                        cmd = rx.recv() => match cmd {
                            Some(cmd) => {
                                let mut s = st.borrow_mut();
                                cmd(&mut s);
                                if s.stopping { break; }
                            }
                            None => break, // every handle dropped
                        },
                        reason = die_rx.recv() => {
                            if let Some(r) = reason { std::panic::resume_unwind(Box::new(r)); }
                        }
                    }
                }
            });
        }));
        let reason = match outcome {
            Ok(()) => None,
            Err(p) => Some(panic_message(&*p)),
        };
        // `died()` must already answer when `closed()` turns true: whoever sees the worker
        // closed and asks why gets the reason, not None.
        if let Some(r) = &reason {
            *died.lock() = Some(r.clone());
        }
        closed.store(true, Ordering::Release);
        // Close everything the worker owned, whether it stopped or died.
        if let Ok(mut s) = state.try_borrow_mut() {
            let _ = catch_unwind(AssertUnwindSafe(|| s.close_all(CloseReason::WorkerClosed)));
        }
        if let Some(r) = reason {
            tracing::error!(worker = %id, "worker died: {r}");
            bus.emit(&id, EventKind::Died { reason: r });
        } else {
            bus.emit(&id, EventKind::Closed { object: ObjectKind::Worker, reason: CloseReason::Closed });
        }
        bus.clear();
    })?;
    Ok(handle)
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// Runs `f` (packet or timer handling) inside a panic boundary; a panic kills the worker
/// cleanly through `die` instead of silently ending one task.
pub(crate) fn guarded(die: &mpsc::UnboundedSender<String>, f: impl FnOnce()) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
        let _ = die.send(panic_message(&*p));
    }
}

/// getrusage(): thread CPU time, process memory and counters.
pub(super) fn resource_usage() -> ResourceUsage {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let (thread, process) = unsafe {
        let mut t: libc::rusage = std::mem::zeroed();
        let mut p: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut t);
        libc::getrusage(libc::RUSAGE_SELF, &mut p);
        (t, p)
    };
    let ms = |tv: libc::timeval| (tv.tv_sec as u64) * 1000 + (tv.tv_usec as u64) / 1000;
    ResourceUsage {
        ru_utime: ms(thread.ru_utime),
        ru_stime: ms(thread.ru_stime),
        ru_maxrss: process.ru_maxrss as u64,
        ru_ixrss: process.ru_ixrss as u64,
        ru_idrss: process.ru_idrss as u64,
        ru_isrss: process.ru_isrss as u64,
        ru_minflt: thread.ru_minflt as u64,
        ru_majflt: thread.ru_majflt as u64,
        ru_nswap: thread.ru_nswap as u64,
        ru_inblock: thread.ru_inblock as u64,
        ru_oublock: thread.ru_oublock as u64,
        ru_msgsnd: thread.ru_msgsnd as u64,
        ru_msgrcv: thread.ru_msgrcv as u64,
        ru_nsignals: thread.ru_nsignals as u64,
        ru_nvcsw: thread.ru_nvcsw as u64,
        ru_nivcsw: thread.ru_nivcsw as u64,
    }
}
