//! No code. Depending on this crate makes a build ask for the features its manifest lists, so
//! that the plugin's debug bundle, its standalone and the workspace's tests share one build of
//! their common dependencies (see `hack/Cargo.toml`).
