//! Mutation fuzzing of every parser of untrusted input (issue #16): `.npy`, `.npz` (PathMNIST),
//! IDX, QM9 `.xyz` and CSV, TIFF, the architecture spec (JSON → network → plan) and group
//! names. The promise under test: whatever the bytes, a parser returns `Ok` or `Err` — it
//! never panics, never asks for a huge allocation, never aborts.
//!
//! How it works: for each target, the seed files of `tests/fuzz_corpus/<target>/` (valid
//! inputs and the reproducers) are run as they are, then mutated by a seeded ChaCha8
//! generator — bit flips, byte sets, interesting integers written over binary fields,
//! decimal fields replaced by extreme numbers, truncations, insertions, deletions, chunk
//! duplication and splices of two seeds — with 1 to 4 mutations stacked per execution. Each
//! execution runs under `catch_unwind`; and this test binary's global allocator refuses any
//! single allocation above [`ALLOCATION_LIMIT`] after printing the target and writing the
//! input to `target/fuzz-findings/`, so a memory blow-up fails the test with its reproducer
//! instead of exhausting the machine. Panics are collected, written to the same folder and
//! reported together.
//!
//! Executions per target: `ENTK_FUZZ_EXECS` (default 100,000, the CI pass); the seed is
//! `ENTK_FUZZ_SEED` (default 0). The long pass by hand:
//! `ENTK_FUZZ_EXECS=10000000 ENTK_FUZZ_SEED=7 cargo test --release --test fuzz -- --nocapture`.
//! A finding is added to the corpus as a seed once fixed, so it stays a regression test.
//!
//! `cargo test --release --test fuzz -- --ignored write_seed_corpus` regenerates the
//! generated seeds (the reproducers and fixtures are written by hand and kept as they are).
#![allow(unsafe_code)] // the allocation guard below is a `GlobalAlloc`

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Cursor, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Instant;

use rand::{Rng, SeedableRng};

#[path = "../crates/datasets/tests/common/npy_fixture.rs"]
mod npy_fixture;
use npy_fixture::{
    declare_uncompressed_size, idx_bytes, npy_bytes, npy_bytes_version, tiff_huge_dimensions,
};
use rand_chacha::ChaCha8Rng;

/// The largest single allocation a parser may request on a fuzz input (all inputs are under
/// 64 KiB): 256 MiB.
const ALLOCATION_LIMIT: usize = 256 << 20;

thread_local! {
    /// The input being run on this thread and its target's name, for the allocation guard.
    static CURRENT: Cell<(*const u8, usize, &'static str)> =
        const { Cell::new((std::ptr::null(), 0, "")) };
    /// Set while the guard reports, so that its own allocations pass.
    static REPORTING: Cell<bool> = const { Cell::new(false) };
}

struct AllocationGuard;

// SAFETY: every request is forwarded unchanged to `System`, except oversized ones during a fuzz
// execution, which get a null pointer (the documented way to report failure; std then aborts).
unsafe impl GlobalAlloc for AllocationGuard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_LIMIT && refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_LIMIT && refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > ALLOCATION_LIMIT && refuse(new_size) {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GUARD: AllocationGuard = AllocationGuard;

/// Reports an oversized request made while a fuzz input runs; true if it must be refused.
fn refuse(size: usize) -> bool {
    let Ok((ptr, len, target)) = CURRENT.try_with(Cell::get) else {
        return false;
    };
    if ptr.is_null() || REPORTING.with(Cell::get) {
        return false;
    }
    REPORTING.with(|r| r.set(true));
    // SAFETY: `CURRENT` points at the input slice for exactly as long as it runs.
    let input = unsafe { std::slice::from_raw_parts(ptr, len) };
    let path = save_finding(target, "allocation", input);
    let _ = writeln!(
        std::io::stderr(),
        "fuzz target {target}: an input of {len} bytes asked for one allocation of {size} \
         bytes (limit {ALLOCATION_LIMIT}); reproducer {}",
        path.display()
    );
    true
}

/// Writes a finding's input under `target/fuzz-findings/<target>/`.
fn save_finding(target: &str, kind: &str, input: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fuzz-findings")
        .join(target);
    let _ = std::fs::create_dir_all(&dir);
    let hash = input.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    let path = dir.join(format!("{kind}-{hash:016x}"));
    let _ = std::fs::write(&path, input);
    path
}

/// One parser under test.
struct Target {
    name: &'static str,
    run: fn(&[u8]),
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

fn fuzz_npy(data: &[u8]) {
    use entk::datasets::npy::{read_npy, Accept, SourceLength};
    let n = data.len() as u64;
    for accept in [Accept::Floats, Accept::FloatsOrIntegers] {
        let _ = read_npy(Cursor::new(data), SourceLength::Real(n), accept);
    }
    let _ = read_npy(
        Cursor::new(data),
        SourceLength::Declared(n),
        Accept::Integers,
    );
}

fn fuzz_npz(data: &[u8]) {
    use entk::datasets::histology::{read_pathmnist_from, MedMnistSplit};
    for split in [MedMnistSplit::Test, MedMnistSplit::Train] {
        let _ = read_pathmnist_from(Cursor::new(data), "fuzz.npz", split);
    }
}

fn fuzz_idx(data: &[u8]) {
    use entk::datasets::mnist::{mnist_from_idx, parse_idx, IdxArray};
    if let Ok(images) = parse_idx(data, "fuzz.idx") {
        if let Some(&n) = images.dims.first().filter(|&&n| n <= 1 << 16) {
            let labels = IdxArray {
                dims: vec![n],
                data: (0..n).map(|i| (i % 11) as u8).collect(),
            };
            let _ = mnist_from_idx(&images, &labels, "fuzz.idx");
        }
        let _ = mnist_from_idx(&images, &images, "fuzz.idx");
    }
}

fn fuzz_xyz(data: &[u8]) {
    let _ = entk::datasets::qm9::parse_qm9_xyz(&text(data), "fuzz.xyz");
}

fn fuzz_csv(data: &[u8]) {
    let _ = entk::datasets::qm9::read_qm9_csv(Cursor::new(data), "fuzz.csv");
}

fn fuzz_tiff(data: &[u8]) {
    let _ = entk::datasets::histology::decode_tiff_rgb(Cursor::new(data), Path::new("fuzz.tif"));
}

fn fuzz_spec(data: &[u8]) {
    use entk::ntk::{ArchSpec, Network};
    let json = text(data);
    let _ = ArchSpec::from_json(&json);
    if let Ok(network) = Network::from_json(&json) {
        // An image, and the Driscoll–Healy grid of bandlimit 2 for the S² layers.
        let _ = network.plan(&Network::image_signature(6, 6, 2));
        let _ = network.plan(&Network::image_signature(4, 3, 2));
    }
}

fn fuzz_group_name(data: &[u8]) {
    let _ = entk::groups::GroupName::from_str(&text(data));
}

const TARGETS: &[Target] = &[
    Target {
        name: "npy",
        run: fuzz_npy,
    },
    Target {
        name: "npz",
        run: fuzz_npz,
    },
    Target {
        name: "idx",
        run: fuzz_idx,
    },
    Target {
        name: "xyz",
        run: fuzz_xyz,
    },
    Target {
        name: "csv",
        run: fuzz_csv,
    },
    Target {
        name: "tiff",
        run: fuzz_tiff,
    },
    Target {
        name: "spec",
        run: fuzz_spec,
    },
    Target {
        name: "group_name",
        run: fuzz_group_name,
    },
];

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_corpus")
        .join(target)
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(!seeds.is_empty(), "{}: no seeds", dir.display());
    seeds
}

/// Integers that break size arithmetic.
const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    3,
    7,
    8,
    16,
    28,
    64,
    127,
    128,
    255,
    256,
    1000,
    65535,
    65536,
    1 << 20,
    (1 << 31) - 1,
    1 << 31,
    (1 << 32) - 1,
    1 << 32,
    1_000_000_000_000,
    (1 << 53) + 1,
    (1 << 62),
    (1 << 63) - 1,
    1 << 63,
    u64::MAX,
];

/// Decimal texts that break parsers of counts and sizes.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2147483647",
    "4294967296",
    "1000000",
    "1000000000000",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999",
    "1e308",
    "1e999",
    "nan",
    "-0",
    "0.5",
];

fn mutate(rng: &mut ChaCha8Rng, input: &mut Vec<u8>, other: &[u8]) {
    let len = input.len();
    match rng.random_range(0..11) {
        0 if len > 0 => {
            let i = rng.random_range(0..len);
            input[i] ^= 1 << rng.random_range(0..8);
        }
        1 if len > 0 => {
            let i = rng.random_range(0..len);
            input[i] = rng.random();
        }
        2 if len > 0 => {
            // An interesting integer over a binary field, little- or big-endian.
            let width = [1usize, 2, 4, 8][rng.random_range(0..4)];
            let value = INTERESTING[rng.random_range(0..INTERESTING.len())];
            let field: Vec<u8> = if rng.random() {
                value.to_le_bytes()[..width].to_vec()
            } else {
                value.to_be_bytes()[8 - width..].to_vec()
            };
            let i = rng.random_range(0..len);
            let end = (i + width).min(len);
            input[i..end].copy_from_slice(&field[..end - i]);
        }
        3 => {
            // A decimal number (a count, a size, a group order) replaced by an extreme one.
            let digits: Vec<usize> = (0..len).filter(|&i| input[i].is_ascii_digit()).collect();
            if let Some(&at) = digits.get(rng.random_range(0..digits.len().max(1))) {
                let end = (at..len)
                    .find(|&i| !input[i].is_ascii_digit())
                    .unwrap_or(len);
                let number = NUMBERS[rng.random_range(0..NUMBERS.len())];
                input.splice(at..end, number.bytes());
            }
        }
        4 if len > 0 => input.truncate(rng.random_range(0..len)),
        5 => {
            let at = rng.random_range(0..=len);
            let n = rng.random_range(1..=16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            input.splice(at..at, bytes);
        }
        6 if len > 0 => {
            let at = rng.random_range(0..len);
            let end = (at + rng.random_range(1..=64)).min(len);
            input.drain(at..end);
        }
        7 if len > 0 && len < 1 << 15 => {
            let at = rng.random_range(0..len);
            let end = (at + rng.random_range(1..=256)).min(len);
            let chunk = input[at..end].to_vec();
            let to = rng.random_range(0..=len);
            input.splice(to..to, chunk);
        }
        8 if !other.is_empty() => {
            // Splice: the head of this input, the tail of another seed.
            let cut = rng.random_range(0..=len);
            let from = rng.random_range(0..other.len());
            input.truncate(cut);
            input.extend_from_slice(&other[from..]);
        }
        9 if len > 0 => {
            // A structural character where parsers look for one.
            const CHARS: &[u8] = b"{}[](),:'\"\n\r\t 0-.eE\\\x00\xff";
            let i = rng.random_range(0..len);
            input[i] = CHARS[rng.random_range(0..CHARS.len())];
        }
        _ if len > 0 => {
            // A multi-byte UTF-8 character, where byte-wise splits break.
            const MULTI: &[&str] = &["é", "€", "😀", "\u{0301}", "\u{feff}"];
            let at = rng.random_range(0..=len);
            let c = MULTI[rng.random_range(0..MULTI.len())];
            input.splice(at..at, c.bytes());
        }
        _ => input.push(rng.random()),
    }
    input.truncate(1 << 16);
}

/// What a fuzz run found: (target, panic message, input).
type Finding = (&'static str, String, Vec<u8>);

fn execute(target: &Target, input: &[u8], findings: &Mutex<Vec<Finding>>) {
    CURRENT.with(|c| c.set((input.as_ptr(), input.len(), target.name)));
    let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    CURRENT.with(|c| c.set((std::ptr::null(), 0, "")));
    if let Err(payload) = outcome {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic".into());
        let mut findings = findings.lock().unwrap();
        // Keep the smallest input per distinct panic message.
        match findings
            .iter_mut()
            .find(|(t, m, _)| *t == target.name && *m == message)
        {
            Some(existing) if existing.2.len() > input.len() => existing.2 = input.to_vec(),
            Some(_) => {}
            None => findings.push((target.name, message, input.to_vec())),
        }
    }
}

#[test]
fn the_harness_finds_a_planted_panic_and_keeps_the_smallest_input() {
    fn planted(data: &[u8]) {
        if data.windows(2).any(|w| w == b"!!") {
            panic!("planted");
        }
    }
    let target = Target {
        name: "planted",
        run: planted,
    };
    let findings = Mutex::new(Vec::new());
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let seed = b"a harmless seed with one ! in it".to_vec();
    let mut input = Vec::new();
    for _ in 0..20_000 {
        input.clone_from(&seed);
        for _ in 0..rng.random_range(1..=4) {
            mutate(&mut rng, &mut input, &seed);
        }
        execute(&target, &input, &findings);
    }
    std::panic::set_hook(previous_hook);
    let findings = findings.into_inner().unwrap();
    assert_eq!(findings.len(), 1, "the mutations never produced `!!`");
    assert_eq!(findings[0].1, "planted");
    assert!(findings[0].2.windows(2).any(|w| w == b"!!"));
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not an integer"))
        })
        .unwrap_or(default)
}

#[test]
fn every_parser_survives_mutated_input() {
    let execs = env_u64("ENTK_FUZZ_EXECS", 100_000);
    let seed = env_u64("ENTK_FUZZ_SEED", 0);
    let findings = Mutex::new(Vec::new());
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(TARGETS.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let report = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(target) = TARGETS.get(index) else {
                    break;
                };
                let start = Instant::now();
                let seeds = seeds(target.name);
                for s in &seeds {
                    execute(target, s, &findings);
                }
                let mut rng =
                    ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9e37_79b9));
                let mut input = Vec::new();
                for _ in 0..execs {
                    let pick = rng.random_range(0..seeds.len());
                    input.clear();
                    input.extend_from_slice(&seeds[pick]);
                    let other = &seeds[rng.random_range(0..seeds.len())];
                    for _ in 0..rng.random_range(1..=4) {
                        mutate(&mut rng, &mut input, other);
                    }
                    execute(target, &input, &findings);
                }
                report.lock().unwrap().push(format!(
                    "{:>10}: {} seeds + {execs} mutated inputs in {:.1} s",
                    target.name,
                    seeds.len(),
                    start.elapsed().as_secs_f64()
                ));
            });
        }
    });
    std::panic::set_hook(previous_hook);
    for line in report.lock().unwrap().iter() {
        println!("{line}");
    }
    let findings = findings.into_inner().unwrap();
    for (target, message, input) in &findings {
        let path = save_finding(target, "panic", input);
        let shown: String = String::from_utf8_lossy(&input[..input.len().min(160)])
            .chars()
            .map(|c| if c.is_control() { '·' } else { c })
            .collect();
        eprintln!(
            "fuzz target {target}: panic `{message}` on {} bytes (saved to {}): {shown:?}",
            input.len(),
            path.display()
        );
    }
    assert!(
        findings.is_empty(),
        "{} distinct panics (see above)",
        findings.len()
    );
}

fn f64_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn zip_bytes(members: &[(&str, Vec<u8>)], method: zip::CompressionMethod) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(method)
        .large_file(false);
    for (name, bytes) in members {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn gzip_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn tiff_bytes(kind: &str) -> Vec<u8> {
    use tiff::encoder::{colortype, Compression, TiffEncoder};
    let mut out = Cursor::new(Vec::new());
    let (w, h) = (5u32, 3u32);
    {
        let encoder = TiffEncoder::new(&mut out).unwrap();
        match kind {
            "rgb8" => {
                let data: Vec<u8> = (0..w * h * 3).map(|i| (i * 17) as u8).collect();
                let mut encoder = encoder;
                encoder.write_image::<colortype::RGB8>(w, h, &data).unwrap();
            }
            "rgba8_lzw" => {
                let data: Vec<u8> = (0..w * h * 4).map(|i| (i * 7) as u8).collect();
                let mut encoder = encoder.with_compression(Compression::Lzw);
                encoder
                    .write_image::<colortype::RGBA8>(w, h, &data)
                    .unwrap();
            }
            _ => {
                let data: Vec<u16> = (0..w * h).map(|i| (i * 4099) as u16).collect();
                let mut encoder =
                    encoder.with_compression(Compression::Deflate(Default::default()));
                encoder
                    .write_image::<colortype::Gray16>(w, h, &data)
                    .unwrap();
            }
        }
    }
    out.into_inner()
}

#[test]
#[ignore = "writes the generated seeds of tests/fuzz_corpus; run by hand"]
fn write_seed_corpus() {
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    // npy: valid arrays of each layout, then the reproducers.
    let six = f64_bytes(&[0.5, -1.0, 2.0, 1e-300, 3.0, 7.25]);
    write(
        "npy",
        "f8_2x3.npy",
        &npy_bytes("<f8", "(2, 3)", false, &six),
    );
    write(
        "npy",
        "f8_fortran.npy",
        &npy_bytes("<f8", "(3, 2)", true, &six),
    );
    let be: Vec<u8> = [1.5f64, -2.0]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    write(
        "npy",
        "f8_big_endian.npy",
        &npy_bytes(">f8", "(2,)", false, &be),
    );
    let f4: Vec<u8> = [1.5f32, -2.0, 0.25]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    write("npy", "f4_1x3.npy", &npy_bytes("<f4", "(1, 3)", false, &f4));
    let i8s: Vec<u8> = [3i64, -1, 9].iter().flat_map(|v| v.to_le_bytes()).collect();
    write(
        "npy",
        "i8_labels.npy",
        &npy_bytes("<i8", "(3, 1)", false, &i8s),
    );
    write(
        "npy",
        "u1_2x2.npy",
        &npy_bytes("|u1", "(2, 2)", false, &[0, 1, 254, 255]),
    );
    write(
        "npy",
        "b1.npy",
        &npy_bytes("|b1", "(3,)", false, &[1, 0, 1]),
    );
    write(
        "npy",
        "scalar.npy",
        &npy_bytes("<f8", "()", false, &f64_bytes(&[4.0])),
    );
    let v2 = npy_bytes_version(2, "<f8", "(2,)", false, &f64_bytes(&[1.0, 2.0]));
    write("npy", "f8_version2.npy", &v2);
    write(
        "npy",
        "repro_192_bytes_claims_1e12_f8.npy",
        &npy_bytes("<f8", "(1000000000000,)", false, &[0; 64]),
    );
    write(
        "npy",
        "repro_192_bytes_claims_1e12_i8.npy",
        &npy_bytes("<i8", "(1000000000000,)", false, &[0; 64]),
    );
    let mut huge_header = b"\x93NUMPY\x02\x00".to_vec();
    huge_header.extend_from_slice(&u32::MAX.to_le_bytes());
    huge_header.extend_from_slice(b"{'descr': '<f8'");
    write("npy", "repro_header_length_4g.npy", &huge_header);

    // npz: small MedMNIST-layout archives, stored and deflated, and bombs.
    let images = npy_bytes("|u1", "(2, 2, 2, 3)", false, &(0..24).collect::<Vec<u8>>());
    let labels = npy_bytes("|u1", "(2, 1)", false, &[3, 8]);
    let labels_i8 = npy_bytes(
        "<i8",
        "(2,)",
        false,
        &[1i64.to_le_bytes(), 2i64.to_le_bytes()].concat(),
    );
    let members = [
        ("test_images.npy", images.clone()),
        ("test_labels.npy", labels.clone()),
        ("train_images.npy", images.clone()),
        ("train_labels.npy", labels_i8),
    ];
    write(
        "npz",
        "pathmnist_stored.npz",
        &zip_bytes(&members, zip::CompressionMethod::Stored),
    );
    write(
        "npz",
        "pathmnist_deflated.npz",
        &zip_bytes(&members, zip::CompressionMethod::Deflated),
    );
    let claims = npy_bytes("|u1", "(1000000000, 28, 28, 3)", false, &[0; 48]);
    write(
        "npz",
        "repro_header_claims_1e9_tiles.npz",
        &zip_bytes(
            &[
                ("test_images.npy", claims),
                ("test_labels.npy", labels.clone()),
            ],
            zip::CompressionMethod::Deflated,
        ),
    );
    let tiles = (u32::MAX as usize - 128) / 2352;
    let declared = npy_bytes("|u1", &format!("({tiles}, 28, 28, 3)"), false, &[0; 48]);
    let mut bomb = zip_bytes(
        &[("test_images.npy", declared), ("test_labels.npy", labels)],
        zip::CompressionMethod::Deflated,
    );
    declare_uncompressed_size(&mut bomb, 128 + (tiles * 2352) as u32);
    write("npz", "repro_declared_zip_bomb.npz", &bomb);

    // IDX: images and labels, plain and gzip, and the 16-byte file.
    let pixels: Vec<u8> = (0..3 * 4 * 4).map(|i| (i * 5) as u8).collect();
    write("idx", "images_3x4x4.idx", &idx_bytes(&[3, 4, 4], &pixels));
    write("idx", "labels_3.idx", &idx_bytes(&[3], &[0, 9, 4]));
    write(
        "idx",
        "images_3x4x4.idx.gz",
        &gzip_bytes(&idx_bytes(&[3, 4, 4], &pixels)),
    );
    write(
        "idx",
        "repro_16_bytes.idx",
        &idx_bytes(&[0, u32::MAX, u32::MAX], &[]),
    );

    // XYZ: the QM9 fixture and counts that used to allocate or panic.
    let fixture = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates/datasets/tests/fixtures/dsgdb9nsd_000001.xyz"),
    )
    .unwrap();
    let body = fixture.split_once('\n').unwrap().1;
    write("xyz", "dsgdb9nsd_000001.xyz", fixture.as_bytes());
    write(
        "xyz",
        "repro_count_2147483647.xyz",
        format!("2147483647\n{body}").as_bytes(),
    );
    write(
        "xyz",
        "repro_count_2pow62.xyz",
        format!("4611686018427387904\n{body}").as_bytes(),
    );

    // CSV: the qm9pack fixture.
    let csv = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates/datasets/tests/fixtures/qm9pack_first4.csv"),
    )
    .unwrap();
    write("csv", "qm9pack_first4.csv", &csv);

    // TIFF.
    write("tiff", "rgb8.tif", &tiff_bytes("rgb8"));
    write("tiff", "rgba8_lzw.tif", &tiff_bytes("rgba8_lzw"));
    write("tiff", "gray16_deflate.tif", &tiff_bytes("gray16"));
    write("tiff", "repro_100000x100000.tif", &tiff_huge_dimensions());
}
