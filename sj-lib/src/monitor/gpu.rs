//! `GPUMonitor`: GPU utilisation and memory over time, read from `nvidia-smi`.
use super::records::{self, frame_error, DEFAULT_MAX_RECORDS};
use crate::base::lock;
use crate::error::{Result, SjError};
use polars::prelude::{Column, DataFrame};
use std::collections::VecDeque;
use std::fmt;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One GPU's utilisation and memory, or why they could not be read.
#[derive(Clone, Debug, PartialEq)]
pub enum GpuReading {
    /// `utilization.gpu [%]` and `memory.used [MiB]`.
    Available {
        /// GPU utilisation in percent.
        utilization_percent: f64,
        /// Memory in use in MiB.
        memory_used_mib: f64,
    },
    /// No reading (no `nvidia-smi`, no such GPU, ...), with the reason.
    NotAvailable(String),
}

impl fmt::Display for GpuReading {
    /// `37 %, 376 MiB` like `nvidia-smi`, or `not available (reason)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuReading::Available {
                utilization_percent,
                memory_used_mib,
            } => {
                write!(f, "{utilization_percent} %, {memory_used_mib} MiB")
            }
            GpuReading::NotAvailable(reason) => write!(f, "not available ({reason})"),
        }
    }
}

/// A reading of one GPU at `time` seconds after the monitor was created.
#[derive(Clone, Debug, PartialEq)]
pub struct GpuSample {
    /// Seconds since the monitor was created.
    pub time: f64,
    /// The GPU id.
    pub gpu: usize,
    /// What was read.
    pub reading: GpuReading,
}

/// Parses `nvidia-smi --format=csv,noheader,nounits` output, one line per id in `gpu_ids`.
fn parse(gpu_ids: &[usize], stdout: &str) -> Vec<GpuReading> {
    let mut lines = stdout.lines().filter(|l| !l.trim().is_empty());
    gpu_ids
        .iter()
        .map(|id| {
            let Some(line) = lines.next() else {
                return GpuReading::NotAvailable(format!(
                    "nvidia-smi printed no line for GPU {id}"
                ));
            };
            let fields: Vec<Option<f64>> = line.split(',').map(|f| f.trim().parse().ok()).collect();
            match fields.as_slice() {
                [Some(u), Some(m)] => GpuReading::Available {
                    utilization_percent: *u,
                    memory_used_mib: *m,
                },
                _ => GpuReading::NotAvailable(format!(
                    "nvidia-smi printed '{}' for GPU {id}",
                    line.trim()
                )),
            }
        })
        .collect()
}

/// Runs `program` (`nvidia-smi`) once for `gpu_ids`.
fn query(program: &str, gpu_ids: &[usize]) -> Vec<GpuReading> {
    let ids: Vec<String> = gpu_ids.iter().map(usize::to_string).collect();
    let output = Command::new(program)
        .args([
            "--query-gpu=utilization.gpu,memory.used",
            "--format=csv,noheader,nounits",
            "-i",
            &ids.join(","),
        ])
        .output();
    let reason = match output {
        Ok(out) if out.status.success() => {
            return parse(gpu_ids, &String::from_utf8_lossy(&out.stdout))
        }
        Ok(out) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            format!(
                "nvidia-smi failed: {}",
                text.lines().next().unwrap_or("no message").trim()
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "nvidia-smi not found: no NVIDIA GPU driver here".into()
        }
        Err(e) => format!("nvidia-smi could not run: {e}"),
    };
    gpu_ids
        .iter()
        .map(|_| GpuReading::NotAvailable(reason.clone()))
        .collect()
}

/// What the monitor and its thread share.
struct Shared {
    samples: Mutex<VecDeque<GpuSample>>,
    stop: Mutex<bool>,
    wake: Condvar,
}

/// `GPUMonitor(gpu_ids, interval)`: a thread that reads every GPU in `gpu_ids` every `interval`
/// seconds (SpikingJelly's default: GPU 0, 600 s) with `nvidia-smi`. Where there is no GPU every
/// reading is [`GpuReading::NotAvailable`]. The samples (the latest [`DEFAULT_MAX_RECORDS`]) export
/// to a `DataFrame`; SpikingJelly's TensorBoard logging is not built, and printing is optional
/// ([`GPUMonitor::with_print`]). Dropping the monitor stops the thread.
pub struct GPUMonitor {
    gpu_ids: Vec<usize>,
    interval: Duration,
    print: bool,
    program: String,
    created: Instant,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Default for GPUMonitor {
    fn default() -> Self {
        GPUMonitor {
            gpu_ids: vec![0],
            interval: Duration::from_secs(600),
            print: false,
            program: "nvidia-smi".into(),
            created: Instant::now(),
            shared: Arc::new(Shared {
                samples: Mutex::default(),
                stop: Mutex::new(false),
                wake: Condvar::new(),
            }),
            thread: None,
        }
    }
}

impl GPUMonitor {
    /// GPU 0 every 600 s, not started (call [`GPUMonitor::start`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// `gpu_ids=`; errors if empty.
    pub fn with_gpu_ids(mut self, gpu_ids: &[usize]) -> Result<Self> {
        if gpu_ids.is_empty() {
            return Err(SjError::config(
                "GPUMonitor",
                "gpu_ids must name at least one GPU",
            ));
        }
        self.gpu_ids = gpu_ids.to_vec();
        Ok(self)
    }

    /// `interval=` in seconds; errors unless positive and finite.
    pub fn with_interval(mut self, seconds: f64) -> Result<Self> {
        if !(seconds.is_finite() && seconds > 0.0) {
            return Err(SjError::config(
                "GPUMonitor",
                format!("interval must be a positive number of seconds, got {seconds}"),
            ));
        }
        self.interval = Duration::from_secs_f64(seconds);
        Ok(self)
    }

    /// Also prints every sample (SpikingJelly prints when `log_dir` is `None`).
    pub fn with_print(mut self, print: bool) -> Self {
        self.print = print;
        self
    }

    /// Reads every GPU now, stores and returns the samples.
    pub fn sample(&self) -> Vec<GpuSample> {
        take_sample(
            &self.shared,
            &self.program,
            &self.gpu_ids,
            self.created,
            self.print,
        )
    }

    /// Starts the thread (it samples at once, then every interval); errors if running.
    pub fn start(&mut self) -> Result<()> {
        if self.thread.is_some() {
            return Err(SjError::config(
                "GPUMonitor",
                "already running; call stop() first",
            ));
        }
        *lock(&self.shared.stop) = false;
        let (shared, program, ids, created, print, interval) = (
            self.shared.clone(),
            self.program.clone(),
            self.gpu_ids.clone(),
            self.created,
            self.print,
            self.interval,
        );
        self.thread = Some(std::thread::spawn(move || loop {
            take_sample(&shared, &program, &ids, created, print);
            let stop = lock(&shared.stop);
            let (stop, _) = shared
                .wake
                .wait_timeout_while(stop, interval, |stop| !*stop)
                .unwrap_or_else(|e| e.into_inner());
            if *stop {
                break;
            }
        }));
        Ok(())
    }

    /// `stop()`: stops the thread (at once, without waiting for the interval).
    pub fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            *lock(&self.shared.stop) = true;
            self.shared.wake.notify_all();
            let _ = thread.join();
        }
    }

    /// True while the thread runs.
    pub fn is_running(&self) -> bool {
        self.thread.is_some()
    }

    /// Every stored sample, oldest first.
    pub fn samples(&self) -> Vec<GpuSample> {
        lock(&self.shared.samples).iter().cloned().collect()
    }

    /// The samples as a table: `time` (s), `gpu`, `utilization_percent` and `memory_used_mib`
    /// (null where not available) and `status` (`"ok"` or `"not available (reason)"`).
    pub fn to_dataframe(&self) -> Result<DataFrame> {
        let samples = self.samples();
        let value = |f: fn(f64, f64) -> f64| -> Vec<Option<f64>> {
            samples
                .iter()
                .map(|s| match s.reading {
                    GpuReading::Available {
                        utilization_percent,
                        memory_used_mib,
                    } => Some(f(utilization_percent, memory_used_mib)),
                    GpuReading::NotAvailable(_) => None,
                })
                .collect()
        };
        let status: Vec<String> = samples
            .iter()
            .map(|s| match &s.reading {
                GpuReading::Available { .. } => "ok".to_string(),
                other => other.to_string(),
            })
            .collect();
        DataFrame::new_infer_height(vec![
            Column::new(
                "time".into(),
                samples.iter().map(|s| s.time).collect::<Vec<_>>(),
            ),
            Column::new(
                "gpu".into(),
                samples.iter().map(|s| s.gpu as i64).collect::<Vec<_>>(),
            ),
            Column::new("utilization_percent".into(), value(|u, _| u)),
            Column::new("memory_used_mib".into(), value(|_, m| m)),
            Column::new("status".into(), status),
        ])
        .map_err(frame_error("GPUMonitor"))
    }

    /// Writes [`GPUMonitor::to_dataframe`] as CSV.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        records::write_csv(&mut self.to_dataframe()?, path.as_ref())
    }

    /// Writes [`GPUMonitor::to_dataframe`] as Parquet.
    pub fn write_parquet(&self, path: impl AsRef<Path>) -> Result<()> {
        records::write_parquet(&mut self.to_dataframe()?, path.as_ref())
    }
}

fn take_sample(
    shared: &Shared,
    program: &str,
    gpu_ids: &[usize],
    created: Instant,
    print: bool,
) -> Vec<GpuSample> {
    let time = created.elapsed().as_secs_f64();
    let samples: Vec<GpuSample> = gpu_ids
        .iter()
        .zip(query(program, gpu_ids))
        .map(|(&gpu, reading)| GpuSample { time, gpu, reading })
        .collect();
    if print {
        println!("[{time:.1} s] utilization.gpu [%], memory.used [MiB]");
        for s in &samples {
            println!("GPU {}: {}", s.gpu, s.reading);
        }
    }
    let mut stored = lock(&shared.samples);
    stored.extend(samples.iter().cloned());
    while stored.len() > DEFAULT_MAX_RECORDS {
        stored.pop_front();
    }
    samples
}

impl Drop for GPUMonitor {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for GPUMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GPUMonitor")
            .field("gpu_ids", &self.gpu_ids)
            .field("interval", &self.interval)
            .field("running", &self.is_running())
            .field("samples", &lock(&self.shared.samples).len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nvidia_smi_and_reports_missing_gpus_as_values() {
        let r = parse(&[0, 1, 2], "37, 376\n0, 1024\n");
        assert_eq!(
            r[0],
            GpuReading::Available {
                utilization_percent: 37.0,
                memory_used_mib: 376.0
            }
        );
        assert_eq!(r[0].to_string(), "37 %, 376 MiB");
        assert_eq!(
            r[1],
            GpuReading::Available {
                utilization_percent: 0.0,
                memory_used_mib: 1024.0
            }
        );
        assert_eq!(
            r[2].to_string(),
            "not available (nvidia-smi printed no line for GPU 2)"
        );
        assert_eq!(
            parse(&[0], "[N/A], 12\n")[0].to_string(),
            "not available (nvidia-smi printed '[N/A], 12' for GPU 0)"
        );
        let missing = query("/nonexistent/nvidia-smi", &[0, 1]);
        assert_eq!(missing.len(), 2);
        assert!(
            missing[1]
                .to_string()
                .starts_with("not available (nvidia-smi not found"),
            "{}",
            missing[1]
        );
    }

    #[test]
    fn the_thread_samples_until_stopped_and_exports() {
        // a stand-in nvidia-smi that prints fixed readings
        let dir = std::env::temp_dir().join(format!("sj-gpu-monitor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("nvidia-smi");
        std::fs::write(&script, "#!/bin/sh\necho '37, 376'\necho '5, 20'\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let mut gm = GPUMonitor::new()
            .with_gpu_ids(&[0, 3])
            .unwrap()
            .with_interval(0.02)
            .unwrap();
        gm.program = script.display().to_string();
        gm.start().unwrap();
        assert!(gm.start().is_err());
        std::thread::sleep(Duration::from_millis(100));
        gm.stop();
        assert!(!gm.is_running());
        let n = gm.samples().len();
        assert!(n >= 4 && n % 2 == 0, "{n} samples");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(gm.samples().len(), n, "stopped");
        let df = gm.to_dataframe().unwrap();
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "time",
                "gpu",
                "utilization_percent",
                "memory_used_mib",
                "status"
            ]
        );
        let gpu: Vec<i64> = df
            .column("gpu")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .take(2)
            .collect();
        assert_eq!(gpu, [0, 3]);
        let mem: Vec<f64> = df
            .column("memory_used_mib")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .take(2)
            .collect();
        assert_eq!(mem, [376.0, 20.0]);
        // no GPU: the reading is a value, not an error
        let mut none = GPUMonitor::new();
        none.program = "/nonexistent/nvidia-smi".into();
        let s = none.sample();
        assert!(matches!(s[0].reading, GpuReading::NotAvailable(_)));
        let df = none.to_dataframe().unwrap();
        assert_eq!(df.column("utilization_percent").unwrap().null_count(), 1);
        assert!(df
            .column("status")
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .unwrap()
            .starts_with("not available"));
        assert!(GPUMonitor::new().with_interval(0.0).is_err());
        assert!(GPUMonitor::new().with_gpu_ids(&[]).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
