//! The front page and the guide behind it (README.md, docs/*.md): every `cargo xtask`
//! command they give names a command xtask has, with flags that command takes, the front
//! page keeps the two commands, and every link between the pages leads to a page and a
//! heading that exist.

mod common;

use common::workspace;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// README.md and every page of docs/, with their text.
fn pages() -> Vec<(PathBuf, String)> {
    let root = workspace();
    let mut paths = vec![root.join("README.md")];
    let mut guide: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ holds the guide")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    guide.sort();
    paths.extend(guide);
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// The code of a page: each line of a fenced block, and each inline code span (which
/// may wrap over lines).
fn code(text: &str) -> Vec<String> {
    let mut code = Vec::new();
    let mut prose = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            code.push(line.to_string());
        } else {
            prose.push_str(line);
            prose.push(' ');
        }
    }
    code.extend(prose.split('`').skip(1).step_by(2).map(str::to_string));
    code
}

/// Each `cargo xtask …` in `code`: its words up to the end of the command (a comment,
/// `;`, a pipe, `&&`, a redirection) and before any `--` (nextest's arguments).
fn xtask_commands(code: &str) -> Vec<Vec<String>> {
    code.match_indices("cargo xtask")
        .map(|(at, _)| {
            let mut words = Vec::new();
            for word in code[at + "cargo xtask".len()..].split_whitespace() {
                if ["#", ";", "|", "&&", ">", "--"].contains(&word) {
                    break;
                }
                words.push(word.trim_end_matches([';', ',']).to_string());
                if word.ends_with(';') {
                    break;
                }
            }
            words
        })
        .collect()
}

/// `xtask <words> --help`, cached.
fn help(cache: &mut BTreeMap<Vec<String>, String>, words: &[String]) -> String {
    cache
        .entry(words.to_vec())
        .or_insert_with(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
                .args(words)
                .arg("--help")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "`cargo xtask {} --help` fails: {}",
                words.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .clone()
}

/// The commands a help text lists, from its `Commands:` section.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A wrapped description is indented further than the names.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Whether `help` documents `flag` (`--shards`, `-i`) as a flag of its own.
fn documents(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(at, _)| {
        let before = help[..at].chars().next_back();
        let after = help[at + flag.len()..].chars().next();
        before.is_none_or(|c| c == ' ' || c == '\n' || c == '[')
            && after.is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'))
    })
}

#[test]
fn every_xtask_command_of_the_front_page_and_the_guide_names_a_command_and_its_flags() {
    let mut cache = BTreeMap::new();
    let top = subcommands(&help(&mut cache, &[]));
    assert!(top.contains(&"test".to_string()), "{top:?}");
    let mut checked = 0;
    for (path, text) in pages() {
        for snippet in code(&text) {
            for words in xtask_commands(&snippet) {
                let page = path.file_name().unwrap().to_string_lossy();
                let Some(first) = words.first() else {
                    continue;
                };
                assert!(
                    top.contains(first),
                    "{page}: `cargo xtask {}` names no command of xtask ({top:?})",
                    words.join(" ")
                );
                // A command with commands of its own (`times update`) is checked there.
                let mut command = vec![first.clone()];
                let nested = subcommands(&help(&mut cache, &command));
                if let Some(second) = words.get(1).filter(|w| nested.contains(w)) {
                    command.push(second.clone());
                }
                let text = help(&mut cache, &command);
                for word in &words[command.len()..] {
                    let word = word.trim_start_matches('[').trim_end_matches(']');
                    if !word.starts_with('-') {
                        continue;
                    }
                    let flag = word.split('=').next().unwrap();
                    assert!(
                        documents(&text, flag),
                        "{page}: `cargo xtask {}` gives {flag}, which `cargo xtask {} --help` does not list",
                        words.join(" "),
                        command.join(" ")
                    );
                }
                checked += 1;
            }
        }
    }
    // The front page and the guide give dozens; a parser that found none checks nothing.
    assert!(checked > 50, "only {checked} commands found");
}

#[test]
fn the_front_page_keeps_the_two_commands() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let table = readme
        .split("## Two commands")
        .nth(1)
        .expect("README has `## Two commands`");
    assert!(table.contains("| `cargo xtask test` |"), "{table}");
    assert!(table.contains("| `cargo xtask check` |"), "{table}");
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect()
}

#[test]
fn every_link_between_the_pages_leads_to_a_page_and_heading() {
    let mut links = 0;
    for (path, text) in pages() {
        let dir = path.parent().unwrap();
        for target in text.split("](").skip(1).filter_map(|s| s.split(')').next()) {
            if target.starts_with("http") {
                continue;
            }
            let (file, heading) = target.split_once('#').unwrap_or((target, ""));
            let file: &Path = if file.is_empty() {
                &path
            } else {
                &dir.join(file)
            };
            let page = path.file_name().unwrap().to_string_lossy();
            assert!(
                file.is_file(),
                "{page}: a link to {target}, which is no file"
            );
            if !heading.is_empty() {
                let there = std::fs::read_to_string(file).unwrap();
                assert!(
                    anchors(&there).iter().any(|a| a == heading),
                    "{page}: a link to {target}, whose page has no such heading ({:?})",
                    anchors(&there)
                );
            }
            links += 1;
        }
    }
    assert!(links > 20, "only {links} links found");
}
