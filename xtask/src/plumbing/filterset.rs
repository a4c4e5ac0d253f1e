//! The user's `-E` filters after `--` and the selection flags' filterset, as one
//! filterset: nextest ORs several `-E`, but `-i nn -- -E 'test(/pool/)'` means both.

/// `test(=a) | test(=b) | ...`; a filterset that matches nothing when empty.
pub fn exact_filterset(names: &[&String]) -> String {
    if names.is_empty() {
        return "none()".into();
    }
    names
        .iter()
        .map(|n| format!("test(={n})"))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// `args` without their filtersets (`-E X`, `-EX`, `-E=X`, `--filterset[=]X`,
/// `--filter-expr[=]X`), and those filtersets in order. Arguments after a `--` (for the
/// test binaries) are left alone.
pub fn take_filtersets(args: &[String]) -> (Vec<String>, Vec<String>) {
    let mut rest = Vec::new();
    let mut filters = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            rest.push(arg.clone());
            rest.extend(iter.by_ref().cloned());
            break;
        }
        let inline = ["--filterset=", "--filter-expr="]
            .iter()
            .find_map(|flag| arg.strip_prefix(flag))
            .or_else(|| {
                arg.strip_prefix("-E")
                    .filter(|v| !v.is_empty() && !arg.starts_with("--"))
                    .map(|v| v.strip_prefix('=').unwrap_or(v))
            });
        if let Some(value) = inline {
            filters.push(value.to_string());
        } else if ["-E", "--filterset", "--filter-expr"].contains(&arg.as_str()) {
            match iter.next() {
                Some(value) => filters.push(value.clone()),
                // nextest reports the missing value itself.
                None => rest.push(arg.clone()),
            }
        } else {
            rest.push(arg.clone());
        }
    }
    (rest, filters)
}

/// The cases both `selection` and the user's filters keep (the user's filters, as in
/// nextest, keep what any of them keeps). None when nothing narrows the run.
pub fn both(selection: Option<&str>, user: &[String]) -> Option<String> {
    let user = match user {
        [] => None,
        [one] => Some(one.clone()),
        many => Some(
            many.iter()
                .map(|f| format!("({f})"))
                .collect::<Vec<_>>()
                .join(" | "),
        ),
    };
    match (selection, user) {
        (None, None) => None,
        (Some(s), None) => Some(s.to_string()),
        (None, Some(u)) => Some(u),
        (Some(s), Some(u)) => Some(format!("({s}) & ({u})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn every_spelling_of_a_filterset_is_taken() {
        let (rest, filters) = take_filtersets(&strings(&[
            "-E",
            "test(/a/)",
            "--no-capture",
            "-Etest(/b/)",
            "-E=test(/c/)",
            "--filterset",
            "test(/d/)",
            "--filterset=test(/e/)",
            "--filter-expr=test(/f/)",
            "-j",
            "2",
            "--",
            "-E",
            "kept",
        ]));
        assert_eq!(
            filters,
            strings(&[
                "test(/a/)",
                "test(/b/)",
                "test(/c/)",
                "test(/d/)",
                "test(/e/)",
                "test(/f/)"
            ])
        );
        assert_eq!(
            rest,
            strings(&["--no-capture", "-j", "2", "--", "-E", "kept"])
        );
    }

    #[test]
    fn the_selection_and_the_users_filters_must_both_hold() {
        assert_eq!(both(None, &[]), None);
        assert_eq!(both(Some("test(=a)"), &[]).as_deref(), Some("test(=a)"));
        assert_eq!(
            both(None, &strings(&["test(/x/)"])).as_deref(),
            Some("test(/x/)")
        );
        assert_eq!(
            both(
                Some("test(=a) | test(=b)"),
                &strings(&["test(/x/)", "test(/y/)"])
            )
            .as_deref(),
            Some("(test(=a) | test(=b)) & ((test(/x/)) | (test(/y/)))")
        );
    }
}
