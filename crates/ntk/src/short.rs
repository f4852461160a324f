//! The short path of the common job: a network from [`crate::stax`] layers, both Gram matrices
//! in one call, and kernel-regression predictions in one call.

use ndarray::{Array2, Array4};

use crate::error::Result;
use crate::gram::{Gram, GramOptions};
use crate::network::Network;
use crate::param::Parameterization;
use crate::regression::{
    gradient_flow_mean, GradientFlowOptions, GradientFlowPrediction, TrainingTime,
};
use crate::spec::{ArchSpec, LayerSpec};

/// Kernel-regression predictions of the infinite-width network trained to convergence
/// (gradient flow on the MSE loss until `t = ∞`, neural-tangents' `predict_fn(t=None)`), with
/// each kernel: [`Network::predict`].
#[derive(Debug, Clone)]
pub struct Prediction {
    /// With the NNGP `K`: the mean of the Bayesian posterior (the network with only its
    /// readout trained).
    pub nngp: GradientFlowPrediction,
    /// With the NTK `Θ`: the mean of the trained network (all layers trained).
    pub ntk: GradientFlowPrediction,
}

impl ArchSpec {
    /// A spec of `layers` whose linear layers all use `parameterization` (as the JSON field
    /// `parameterization` does).
    pub fn new(
        parameterization: Parameterization,
        layers: impl IntoIterator<Item = LayerSpec>,
    ) -> Self {
        let mut layers: Vec<LayerSpec> = layers.into_iter().collect();
        for l in &mut layers {
            l.for_each_affine(&mut |a| a.param = parameterization);
        }
        ArchSpec {
            parameterization,
            layers,
        }
    }
}

impl Network {
    /// The network of `layers` in NTK parameterisation (neural-tangents' `stax.serial`; build
    /// the layers with [`crate::stax`]). Validated like a JSON spec's layers.
    pub fn serial(layers: impl IntoIterator<Item = LayerSpec>) -> Result<Self> {
        Self::from_spec(&ArchSpec::new(Parameterization::Ntk, layers))
    }

    /// Both Gram matrices, NNGP `K(x1_i, x2_j)` and NTK `Θ(x1_i, x2_j)`, of `(N, H, W, C)` image
    /// batches (`x2 = None`: `x1` against itself, computed symmetrically), with the default
    /// [`GramOptions`] (all cores, the available memory as budget). neural-tangents'
    /// `kernel_fn(x1, x2, ('nngp', 'ntk'))`; [`Network::gram`] takes views and options.
    pub fn kernel(&self, x1: &Array4<f64>, x2: Option<&Array4<f64>>) -> Result<Gram> {
        self.gram(x1.view(), x2.map(|x| x.view()), &GramOptions::default())
    }

    /// Kernel regression in one call: the predictions at `x_test` of the infinite-width network
    /// trained on `(x_train, y_train)` to convergence (`t = ∞`, no regularisation, the
    /// singular fallback of [`crate::regression`] reported in the `info` warnings), with the
    /// NNGP and the NTK. `y_train` is `(N_train, K)`; each `test` is `(N_test, K)`. For finite
    /// times, regularisation or many test sets use [`crate::regression::GradientFlow`] with the
    /// Gram matrices of [`Network::kernel`].
    pub fn predict(
        &self,
        x_train: &Array4<f64>,
        y_train: &Array2<f64>,
        x_test: &Array4<f64>,
    ) -> Result<Prediction> {
        let train = self.kernel(x_train, None)?;
        let test = self.kernel(x_test, Some(x_train))?;
        let opts = GradientFlowOptions::default();
        let mean = |train_train: &Array2<f64>, test_train: &Array2<f64>| {
            gradient_flow_mean(
                train_train.view(),
                test_train.view(),
                y_train.view(),
                TrainingTime::Infinite,
                &opts,
            )
        };
        Ok(Prediction {
            nngp: mean(&train.nngp, &test.nngp)?,
            ntk: mean(&train.ntk, &test.ntk)?,
        })
    }
}
