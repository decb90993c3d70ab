"""Reading Spack build caches: transports (file, http(s), s3, oci), layout readers (v3, v2,
OCI), the streamed index parser and the compact per-mirror index cache."""
