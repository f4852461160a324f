//! Label encodings and the labelled-image container.

use entk_datasets::{
    accuracy, argmax_rows, centred_one_hot, one_hot, DatasetError, LabelledImages,
};
use ndarray::{array, Array4};

#[test]
fn one_hot_and_centred_one_hot() {
    let y = one_hot(&[2, 0, 1], 3).unwrap();
    assert_eq!(y, array![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
    let centred = centred_one_hot(&[2, 0, 1, 8], 9).unwrap();
    assert_eq!(centred.shape(), &[4, 9]);
    assert!((centred[(0, 2)] - 8.0 / 9.0).abs() < 1e-15);
    assert!((centred[(0, 0)] + 1.0 / 9.0).abs() < 1e-15);
    for row in centred.rows() {
        assert!(row.sum().abs() < 1e-14);
    }
    assert!(one_hot(&[3], 3).is_err());
    assert!(one_hot(&[], 0).is_err());
}

#[test]
fn argmax_and_accuracy() {
    let scores = array![[0.1, 0.7, 0.2], [0.5, 0.5, -1.0], [f64::NAN, 0.0, 1.0]];
    let predicted = argmax_rows(scores.view());
    assert_eq!(predicted, vec![1, 0, 2]);
    assert_eq!(accuracy(&predicted, &[1, 1, 2]), 2.0 / 3.0);
    assert_eq!(accuracy(&[], &[]), 0.0);
}

#[test]
fn labelled_images_check_their_invariant_and_split_reproducibly() {
    let images = Array4::from_shape_fn((10, 2, 2, 1), |(n, ..)| n as f64);
    let labels: Vec<usize> = (0..10).map(|n| n % 3).collect();
    let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let data = LabelledImages::new(images.clone(), labels.clone(), names.clone()).unwrap();
    assert_eq!(data.one_hot().shape(), &[10, 3]);
    assert!(data.centred_one_hot().sum().abs() < 1e-13);

    let (train, test) = data.train_test_split(6, 4, 42).unwrap();
    assert_eq!((train.len(), test.len()), (6, 4));
    let mut seen: Vec<usize> = train
        .images()
        .iter()
        .step_by(4)
        .chain(test.images().iter().step_by(4))
        .map(|&v| v as usize)
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (0..10).collect::<Vec<_>>(),
        "train and test partition the data"
    );
    assert_eq!(data.train_test_split(6, 4, 42).unwrap().0, train);
    assert!(matches!(
        data.train_test_split(6, 5, 42),
        Err(DatasetError::NotEnoughData {
            requested: 11,
            available: 10,
            ..
        })
    ));

    assert!(LabelledImages::new(images.clone(), labels[..9].to_vec(), names.clone()).is_err());
    assert!(LabelledImages::new(images.clone(), vec![3; 10], names).is_err());
    assert!(LabelledImages::new(images, labels, vec![]).is_err());
    assert!(data.select(&[10]).is_err());
}
