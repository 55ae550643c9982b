//! Where a batch's time goes: host-side phases by the clock, the kernel by GPU timestamps.

use std::time::Duration;

/// The phases of one `hash_inputs` call, summed over its submissions.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchTiming {
    pub submissions: u32,
    /// Packing the inputs and writing them (and the parameters) to the GPU's buffers.
    pub upload: Duration,
    /// Encoding the pass and `queue.submit`.
    pub submit: Duration,
    /// From the submission until the GPU reported the batch done (kernel, copies, scheduling).
    pub wait: Duration,
    /// Copying the hashes out of the mapped readback buffer.
    pub readback: Duration,
    /// The compute pass alone, from GPU timestamps; `None` where the adapter has no timestamp
    /// queries.
    pub kernel: Option<Duration>,
}

impl BatchTiming {
    pub(crate) fn add(&mut self, other: &BatchTiming) {
        self.submissions += other.submissions;
        self.upload += other.upload;
        self.submit += other.submit;
        self.wait += other.wait;
        self.readback += other.readback;
        self.kernel = match (self.kernel, other.kernel) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }
}

/// GPU timestamps around the compute pass of one I/O set.
pub(crate) struct Timestamps {
    pub query_set: wgpu::QuerySet,
    pub resolve: wgpu::Buffer,
    /// Nanoseconds per timestamp tick.
    pub period_ns: f64,
}

/// Bytes of the two resolved timestamps at the start of each readback buffer (padded so the hashes
/// after them stay aligned for copies and mapping).
pub(crate) const READBACK_HEADER: u64 = 256;

impl Timestamps {
    /// `None` unless the device was opened with `TIMESTAMP_QUERY`.
    pub fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Option<Self> {
        if !device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            return None;
        }
        let query_set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("kernel time"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let resolve = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("kernel time resolve"),
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Some(Timestamps { query_set, resolve, period_ns: queue.get_timestamp_period() as f64 })
    }

    pub fn writes(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.query_set,
            beginning_of_pass_write_index: Some(0),
            end_of_pass_write_index: Some(1),
        }
    }

    /// After the pass: resolve both timestamps into the header of `readback`.
    pub fn resolve_into(&self, encoder: &mut wgpu::CommandEncoder, readback: &wgpu::Buffer) {
        encoder.resolve_query_set(&self.query_set, 0..2, &self.resolve, 0);
        encoder.copy_buffer_to_buffer(&self.resolve, 0, readback, 0, 16);
    }

    /// The pass duration from the mapped header (begin, end ticks).
    pub fn duration(&self, header: &[u8]) -> Option<Duration> {
        let begin = u64::from_le_bytes(header[..8].try_into().ok()?);
        let end = u64::from_le_bytes(header[8..16].try_into().ok()?);
        // Unwritten (both 0) or a reset counter (end < begin): report nothing rather than nonsense.
        (end >= begin && end != 0)
            .then(|| Duration::from_nanos(((end - begin) as f64 * self.period_ns) as u64))
    }
}
