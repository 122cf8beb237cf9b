"""I/O: the SQL store, the Redis stream consumer, the embedded services, the read API's data."""
