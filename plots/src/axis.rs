//! Axis label formatting shared by the plots.
/// Axis labels for integer positions (time steps, neuron indices): `5`, not `5.0`; no label between.
pub(crate) fn int_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        String::new()
    }
}
