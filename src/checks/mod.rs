//! Checks: one pure function per risk, over `k8s-openapi` types. (Being written.)
