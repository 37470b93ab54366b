//! `airssys new NAME --lang rust|c|python|js [--dir DIR]`: a component project
//! from a template. No wasm toolchain here: the rendered files are checked as
//! files, and the project file by `airssys test` with the committed `upper`
//! sample standing in for the built component (`templates/build-all.sh` builds
//! the real ones).

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use crate::support::*;

const LANGS: [&str; 4] = ["rust", "c", "python", "js"];

/// The files `airssys new` writes for `lang`, sorted.
fn expected_files(lang: &str) -> Vec<&'static str> {
    let mut files = match lang {
        "rust" => vec!["Cargo.toml", "src/lib.rs"],
        "c" => vec!["src/component.c"],
        "python" => vec!["src/app.py", "toolchain/requirements-python.txt"],
        "js" => {
            vec!["src/app.js", "toolchain/componentize.mjs", "toolchain/package-lock.json", "toolchain/package.json"]
        }
        other => panic!("no language {other}"),
    };
    files.extend([".gitignore", "README.md", "build.sh", "project.ron", "wit/component.wit"]);
    files.sort_unstable();
    files
}

/// Every file under `dir`, as sorted `/`-separated paths relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                out.push(relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Runs `airssys ARGS` in the folder `cwd`.
fn airssys_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(airssys_bin())
        .args(args)
        .current_dir(cwd)
        .env("AIRSSYS_CACHE_DIR", cwd.join(".cache"))
        .env_remove("RUST_LOG")
        .output()
        .expect("airssys runs")
}

/// `airssys new text-upper --lang LANG --dir ROOT/LANG`: the project folder.
fn render(root: &Path, lang: &str) -> PathBuf {
    let dir = root.join(lang);
    let out = airssys_in(root, &["new", "text-upper", "--lang", lang, "--dir", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{lang}: {}", text(&out.stderr));
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn each_template_renders_its_files_with_the_name_substituted_and_the_contract_copied() {
    let root = tempfile::tempdir().unwrap();
    let contract = read(&repo_root().join("wit/component.wit"));
    for lang in LANGS {
        let dir = root.path().join(lang);
        let out = airssys_in(root.path(), &["new", "text-upper", "--lang", lang, "--dir", dir.to_str().unwrap()]);
        assert!(out.status.success(), "{lang}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.starts_with("created the "), "{lang}: {stdout}");
        assert!(stdout.contains(" component project text-upper in "), "{lang}: {stdout}");
        for step in ["./build.sh", "airssys inspect components/text-upper.wasm", "airssys test ."] {
            assert!(stdout.contains(step), "{lang}: the next steps name `{step}`: {stdout}");
        }

        assert_eq!(files_under(&dir), expected_files(lang), "{lang}");
        for file in expected_files(lang) {
            let body = read(&dir.join(file));
            assert!(!body.contains("{{"), "{lang}: {file} still has a placeholder");
        }
        assert_eq!(read(&dir.join("wit/component.wit")), contract, "{lang}: the contract is copied as it is");

        let project = read(&dir.join("project.ron"));
        assert!(project.contains("name: \"text-upper\""), "{lang}: {project}");
        assert!(project.contains("(component: \"components/text-upper.wasm\")"), "{lang}: {project}");

        let build = read(&dir.join("build.sh"));
        assert!(build.starts_with("#!/usr/bin/env bash\n"), "{lang}");
        assert!(
            build.contains("components/text-upper.wasm"),
            "{lang}: build.sh writes the component the project names"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("build.sh")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755, "{lang}: build.sh is executable");
        }

        let readme = read(&dir.join("README.md"));
        assert!(readme.starts_with("# text-upper\n"), "{lang}");
        for line in ["./build.sh", "airssys inspect components/text-upper.wasm", "airssys test ."] {
            assert!(readme.contains(line), "{lang}: README names `{line}`");
        }
        assert_eq!(readme.matches("```sh\n./build.sh\n```").count(), 1, "{lang}: one build command");
    }

    // The component reports the name in its metadata.
    let source = |lang: &str, file: &str| read(&root.path().join(lang).join(file));
    assert!(source("rust", "src/lib.rs").contains("name: \"text-upper\".to_string()"));
    assert!(source("c", "src/component.c").contains("plugin_string_dup(&ret->name, \"text-upper\");"));
    assert!(source("python", "src/app.py").contains("name=\"text-upper\","));
    assert!(source("js", "src/app.js").contains("name: 'text-upper',"));
    // Rust: the package name, and the library's file stem that build.sh copies.
    assert!(source("rust", "Cargo.toml").starts_with("[package]\nname = \"text-upper\"\n"));
    assert!(source("rust", "build.sh").contains("/wasm32-wasip2/release/text_upper.wasm\" components/text-upper.wasm"));
    // The pinned tool files are the ones the samples build with.
    let pins = repo_root().join("sample-projects/guest-toolchains");
    assert_eq!(source("python", "toolchain/requirements-python.txt"), read(&pins.join("requirements-python.txt")));
    for file in ["componentize.mjs", "package.json", "package-lock.json"] {
        assert_eq!(source("js", &format!("toolchain/{file}")), read(&pins.join("js").join(file)), "{file}");
    }
}

#[test]
fn the_four_templates_share_one_project_file_whose_test_case_passes_on_an_upper_casing_component() {
    let root = tempfile::tempdir().unwrap();
    let upper = repo_root().join("sample-projects/text-tools/components/upper.wasm");
    let first = read(&render(root.path(), "rust").join("project.ron"));
    for lang in LANGS {
        let dir = if lang == "rust" { root.path().join(lang) } else { render(root.path(), lang) };
        assert_eq!(read(&dir.join("project.ron")), first, "{lang}: the same project file in every language");
        // The `upper` sample upper-cases as the templates do for ASCII input.
        std::fs::create_dir_all(dir.join("components")).unwrap();
        std::fs::copy(&upper, dir.join("components/text-upper.wasm")).unwrap();
        let out = airssys_in(root.path(), &["test", dir.to_str().unwrap()]);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{lang}: {stdout}{}", text(&out.stderr));
        assert_eq!(stdout, "ok      upper-cases the ASCII letters\n1 passed, 0 failed\n", "{lang}");
    }
}

#[test]
fn names_that_are_not_kebab_case_are_refused_with_the_rule_and_an_example_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let too_long = "a".repeat(65);
    let bad = [
        "Upper",
        "text_upper",
        "text--upper",
        "-upper",
        "upper-",
        "9lives",
        "text upper",
        "t\u{eb}xt",
        "text.upper",
        "",
        too_long.as_str(),
    ];
    for name in bad {
        for lang in LANGS {
            let dir = root.path().join("p");
            // After `--`, so that a name starting with `-` is a name, not an option.
            let out = airssys_in(root.path(), &["new", "--lang", lang, "--dir", dir.to_str().unwrap(), "--", name]);
            assert_eq!(out.status.code(), Some(1), "{name:?} --lang {lang}");
            assert_eq!(
                text(&out.stderr),
                format!(
                    "error: invalid component name {name:?}: a name must be kebab-case: lower-case letters a-z and \
                     digits, in words joined by single hyphens, starting with a letter, at most 64 characters \
                     (for example \"text-upper\")\n"
                ),
                "{name:?} --lang {lang}"
            );
            assert!(out.stdout.is_empty(), "{name:?}");
            assert!(!dir.exists(), "{name:?} --lang {lang}: nothing is written");
        }
        // Without --dir, nothing appears in the current folder either.
        let out = airssys_in(root.path(), &["new", "--lang", "rust", "--", name]);
        assert_eq!(out.status.code(), Some(1), "{name:?}");
        assert_eq!(files_under(root.path()), Vec::<String>::new(), "{name:?}: nothing is written");
    }
    let longest = "a".repeat(64);
    for name in ["a", "x9", "text-upper-2", "a1-b2-c3", longest.as_str()] {
        let dir = root.path().join(format!("ok-{}", name.len()));
        let out = airssys_in(root.path(), &["new", name, "--lang", "c", "--dir", dir.to_str().unwrap()]);
        assert!(out.status.success(), "{name:?}: {}", text(&out.stderr));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn a_non_empty_folder_or_a_file_is_refused_and_left_as_it_was() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("busy");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "// mine\n").unwrap();
    for lang in LANGS {
        let out = airssys_in(root.path(), &["new", "text-upper", "--lang", lang, "--dir", dir.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{lang}");
        assert_eq!(
            text(&out.stderr),
            format!(
                "error: {} is not empty; nothing was written: airssys new writes only into a new or empty folder \
                 (choose another with --dir)\n",
                dir.display()
            ),
            "{lang}"
        );
        assert_eq!(files_under(&dir), ["src/lib.rs"], "{lang}: nothing added");
        assert_eq!(read(&dir.join("src/lib.rs")), "// mine\n", "{lang}: nothing changed");
    }

    // The default folder, ./NAME, is refused the same way when it has files.
    std::fs::create_dir_all(root.path().join("text-upper")).unwrap();
    std::fs::write(root.path().join("text-upper/notes.txt"), "keep").unwrap();
    let out = airssys_in(root.path(), &["new", "text-upper", "--lang", "js"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: text-upper is not empty; nothing was written"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(files_under(&root.path().join("text-upper")), ["notes.txt"]);

    let file = root.path().join("a-file");
    std::fs::write(&file, "data").unwrap();
    let out = airssys_in(root.path(), &["new", "text-upper", "--lang", "python", "--dir", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {} exists and is not a folder; nothing was written: choose a new folder with --dir\n",
            file.display()
        )
    );
    assert_eq!(read(&file), "data");
}

#[test]
fn an_empty_folder_is_filled_and_the_default_folder_is_the_name() {
    let root = tempfile::tempdir().unwrap();
    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = airssys_in(root.path(), &["new", "text-upper", "--lang", "c", "--dir", empty.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(files_under(&empty), expected_files("c"));

    let out = airssys_in(root.path(), &["new", "word-tally", "--lang", "python"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("component project word-tally in word-tally:"), "{}", text(&out.stdout));
    assert_eq!(files_under(&root.path().join("word-tally")), expected_files("python"));
    assert!(read(&root.path().join("word-tally/project.ron")).contains("\"components/word-tally.wasm\""));
}

#[test]
fn an_unknown_language_is_refused_with_the_four_choices() {
    let root = tempfile::tempdir().unwrap();
    let out = airssys_in(root.path(), &["new", "text-upper", "--lang", "go"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("invalid value 'go' for '--lang <LANG>'"), "{stderr}");
    assert!(stderr.contains("[possible values: rust, c, python, js]"), "{stderr}");
    assert_eq!(files_under(root.path()), Vec::<String>::new());
}
