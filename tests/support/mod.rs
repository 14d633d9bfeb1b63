//! The end-to-end support of `tests/e2e/support/`, for a test binary outside `tests/e2e/` that
//! declares `mod support;` (new end-to-end scenarios belong in `tests/e2e/`).

#[path = "../e2e/support/estate.rs"]
pub mod estate;
#[path = "../e2e/support/fake.rs"]
pub mod fake;
#[path = "../e2e/support/proxy.rs"]
pub mod proxy;
#[path = "../e2e/support/run.rs"]
pub mod run;
