//! `examples/custom_group.rs` keeps working: its logic, run here, registers `c2t` from outside
//! the crates, passes the checker bundle, satisfies the augmentation theorem to rounding and
//! differs clearly from the plain CNN (issue #8).

#[path = "../examples/custom_group.rs"]
mod custom_group;

#[test]
fn the_custom_group_example_passes_its_own_criteria() {
    let outcome = custom_group::run().expect("the example runs");
    println!("{}", outcome.json());
    assert!(outcome.laws_passed);
    assert!(
        outcome.augmentation_max_abs_err <= 1e-12,
        "{}",
        outcome.json()
    );
    assert!(
        outcome.cnn_vs_gcnn_max_abs_diff >= 1e-6,
        "{}",
        outcome.json()
    );
    let line = outcome.json();
    assert!(
        line.starts_with(r#"{"group": "c2t", "laws_passed": true, "augmentation_max_abs_err": "#)
    );
    assert_eq!(line.lines().count(), 1);
}
