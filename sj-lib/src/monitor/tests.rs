//! The monitor tutorial (T7) on a net whose spikes are known exactly, and the monitors' errors.
use super::*;
use crate::base::{Hooks, Module};
use crate::functional::{reset_net, set_step_mode, state_dict};
use crate::layer::{Linear, Sequential};
use crate::neuron::{IFNode, NodeOptions};
use polars::prelude::{CsvReadOptions, ParquetReader, SerReader};
use tch::{nn, Device, Kind};

/// T7's `Linear(8, 4) → IF → Linear(4, 2) → IF` in step mode 'm', with weights that make the
/// spikes exact: layer 0 passes inputs 0..3 through, layer 2 weighs every spike by 0.3.
fn t7_net(vs: &nn::VarStore, store_v_seq: bool) -> Sequential {
    let p = vs.root();
    let mut net = Sequential::new()
        .add(Linear::new(&(&p / "0"), 8, 4, true).unwrap())
        .add(IFNode::new().with_store_v_seq(store_v_seq))
        .add(Linear::new(&(&p / "2"), 4, 2, true).unwrap())
        .add(IFNode::new().with_store_v_seq(store_v_seq));
    let mut w0 = vec![0.0f32; 32];
    (0..4).for_each(|i| w0[i * 8 + i] = 1.0);
    tch::no_grad(|| {
        for (name, t) in state_dict(&net) {
            let value = match name.as_str() {
                "0.weight" => Tensor::from_slice(&w0).view([4, 8]),
                "2.weight" => Tensor::full([2, 4], 0.3, (Kind::Float, Device::Cpu)),
                _ => t.zeros_like(),
            };
            t.shallow_clone().copy_(&value);
        }
    });
    set_step_mode(&mut net, StepMode::M).unwrap();
    net
}

/// `x_seq` `[T=4, N=1, 8]`: IF layer 1 integrates 0.625 twice (fires at t=1), then 0.5/1.25
/// (neurons 1 and 3 fire at t=2), then 0.625/1.25 (all fire at t=3). Inputs 4..7 are ignored.
fn t7_x_seq() -> Tensor {
    let rows = [
        [0.625, 0.625, 0.625, 0.625],
        [0.625, 0.625, 0.625, 0.625],
        [0.5, 1.25, 0.5, 1.25],
        [0.625, 1.25, 0.625, 1.25],
    ];
    let x: Vec<f32> = rows
        .iter()
        .flat_map(|r| r.iter().copied().chain([0.9; 4]))
        .collect();
    Tensor::from_slice(&x).view([4, 1, 8])
}

fn forward_no_grad(net: &mut Sequential) {
    let _ = tch::no_grad(|| net.forward(&t7_x_seq())).unwrap();
}

fn values(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(&t.flatten(0, -1)).unwrap()
}

/// Layer 3 sums multiples of 0.3 in float32: equal up to rounding.
fn assert_close(t: &Tensor, want: &[f32]) {
    let got = values(t);
    assert!(
        got.len() == want.len() && got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6),
        "{got:?} vs {want:?}"
    );
}

fn firing_rate(s: &Tensor) -> Tensor {
    s.flatten(1, -1).mean_dim(1, false, Kind::Float)
}

fn names(df: &polars::prelude::DataFrame) -> Vec<String> {
    df.get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect()
}

fn strs(df: &polars::prelude::DataFrame, column: &str) -> Vec<String> {
    df.column(column)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect()
}

const SPIKES_1: [f32; 16] = [
    0., 0., 0., 0., 1., 1., 1., 1., 0., 1., 0., 1., 1., 1., 1., 1.,
];
const SPIKES_3: [f32; 8] = [0., 0., 1., 1., 0., 0., 1., 1.];

#[test]
fn output_monitor_records_spikes_by_index_and_name() {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = t7_net(&vs, false);
    let mut mon = OutputMonitor::new(&net, "IFNode").unwrap();
    forward_no_grad(&mut net);
    let records = mon.records().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(
        (records[0].size(), records[1].size()),
        (vec![4, 1, 4], vec![4, 1, 2])
    );
    assert_eq!(values(&records[0]), SPIKES_1);
    assert_eq!(values(&records[1]), SPIKES_3);
    assert_eq!(mon.monitored_layers(), ["1", "3"]);
    assert_eq!(values(&mon.get(0).unwrap()), SPIKES_1);
    assert_eq!(mon.layer("1").unwrap().len(), 1);
    assert_eq!(values(&mon.latest("3").unwrap()), SPIKES_3);
    mon.clear_recorded_data();
    assert!(mon.records().unwrap().is_empty() && mon.layer("1").unwrap().is_empty());
    mon.remove_hooks();
    reset_net(&mut net);
    forward_no_grad(&mut net);
    assert!(mon.is_empty().unwrap());
    assert_eq!(net.hooks().unwrap().len(), 0);
}

#[test]
fn firing_rate_monitor_checklist_289() {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = t7_net(&vs, false);
    let spikes = OutputMonitor::new(&net, "IFNode").unwrap();
    let fr = OutputMonitor::new(&net, "IFNode")
        .unwrap()
        .with_function_on_output(firing_rate);
    fr.disable();
    forward_no_grad(&mut net);
    reset_net(&mut net);
    assert!(fr.records().unwrap().is_empty() && !fr.is_enable());
    spikes.clear_recorded_data();
    fr.enable();
    forward_no_grad(&mut net);
    let rates: Vec<Vec<f32>> = fr.records().unwrap().iter().map(values).collect();
    assert_eq!(rates, [vec![0.0, 1.0, 0.5, 1.0], vec![0.0, 1.0, 0.0, 1.0]]);
    // consistent with the recorded spikes
    let from_spikes: Vec<Vec<f32>> = spikes
        .records()
        .unwrap()
        .iter()
        .map(|s| values(&firing_rate(s)))
        .collect();
    assert_eq!(from_spikes, rates);
    // the table: one row per layer and time step; the spike records give the same rates
    let df = fr.to_dataframe().unwrap();
    assert_eq!(names(&df), ["layer", "step", "time", "output"]);
    assert_eq!(strs(&df, "layer"), ["1", "1", "1", "1", "3", "3", "3", "3"]);
    let time: Vec<i64> = df
        .column("time")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(time, [0, 1, 2, 3, 0, 1, 2, 3]);
    assert!(df
        .column("step")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .all(|s| s == 0));
    let rate: Vec<f64> = df
        .column("output")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(rate, [0.0, 1.0, 0.5, 1.0, 0.0, 1.0, 0.0, 1.0]);
    assert!(spikes.to_dataframe().unwrap().equals(&df));
}

#[test]
fn attribute_and_input_monitors_see_v_seq_and_currents() {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = t7_net(&vs, true);
    let v_seq = AttributeMonitor::new("v_seq", false, &net, "IFNode").unwrap();
    let v_before = AttributeMonitor::new("v", true, &net, "IFNode").unwrap();
    let input = InputMonitor::new(&net, "IFNode").unwrap();
    forward_no_grad(&mut net);
    // hard reset: 0.0 exactly where a spike fired
    assert_eq!(
        values(&v_seq.get(0).unwrap()),
        [0.625, 0.625, 0.625, 0.625, 0., 0., 0., 0., 0.5, 0., 0.5, 0., 0., 0., 0., 0.]
    );
    assert_close(&v_seq.get(1).unwrap(), &[0., 0., 0., 0., 0.6, 0.6, 0., 0.]);
    assert_eq!(
        values(&input.get(0).unwrap()),
        values(&t7_x_seq().narrow(2, 0, 4))
    );
    assert_close(
        &input.get(1).unwrap(),
        &[0., 0., 1.2, 1.2, 0.6, 0.6, 1.2, 1.2],
    );
    // before the first forward v is still the float 0.0: nothing recorded; the next call sees v
    assert!(v_before.is_empty().unwrap());
    forward_no_grad(&mut net);
    assert_eq!(values(&v_before.get(0).unwrap()), [0.0; 4]);
    assert_eq!(v_seq.statistic(), "v_seq");
    assert_eq!(v_seq.layer("3").unwrap().len(), 2);
}

#[test]
fn grad_output_monitor_checklist_290() {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = t7_net(&vs, false);
    let mon = GradOutputMonitor::new(&net, "IFNode").unwrap();
    net.forward(&t7_x_seq())
        .unwrap()
        .sum(Kind::Float)
        .backward();
    let records = mon.records().unwrap();
    assert_eq!(records.len(), 2);
    // the last layer first, all ones for sum().backward()
    assert_eq!(records[0].size(), [4, 1, 2]);
    assert_eq!(values(&records[0]), [1.0; 8]);
    assert_eq!(records[1].size(), [4, 1, 4]);
    assert_eq!(mon.layer("3").unwrap().len(), 1);
    // layer 1's record is autograd's ∂L/∂S of the same graph, built without hooks
    reset_net(&mut net);
    let mut run = |i: usize, x: &Tensor| net.get_mut(i).unwrap().forward(x).unwrap();
    let h1 = run(0, &t7_x_seq());
    let s1 = run(1, &h1);
    let h3 = run(2, &s1);
    let s3 = run(3, &h3);
    let want = Tensor::run_backward(&[s3.sum(Kind::Float)], &[&s1], false, false);
    assert_eq!(values(&records[1]), values(&want[0]));
    assert!(values(&records[1]).iter().any(|g| *g != 0.0));
    assert!(!records[1].requires_grad());
}

#[test]
fn grad_monitors_order_passes_and_skip_no_grad_and_stale_forwards() {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = t7_net(&vs, false);
    let out = GradOutputMonitor::new(&net, "IFNode").unwrap();
    let inp = GradInputMonitor::new(&net, "IFNode")
        .unwrap()
        .with_function_on_grad_input(|g| g.norm());
    // no graph: nothing to probe
    forward_no_grad(&mut net);
    reset_net(&mut net);
    // a forward never backpropagated, then two passes with backward
    let _stale = net.forward(&t7_x_seq()).unwrap();
    reset_net(&mut net);
    for _ in 0..2 {
        net.forward(&t7_x_seq())
            .unwrap()
            .sum(Kind::Float)
            .backward();
        reset_net(&mut net);
    }
    assert_eq!(out.len().unwrap(), 4);
    assert_eq!(strs(&out.to_dataframe().unwrap(), "layer")[0], "3");
    let layers: Vec<Vec<i64>> = ["1", "3"]
        .iter()
        .map(|l| out.layer(l).unwrap().iter().map(|t| t.size()[2]).collect())
        .collect();
    assert_eq!(layers, [vec![4, 4], vec![2, 2]]);
    // ∂L/∂X of each IF layer, as norms, last layer first: compare with autograd on the inputs
    let norms: Vec<f32> = inp
        .records()
        .unwrap()
        .iter()
        .map(|t| t.double_value(&[]) as f32)
        .collect();
    assert_eq!(norms.len(), 4);
    let mut run = |i: usize, x: &Tensor| net.get_mut(i).unwrap().forward(x).unwrap();
    let h1 = run(0, &t7_x_seq());
    let s1 = run(1, &h1);
    let h3 = run(2, &s1);
    let s3 = run(3, &h3);
    let g = Tensor::run_backward(&[s3.sum(Kind::Float)], &[&h3, &h1], false, false);
    let want = [
        g[0].norm().double_value(&[]) as f32,
        g[1].norm().double_value(&[]) as f32,
    ];
    assert_eq!(norms, [want[0], want[1], want[0], want[1]]);
    assert!(want[0] > 0.0 && want[1] > 0.0);
    let df = inp.to_dataframe().unwrap();
    assert_eq!(df.height(), 4, "scalar records give one row each");
    // forwards without backward: at most max_records probes wait, the rest are counted as dropped
    let capped = GradOutputMonitor::new(&net, "IFNode")
        .unwrap()
        .with_max_records(3)
        .unwrap();
    reset_net(&mut net);
    let _pending: Vec<Tensor> = (0..2).map(|_| net.forward(&t7_x_seq()).unwrap()).collect();
    assert_eq!((capped.len().unwrap(), capped.dropped()), (0, 1));
}

#[test]
fn cap_summary_and_detached_records() {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = t7_net(&vs, false);
    let capped = OutputMonitor::new(&net, "IFNode")
        .unwrap()
        .with_max_records(3)
        .unwrap();
    let summary = OutputMonitor::new(&net, "IFNode")
        .unwrap()
        .with_summary()
        .unwrap();
    for _ in 0..5 {
        let _ = net.forward(&t7_x_seq()).unwrap();
        reset_net(&mut net);
    }
    assert_eq!((capped.len().unwrap(), capped.dropped()), (3, 7));
    assert!(
        !capped.get(0).unwrap().requires_grad(),
        "records hold no graph"
    );
    let steps: Vec<i64> = capped
        .to_dataframe()
        .unwrap()
        .column("step")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(
        steps,
        [3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4],
        "layer 3 of call 3, then both layers of call 4"
    );
    assert!(summary.records().unwrap().is_empty());
    assert!(summary.to_dataframe().is_err());
    let df = summary.summary().unwrap();
    assert_eq!(names(&df), ["layer", "time", "count", "mean", "min", "max"]);
    assert!(df
        .column("count")
        .unwrap()
        .u64()
        .unwrap()
        .into_no_null_iter()
        .all(|c| c == 5));
    let mean: Vec<f64> = df
        .column("mean")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(mean, [0.0, 1.0, 0.5, 1.0, 0.0, 1.0, 0.0, 1.0]);
    // the capped monitor summarises what it kept
    let kept = capped.summary().unwrap();
    assert_eq!(kept.column("count").unwrap().u64().unwrap().get(0), Some(1));
}

#[test]
fn csv_and_parquet_round_trip() {
    let vs = nn::VarStore::new(Device::Cpu);
    let mut net = t7_net(&vs, false);
    let fr = OutputMonitor::new(&net, "IFNode")
        .unwrap()
        .with_function_on_output(firing_rate);
    for _ in 0..2 {
        forward_no_grad(&mut net);
        reset_net(&mut net);
    }
    let df = fr.to_dataframe().unwrap();
    assert_eq!(df.height(), 16);
    let dir = std::env::temp_dir().join(format!("sj-monitor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    fr.write_parquet(dir.join("fr.parquet")).unwrap();
    let back = ParquetReader::new(std::fs::File::open(dir.join("fr.parquet")).unwrap())
        .finish()
        .unwrap();
    assert!(back.equals(&df), "{back}");
    fr.write_csv(dir.join("fr.csv")).unwrap();
    let text = std::fs::read_to_string(dir.join("fr.csv")).unwrap();
    assert!(
        text.starts_with("layer,step,time,output\n1,0,0,0.0\n1,0,1,1.0\n1,0,2,0.5\n"),
        "{text}"
    );
    // CSV has no types: read the layer names back as strings
    let back = CsvReadOptions::default()
        .with_schema(Some(df.schema().clone()))
        .try_into_reader_with_file_path(Some(dir.join("fr.csv")))
        .unwrap()
        .finish()
        .unwrap();
    assert!(back.equals(&df), "{back}");
    let err = fr
        .write_csv(dir.join("missing").join("fr.csv"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("fr.csv"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_layers_types_attributes_and_empty_layers_are_errors() {
    let vs = nn::VarStore::new(Device::Cpu);
    let net = t7_net(&vs, false);
    let err = OutputMonitor::new(&net, "IFNod").unwrap_err().to_string();
    assert!(
        err.contains("'IFNod'") && err.contains("Linear, IFNode"),
        "{err}"
    );
    let err = OutputMonitor::new(&net, Instance::layers(["1", "9"]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("layer '9' not found") && err.contains("0, 1, 2, 3"),
        "{err}"
    );
    let err = OutputMonitor::new(&net, "Sequential")
        .unwrap_err()
        .to_string();
    assert!(err.contains("root"), "{err}");
    let err = AttributeMonitor::new("v_seq", false, &net, "IFNode")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'v_seq'") && err.contains("layer '1'") && err.contains("[v]"),
        "{err}"
    );
    let mon = OutputMonitor::new(&net, Instance::layers(["0"])).unwrap();
    assert_eq!(mon.monitored_layers(), ["0"]);
    let err = mon.layer("1").unwrap_err().to_string();
    assert!(
        err.contains("'1'") && err.contains("monitored layers: 0"),
        "{err}"
    );
    let err = mon.latest("0").unwrap_err().to_string();
    assert!(
        err.contains("layer '0' has no recorded output yet"),
        "{err}"
    );
    let err = mon.get(0).unwrap_err().to_string();
    assert!(err.contains("record '0' not found"), "{err}");
    assert_eq!(mon.to_dataframe().unwrap().height(), 0);
}

/// SpikingJelly's docstring net: named children, run through hooks in its own forward.
#[derive(Debug)]
struct Net {
    fc1: Linear,
    sn1: IFNode,
    fc2: Linear,
    sn2: IFNode,
    hooks: Hooks,
    step_mode: StepMode,
}

impl Module for Net {
    fn type_name(&self) -> &'static str {
        "Net"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        let x = self.hooks.call("fc1", &mut self.fc1, x)?;
        let x = self.hooks.call("sn1", &mut self.sn1, &x)?;
        let x = self.hooks.call("fc2", &mut self.fc2, &x)?;
        self.hooks.call("sn2", &mut self.sn2, &x)
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![
            ("fc1".into(), &self.fc1 as &dyn Module),
            ("sn1".into(), &self.sn1),
            ("fc2".into(), &self.fc2),
            ("sn2".into(), &self.sn2),
        ]
    }
    fn hooks(&self) -> Option<&Hooks> {
        Some(&self.hooks)
    }
}

/// A module with a child that it does not run through hooks.
#[derive(Debug)]
struct Opaque {
    inner: IFNode,
    step_mode: StepMode,
}

impl Module for Opaque {
    fn type_name(&self) -> &'static str {
        "Opaque"
    }
    fn forward(&mut self, x: &Tensor) -> Result<Tensor> {
        self.inner.forward(x)
    }
    fn step_mode(&self) -> StepMode {
        self.step_mode
    }
    fn step_mode_slot(&mut self) -> &mut StepMode {
        &mut self.step_mode
    }
    fn children(&self) -> Vec<(String, &dyn Module)> {
        vec![("inner".into(), &self.inner as &dyn Module)]
    }
}

#[test]
fn own_modules_take_part_through_their_hooks() {
    let vs = nn::VarStore::new(Device::Cpu);
    let p = vs.root();
    let mut net = Net {
        fc1: Linear::new(&(&p / "fc1"), 8, 4, true).unwrap(),
        sn1: IFNode::new(),
        fc2: Linear::new(&(&p / "fc2"), 4, 2, true).unwrap(),
        sn2: IFNode::new(),
        hooks: Hooks::new(),
        step_mode: StepMode::S,
    };
    let mon = OutputMonitor::new(&net, "IFNode").unwrap();
    assert_eq!(mon.monitored_layers(), ["sn1", "sn2"]);
    let y = net
        .forward(&Tensor::rand([1, 8], (Kind::Float, Device::Cpu)))
        .unwrap();
    assert_eq!(values(&mon.get(1).unwrap()), values(&y));
    assert_eq!(mon.layer("sn1").unwrap()[0].size(), [1, 4]);
    // single-step records are one row each, time 0, step counting the calls
    let _ = net
        .forward(&Tensor::rand([1, 8], (Kind::Float, Device::Cpu)))
        .unwrap();
    let df = mon.to_dataframe().unwrap();
    let steps: Vec<i64> = df
        .column("step")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(steps, [0, 0, 1, 1]);
    let opaque = Sequential::new().add(Opaque {
        inner: IFNode::new(),
        step_mode: StepMode::S,
    });
    let err = OutputMonitor::new(&opaque, "IFNode")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("layer '0.inner' (IFNode)")
            && err.contains("Opaque does not run forward hooks"),
        "{err}"
    );
}
