"""Amazon S3 object metadata for Fivetran: one row per object in the table `s3_objects`."""
