//! Cutting discovered files into the class runs target determination scores apart
//! (`td_results.json`), as run_test.py runs them: a plan decision, like cutting a file
//! into pieces, so discovery only answers which files exist and this composes the two.

use crate::case::{ClassFilter, PythonCase};
use crate::discover::distributed::DiscoveredDistributed;
use crate::discover::python::Discovered;
use crate::plan::td::{Prioritizations, TdError};
use std::path::Path;

/// Python cases with each file whose classes target determination scores apart listed
/// as one case per class run, in the file's place. Ignored files stay whole.
pub fn python(root: &Path, found: Vec<Discovered>) -> Result<Vec<Discovered>, TdError> {
    split(
        root,
        found,
        |d| (d.ignored.is_none()).then_some(d.case.module.as_str()),
        |d, classes| Discovered {
            case: PythonCase {
                classes: Some(classes),
                ..d.case.clone()
            },
            ignored: None,
        },
    )
}

/// Distributed cases with each class run of a file per backend and init method, as
/// run_test.py hands each TestRun to its handler; sorted by name as discovery sorts them.
pub fn distributed(
    root: &Path,
    found: Vec<DiscoveredDistributed>,
) -> Result<Vec<DiscoveredDistributed>, TdError> {
    let mut split = split(
        root,
        found,
        |d| (d.case.classes.is_none()).then_some(d.case.module.as_str()),
        |d, classes| {
            let mut run = d.clone();
            run.case.classes = Some(classes);
            run
        },
    )?;
    split.sort_by_key(|d| d.case.name());
    Ok(split)
}

/// Each of `found` whose module (None: keep it whole) TD scores by class, replaced by
/// one `run` per class run, in its place.
fn split<T>(
    root: &Path,
    found: Vec<T>,
    module: impl Fn(&T) -> Option<&str>,
    run: impl Fn(&T, ClassFilter) -> T,
) -> Result<Vec<T>, TdError> {
    let Some(td) = Prioritizations::load(root)? else {
        return Ok(found);
    };
    let mut split = Vec::with_capacity(found.len());
    for d in found {
        match module(&d).and_then(|m| td.class_runs(m)) {
            Some(runs) => split.extend(runs.into_iter().map(|classes| run(&d, classes))),
            None => split.push(d),
        }
    }
    Ok(split)
}
