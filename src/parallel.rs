//! Fork-join over independent outputs (rows of the matrix products, attention heads, groups of
//! quantized tokens), on helper threads when there are any.
//!
//! The browser build with wasm threads (`target_feature = "atomics"`, a `SharedArrayBuffer`
//! memory) cannot spawn threads itself: the engine worker starts helper Workers on the same module
//! and memory, and each calls [`run_helper`], which never returns. Native code can start helpers
//! with [`spawn_native_helpers`] (the tests do; the CLI and the benchmarks stay single-threaded).
//! With no helper registered, [`for_each_chunk`] simply runs the work on the caller.
//!
//! Only the caller publishes work; helpers and the caller then claim chunks from one atomic
//! counter, so a helper that wakes late costs nothing but its share: the caller takes it over.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// Spin iterations a helper polls for the next job before it sleeps. Matrix products come back to
/// back during a forward pass (a few µs of norms and attention between them), and waking a
/// sleeping Worker costs tens of µs, so a short spin keeps the helper in step; a longer idle
/// (listening, speaking) puts it to sleep.
const SPIN_ROUNDS: u32 = 200_000;

/// Below this cost (about one multiply-add per unit) a piece of work runs on the caller alone:
/// waking a helper costs more than the work (a decode step's k/v projections of a tiny model,
/// say).
const PARALLEL_MIN_COST: usize = 128 * 1024;

/// One published piece of work: `work` over `0..n_items`, in chunks of `chunk`.
struct Job {
    /// Erased borrow of the caller's closure. It is called only for a claimed chunk index below
    /// `chunks`, and the caller returns only once `finished == chunks`, so every call happens
    /// while the closure is alive (a late helper claims an index ≥ `chunks` and never calls).
    work: *const (dyn Fn(Range<usize>) + Sync + 'static),
    n_items: usize,
    chunk: usize,
    chunks: usize,
    next: AtomicUsize,
    finished: AtomicUsize,
    panicked: AtomicBool,
}

// SAFETY: `work` points to a `Sync` closure that outlives every call made through it (see above).
unsafe impl Send for Job {}
// SAFETY: as above; every other field is atomic or immutable.
unsafe impl Sync for Job {}

impl Job {
    /// Claims and runs chunks until none is left.
    fn run_chunks(&self) {
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            if index >= self.chunks {
                return;
            }
            let start = index * self.chunk;
            let range = start..(start + self.chunk).min(self.n_items);
            // SAFETY: index < chunks, so the caller is still waiting for this chunk (see `work`).
            let work = unsafe { &*self.work };
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(range)));
            if result.is_err() {
                self.panicked.store(true, Ordering::Relaxed);
            }
            self.finished.fetch_add(1, Ordering::Release);
        }
    }
}

struct Slot {
    generation: usize,
    job: Option<Arc<Job>>,
}

struct Pool {
    slot: Mutex<Slot>,
    wake: Condvar,
    /// Mirrors `slot.generation`, so spinning helpers poll without taking the lock.
    generation: AtomicUsize,
    helpers: AtomicUsize,
    /// Set while a caller's job is published: a second caller (native tests run in parallel)
    /// runs its work alone instead of waiting.
    busy: AtomicBool,
}

static POOL: Pool = Pool {
    slot: Mutex::new(Slot {
        generation: 0,
        job: None,
    }),
    wake: Condvar::new(),
    generation: AtomicUsize::new(0),
    helpers: AtomicUsize::new(0),
    busy: AtomicBool::new(false),
};

/// Helper threads registered so far (0 in a single-threaded build).
pub fn helper_count() -> usize {
    POOL.helpers.load(Ordering::Acquire)
}

/// Threads that share the work: the caller plus the helpers.
pub fn thread_count() -> usize {
    helper_count() + 1
}

/// Runs `work` over `0..n_items` split into chunks of at least `min_chunk` items (a multiple of
/// it), on the caller and every helper; returns when all chunks are done. Each item is in exactly
/// one chunk. Without helpers, with a single chunk, or when the whole work's `cost` (about one
/// multiply-add per unit) is too small to be worth waking a helper, `work(0..n_items)` runs on
/// the caller.
pub fn for_each_chunk(
    n_items: usize,
    min_chunk: usize,
    cost: usize,
    work: &(dyn Fn(Range<usize>) + Sync),
) {
    let threads = thread_count();
    let min_chunk = min_chunk.max(1);
    // About four chunks per thread: a late or preempted thread leaves little for the others.
    let chunk = n_items.div_ceil(threads * 4).div_ceil(min_chunk) * min_chunk;
    let chunks = n_items.div_ceil(chunk.max(1));
    if threads == 1
        || chunks < 2
        || cost < PARALLEL_MIN_COST
        || POOL.busy.swap(true, Ordering::Acquire)
    {
        work(0..n_items);
        return;
    }
    // SAFETY: lifetime erasure only; the closure outlives every call (see `Job::work`).
    let erased: *const (dyn Fn(Range<usize>) + Sync + 'static) = unsafe {
        std::mem::transmute::<
            *const (dyn Fn(Range<usize>) + Sync + '_),
            *const (dyn Fn(Range<usize>) + Sync + 'static),
        >(work as *const _)
    };
    let job = Arc::new(Job {
        work: erased,
        n_items,
        chunk,
        chunks,
        next: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
        panicked: AtomicBool::new(false),
    });
    {
        let mut slot = POOL.slot.lock().unwrap_or_else(|e| e.into_inner());
        slot.generation = slot.generation.wrapping_add(1);
        slot.job = Some(job.clone());
        POOL.generation.store(slot.generation, Ordering::Release);
    }
    POOL.wake.notify_all();
    job.run_chunks();
    // The remaining chunks are being run by helpers right now: a short wait.
    while job.finished.load(Ordering::Acquire) < job.chunks {
        std::hint::spin_loop();
    }
    POOL.slot.lock().unwrap_or_else(|e| e.into_inner()).job = None;
    POOL.busy.store(false, Ordering::Release);
    if job.panicked.load(Ordering::Relaxed) {
        panic!("parallel work panicked on a helper thread");
    }
}

/// The body of a helper thread: registers it and runs published chunks forever.
pub fn run_helper() -> ! {
    POOL.helpers.fetch_add(1, Ordering::AcqRel);
    let mut seen = POOL.generation.load(Ordering::Acquire);
    loop {
        let mut spins = 0;
        while POOL.generation.load(Ordering::Acquire) == seen && spins < SPIN_ROUNDS {
            std::hint::spin_loop();
            spins += 1;
        }
        let job = {
            let mut slot = POOL.slot.lock().unwrap_or_else(|e| e.into_inner());
            while slot.generation == seen {
                slot = POOL.wake.wait(slot).unwrap_or_else(|e| e.into_inner());
            }
            seen = slot.generation;
            slot.job.clone()
        };
        if let Some(job) = job {
            job.run_chunks();
        }
    }
}

/// Starts `count` native helper threads (tests use it to check parallel results against serial
/// ones). Helpers live for the rest of the process.
#[cfg(not(target_arch = "wasm32"))]
pub fn spawn_native_helpers(count: usize) {
    for _ in 0..count {
        std::thread::spawn(|| run_helper());
    }
    while helper_count() < count {
        std::thread::yield_now();
    }
}

/// A raw view of an output buffer that parallel chunks fill at disjoint indices.
pub struct DisjointOut<T = f32> {
    ptr: *mut T,
    len: usize,
}

impl<T> Clone for DisjointOut<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for DisjointOut<T> {}

// SAFETY: chunks write disjoint indices (the caller's contract on `set`), the buffer outlives the
// fork-join that uses the view, and values written on one thread are read on another only after
// the fork-join (hence `T: Send`).
unsafe impl<T: Send> Send for DisjointOut<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for DisjointOut<T> {}

impl<T> DisjointOut<T> {
    /// A view of `out` for the duration of one [`for_each_chunk`].
    pub fn new(out: &mut [T]) -> Self {
        DisjointOut {
            ptr: out.as_mut_ptr(),
            len: out.len(),
        }
    }

    /// Replaces `out[index]`.
    ///
    /// # Safety
    /// No other thread reads or writes `index` during the fork-join, and the buffer is alive.
    #[inline]
    pub unsafe fn set(self, index: usize, value: T) {
        assert!(index < self.len, "index {index} out of {}", self.len);
        // SAFETY: in bounds (checked) and exclusive (the caller's contract); the old value is
        // dropped as an assignment would.
        unsafe { *self.ptr.add(index) = value };
    }

    /// `out[range]`, to fill in place.
    ///
    /// # Safety
    /// No other thread reads or writes any index in `range` while the slice lives, and the buffer
    /// is alive.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice_mut(&self, range: Range<usize>) -> &mut [T] {
        assert!(
            range.start <= range.end && range.end <= self.len,
            "range {range:?} out of {}",
            self.len
        );
        // SAFETY: in bounds (checked) and exclusive (the caller's contract).
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.len()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_runs_once_with_helpers() {
        spawn_native_helpers(2);
        for (n_items, min_chunk) in [(0, 8), (1, 8), (7, 8), (960, 8), (49_152, 8), (1000, 3)] {
            let counts: Vec<AtomicUsize> = (0..n_items).map(|_| AtomicUsize::new(0)).collect();
            for_each_chunk(n_items, min_chunk, usize::MAX, &|range: Range<usize>| {
                assert!(range.start % min_chunk == 0, "chunks start on multiples");
                for i in range {
                    counts[i].fetch_add(1, Ordering::Relaxed);
                }
            });
            assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
        }
    }
}
