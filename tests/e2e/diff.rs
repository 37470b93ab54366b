//! `airssys diff`: exit status 0 when the same, 1 when different, 2 on
//! error (like diff(1)); text and `--json`; a project against what it runs.

use std::path::Path;

use crate::support::*;

fn copy_project(to: &Path) {
    let from = repo_root().join("sample-projects/text-tools");
    std::fs::create_dir_all(to.join("components")).unwrap();
    std::fs::copy(from.join("project.ron"), to.join("project.ron")).unwrap();
    for entry in std::fs::read_dir(from.join("components")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join("components").join(entry.file_name())).unwrap();
    }
}

#[test]
fn diff_exits_0_when_equal_1_when_different_2_on_error_and_prints_json() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    copy_project(&a);
    copy_project(&b);
    let (pa, pb) = (a.to_str().unwrap(), b.to_str().unwrap());
    let same = airssys(&["diff", pa, pb], b"", &cache);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same.stderr));
    assert_eq!(text(&same.stdout), "", "nothing differs, nothing printed");

    let ron = std::fs::read_to_string(b.join("project.ron")).unwrap();
    std::fs::write(b.join("project.ron"), ron.replace(r#""indent": "2""#, r#""indent": "4""#)).unwrap();
    let different = airssys(&["diff", pa, pb], b"", &cache);
    assert_eq!(different.status.code(), Some(1), "{}", text(&different.stderr));
    assert!(
        text(&different.stdout).contains("~ service pretty\n    config.indent: 2 -> 4\n"),
        "{}",
        text(&different.stdout)
    );
    let json = airssys(&["diff", pa, pb, "--json"], b"", &cache);
    assert_eq!(json.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["services"][0]["name"], "pretty");
    assert_eq!(value["services"][0]["kind"], "changed");
    assert_eq!(value["services"][0]["fields"][0]["field"], "config.indent");
    assert_eq!(value["services"][0]["fields"][0]["after"], "4");

    let missing = tmp.path().join("nowhere");
    let error = airssys(&["diff", pa, missing.to_str().unwrap()], b"", &cache);
    assert_eq!(error.status.code(), Some(2), "trouble is 2, not 1");
    assert!(text(&error.stderr).contains("nowhere"), "{}", text(&error.stderr));
}

#[test]
fn diff_deployed_shows_what_a_deploy_would_change_and_rollouts_compare() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let dir = tmp.path().join("p");
    copy_project(&dir);
    let p = dir.to_str().unwrap();
    let before = airssys(&["diff", p, "--deployed"], b"", &cache);
    assert_eq!(before.status.code(), Some(1), "{}", text(&before.stderr));
    assert!(text(&before.stdout).contains("+ service upper\n"), "{}", text(&before.stdout));
    let run = airssys(&["run", p], b"", &cache);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let after = airssys(&["diff", p, "--deployed"], b"", &cache);
    assert_eq!(after.status.code(), Some(0), "deployed: {}", text(&after.stdout));

    // Two rollouts of `pretty`: its first deploy and a config change.
    let ron = std::fs::read_to_string(dir.join("project.ron")).unwrap();
    std::fs::write(dir.join("project.ron"), ron.replace(r#""indent": "2""#, r#""indent": "4""#)).unwrap();
    let edited = airssys(&["diff", p, "--deployed"], b"", &cache);
    assert_eq!(edited.status.code(), Some(1));
    assert!(text(&edited.stdout).contains("config.indent: 2 -> 4"), "{}", text(&edited.stdout));
    assert!(airssys(&["run", p], b"", &cache).status.success());
    let data = dir.join(".airssys");
    let rollouts =
        airssys(&["diff", "--rollouts", "pretty", "--data-dir", data.to_str().unwrap(), "--json"], b"", &cache);
    assert_eq!(rollouts.status.code(), Some(1), "{}", text(&rollouts.stderr));
    let value: serde_json::Value = serde_json::from_slice(&rollouts.stdout).unwrap();
    assert_eq!(value["service"], "pretty");
    assert!(value["fields"].as_array().unwrap().iter().any(|f| f["field"] == "from"), "{value}");
    let unknown = airssys(&["diff", "--rollouts", "nosuch", "--data-dir", data.to_str().unwrap()], b"", &cache);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("has 0 rollout(s)"), "{}", text(&unknown.stderr));
}
