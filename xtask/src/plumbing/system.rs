//! The system packages the commands of README and docs/ need beyond Rust and Python:
//! Chromium for the timeline test, GoogleTest (with pkg-config and g++) for the demo's C++
//! cases, and Python's headers for the handlers that build extensions. Where apt-get can be
//! used (as root, or through passwordless sudo) the set-up installs what is missing under a
//! progress line with its log; elsewhere it stops before the tests and prints the one
//! command to run. The decision is a pure function of what was probed, so it is tested on
//! literal machines; only [`ensure`] looks at, and changes, this one.

use anyhow::{Result, bail};
use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Set to `off`, xtask neither checks nor installs system packages (a machine whose
/// packages are managed elsewhere; this project's tests set it for the runs they start,
/// whose outer `cargo xtask check` has done the set-up).
pub const SETUP_VAR: &str = "TORCH_HARNESS_SYSTEM_SETUP";

/// A Debian/Ubuntu package the set-up may install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Package {
    Chromium,
    LibGtestDev,
    PkgConfig,
    Gxx,
    Python3Dev,
}

impl Package {
    pub fn name(self) -> &'static str {
        match self {
            Package::Chromium => "chromium",
            Package::LibGtestDev => "libgtest-dev",
            Package::PkgConfig => "pkg-config",
            Package::Gxx => "g++",
            Package::Python3Dev => "python3-dev",
        }
    }
}

/// What a command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The demo's C++ cases: GoogleTest, found with pkg-config, built with g++.
    DemoCpp,
    /// `xtask/tests/timeline.rs` renders the run's timeline in headless Chromium.
    Browser,
    /// The custom handlers' extension builds: a C++ compiler and `Python.h`.
    ExtensionBuilds,
}

/// `cargo xtask test` on the demo.
pub const FOR_DEMO: &[Need] = &[Need::DemoCpp];
/// `cargo xtask check`: the demo, the timeline test and the handlers' tests.
pub const FOR_CHECK: &[Need] = &[Need::DemoCpp, Need::Browser, Need::ExtensionBuilds];

/// What is on this machine, as probed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Found {
    pub chromium: bool,
    pub pkg_config: bool,
    /// `pkg-config --exists gtest_main`.
    pub gtest: bool,
    pub gxx: bool,
    /// `Python.h` where `python3`'s sysconfig says it is.
    pub python_h: bool,
}

/// The packages `needs` lack on a machine with `found`, each once, in a fixed order.
pub fn missing(needs: &[Need], found: Found) -> Vec<Package> {
    let mut packages = Vec::new();
    for need in needs {
        let lacks: &[(bool, Package)] = match need {
            Need::DemoCpp => &[
                // Without pkg-config GoogleTest cannot be found either.
                (found.gtest && found.pkg_config, Package::LibGtestDev),
                (found.pkg_config, Package::PkgConfig),
                (found.gxx, Package::Gxx),
            ],
            Need::Browser => &[(found.chromium, Package::Chromium)],
            Need::ExtensionBuilds => &[
                (found.gxx, Package::Gxx),
                (found.python_h, Package::Python3Dev),
            ],
        };
        packages.extend(lacks.iter().filter(|(ok, _)| !ok).map(|(_, p)| *p));
    }
    packages.sort();
    packages.dedup();
    packages
}

/// How packages can be installed here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Machine {
    pub root: bool,
    /// `sudo -n true` succeeds.
    pub passwordless_sudo: bool,
    pub apt_get: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing is missing.
    Ready,
    /// Install these, through `sudo -n` when not root.
    Install { packages: Vec<Package>, sudo: bool },
    /// They cannot be installed from here: the one command the user runs.
    Stop {
        packages: Vec<Package>,
        command: String,
    },
}

pub fn decide(missing: &[Package], machine: Machine) -> Decision {
    if missing.is_empty() {
        return Decision::Ready;
    }
    let packages = missing.to_vec();
    if machine.apt_get && (machine.root || machine.passwordless_sudo) {
        return Decision::Install {
            packages,
            sudo: !machine.root,
        };
    }
    let command = format!("sudo apt-get install -y {}", names(missing));
    let command = if machine.apt_get {
        command
    } else {
        // No apt-get: the Debian/Ubuntu names say what to look for.
        format!(
            "install {} with the system's package manager (on Debian/Ubuntu: {command})",
            names(missing)
        )
    };
    Decision::Stop { packages, command }
}

fn names(packages: &[Package]) -> String {
    let names: Vec<&str> = packages.iter().map(|p| p.name()).collect();
    names.join(" ")
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Ready => write!(f, "every system package is installed"),
            Decision::Install { packages, sudo } => write!(
                f,
                "installing {}{}",
                names(packages),
                if *sudo { " (sudo)" } else { "" }
            ),
            Decision::Stop { packages, command } => write!(
                f,
                "missing system packages: {}; this machine cannot install them for you \
                 (not root, and no passwordless sudo or no apt-get). Run:\n    {command}\n\
                 then this command again",
                names(packages)
            ),
        }
    }
}

/// The command lines of an install: the package lists, then the packages, without
/// questions.
pub fn install_commands(packages: &[Package], sudo: bool) -> Vec<Vec<String>> {
    let prefix: Vec<String> = if sudo {
        ["sudo", "-n", "env"].map(String::from).to_vec()
    } else {
        vec!["env".to_string()]
    };
    let apt = |args: &[&str]| -> Vec<String> {
        let mut line = prefix.clone();
        line.push("DEBIAN_FRONTEND=noninteractive".into());
        line.push("apt-get".into());
        line.extend(args.iter().map(|a| a.to_string()));
        line
    };
    let mut install = apt(&["install", "-y", "-q"]);
    install.extend(packages.iter().map(|p| p.name().to_string()));
    vec![apt(&["update", "-q"]), install]
}

/// Makes sure what `needs` asks for is installed: nothing to do, installed now, or an
/// error that names the command to run. `root` is the workspace (for the log).
pub fn ensure(root: &Path, needs: &[Need]) -> Result<()> {
    if std::env::var(SETUP_VAR).is_ok_and(|v| v == "off") {
        return Ok(());
    }
    let lacking = missing(needs, probe());
    let decision = decide(&lacking, machine());
    match &decision {
        Decision::Ready => Ok(()),
        Decision::Stop { .. } => bail!("{decision}"),
        Decision::Install { packages, sudo } => {
            let log = crate::plumbing::workspace::target_dir(root)?
                .join("torch-harness/system-packages.log");
            std::fs::create_dir_all(log.parent().unwrap_or(root))?;
            eprintln!(
                "missing system packages: {}: {decision} (log: {})",
                names(packages),
                log.display()
            );
            for line in install_commands(packages, *sudo) {
                let mut command = Command::new(&line[0]);
                command.args(&line[1..]).stdin(Stdio::null());
                // The progress line names the apt-get step, not the wrapper around it.
                let what: Vec<&str> = line
                    .iter()
                    .map(String::as_str)
                    .skip_while(|a| *a != "apt-get")
                    .collect();
                crate::suite::setup::step(&what.join(" "), &log, command)?;
            }
            let still = missing(needs, probe());
            if !still.is_empty() {
                bail!(
                    "apt-get finished, but {} are still missing (see {})",
                    names(&still),
                    log.display()
                );
            }
            Ok(())
        }
    }
}

fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn on_path(program: &str) -> bool {
    which::which(program).is_ok()
}

/// This machine's packages.
pub fn probe() -> Found {
    let python_h = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['include'])",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .is_some_and(|include| Path::new(&include).join("Python.h").is_file());
    Found {
        chromium: ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .any(|b| on_path(b)),
        pkg_config: on_path("pkg-config"),
        gtest: runs("pkg-config", &["--exists", "gtest_main"]),
        gxx: on_path("g++"),
        python_h,
    }
}

/// How this machine installs packages.
pub fn machine() -> Machine {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    Machine {
        root,
        passwordless_sudo: !root && on_path("sudo") && runs("sudo", &["-n", "true"]),
        apt_get: on_path("apt-get"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERYTHING: Found = Found {
        chromium: true,
        pkg_config: true,
        gtest: true,
        gxx: true,
        python_h: true,
    };
    const BARE: Found = Found {
        chromium: false,
        pkg_config: false,
        gtest: false,
        gxx: false,
        python_h: false,
    };

    fn names(packages: &[Package]) -> Vec<&'static str> {
        packages.iter().map(|p| p.name()).collect()
    }

    #[test]
    fn what_is_missing_depends_on_the_command() {
        assert!(missing(FOR_CHECK, EVERYTHING).is_empty());
        // A fresh Debian machine: everything for check, once each (g++ serves two needs).
        assert_eq!(
            names(&missing(FOR_CHECK, BARE)),
            [
                "chromium",
                "libgtest-dev",
                "pkg-config",
                "g++",
                "python3-dev"
            ]
        );
        // The demo needs no browser and no Python headers.
        assert_eq!(
            names(&missing(FOR_DEMO, BARE)),
            ["libgtest-dev", "pkg-config", "g++"]
        );
        // Only the browser missing.
        let no_browser = Found {
            chromium: false,
            ..EVERYTHING
        };
        assert_eq!(names(&missing(FOR_CHECK, no_browser)), ["chromium"]);
        assert!(missing(FOR_DEMO, no_browser).is_empty());
        // GoogleTest is looked up through pkg-config: without it, both.
        let no_pkg_config = Found {
            pkg_config: false,
            ..EVERYTHING
        };
        assert_eq!(
            names(&missing(FOR_DEMO, no_pkg_config)),
            ["libgtest-dev", "pkg-config"]
        );
        let no_headers = Found {
            python_h: false,
            ..EVERYTHING
        };
        assert_eq!(names(&missing(FOR_CHECK, no_headers)), ["python3-dev"]);
        assert!(missing(FOR_DEMO, no_headers).is_empty());
    }

    #[test]
    fn root_or_passwordless_sudo_with_apt_get_installs_and_anything_else_stops() {
        let lacking = [Package::Chromium, Package::LibGtestDev];
        let root = Machine {
            root: true,
            passwordless_sudo: false,
            apt_get: true,
        };
        assert_eq!(
            decide(&lacking, root),
            Decision::Install {
                packages: lacking.to_vec(),
                sudo: false
            }
        );
        let sudoer = Machine {
            root: false,
            passwordless_sudo: true,
            apt_get: true,
        };
        assert_eq!(
            decide(&lacking, sudoer),
            Decision::Install {
                packages: lacking.to_vec(),
                sudo: true
            }
        );
        // Neither root nor a sudo that asks no password: the one command to run.
        let user = Machine {
            root: false,
            passwordless_sudo: false,
            apt_get: true,
        };
        let stop = decide(&lacking, user);
        assert_eq!(
            stop,
            Decision::Stop {
                packages: lacking.to_vec(),
                command: "sudo apt-get install -y chromium libgtest-dev".into()
            }
        );
        let said = stop.to_string();
        assert!(
            said.contains("Run:\n    sudo apt-get install -y chromium libgtest-dev\n"),
            "{said}"
        );
        // Root without apt-get (another distribution): stop, naming the packages.
        let other = Machine {
            root: true,
            passwordless_sudo: false,
            apt_get: false,
        };
        match decide(&lacking, other) {
            Decision::Stop { command, .. } => assert_eq!(
                command,
                "install chromium libgtest-dev with the system's package manager \
                 (on Debian/Ubuntu: sudo apt-get install -y chromium libgtest-dev)"
            ),
            d => panic!("{d:?}"),
        }
        // Nothing missing: nothing to do, whatever the machine.
        assert_eq!(decide(&[], user), Decision::Ready);
        assert_eq!(decide(&[], root), Decision::Ready);
    }

    #[test]
    fn an_install_updates_the_lists_then_installs_without_questions() {
        assert_eq!(
            install_commands(&[Package::Gxx, Package::Python3Dev], false),
            [
                vec![
                    "env",
                    "DEBIAN_FRONTEND=noninteractive",
                    "apt-get",
                    "update",
                    "-q"
                ],
                vec![
                    "env",
                    "DEBIAN_FRONTEND=noninteractive",
                    "apt-get",
                    "install",
                    "-y",
                    "-q",
                    "g++",
                    "python3-dev"
                ],
            ]
        );
        let sudo = install_commands(&[Package::Chromium], true);
        assert_eq!(
            sudo[1],
            [
                "sudo",
                "-n",
                "env",
                "DEBIAN_FRONTEND=noninteractive",
                "apt-get",
                "install",
                "-y",
                "-q",
                "chromium"
            ]
        );
    }
}
