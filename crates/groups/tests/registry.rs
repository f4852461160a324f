//! The open registry: names, aliases, families, refusals, and the errors of the built-in name
//! families kept from `GroupName`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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

/// A builder that counts its calls.
fn counted(
    build: impl Fn() -> Result<GroupEntry, GroupError> + Send + Sync + 'static,
) -> (
    Arc<AtomicUsize>,
    impl Fn() -> Result<GroupEntry, GroupError> + Send + Sync + 'static,
) {
    let builds = Arc::new(AtomicUsize::new(0));
    let counter = builds.clone();
    (builds, move || {
        counter.fetch_add(1, Ordering::SeqCst);
        build()
    })
}

#[test]
fn a_lazy_entry_is_built_once_on_first_use_and_shared_by_clones() {
    let mut r = registry();
    let (builds, build) = counted(|| GroupEntry::spherical(FiniteRotationGroup::icosahedral()));
    r.register_lazy("Ico", &["I"], build).unwrap();
    // Listed and found without being built.
    assert!(r.names().contains(&"ico".to_string()) && r.contains("ICO") && r.contains("i"));
    assert_eq!(builds.load(Ordering::SeqCst), 0);
    let copy = r.clone();
    let entry = r.get(" ico ").unwrap();
    assert_eq!((entry.name(), entry.order()), ("ico", Some(60)));
    assert_eq!(entry.aliases(), ["i".to_string()]);
    assert_eq!(copy.get("i").unwrap().order(), Some(60));
    assert_eq!(builds.load(Ordering::SeqCst), 1);
    // Its names are checked when registered, like an eager entry's.
    for (name, aliases) in [
        ("octahedral", &[][..]),
        ("c4", &[]),
        ("all", &[]),
        ("9x", &[]),
        ("fresh", &["so(3)"]),
        ("fresh", &["d3"]),
        ("fresh", &["ico"]),
    ] {
        assert!(matches!(
            r.register_lazy(name, aliases, || Ok(GroupEntry::so3())),
            Err(GroupError::InvalidName { .. })
        ));
    }
    assert!(!r.contains("fresh"));
}

#[test]
fn a_lazy_entry_is_reachable_by_its_aliases_and_only_those() {
    let mut r = GroupRegistry::new();
    // `GroupEntry::so3()` carries the alias `so(3)`; the registered aliases replace it.
    r.register_lazy("rot", &["SO(3)", "rotations"], || Ok(GroupEntry::so3()))
        .unwrap();
    for name in ["rot", "so(3)", "Rotations"] {
        let entry = r.get(name).unwrap();
        assert_eq!(entry.name(), "rot");
        assert_eq!(
            entry.aliases(),
            ["so(3)".to_string(), "rotations".to_string()]
        );
        assert!(matches!(entry.kind(), GroupKind::So3));
    }
    assert!(!r.contains("so3"));
}

#[test]
fn a_failed_lazy_build_is_one_error_naming_the_group_and_is_kept() {
    let mut r = registry();
    let (builds, build) = counted(|| Err(GroupError::ZeroOrder { group: "cyclic" }));
    r.register_lazy("broken", &[], build).unwrap();
    // Registered, so found, although it cannot be built.
    assert!(r.contains("broken"));
    let expected = GroupError::BuildFailed {
        name: "broken".into(),
        source: Box::new(GroupError::ZeroOrder { group: "cyclic" }),
    };
    for _ in 0..2 {
        let e = r.get("broken").unwrap_err();
        assert_eq!(e, expected);
        let msg = e.to_string();
        assert_eq!(
            msg,
            "group `broken` could not be built: cyclic: n must be at least 1, got n = 0"
        );
        assert!(!msg.contains('\n'));
    }
    assert_eq!(builds.load(Ordering::SeqCst), 1);
}

#[test]
fn concurrent_first_lookups_build_a_lazy_entry_once() {
    let mut r = GroupRegistry::new();
    let (builds, build) = counted(|| {
        // Long enough for the other threads to arrive while it runs.
        std::thread::sleep(std::time::Duration::from_millis(20));
        GroupEntry::spherical(FiniteRotationGroup::octahedral())
    });
    r.register_lazy("oct", &[], build).unwrap();
    let start = std::sync::Barrier::new(8);
    let orders: Vec<Option<usize>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    r.get("oct").unwrap().order()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(orders, vec![Some(24); 8]);
    assert_eq!(builds.load(Ordering::SeqCst), 1);
}
