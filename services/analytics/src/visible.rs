//! The local file system as DataFusion sees it, showing under the lake only the files the
//! manifests name. That makes the lake writer's manifest save the moment a file appears or
//! disappears for SQL: a compaction swaps many small files for one merged file in one atomic
//! save, so a query never counts a row twice (both) or misses one (neither). See
//! `pipelines/lake/src/compact.rs`. Everything outside the lake passes through unchanged.

use datafusion::object_store::local::LocalFileSystem;
use datafusion::object_store::path::Path as StorePath;
use datafusion::object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};
use futures::StreamExt;
use futures::stream::BoxStream;
use spotcheck_lake::manifest::{self, MANIFEST_DIR};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug)]
pub struct ManifestFiltered {
    inner: Arc<LocalFileSystem>,
    /// The lake root, absolute.
    root: PathBuf,
    /// The lake root as an object-store path prefix (no leading slash).
    prefix: String,
}

impl ManifestFiltered {
    pub fn new(root: PathBuf) -> Self {
        let prefix = StorePath::from_absolute_path(&root)
            .map(|p| p.to_string())
            .unwrap_or_default();
        Self {
            inner: Arc::new(LocalFileSystem::new()),
            root,
            prefix,
        }
    }

    /// Every file the manifests name, relative to the lake root (read afresh per listing).
    fn named(&self) -> HashSet<String> {
        manifest::load_all(&self.root)
            .unwrap_or_default()
            .into_iter()
            .flat_map(|m| m.files)
            .collect()
    }

    /// A listed object stays if it is outside the lake's tables or named by a manifest.
    fn keep(prefix: &str, named: &HashSet<String>, location: &StorePath) -> bool {
        let path = location.as_ref();
        let Some(relative) = path
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('/'))
        else {
            return true;
        };
        if relative.starts_with(MANIFEST_DIR) || !relative.ends_with(".parquet") {
            return true;
        }
        named.contains(relative)
    }
}

impl std::fmt::Display for ManifestFiltered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ManifestFiltered({})", self.root.display())
    }
}

#[async_trait::async_trait]
impl ObjectStore for ManifestFiltered {
    async fn put_opts(
        &self,
        location: &StorePath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &StorePath,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &StorePath, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<StorePath>>,
    ) -> BoxStream<'static, Result<StorePath>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&StorePath>) -> BoxStream<'static, Result<ObjectMeta>> {
        // Manifests first, then the disk (see `list_with_delimiter`).
        let (named, lake) = (self.named(), self.prefix.clone());
        self.inner
            .list(prefix)
            .filter(move |meta| {
                let keep = match meta {
                    Ok(meta) => Self::keep(&lake, &named, &meta.location),
                    Err(_) => true,
                };
                futures::future::ready(keep)
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&StorePath>) -> Result<ListResult> {
        // Manifests first, then the disk: every file a manifest names stays on disk at least
        // for the compaction's grace period, so none is missing from the listing.
        let named = self.named();
        let mut listed = self.inner.list_with_delimiter(prefix).await?;
        listed
            .objects
            .retain(|meta| Self::keep(&self.prefix, &named, &meta.location));
        Ok(listed)
    }

    async fn copy_opts(
        &self,
        from: &StorePath,
        to: &StorePath,
        options: CopyOptions,
    ) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
