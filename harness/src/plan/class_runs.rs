//! Cutting discovered files into the class runs target determination scores apart
//! (`td_results.json`), as run_test.py runs them: a plan decision, like cutting a file
//! into pieces, so discovery only answers which files exist and this composes the two.

use crate::case::PythonCase;
use crate::discover::distributed::DiscoveredDistributed;
use crate::discover::python::Discovered;
use crate::plan::td::{Prioritizations, TdError};
use std::path::Path;

/// Python cases with each file whose classes target determination scores apart listed
/// as one case per class run, in the file's place. Ignored files stay whole.
pub fn python(root: &Path, found: Vec<Discovered>) -> Result<Vec<Discovered>, TdError> {
    let Some(td) = Prioritizations::load(root)? else {
        return Ok(found);
    };
    let mut split = Vec::with_capacity(found.len());
    for d in found {
        match td
            .class_runs(d.case.module.as_str())
            .filter(|_| d.ignored.is_none())
        {
            Some(runs) => split.extend(runs.into_iter().map(|classes| Discovered {
                case: PythonCase {
                    classes: Some(classes),
                    ..d.case.clone()
                },
                ignored: None,
            })),
            None => split.push(d),
        }
    }
    Ok(split)
}

/// Distributed cases with each class run of a file per backend and init method, as
/// run_test.py hands each TestRun to its handler; sorted by name as discovery sorts them.
pub fn distributed(
    root: &Path,
    found: Vec<DiscoveredDistributed>,
) -> Result<Vec<DiscoveredDistributed>, TdError> {
    let Some(td) = Prioritizations::load(root)? else {
        return Ok(found);
    };
    let mut split = Vec::with_capacity(found.len());
    for d in found {
        match td
            .class_runs(d.case.module.as_str())
            .filter(|_| d.case.classes.is_none())
        {
            Some(runs) => split.extend(runs.into_iter().map(|classes| {
                let mut run = d.clone();
                run.case.classes = Some(classes);
                run
            })),
            None => split.push(d),
        }
    }
    split.sort_by_key(|d| d.case.name());
    Ok(split)
}
