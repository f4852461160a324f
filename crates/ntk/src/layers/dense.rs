//! `dense`: a channel-mixing affine map applied at every position (a 1×1 conv).

use rand::RngCore;

use ndarray::linalg::general_mat_mul;
use ndarray::{s, ArrayView2, ArrayViewMut2};

use super::{
    check_len, Affine, Batch, BatchGrad, Feats, Features, GradMode, Layer, Params, SigMode,
    Signature,
};
use crate::error::Result;
use crate::layout::{Kernel, KernelCtx, Stream};

/// Dense layer `y_o(p) = α Σ_c W_oc x_c(p) + β b_o` at every position `p`.
///
/// Kernel (docs/theory.md#pools-reshapes-normalisation): `K ← σ_w² K + σ_b²`, `Θ ← K_new + σ_w² Θ` (NTK parameterisation),
/// entrywise in any layout. Parameters: `W` as `(O, C)` row-major, then `b` (`O`) if biased.
#[derive(Debug, Clone)]
pub struct Dense {
    /// Weights, bias, width, parameterisation.
    pub affine: Affine,
}

impl Dense {
    /// A dense layer.
    pub fn new(affine: Affine) -> Self {
        Dense { affine }
    }
}

impl Layer for Dense {
    super::linear_layer_basics!("dense");
    fn describe(&self) -> String {
        format!(
            "dense(w_std={}, b_std={}, width={})",
            self.affine.w_std, self.affine.b_std, self.affine.width
        )
    }
    fn signature(&self, input: Stream<Signature>, _: SigMode) -> Result<Stream<Signature>> {
        let s = input.one()?;
        Ok(Stream::One(Signature {
            layout: s.layout,
            channels: self.affine.width,
        }))
    }
    fn kernel(&self, input: Stream<Kernel>, _: &mut KernelCtx<'_>) -> Result<Stream<Kernel>> {
        let mut k = input.one()?;
        let fan_in = k.channels;
        for (kv, tv) in k.nngp.iter_mut().zip(k.ntk.iter_mut()) {
            let (a, b) = self.affine.combine(fan_in, *kv, *tv);
            *kv = a;
            *tv = b;
        }
        k.channels = self.affine.width;
        Ok(Stream::One(k))
    }
    fn init(&self, input: &Stream<Signature>, rng: &mut dyn RngCore) -> Result<Params> {
        let c = input.as_one()?.channels;
        Ok(self.affine.init_params(rng, self.affine.width * c, c))
    }
    fn apply(&self, params: &Params, x: &Feats) -> Result<Feats> {
        let x = x.as_one()?;
        let (c, o) = (x.sig.channels, self.affine.width);
        let (w, b) = self.affine.split(&params.values, o * c)?;
        let alpha = self.affine.scales(c).0;
        let p = x.sig.positions();
        let mut y = vec![0.0; p * o];
        for q in 0..p {
            let xin = &x.data[q * c..][..c];
            for oo in 0..o {
                let w = &w[oo * c..][..c];
                y[q * o + oo] = alpha * w.iter().zip(xin).map(|(a, b)| a * b).sum::<f64>();
            }
        }
        self.affine.add_bias(c, &mut y, b);
        Ok(Stream::One(Features {
            sig: Signature {
                layout: x.sig.layout.clone(),
                channels: o,
            },
            data: y,
        }))
    }
    fn vjp(&self, params: &Params, x: &Feats, dy: &Feats, grad: &mut Params) -> Result<Feats> {
        let x = x.as_one()?;
        let dy = dy.as_one()?;
        let (c, o) = (x.sig.channels, self.affine.width);
        let (w, _) = self.affine.split(&params.values, o * c)?;
        let (gw, gb) = self.affine.split_mut(&mut grad.values, o * c)?;
        let alpha = self.affine.scales(c).0;
        let p = x.sig.positions();
        let mut dx = vec![0.0; p * c];
        for q in 0..p {
            for oo in 0..o {
                let g = dy.data[q * o + oo];
                if g == 0.0 {
                    continue;
                }
                for cc in 0..c {
                    gw[oo * c + cc] += alpha * g * x.data[q * c + cc];
                    dx[q * c + cc] += alpha * g * w[oo * c + cc];
                }
            }
        }
        self.affine.bias_grad(c, &dy.data, gb);
        Ok(Stream::One(Features {
            sig: x.sig.clone(),
            data: dx,
        }))
    }
    fn apply_batch(&self, params: &Params, x: &Batch) -> Result<Batch> {
        let (c, o) = (x.sig.channels, self.affine.width);
        let (w, b) = self.affine.split(&params.values, o * c)?;
        let rows = x.n * x.sig.positions();
        check_len("inputs", x.data.len(), rows * c)?;
        let xm = ArrayView2::from_shape((rows, c), &x.data[..]).expect("inputs (N, C)");
        let wm = ArrayView2::from_shape((o, c), w).expect("weights (O, C)");
        let mut y = vec![0.0; rows * o];
        let mut ym = ArrayViewMut2::from_shape((rows, o), &mut y[..]).expect("outputs (N, O)");
        general_mat_mul(self.affine.scales(c).0, &xm, &wm.t(), 0.0, &mut ym);
        self.affine.add_bias(c, &mut y, b);
        Ok(Batch {
            sig: Signature {
                layout: x.sig.layout.clone(),
                channels: o,
            },
            n: x.n,
            data: y,
        })
    }
    fn vjp_batch(&self, params: &Params, x: &Batch, dy: &Batch, out: BatchGrad) -> Result<Batch> {
        let mut out = out;
        let (c, o) = (x.sig.channels, self.affine.width);
        let (w, _) = self.affine.split(&params.values, o * c)?;
        let alpha = self.affine.scales(c).0;
        let p = x.sig.positions();
        let rows = x.n * p;
        check_len("inputs", x.data.len(), rows * c)?;
        check_len("cotangents", dy.data.len(), rows * o)?;
        let xm = ArrayView2::from_shape((rows, c), &x.data[..]).expect("inputs (N, C)");
        let gy = ArrayView2::from_shape((rows, o), &dy.data[..]).expect("cotangents (N, O)");
        let wm = ArrayView2::from_shape((o, c), w).expect("weights (O, C)");
        let plen = self.affine.param_len(o * c);
        match out.mode() {
            GradMode::Sum => {
                let (gw, gb) = self.affine.split_mut(out.summed(plen)?, o * c)?;
                let mut gw = ArrayViewMut2::from_shape((o, c), gw).expect("weights (O, C)");
                general_mat_mul(alpha, &gy.t(), &xm, 1.0, &mut gw);
                self.affine.bias_grad(c, &dy.data, gb);
            }
            GradMode::Each => {
                let (values, stride) = out.each(x.n, plen)?;
                for b in 0..x.n {
                    let (gw, gb) = values[b * stride..][..plen].split_at_mut(o * c);
                    let mut gw = ArrayViewMut2::from_shape((o, c), gw).expect("weights (O, C)");
                    let r = s![b * p..(b + 1) * p, ..];
                    general_mat_mul(alpha, &gy.slice(r).t(), &xm.slice(r), 1.0, &mut gw);
                    self.affine.bias_grad(c, &dy.data[b * p * o..][..p * o], gb);
                }
            }
        }
        let mut dx = vec![0.0; rows * c];
        let mut dxm = ArrayViewMut2::from_shape((rows, c), &mut dx[..]).expect("(N, C)");
        general_mat_mul(alpha, &gy, &wm, 0.0, &mut dxm);
        Ok(Batch {
            sig: x.sig.clone(),
            n: x.n,
            data: dx,
        })
    }
}
