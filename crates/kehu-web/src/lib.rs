//! Kehu's web UI: server-rendered pages over the same scoped storage as the
//! API, in zh-CN and en, with every asset embedded in the binary.

pub mod i18n;
