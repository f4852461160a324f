//! `entk`: equivariant neural tangent kernels at the terminal. The whole command line lives in
//! the library half ([`entk_cli::main_with_registry`]); this binary runs it with the built-in
//! groups, and a downstream binary runs it with its own registry.

fn main() -> std::process::ExitCode {
    entk_cli::main_with_registry(entk_reps::default_registry())
}
