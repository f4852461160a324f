//! The open registry: names, aliases, families, refusals, and the errors of the built-in name
//! families kept from `GroupName`.

use entk_groups::{
    cyclic_family, dihedral_family, CheckOptions, CyclicGroup, DihedralGroup, FiniteRotationGroup,
    GroupEntry, GroupError, GroupKind, GroupRegistry,
};

fn registry() -> GroupRegistry {
    let mut r = GroupRegistry::new();
    r.register_family(cyclic_family(GroupEntry::planar));
    r.register_family(dihedral_family(GroupEntry::planar));
    r.register(GroupEntry::so3()).unwrap();
    r.register(GroupEntry::spherical(FiniteRotationGroup::octahedral()).unwrap())
        .unwrap();
    r
}

#[test]
fn names_are_found_case_insensitively_with_aliases_and_families() {
    let r = registry();
    assert_eq!(r.get(" C4 ").unwrap().order(), Some(4));
    assert_eq!(r.get("d512").unwrap().order(), Some(1024));
    assert!(matches!(r.get("SO(3)").unwrap().kind(), GroupKind::So3));
    assert_eq!(r.get("Octahedral").unwrap().order(), Some(24));
    assert_eq!(r.names(), vec!["so3".to_string(), "octahedral".to_string()]);
    assert!(r.contains("c7") && r.contains("so3") && !r.contains("q8"));
}

#[test]
fn family_errors_are_those_of_group_name() {
    let r = registry();
    assert_eq!(
        r.get("c0").unwrap_err(),
        GroupError::ZeroOrder { group: "cyclic" }
    );
    let msg = r.get("d513").unwrap_err().to_string();
    assert!(msg.contains("at most 1024"), "{msg}");
    let msg = r.get("c18446744073709551615").unwrap_err().to_string();
    assert!(msg.contains("at most 1024"), "{msg}");
    match r.get("é4").unwrap_err() {
        GroupError::UnknownGroup { name, known } => {
            assert_eq!(name, "é4");
            assert_eq!(
                known,
                "c1, c2, ..., c1024 (cyclic), d1, ..., d512 (dihedral), so3, octahedral"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_downstream_group_is_usable_by_name_and_listed() {
    let mut r = registry();
    let entry = GroupEntry::planar(DihedralGroup::new(1).unwrap())
        .unwrap()
        .named("Flip")
        .with_alias("mirror");
    r.register(entry).unwrap();
    let flip = r.get("mirror").unwrap();
    assert_eq!(flip.name(), "flip");
    assert_eq!(flip.structure().unwrap().group_name(), "flip");
    assert!(flip
        .run_checks(&CheckOptions::default())
        .unwrap()
        .iter()
        .all(|c| c.passed()));
    let msg = r.get("nope").unwrap_err().to_string();
    assert!(msg.ends_with("so3, octahedral, flip"), "{msg}");
}

#[test]
fn taken_reserved_and_malformed_names_are_refused() {
    let mut r = registry();
    let c3 = || GroupEntry::planar(CyclicGroup::new(3).unwrap()).unwrap();
    for (name, why) in [
        ("octahedral", "already registered"),
        ("c7", "family"),
        ("d2", "family"),
        ("all", "reserved"),
        ("", "start with"),
        ("3c", "start with"),
        ("my group", "only ASCII"),
        ("é3", "start with"),
    ] {
        let e = r.register(c3().named(name)).unwrap_err().to_string();
        assert!(e.contains(why), "{name}: {e}");
    }
    let e = r
        .register(c3().named("fresh").with_alias("so(3)"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("so(3)") && e.contains("already registered"),
        "{e}"
    );
    // Nothing was half-registered.
    assert!(!r.contains("fresh"));
}

#[test]
fn the_same_group_under_two_names_has_one_structure() {
    let r = registry();
    let a = r.get("c4").unwrap();
    let b = GroupEntry::planar(CyclicGroup::new(4).unwrap())
        .unwrap()
        .named("other_c4");
    assert!(a
        .structure()
        .unwrap()
        .same_structure(b.structure().unwrap()));
    let d2 = r.get("d2").unwrap();
    assert!(!a
        .structure()
        .unwrap()
        .same_structure(d2.structure().unwrap()));
}

#[test]
fn a_lazy_entry_is_built_once_on_first_use_and_shared_by_clones() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let builds = Arc::new(AtomicUsize::new(0));
    let mut r = registry();
    let counter = builds.clone();
    r.register_lazy("Ico", move || {
        counter.fetch_add(1, Ordering::SeqCst);
        GroupEntry::spherical(FiniteRotationGroup::icosahedral())
    })
    .unwrap();
    // Listed and found without being built.
    assert!(r.names().contains(&"ico".to_string()) && r.contains("ICO"));
    assert_eq!(builds.load(Ordering::SeqCst), 0);
    let copy = r.clone();
    let entry = r.get(" ico ").unwrap();
    assert_eq!((entry.name(), entry.order()), ("ico", Some(60)));
    assert_eq!(copy.get("ico").unwrap().order(), Some(60));
    assert_eq!(builds.load(Ordering::SeqCst), 1);
    // Its name is checked when registered, like an eager entry's.
    for taken in ["octahedral", "c4", "all", "9x"] {
        assert!(matches!(
            r.register_lazy(taken, || Ok(GroupEntry::so3())),
            Err(GroupError::InvalidName { .. })
        ));
    }
    // A failed build is an error of `get`, every time.
    r.register_lazy("broken", || Err(GroupError::ZeroOrder { group: "cyclic" }))
        .unwrap();
    assert!(r.get("broken").is_err() && r.get("broken").is_err());
}
