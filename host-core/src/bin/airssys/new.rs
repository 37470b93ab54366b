//! `airssys new NAME --lang rust|c|python|js [--dir DIR]`: a component
//! project from a template.
//!
//! The templates are the files under `templates/<lang>/` at the repository
//! root, embedded here. Rendering replaces `{{name}}` with the component's
//! name and `{{name_snake}}` with it in snake_case (the Rust library's file
//! stem). Every project also gets the contract, `wit/component.wit`, copied
//! from the repository's `wit/` so that it builds standalone, and the JS and
//! Python ones the pinned build tool files from `sample-projects/guest-toolchains/`.
//!
//! Each template builds with its own `./build.sh` into
//! `components/NAME.wasm`: a contract component that upper-cases the ASCII
//! letters of its input (config `prefix` in front), identically in all four
//! languages, with a `project.ron` holding one service, the pipeline `main`
//! and one `airssys test` case.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

/// `airssys new`'s arguments.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The component's name, in kebab-case (e.g. `text-upper`).
    name: String,
    /// The language of the template.
    #[arg(long, value_enum)]
    lang: Lang,
    /// The folder to create (default: ./NAME); it must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// A template's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust with wit-bindgen, target wasm32-wasip2.
    Rust,
    /// C with wit-bindgen c, clang and wasi-libc, wrapped by wasm-tools.
    C,
    /// Python with componentize-py, WASI stubbed.
    Python,
    /// JavaScript with componentize-js, WASI disabled.
    Js,
}

impl Lang {
    fn label(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::C => "C",
            Lang::Python => "Python",
            Lang::Js => "JavaScript",
        }
    }

    /// What `./build.sh` needs on the machine, for the closing hint.
    fn needs(self) -> &'static str {
        match self {
            Lang::Rust => "Rust with `rustup target add wasm32-wasip2`",
            Lang::C => "clang-16, lld-16, wasi-libc and wasm-tools; it installs wit-bindgen 0.61.0 with cargo",
            Lang::Python => "python3 3.10+; it installs componentize-py 0.25.1 from PyPI",
            Lang::Js => "node 18+ and npm; it installs componentize-js 0.23.0 from npm",
        }
    }
}

/// One file of a template: its path in the rendered project, its text, and
/// whether placeholders are replaced and the file is made executable.
struct File {
    path: &'static str,
    text: &'static str,
    render: bool,
    executable: bool,
}

/// A template file whose placeholders are replaced.
const fn template(path: &'static str, text: &'static str) -> File {
    File { path, text, render: true, executable: false }
}

/// A template script (rendered, mode 0755).
const fn script(path: &'static str, text: &'static str) -> File {
    File { path, text, render: true, executable: true }
}

/// A file copied as it is.
const fn verbatim(path: &'static str, text: &'static str) -> File {
    File { path, text, render: false, executable: false }
}

/// The contract every project builds against.
const WIT: File = verbatim("wit/component.wit", include_str!("../../../../wit/component.wit"));

const RUST: &[File] = &[
    template(".gitignore", include_str!("../../../../templates/rust/.gitignore")),
    template("Cargo.toml", include_str!("../../../../templates/rust/Cargo.toml")),
    template("README.md", include_str!("../../../../templates/rust/README.md")),
    script("build.sh", include_str!("../../../../templates/rust/build.sh")),
    template("project.ron", include_str!("../../../../templates/rust/project.ron")),
    template("src/lib.rs", include_str!("../../../../templates/rust/src/lib.rs")),
    WIT,
];

const C: &[File] = &[
    template(".gitignore", include_str!("../../../../templates/c/.gitignore")),
    template("README.md", include_str!("../../../../templates/c/README.md")),
    script("build.sh", include_str!("../../../../templates/c/build.sh")),
    template("project.ron", include_str!("../../../../templates/c/project.ron")),
    template("src/component.c", include_str!("../../../../templates/c/src/component.c")),
    WIT,
];

const PYTHON: &[File] = &[
    template(".gitignore", include_str!("../../../../templates/python/.gitignore")),
    template("README.md", include_str!("../../../../templates/python/README.md")),
    script("build.sh", include_str!("../../../../templates/python/build.sh")),
    template("project.ron", include_str!("../../../../templates/python/project.ron")),
    template("src/app.py", include_str!("../../../../templates/python/src/app.py")),
    verbatim(
        "toolchain/requirements-python.txt",
        include_str!("../../../../sample-projects/guest-toolchains/requirements-python.txt"),
    ),
    WIT,
];

const JS: &[File] = &[
    template(".gitignore", include_str!("../../../../templates/js/.gitignore")),
    template("README.md", include_str!("../../../../templates/js/README.md")),
    script("build.sh", include_str!("../../../../templates/js/build.sh")),
    template("project.ron", include_str!("../../../../templates/js/project.ron")),
    template("src/app.js", include_str!("../../../../templates/js/src/app.js")),
    verbatim(
        "toolchain/componentize.mjs",
        include_str!("../../../../sample-projects/guest-toolchains/js/componentize.mjs"),
    ),
    verbatim("toolchain/package.json", include_str!("../../../../sample-projects/guest-toolchains/js/package.json")),
    verbatim(
        "toolchain/package-lock.json",
        include_str!("../../../../sample-projects/guest-toolchains/js/package-lock.json"),
    ),
    WIT,
];

fn files(lang: Lang) -> &'static [File] {
    match lang {
        Lang::Rust => RUST,
        Lang::C => C,
        Lang::Python => PYTHON,
        Lang::Js => JS,
    }
}

/// The longest name accepted.
const MAX_NAME: usize = 64;

/// Checks that `name` is kebab-case: words of lower-case ASCII letters and
/// digits joined by single hyphens, starting with a letter, at most 64 bytes.
fn check_name(name: &str) -> Result<()> {
    let kebab = name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .split('-')
            .all(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    if !kebab {
        bail!(
            "invalid component name {name:?}: a name must be kebab-case: lower-case letters a-z and digits, \
             in words joined by single hyphens, starting with a letter, at most {MAX_NAME} characters \
             (for example \"text-upper\")"
        );
    }
    Ok(())
}

/// Checks that `dir` does not exist or is an empty folder.
fn check_dir(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", dir.display())),
        Ok(meta) if !meta.is_dir() => {
            bail!("{} exists and is not a folder; nothing was written: choose a new folder with --dir", dir.display())
        }
        Ok(_) => {
            let mut entries = std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
            if entries.next().is_some() {
                bail!(
                    "{} is not empty; nothing was written: airssys new writes only into a new or empty folder \
                     (choose another with --dir)",
                    dir.display()
                );
            }
            Ok(())
        }
    }
}

/// Renders the template of `lang` for `name` into `dir`: the files it wrote,
/// relative to `dir`, in order.
fn render(lang: Lang, name: &str, dir: &Path) -> Result<Vec<&'static str>> {
    let snake = name.replace('-', "_");
    let mut written = Vec::new();
    for file in files(lang) {
        let path = dir.join(file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let text = if file.render {
            file.text.replace("{{name}}", name).replace("{{name_snake}}", &snake)
        } else {
            file.text.to_string()
        };
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        if file.executable {
            make_executable(&path)?;
        }
        written.push(file.path);
    }
    Ok(written)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
}

/// `airssys new`: checks the name and the folder before writing anything,
/// then renders the template and says how to build, inspect and test.
pub fn run(args: NewArgs) -> Result<()> {
    check_name(&args.name)?;
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    check_dir(&dir)?;
    let written = render(args.lang, &args.name, &dir)?;
    let name = &args.name;
    println!("created the {} component project {name} in {}:", args.lang.label(), dir.display());
    for path in written {
        println!("  {path}");
    }
    println!("next:");
    println!("  cd {}", dir.display());
    println!("  ./build.sh                                 # needs {}", args.lang.needs());
    println!("  airssys inspect components/{name}.wasm");
    println!("  airssys test .");
    Ok(())
}
