//! Group names from specs and the command line: never a panic, impossible orders refused at
//! parse time (issue: `é4` split inside a character; `c18446744073709551615`, `c5000000000`
//! and `d9223372036854775808` overflowed later arithmetic; `c1000000` allocated terabytes).

use std::str::FromStr;

use entk_groups::{GroupError, GroupName, MAX_FINITE_ORDER};
use proptest::prelude::*;

#[test]
fn registered_names_parse() {
    assert_eq!(GroupName::from_str("c4").unwrap(), GroupName::Cyclic(4));
    assert_eq!(GroupName::from_str(" D4 ").unwrap(), GroupName::Dihedral(4));
    assert_eq!(GroupName::from_str("SO(3)").unwrap(), GroupName::So3);
    assert_eq!(
        GroupName::from_str("c1024").unwrap(),
        GroupName::Cyclic(1024)
    );
    assert_eq!(
        GroupName::from_str("d512").unwrap(),
        GroupName::Dihedral(512)
    );
}

#[test]
fn non_ascii_names_are_unknown_not_a_panic() {
    for name in ["é4", "ç8", "∂4", "c٤", "d4é", "", "c", "é"] {
        let e = GroupName::from_str(name).unwrap_err();
        assert!(matches!(e, GroupError::UnknownGroup { .. }), "{name}: {e}");
        assert!(!e.to_string().contains('\n'));
    }
}

#[test]
fn orders_beyond_the_limit_are_refused_with_the_limit_in_the_message() {
    for (name, order) in [
        ("c1025", 1025),
        ("d513", 1026),
        ("c1000000", 1_000_000),
        ("c5000000000", 5_000_000_000),
        ("c18446744073709551615", usize::MAX),
        ("c99999999999999999999999999", usize::MAX),
        ("d9223372036854775808", usize::MAX),
    ] {
        match GroupName::from_str(name) {
            Err(GroupError::OrderTooLarge { order: o, max, .. }) => {
                assert_eq!((o, max), (order, MAX_FINITE_ORDER), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
        let msg = GroupName::from_str(name).unwrap_err().to_string();
        assert!(msg.contains("at most 1024"), "{msg}");
    }
}

proptest! {
    #[test]
    fn any_string_parses_or_errs_without_panicking(s in "\\PC{0,12}") {
        let _ = GroupName::from_str(&s);
    }
    #[test]
    fn family_letter_plus_any_digits_never_panics(f in "[cdCDé]", d in "[0-9]{1,30}") {
        match GroupName::from_str(&format!("{f}{d}")) {
            Ok(GroupName::Cyclic(n)) => prop_assert!((1..=MAX_FINITE_ORDER).contains(&n)),
            Ok(GroupName::Dihedral(n)) => prop_assert!((1..=MAX_FINITE_ORDER / 2).contains(&n)),
            Ok(GroupName::So3) => prop_assert!(false),
            Err(_) => {}
        }
    }
}
