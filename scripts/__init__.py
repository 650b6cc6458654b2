"""Developer tooling: a local S3 (moto_server), throwaway connector projects and the `make demo` walkthrough.

Nothing here is part of the connector that Fivetran runs; the end-to-end tests import it too.
"""
