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
//!
//! The browser build aborts on panic (`catch_unwind` catches nothing there): a helper whose
//! thread traps never finishes the chunk it claimed. Its Worker then marks the helper's slot dead
//! in the shared memory (see [`claim_helper_slot`]); the caller, which waits for the chunks,
//! sees it, runs that chunk itself and gives up the helpers: from then on every piece of work
//! runs on the caller alone ([`degraded_reason`] says why). A helper that neither finishes nor
//! is known dead within [`HELPER_DEADLINE_MS`] may still be running the caller's closure, so the
//! caller cannot return: it panics, which traps the engine, and the engine worker restarts the
//! engine single-threaded.

use std::cell::Cell;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
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

/// How long (ms) the caller waits for helpers to finish their chunks of one piece of work before
/// it gives up on the engine (browser build; a chunk takes micro- to milliseconds).
pub const HELPER_DEADLINE_MS: f64 = 5_000.0;

/// Caller spins between two looks at the helpers' slots and the clock.
const CHECK_EVERY_SPINS: u32 = 4096;

/// Helpers whose death can be noticed (the engine worker starts at most three).
const MAX_SLOTS: usize = 16;

/// What the caller can see of one helper thread.
struct HelperSlot {
    /// 1 once the helper's thread has trapped: its Worker stores it from JavaScript.
    dead: AtomicU32,
    /// The index + 1 of the chunk the helper is running (0: none).
    running: AtomicUsize,
}

static SLOTS: [HelperSlot; MAX_SLOTS] = [const {
    HelperSlot {
        dead: AtomicU32::new(0),
        running: AtomicUsize::new(0),
    }
}; MAX_SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The slot of this helper thread, if it claimed one.
    static MY_SLOT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Why the helpers were given up, once they were.
static DEGRADED: Mutex<Option<String>> = Mutex::new(None);
static IS_DEGRADED: AtomicBool = AtomicBool::new(false);

/// A test's fault for the next chunk a helper runs: 0 none, 1 panic, 2 never finish.
static DEBUG_FAULT: AtomicU32 = AtomicU32::new(0);

/// A fault a test asks a helper thread to have (see [`debug_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugFault {
    /// The helper panics in the next chunk it runs.
    Panic,
    /// The helper never finishes the next chunk it runs.
    Hang,
}

/// Test hook: the next chunk a helper thread runs has `fault`.
pub fn debug_fault(fault: DebugFault) {
    let code = match fault {
        DebugFault::Panic => 1,
        DebugFault::Hang => 2,
    };
    DEBUG_FAULT.store(code, Ordering::Release);
}

fn take_debug_fault() {
    // A plain load first: every chunk a helper runs passes here, and a swap would write the
    // shared word each time.
    if DEBUG_FAULT.load(Ordering::Relaxed) == 0 {
        return;
    }
    match DEBUG_FAULT.swap(0, Ordering::AcqRel) {
        1 => panic!("debugPanic: a helper thread panicked, as a test asked"),
        2 => loop {
            std::hint::spin_loop();
        },
        _ => {}
    }
}

/// Claims a slot for the calling helper thread (before [`run_helper`]); returns the byte address
/// of its `dead` word, which the helper's Worker sets to 1 with `Atomics.store` when the thread
/// traps (0: no slot is left; such a helper's death is noticed only at the deadline).
pub fn claim_helper_slot() -> usize {
    let index = NEXT_SLOT.fetch_add(1, Ordering::AcqRel);
    if index >= MAX_SLOTS {
        return 0;
    }
    MY_SLOT.with(|slot| slot.set(Some(index)));
    &SLOTS[index].dead as *const AtomicU32 as usize
}

/// Why the helpers were given up (a helper thread trapped), or `None` while they work.
pub fn degraded_reason() -> Option<String> {
    if !IS_DEGRADED.load(Ordering::Acquire) {
        return None;
    }
    DEGRADED.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

fn degrade(reason: String) {
    let mut degraded = DEGRADED.lock().unwrap_or_else(|e| e.into_inner());
    if degraded.is_none() {
        *degraded = Some(reason);
        IS_DEGRADED.store(true, Ordering::Release);
    }
}

/// Slots claimed so far.
fn claimed_slots() -> &'static [HelperSlot] {
    &SLOTS[..NEXT_SLOT.load(Ordering::Acquire).min(MAX_SLOTS)]
}

/// Gives the helpers up if one of them has died.
fn notice_dead_helpers() {
    if let Some(i) = claimed_slots()
        .iter()
        .position(|slot| slot.dead.load(Ordering::Acquire) != 0)
    {
        degrade(format!(
            "helper thread {} trapped; the engine runs its parallel work alone",
            i + 1
        ));
    }
}

/// The caller's clock for [`HELPER_DEADLINE_MS`]: only the browser build has a deadline (native
/// helpers unwind, so a panicking chunk still counts as finished).
#[derive(Default)]
struct Deadline {
    #[cfg(target_arch = "wasm32")]
    started: Option<f64>,
}

impl Deadline {
    /// Panics once the helpers have had [`HELPER_DEADLINE_MS`] since the first check.
    fn check(&mut self, finished: usize, chunks: usize) {
        #[cfg(target_arch = "wasm32")]
        {
            let now = js_sys::Date::now();
            let started = *self.started.get_or_insert(now);
            if now - started > HELPER_DEADLINE_MS {
                panic!(
                    "a helper thread did not finish its share of the work within {} s \
                     ({finished} of {chunks} chunks done): the engine gives up its helper threads",
                    HELPER_DEADLINE_MS / 1000.0
                );
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = (finished, chunks);
    }
}

/// One published piece of work: `work` over `0..n_items`, in chunks of `chunk`.
struct Job {
    /// Erased borrow of the caller's closure. It is called only for a claimed chunk index below
    /// `chunks`, and the caller returns only once `finished == chunks`, so every call happens
    /// while the closure is alive (a late helper claims an index ≥ `chunks` and never calls). A
    /// chunk whose helper died counts as finished only once the caller has run it again, and a
    /// dead helper (its thread trapped) never runs anything again.
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
    /// Claims and runs chunks until none is left; a helper shows the chunk it runs in its slot.
    fn run_chunks(&self, slot: Option<&HelperSlot>) {
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            if index >= self.chunks {
                return;
            }
            if let Some(slot) = slot {
                slot.running.store(index + 1, Ordering::Release);
            }
            self.run_chunk(index, slot.is_some());
            if let Some(slot) = slot {
                slot.running.store(0, Ordering::Release);
            }
            self.finished.fetch_add(1, Ordering::Release);
        }
    }

    /// Runs chunk `index` (not counted as finished); on a helper, after a test's fault.
    fn run_chunk(&self, index: usize, on_helper: bool) {
        let start = index * self.chunk;
        let range = start..(start + self.chunk).min(self.n_items);
        // SAFETY: index < chunks, and the caller is still waiting for this chunk (see `work`).
        let work = unsafe { &*self.work };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if on_helper {
                take_debug_fault();
            }
            work(range)
        }));
        if result.is_err() {
            self.panicked.store(true, Ordering::Relaxed);
        }
    }

    /// The chunks that helpers which died left unfinished: the caller runs them (a dead helper
    /// never touches the work again, and a chunk's outputs are written whole by each run).
    fn take_over_dead_helpers(&self) {
        for slot in claimed_slots() {
            if slot.dead.load(Ordering::Acquire) == 0 {
                continue;
            }
            notice_dead_helpers();
            let running = slot.running.swap(0, Ordering::AcqRel);
            if running != 0 {
                self.run_chunk(running - 1, false);
                self.finished.fetch_add(1, Ordering::Release);
            }
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

/// Threads that share the work: the caller plus the helpers (the caller alone once the helpers
/// were given up).
pub fn thread_count() -> usize {
    if IS_DEGRADED.load(Ordering::Acquire) {
        return 1;
    }
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
    notice_dead_helpers();
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
    // A test's helper fault (see `debug_fault`) needs a helper to take a chunk: let one, or the
    // caller may run them all itself whenever the helpers wake late (the recovery test's hang
    // was then never taken). Outside tests this is one relaxed load.
    if DEBUG_FAULT.load(Ordering::Relaxed) != 0 && POOL.helpers.load(Ordering::Acquire) > 0 {
        let mut spins = 0u32;
        while job.next.load(Ordering::Acquire) == 0 && spins < 1 << 28 {
            std::hint::spin_loop();
            spins += 1;
        }
    }
    job.run_chunks(None);
    // The remaining chunks are being run by helpers right now: a short wait, unless one died.
    let mut deadline = Deadline::default();
    let mut spins = 0u32;
    loop {
        let finished = job.finished.load(Ordering::Acquire);
        if finished >= job.chunks {
            break;
        }
        std::hint::spin_loop();
        spins = spins.wrapping_add(1);
        if spins % CHECK_EVERY_SPINS == 0 {
            job.take_over_dead_helpers();
            deadline.check(finished, job.chunks);
        }
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
            let slot = MY_SLOT.with(Cell::get).map(|i| &SLOTS[i]);
            job.run_chunks(slot);
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
