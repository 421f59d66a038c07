//! `activation_based.layer`: step-mode-aware layers and containers (inventory §2.4).
mod flatten;
mod linear;
mod sequential;

pub use flatten::Flatten;
pub use linear::Linear;
pub use sequential::Sequential;
