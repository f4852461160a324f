//! Wigner matrices of SO(3): small `d^l(β)`, complex `D^l(R)` and real `D^l_real(R)`.
//!
//! Conventions (docs/conventions.md#so3): ZYZ Euler angles `R = R_z(α) R_y(β) R_z(γ)` on column vectors,
//! `D^l_{mn}(α, β, γ) = e^{−imα} d^l_{mn}(β) e^{−inγ}`, the standard Wigner-formula `d` (so
//! `d¹₁₀(β) = −sin β/√2`), matrices indexed `[m + l, n + l]`. The `d` values come from a stable
//! three-term recursion in `l` (see [`wigner_small_d_entry`]), accurate to 1e-10 at `l = 100`.

mod big_d;
mod irrep;
mod real;
mod small_d;

pub use big_d::{wigner_d, wigner_d_from_euler, WignerD};
pub use irrep::{RealWignerIrrep, WignerIrrep};
pub use real::{complex_to_real_basis, real_wigner_d, real_wigner_d_from_euler};
pub use small_d::{wigner_small_d, wigner_small_d_entry, WignerSmallDTable};

pub(crate) use small_d::{FixedOrderRecursion, LogFactorials};
