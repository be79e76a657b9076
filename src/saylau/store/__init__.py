"""The observer service's storage: schema, migrations and repositories."""
