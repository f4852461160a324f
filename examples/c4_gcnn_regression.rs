//! The downstream program of the common job: a C4-equivariant CNN, its kernels, and
//! kernel-regression predictions, through the umbrella crate alone.
//! `cargo run --release --example c4_gcnn_regression`
use entk::prelude::*;

fn main() -> Result<(), NtkError> {
    let c4 = GroupName::Cyclic(4);
    let net = Network::serial([
        stax::lift_conv(c4, 3, Padding::Same)?,
        stax::relu(),
        stax::group_conv(c4, 3, Padding::Same)?,
        stax::relu(),
        stax::group_pool(),
        stax::dense(1),
    ])?;
    let x = Array4::from_shape_fn((10, 7, 7, 1), |(i, h, w, _)| {
        ((i * 49 + h * 7 + w) as f64 * 0.37).sin()
    });
    let (x_train, x_test) = (
        x.slice(s![..8, .., .., ..]).to_owned(),
        x.slice(s![8.., .., .., ..]).to_owned(),
    );
    let y_train = Array2::from_shape_fn((8, 1), |(i, _)| if i % 2 == 0 { 1.0 } else { -1.0 });
    let gram = net.kernel(&x_test, Some(&x_train))?;
    let prediction = net.predict(&x_train, &y_train, &x_test)?;
    println!(
        "NTK(test, train) =\n{:.4}\nNTK prediction = {:.4}",
        gram.ntk, prediction.ntk.test
    );
    Ok(())
}
