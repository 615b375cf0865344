//! The architecture as the README draws it, checked from `cargo metadata`.
//!
//! Every crate of the workspace names its layer (`[package.metadata.spotcheck] layer`), the
//! workspace orders the layers (`[workspace.metadata.spotcheck] layers`, lowest first), and a
//! crate may depend only on crates of lower layers: the domain types know nothing of Kafka, the
//! Kafka plumbing nothing of the stages, the stages nothing of the services that serve them.
//! The README's table of crates lists exactly the workspace's crates, each with its layer and
//! directory, so the picture a newcomer reads is the one the build enforces.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

/// The clone under test: Cargo's variable at run time, not the path this binary was built at (a
/// target directory shared by two clones may run a binary built in the other one).
fn root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from)
}

/// A crate of the workspace: its directory (relative to the root), layer and dependencies on
/// other crates of the workspace.
#[derive(Debug)]
struct Member {
    dir: String,
    layer: Option<String>,
    depends_on: BTreeSet<String>,
}

struct Workspace {
    layers: Vec<String>,
    members: BTreeMap<String, Member>,
}

fn workspace() -> Workspace {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    let layers = metadata["metadata"]["spotcheck"]["layers"]
        .as_array()
        .expect("[workspace.metadata.spotcheck] layers lists the layers, lowest first")
        .iter()
        .map(|layer| layer.as_str().expect("a layer is a name").to_owned())
        .collect();
    let packages = metadata["packages"].as_array().expect("packages");
    let names: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let root = root();
    let members = packages
        .iter()
        .map(|package| {
            let name = package["name"].as_str().expect("a package has a name");
            let manifest = PathBuf::from(package["manifest_path"].as_str().expect("manifest"));
            let dir = manifest
                .parent()
                .and_then(|dir| dir.strip_prefix(&root).ok())
                .map(|dir| dir.to_string_lossy().into_owned())
                .expect("a member lives in the workspace");
            let layer = package["metadata"]["spotcheck"]["layer"]
                .as_str()
                .map(str::to_owned);
            let depends_on = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter_map(|d| d["name"].as_str())
                .filter(|d| names.contains(d))
                .map(str::to_owned)
                .collect();
            let member = Member {
                dir,
                layer,
                depends_on,
            };
            (name.to_owned(), member)
        })
        .collect();
    Workspace { layers, members }
}

impl Workspace {
    fn rank(&self, name: &str) -> usize {
        let member = &self.members[name];
        let layer = member
            .layer
            .as_deref()
            .unwrap_or_else(|| panic!("{name} names no [package.metadata.spotcheck] layer"));
        self.layers
            .iter()
            .position(|l| l == layer)
            .unwrap_or_else(|| {
                panic!("{name} is in layer '{layer}', which the workspace does not list")
            })
    }
}

/// A crate depends only on crates of lower layers (dev-dependencies included: a test that
/// needs a higher layer belongs to that layer).
#[test]
fn no_crate_depends_on_its_own_or_a_higher_layer() {
    let workspace = workspace();
    assert!(workspace.members.len() > 1, "the workspace has its crates");
    let mut wrong = Vec::new();
    for (name, member) in &workspace.members {
        let rank = workspace.rank(name);
        for dependency in &member.depends_on {
            let theirs = workspace.rank(dependency);
            if theirs >= rank {
                wrong.push(format!(
                    "{name} ({}) depends on {dependency} ({})",
                    workspace.layers[rank], workspace.layers[theirs]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

/// A crate lives in its layer's directory (`stages/lake` is in `stages`), except the two at
/// the ends, which the workspace's root holds (`schemas/`, the binary's `src/`).
#[test]
fn each_crate_lives_in_its_layers_directory() {
    let workspace = workspace();
    let mut wrong = Vec::new();
    for (name, member) in &workspace.members {
        let layer = &workspace.layers[workspace.rank(name)];
        let top = member.dir.split('/').next().unwrap_or_default();
        let at_root = member.dir.is_empty() || !member.dir.contains('/');
        if !at_root && top != layer {
            wrong.push(format!(
                "{name} is in {}/, its layer is {layer}",
                member.dir
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The README's table of crates: `| layer | crate | directory | … |` rows, one per crate.
fn readme_crates() -> BTreeMap<String, (String, String)> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let table = readme
        .split("\n### Crates and layers\n")
        .nth(1)
        .expect("the README's architecture has a section '### Crates and layers'");
    let mut rows = BTreeMap::new();
    for line in table.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | layer | `crate` | `dir/` | what it holds |
        let (Some(layer), Some(name), Some(dir)) = (cells.get(1), cells.get(2), cells.get(3))
        else {
            continue;
        };
        let Some(name) = name.strip_prefix('`').and_then(|n| n.strip_suffix('`')) else {
            continue; // the heading and its rule
        };
        let dir = dir.trim_matches('`').trim_end_matches('/');
        let dir = if dir == "." { "" } else { dir };
        rows.insert(name.to_owned(), ((*layer).to_owned(), dir.to_owned()));
    }
    rows
}

#[test]
fn the_readme_lists_every_crate_with_its_layer_and_directory() {
    let workspace = workspace();
    let readme = readme_crates();
    let listed: BTreeSet<&String> = readme.keys().collect();
    let crates: BTreeSet<&String> = workspace.members.keys().collect();
    assert_eq!(
        listed, crates,
        "the README's 'Crates and layers' table and the workspace differ"
    );
    for (name, member) in &workspace.members {
        let (layer, dir) = &readme[name];
        assert_eq!(
            Some(layer),
            member.layer.as_ref(),
            "the README puts {name} in another layer"
        );
        assert_eq!(
            dir, &member.dir,
            "the README puts {name} in another directory"
        );
    }
    let order: Vec<&String> = readme.values().map(|(layer, _)| layer).collect();
    for layer in order {
        assert!(
            workspace.layers.contains(layer),
            "the README names layer {layer}"
        );
    }
}
