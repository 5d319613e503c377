//! A key/value cache that grows with the conversation instead of being preallocated to the context.

/// Keys and values of every layer for the positions fed so far (f32, `[position][kv_heads × head]`).
#[derive(Debug, Clone)]
pub struct KvCache {
    keys: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
    row: usize,
    len: usize,
}

impl KvCache {
    /// An empty cache for `layers` layers of `row` floats per position.
    pub fn new(layers: usize, row: usize) -> Self {
        KvCache {
            keys: vec![Vec::new(); layers],
            values: vec![Vec::new(); layers],
            row,
            len: 0,
        }
    }

    /// Number of positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Positions every layer has room for without growing.
    pub fn capacity(&self) -> usize {
        let layers = self.keys.iter().chain(&self.values);
        layers
            .map(|kv| kv.capacity() / self.row.max(1))
            .min()
            .unwrap_or(0)
    }

    /// Whether no position is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes room for `n` more positions in every layer at once, before a forward pass appends them
    /// layer by layer. Why: each growth of the wasm memory makes V8 ask for a full garbage
    /// collection (about 2 ms), and a 128-token prefill that grew one layer's cache at a time
    /// paid one per layer, 4% of its time; grown together, the layers' buffers ask the memory
    /// for their room in one burst. Capacity still grows by doubling, as `Vec` does.
    pub(crate) fn reserve(&mut self, n: usize) {
        for kv in self.keys.iter_mut().chain(self.values.iter_mut()) {
            kv.reserve(n * self.row);
        }
    }

    /// Makes room for `positions` positions in all (not more) in every layer, unless there is.
    pub(crate) fn reserve_positions(&mut self, positions: usize) {
        let wanted = positions * self.row;
        for kv in self.keys.iter_mut().chain(self.values.iter_mut()) {
            kv.reserve_exact(wanted.saturating_sub(kv.len()));
        }
    }

    /// Bytes that [`KvCache::reserve`] of `n` positions will ask the allocator for in the layers
    /// that hold no buffer yet (all of them before a conversation's first pass). A growing
    /// buffer is not counted: its new room is asked for while the old one is still held, and
    /// the old ones, freed one by one, make room for the next.
    pub(crate) fn first_buffer_bytes(&self, n: usize) -> usize {
        let unallocated = self.keys.iter().chain(&self.values);
        let buffers = unallocated.filter(|kv| kv.capacity() == 0).count();
        buffers * n * self.row * std::mem::size_of::<f32>()
    }

    /// Appends the keys and values of new positions to one layer (visible at once to that layer).
    pub(crate) fn append(&mut self, layer: usize, k: &[f32], v: &[f32]) {
        self.keys[layer].extend_from_slice(k);
        self.values[layer].extend_from_slice(v);
    }

    /// Records that every layer now holds `n` more positions.
    pub(crate) fn commit(&mut self, n: usize) {
        self.len += n;
        debug_assert!(self.keys.iter().all(|k| k.len() == self.len * self.row));
    }

    /// All keys and values of one layer, including positions appended during the current step.
    pub(crate) fn layer(&self, layer: usize) -> (&[f32], &[f32]) {
        (&self.keys[layer], &self.values[layer])
    }

    /// Forgets every position from `len` on (to rewind to a shared prefix).
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.len = len;
            for kv in self.keys.iter_mut().chain(self.values.iter_mut()) {
                kv.truncate(len * self.row);
            }
        }
    }

    /// Bytes held by the cache (for memory reports).
    pub fn bytes(&self) -> usize {
        self.keys
            .iter()
            .chain(&self.values)
            .map(|v| v.capacity() * 4)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::KvCache;

    #[test]
    fn first_buffer_bytes_count_only_the_layers_without_a_buffer() {
        let mut cache = KvCache::new(3, 10);
        assert_eq!(cache.first_buffer_bytes(7), 3 * 2 * 7 * 10 * 4);
        cache.reserve(7);
        assert_eq!(cache.first_buffer_bytes(7), 0);
        assert!(cache.bytes() >= 3 * 2 * 7 * 10 * 4);
    }
}
