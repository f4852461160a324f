//! Number syntax shared by the QM9 text formats.

/// Parses a real number as written in QM9 files: ordinary decimal/exponent syntax (`-0.5`,
/// `0.`, `1e-5`) and the Fortran/Mathematica exponent `*^` of the original `.xyz` release
/// (`2.1*^-6` = 2.1e-6). Returns `None` for anything else, including NaN and infinities.
pub(crate) fn parse_real(text: &str) -> Option<f64> {
    let text = text.trim();
    let value: f64 = if text.contains("*^") {
        text.replacen("*^", "e", 1).parse().ok()?
    } else {
        text.parse().ok()?
    };
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::parse_real;

    #[test]
    fn reads_plain_trailing_dot_and_fortran_exponents() {
        assert_eq!(parse_real("-0.0126981359"), Some(-0.0126981359));
        assert_eq!(parse_real("0."), Some(0.0));
        assert_eq!(parse_real(" 1e-5 "), Some(1e-5));
        assert_eq!(parse_real("2.1*^-6"), Some(2.1e-6));
        assert_eq!(parse_real("-1.5*^2"), Some(-150.0));
    }

    #[test]
    fn rejects_garbage_and_non_finite_values() {
        for bad in ["", "abc", "1.2.3", "nan", "inf", "1*^", "*^3"] {
            assert_eq!(parse_real(bad), None, "{bad:?}");
        }
    }
}
