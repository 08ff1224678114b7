"""The database: one schema, its migrations, and each table's queries."""
