//! A lake written before the tables were Delta tables (spotcheck's own manifests and Hive
//! directories) is moved aside, whole, so the writer rebuilds it from the topics as Delta tables.
//! Nothing is deleted: the old files stay next to the lake until an operator removes them.

use std::path::{Path, PathBuf};

/// The directory of the old layout's manifests.
const OLD_MANIFESTS: &str = "_manifests";

/// Moves `dir` to `<dir>.old-layout[-N]` if it holds the old layout; returns where it went.
pub fn retire_old_layout(dir: &Path) -> std::io::Result<Option<PathBuf>> {
    if !dir.join(OLD_MANIFESTS).is_dir() {
        return Ok(None);
    }
    let name = dir
        .file_name()
        .map_or_else(|| "lake".into(), |n| n.to_string_lossy().into_owned());
    let mut aside = dir.with_file_name(format!("{name}.old-layout"));
    let mut n = 1;
    while aside.exists() {
        n += 1;
        aside = dir.with_file_name(format!("{name}.old-layout-{n}"));
    }
    std::fs::rename(dir, &aside)?;
    std::fs::create_dir_all(dir)?;
    tracing::warn!(
        "the lake at {} had spotcheck's old layout (manifests, no Delta log): moved it to {} and \
         rebuilding the lake as Delta tables from the topics",
        dir.display(),
        aside.display()
    );
    Ok(Some(aside))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_lake_is_moved_aside_whole_and_a_delta_lake_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let lake = root.path().join("lake");
        std::fs::create_dir_all(lake.join("_manifests")).unwrap();
        std::fs::create_dir_all(lake.join("results/category=e_bike")).unwrap();
        std::fs::write(lake.join("results/category=e_bike/x.parquet"), b"old").unwrap();
        let aside = retire_old_layout(&lake).unwrap().unwrap();
        assert_eq!(aside, root.path().join("lake.old-layout"));
        assert!(aside.join("results/category=e_bike/x.parquet").is_file());
        assert!(lake.is_dir() && std::fs::read_dir(&lake).unwrap().next().is_none());
        // Now a Delta lake (no manifests): nothing moves.
        std::fs::create_dir_all(lake.join("results/_delta_log")).unwrap();
        assert_eq!(retire_old_layout(&lake).unwrap(), None);
        assert!(lake.join("results/_delta_log").is_dir());
    }
}
